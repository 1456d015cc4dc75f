"""Pipelined Tactical device sync: the next page is on its way while the current one is ingested,
and prefetching never weakens completeness. Over HTTP against the simulator, on both databases.

Order is observed, not timed: the simulator's serving-cost gate stamps each request with a shared
sequence counter (its clock), and the sync's ingestion steps take stamps from the same counter.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest

from rmmbridge.ingestion.devices import DeviceIngestor
from rmmbridge.providers.tacticalrmm import normalize
from rmmbridge.providers.tacticalrmm.unused_fields import drop_flat_arrays
from rmmbridge.simulators.faults import Fault
from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS, create_app, generate_fleet
from rmmbridge.simulators.tacticalrmm.serving_cost import ServedRequest, ServingCostGate, ServingCostModel
from rmmbridge.sync.device_sync import WRITE_BATCH
from tests.conftest import assets_by_device, map_all, run_sync

from . import make_provider

PAGE = 7  # small pages: every client's listing has several
FREE = ServingCostModel(request_s=0.0, row_s={}, workers=4)  # the gate only stamps and logs


@dataclass
class Setup:
    tenant: Any
    integration_id: str
    app: Any
    fleet: Any
    gate: ServingCostGate


async def _no_sleep(_seconds: float) -> None:  # a free model never sleeps; the gate still needs one
    return None


async def connect(
    http: Any, transport: Any, tenant: Any, clock: Callable[[], float], fleet: Any = None, **values: Any
) -> Setup:
    fleet = fleet or generate_fleet(seed=41, clients=3, agents=60, sites_per_client=2, now=datetime.now(UTC))
    gate = ServingCostGate(FREE, clock=clock, sleep=_no_sleep)
    app = create_app(fleet, serving_cost=gate)
    host = f"api-{uuid.uuid4().hex[:8]}.example.com"
    transport.add(host, app)
    h = tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": "tacticalrmm"}, headers=h)
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    r = await http.put(f"/api/v1/integrations/{iid}/credentials", headers=h, json={
        "instance_url": f"https://{host}", "auth_mode": "api_key",
        "values": {"api_key": DEFAULT_CREDENTIALS.api_key, "page_size": PAGE, **values},
    })  # fmt: skip
    assert r.status_code == 200, r.text
    r = await http.post(f"/api/v1/integrations/{iid}/test", headers=h)
    assert r.status_code == 200 and r.json()["ok"], r.text
    return Setup(tenant, iid, app, fleet, gate)


def page_of(r: ServedRequest) -> tuple[str, int] | None:
    """``(client_id, page)`` of an agent-list request."""
    if r.path != "/beta/v1/agent/":
        return None
    q = parse_qs(r.query)
    return q["client_id"][0], int(q.get("page", ["1"])[0])


async def test_next_page_is_requested_before_the_previous_page_is_ingested(  # type: ignore[no-untyped-def]
    http, state, transport, tenant, db, monkeypatch
) -> None:
    seq = itertools.count()
    stamp = lambda: float(next(seq))  # noqa: E731
    setup = await connect(http, transport, tenant, stamp)
    assert (await run_sync(http, state, setup, "scopes"))["status"] == "succeeded"
    await map_all(http, setup)

    ingested: list[tuple[tuple[str, ...], float, float]] = []  # (external ids, started, finished)
    original = DeviceIngestor.ingest

    async def observed(self: DeviceIngestor, session: Any, page: Any, now: datetime) -> Any:
        started = stamp()
        outcome = await original(self, session, page, now)
        ingested.append((tuple(s.external_id for s in page.snapshots), started, stamp()))
        return outcome

    monkeypatch.setattr(DeviceIngestor, "ingest", observed)  # the real ingestion, stamped around
    setup.gate.log.clear()
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded" and run["complete_snapshot"] is True, run
    assert run["counters"]["created"] == len(setup.fleet.agents)

    # The default is one request in flight: the server never works on two of ours at once.
    served = sorted(setup.gate.log, key=lambda r: r.started)
    assert all(later.started > earlier.responded for earlier, later in itertools.pairwise(served))
    requests = {page_of(r): r for r in setup.gate.log if page_of(r) is not None}
    client_of = {a.agent_id: str(setup.fleet.client_id_of(a)) for a in setup.fleet.agents.values()}
    # One writer takes a client's pages in the order they were walked (pages already waiting behind
    # the one it takes go with it, whole): a client's agents so far tell which pages an ingest holds.
    read: dict[str, int] = {}
    overlapped = 0
    for ids, _started, finished in ingested:
        for client in dict.fromkeys(client_of[i] for i in ids):
            first = read.get(client, 0) // PAGE + 1
            read[client] = read.get(client, 0) + sum(1 for i in ids if client_of[i] == client)
            assert read[client] % PAGE == 0 or (client, -(-read[client] // PAGE) + 1) not in requests  # whole pages
            for page in range(first, -(-read[client] // PAGE) + 1):
                following = requests.get((client, page + 1))
                if following is None:
                    continue  # the client's last page
                assert following.arrived < finished, f"client {client} page {page + 1} was requested only after {page}"
                overlapped += 1
    assert overlapped == len(requests) - len({c for c, _ in requests}) > 0  # every page that had a next one
    for client in {c for c, _ in requests}:  # each client's pages were requested in order
        pages = [p for c, p in sorted(requests, key=lambda k: requests[k].arrived) if c == client]
        assert pages == list(range(1, len(pages) + 1))


async def test_small_pages_waiting_for_the_writer_are_written_together(  # type: ignore[no-untyped-def]
    http, state, transport, tenant, db, monkeypatch
) -> None:
    """Many small clients (an MSP's usual shape): pages that queued up while the writer was busy
    go into its next transaction together, whole and at most WRITE_BATCH records; every device,
    every client's device count and every refused row's scope come out as page by page."""
    fleet = generate_fleet(seed=43, clients=12, agents=90, sites_per_client=1, now=datetime.now(UTC))
    client_of = {a.agent_id: str(fleet.client_id_of(a)) for a in fleet.agents.values()}
    sizes = Counter(client_of.values())
    bad = [next(a for a in fleet.agents.values() if client_of[a.agent_id] == c) for c in sorted(sizes)[:2]]
    for agent in bad:
        agent.hostname = ""  # normalization refuses it: reported against its own client
    seq = itertools.count()
    setup = await connect(http, transport, tenant, lambda: float(next(seq)), fleet=fleet, concurrency=4)
    assert (await run_sync(http, state, setup, "scopes"))["status"] == "succeeded"
    await map_all(http, setup)

    writes: list[Any] = []
    original = DeviceIngestor.ingest

    async def busy_at_first(self: DeviceIngestor, session: Any, page: Any, now: datetime) -> Any:
        if not writes:
            await asyncio.sleep(0.5)  # a slow first write: the walks fill the queue behind it
        writes.append(page)
        return await original(self, session, page, now)

    monkeypatch.setattr(DeviceIngestor, "ingest", busy_at_first)  # the real ingestion, delayed once
    setup.gate.log.clear()
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "partial", run  # the refused rows
    assert run["counters"]["created"] == len(fleet.agents) - len(bad) and run["counters"]["failed"] == len(bad)
    pages = [r for r in setup.gate.log if page_of(r) is not None]
    assert len(writes) < len(pages), "pages waiting behind the writer were written together"
    assert any(len({client_of[s.external_id] for s in w.snapshots}) > 1 for w in writes)
    assert max(len(w.snapshots) + len(w.invalid) for w in writes) <= WRITE_BATCH
    assert sorted(s.external_id for w in writes for s in w.snapshots) == sorted(
        a.agent_id for a in fleet.agents.values() if a not in bad)  # fmt: skip
    assert sorted((e["scope"], e["external_id"]) for e in run["errors"]) == sorted(
        (client_of[a.agent_id], a.agent_id) for a in bad)  # fmt: skip
    mappings = (await http.get(f"/api/v1/integrations/{setup.integration_id}/mappings",
                               headers=setup.tenant.headers())).json()["items"]  # fmt: skip
    refused = Counter(client_of[a.agent_id] for a in bad)
    assert {m["external_org_id"]: m["device_count"] for m in mappings} == {
        c: n - refused[c] for c, n in sizes.items()}  # fmt: skip


async def _five_per_page() -> tuple[ServingCostGate, Any, Any, Any]:
    """A free simulator whose gate stamps requests in order, and a provider reading 5 agents a page."""
    seq = itertools.count()
    gate = ServingCostGate(FREE, clock=lambda: float(next(seq)), sleep=_no_sleep)
    fleet = generate_fleet(seed=5, clients=2, agents=40, sites_per_client=2, now=datetime.now(UTC))
    made = make_provider(create_app(fleet, serving_cost=gate), page_size=5)
    return gate, fleet, made, (await made.provider.list_scopes())[0]


async def test_the_walk_requests_page_two_while_the_caller_still_holds_page_one() -> None:
    """Prefetch in the walk itself: page 2 is asked for before the caller asks for it."""
    gate, fleet, made, scope = await _five_per_page()
    pages = made.provider.iter_device_pages(scope)
    first = await anext(pages)
    assert len(first.snapshots) == 5

    def asked(page: int) -> bool:
        return any(page_of(r) == (scope.external_id, page) for r in gate.log)

    for _ in range(1000):  # let the loop run; the caller has not asked for page 2
        if asked(2):
            break
        await asyncio.sleep(0)
    for _ in range(100):  # and a while longer: nothing more may leave
        await asyncio.sleep(0)
    assert asked(2) and not asked(3)  # one page ahead with one request slot, no more (bounded)
    rest = [p async for p in pages]
    assert sum(len(p.snapshots) for p in [first, *rest]) == sum(
        1 for a in fleet.agents.values() if str(fleet.client_id_of(a)) == scope.external_id
    )
    await made.provider.aclose()


async def test_a_client_of_many_pages_keeps_two_requests_in_flight_when_the_connection_allows() -> None:
    """With four request slots, one client's long walk is not read one request at a time: while
    the server works on page N, page N+1 is already queued at it (the real server's workers serve
    them side by side); with one slot the same walk never has two requests at the server."""
    for concurrency, most_at_once in ((4, 2), (1, 1)):
        gate = ServingCostGate(ServingCostModel(request_s=0.02, row_s={}, workers=4))  # real time, real sleeps
        fleet = generate_fleet(seed=5, clients=1, agents=40, sites_per_client=2, now=datetime.now(UTC))
        made = make_provider(create_app(fleet, serving_cost=gate), page_size=5, concurrency=concurrency)
        scope = (await made.provider.list_scopes())[0]
        got = [p async for p in made.provider.iter_device_pages(scope)]
        await made.provider.aclose()
        assert sum(len(p.snapshots) for p in got) == 40
        served = [r for r in gate.log if page_of(r) is not None]
        assert sorted(page_of(r)[1] for r in served) == list(range(1, 9))  # type: ignore[index]  # each page once
        # The most of the walk's requests the server worked on at one moment: two (bounded), or one.
        edges = sorted([(r.started, 1) for r in served] + [(r.responded, -1) for r in served])  # ends first on ties
        at_once = max(itertools.accumulate(step for _, step in edges))
        assert at_once == most_at_once, (concurrency, [(page_of(r), r.started, r.responded) for r in served])


async def test_the_next_page_is_requested_before_the_current_page_is_decoded() -> None:
    """From page 2 on (page 1's count tells how many follow), page N+1 leaves as soon as page N's
    bytes are in: the server works on it while N is parsed and normalized, not after."""
    from rmmbridge.providers.tacticalrmm.pagination import PageWalk

    gate, _fleet, made, scope = await _five_per_page()
    seen_while_decoding: list[bool] = []

    def asked(page: int) -> bool:
        return any(page_of(r) == (scope.external_id, page) for r in list(gate.log))

    def transform(rows: Iterable[dict[str, Any]]) -> int:  # in the walk's worker thread
        page = len(seen_while_decoding) + 1
        deadline = time.monotonic() + 10  # generous: the event loop serves the request meanwhile
        while not asked(page + 1) and time.monotonic() < deadline:
            time.sleep(0.005)
        seen_while_decoding.append(asked(page + 1))
        return sum(1 for _ in rows)  # rows are decoded as they are iterated

    walk = PageWalk(made.provider.client, "/beta/v1/agent/", params={"client_id": scope.external_id},
                    page_size=5, transform=transform)
    sizes = [n async for n in walk.pages()]
    await made.provider.aclose()
    pages = len(sizes)
    assert pages >= 3 and sum(sizes) == walk.count
    # Page 1 decides how many pages there are; pages 2..N-1 overlapped the next request; the last had none.
    assert seen_while_decoding[1:-1] == [True] * (pages - 2)
    assert seen_while_decoding[-1] is False


async def test_after_a_probe_page_two_leaves_while_page_one_is_decoded() -> None:
    """Pages bigger than the probe: the probe's count already tells how many pages follow, so
    page 2 is asked for while page 1 is decoded (not only from page 2 on)."""
    from rmmbridge.providers.tacticalrmm.pagination import PROBE_SIZE, PageWalk

    gate = ServingCostGate(FREE, clock=lambda: 0.0, sleep=_no_sleep)
    fleet = generate_fleet(seed=6, clients=1, agents=2 * PROBE_SIZE + 50, sites_per_client=2, now=datetime.now(UTC))
    made = make_provider(create_app(fleet, serving_cost=gate))
    scope = (await made.provider.list_scopes())[0]
    seen: list[bool] = []

    def asked(page: int, size: int) -> bool:
        return any(page_of(r) == (scope.external_id, page) and f"page_size={size}" in r.query for r in list(gate.log))

    def transform(rows: Iterable[dict[str, Any]]) -> int:  # in the walk's worker thread
        deadline = time.monotonic() + 10
        while not asked(2, PROBE_SIZE + 20) and time.monotonic() < deadline:
            time.sleep(0.005)
        seen.append(asked(2, PROBE_SIZE + 20))
        return sum(1 for _ in rows)

    walk = PageWalk(made.provider.client, "/beta/v1/agent/", params={"client_id": scope.external_id},
                    page_size=PROBE_SIZE + 20, transform=transform)
    sizes = [n async for n in walk.pages()]
    await made.provider.aclose()
    assert walk.page_size_used == PROBE_SIZE + 20 and sum(sizes) == walk.count == 2 * PROBE_SIZE + 50
    assert seen[0] is True  # page 1 (the first one transformed) overlapped page 2's request


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_a_page_failing_mid_walk_fails_the_scope_and_marks_nothing_missing(  # type: ignore[no-untyped-def]
    http, state, transport, tenant, db, concurrency
) -> None:
    seq = itertools.count()
    setup = await connect(http, transport, tenant, lambda: float(next(seq)), concurrency=concurrency)
    assert (await run_sync(http, state, setup, "scopes"))["status"] == "succeeded"
    await map_all(http, setup)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded" and run["complete_snapshot"] is True, run

    fleet = setup.fleet
    sizes = {c: sum(1 for a in fleet.agents.values() if fleet.client_id_of(a) == c) for c in fleet.clients}
    broken = max(sizes, key=lambda c: sizes[c])  # several pages
    other = next(c for c in fleet.clients if c != broken and sizes[c])
    gone = next(a for a in fleet.agents.values() if fleet.client_id_of(a) == other)
    fleet.delete_agent(gone.pk)  # a device that really is gone, in a client that is read completely
    # Page 2 of one client vanishes while it is prefetched (Tactical's JSON 404 "Invalid page.").
    setup.app.faults.add(Fault("status", status=404, path_contains="/beta/v1/agent/",
                               query_contains=f"client_id={broken}&page=2"))  # fmt: skip
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "partial" and run["complete_snapshot"] is False, run
    assert any(e["scope"] == str(broken) and "page 2" in e["error"] for e in run["errors"]), run["errors"]
    assert run["counters"].get("missing", 0) == 0
    assets = await assets_by_device(db, setup, refresh=True)
    assert assets[gone.agent_id].missing_since is None  # not inferred from an incomplete snapshot
    assert all(a.missing_since is None for a in assets.values())


def test_unused_arrays_are_cut_exactly_or_not_at_all() -> None:
    rows = [
        {"id": 1, "services": [{"name": 'a]b["services":[', "binpath": "C:\\x\\", "q": '\\"'}, {"pid": 2}],
         "public_ip": "1.2.3.4"},
        {"id": 2, "services": [[1, 2]], "hostname": "nested arrays are left alone"},
        {"id": 3, "services": None, "wmi_detail": {"services": [{"x": "]"}], "os": [["keep"]]}},
        {"id": 4, "services": [], "disks": [{"device": "C:"}]},
    ]  # fmt: skip
    for separators in ((",", ":"), (", ", ": ")):
        body = json.dumps({"count": 4, "results": rows}, separators=separators).encode()
        cut = json.loads(drop_flat_arrays(body, ["services"]))["results"]
        assert [r["services"] for r in cut] == [None, [[1, 2]], None, None]
        expected = [{**r, "services": r["services"] if r["id"] == 2 else None} for r in rows]
        expected[2]["wmi_detail"] = {"services": None, "os": [["keep"]]}
        assert cut == expected  # every other key and value intact
        assert drop_flat_arrays(body, []) == body


def test_fast_cut_equals_the_exact_pattern_on_any_valid_json() -> None:
    """The find/count scanner and the exact pattern give the same bytes for valid JSON: strings
    holding quotes, backslash runs and brackets, nested arrays (left alone), both separators."""
    import random

    from rmmbridge.providers.tacticalrmm.unused_fields import _pattern

    rng = random.Random(5)
    alphabet = ['"', "\\", "[", "]", "a", " ", "{", "}", ",", ":", "é", "\\\\"]

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))

    def value(depth: int = 0) -> Any:
        kind = rng.randint(0, 6 if depth < 2 else 3)
        if kind == 0:
            return text()
        if kind in (1, 2, 3):
            return (rng.randint(-5, 5), None, True)[kind - 1]
        if kind == 4:
            return {text(): value(depth + 1) for _ in range(rng.randint(0, 3))}
        return [value(depth + 1) for _ in range(rng.randint(0, 3))]

    for _ in range(3000):
        doc = [
            {text(): value(), "services": [value(2) for _ in range(rng.randint(0, 4))], "x": value(1)}
            for _ in range(rng.randint(1, 3))
        ]
        for separators in ((",", ":"), (", ", ": ")):
            body = json.dumps(doc, separators=separators, ensure_ascii=rng.random() < 0.5).encode()
            assert drop_flat_arrays(body, ["services"]) == _pattern(("services",)).sub(rb'"\1":null', body)


async def test_agents_read_without_services_are_the_same_snapshots() -> None:
    """Over HTTP: what the provider builds equals normalizing the server's full rows."""
    fleet = generate_fleet(seed=13, clients=2, agents=80, sites_per_client=2, now=datetime.now(UTC))
    app = create_app(fleet)
    made = make_provider(app, page_size=1000)
    provider = made.provider
    sites = await provider.sites()
    for scope in await provider.list_scopes():
        got = [s async for page in provider.iter_device_pages(scope) for s in page.snapshots]
        _, full = await provider.client.get_json(
            "/beta/v1/agent/", params={"client_id": scope.external_id, "page_size": 1000})
        assert any(row["services"] for row in full["results"])  # there was something to cut
        assert got == [normalize.agent_snapshot(row, sites, client_id=int(scope.external_id))
                       for row in full["results"]]  # fmt: skip
    await provider.aclose()
