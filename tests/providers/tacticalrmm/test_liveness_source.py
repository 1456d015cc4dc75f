"""The dashboard agent table (``GET /agents/``) in the simulator, and the provider's liveness source
over it: exact shape, filters and upstream errors; records equal to Tactical's own verdicts; new
agents found by hostname + client and matched on agent_id (never ``?agent_id=``, a 500 upstream)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from rmmbridge.providers.base import ProviderIncompleteError, RemoteScope
from rmmbridge.simulators.faults import Fault
from rmmbridge.simulators.tacticalrmm import (
    DEFAULT_API_KEY,
    ApiKey,
    Role,
    TacticalUser,
    create_app,
    generate_fleet,
    status_of,
)

from . import NOW, Clock, make_provider

TABLE_KEYS = [
    "agent_id", "alert_template", "hostname", "site_name", "client_name", "monitoring_type", "description",
    "needs_reboot", "pending_actions_count", "status", "overdue_text_alert", "overdue_email_alert",
    "overdue_dashboard_alert", "last_seen", "boot_time", "checks", "maintenance_mode", "logged_username", "italic",
    "policy", "block_policy_inheritance", "plat", "goarch", "has_patches_pending", "version", "operating_system",
    "public_ip", "cpu_model", "graphics", "local_ips", "make_model", "physical_disks", "custom_fields",
    "serial_number",
]  # fmt: skip


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def fleet() -> Any:
    return generate_fleet(seed=44, clients=3, agents=120, sites_per_client=2, now=NOW)


def client(app: Any, key: str = DEFAULT_API_KEY) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://api.example.com", headers={"X-API-KEY": key}
    )


async def test_agent_table_shape_and_verdicts(fleet: Any, clock: Clock) -> None:
    app = create_app(fleet, clock=clock)
    async with client(app) as http:
        r = await http.get("/agents/", params={"client": 1})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        rows = r.json()
        assert isinstance(rows, list)  # a bare array: no count/next/results
        expected = sorted(a.pk for a in fleet.agents.values() if fleet.client_id_of(a) == 1)
        assert len(rows) == len(expected) > 0
        for row in rows:
            assert list(row) == TABLE_KEYS  # upstream order, and no integer "id"
            agent = fleet.agent_by_agent_id(row["agent_id"])
            assert row["status"] == status_of(agent, clock.now)
            assert row["client_name"] == fleet.clients[1].name
            assert set(row["checks"]) == {"total", "passing", "failing", "warning", "info", "has_failing_checks"}
            assert isinstance(row["has_patches_pending"], bool) and row["custom_fields"] == []
            if row["logged_username"] == "-":
                assert not row["italic"]
        # Null cases upstream has: never checked in, nobody logged in.
        assert any(r["last_seen"] is None for r in (await http.get("/agents/")).json())
        assert Counter(r["status"] for r in (await http.get("/agents/")).json()) == fleet.status_counts(clock.now)

        # Tactical's status is computed per request: later, the same agents may read differently.
        clock.advance(hours=1)
        later = {r["agent_id"]: r["status"] for r in (await http.get("/agents/", params={"client": 1})).json()}
        assert later == {
            a.agent_id: status_of(a, clock.now) for a in fleet.agents.values() if fleet.client_id_of(a) == 1
        }


async def test_agent_table_filters_and_upstream_errors(fleet: Any, clock: Clock) -> None:
    site = next(iter(fleet.sites.values()))
    users = [TacticalUser("viewer", None, role=Role.read_only(clients={2}))]
    app = create_app(fleet, clock=clock, users=users, api_keys=[ApiKey("viewer-key-000000000000000", "viewer")])
    async with client(app) as http:
        everything = (await http.get("/agents/")).json()
        assert len(everything) == len(fleet.agents)
        by_site = (await http.get("/agents/", params={"site": site.id, "client": 99})).json()  # site wins
        assert {r["agent_id"] for r in by_site} == {a.agent_id for a in fleet.agents.values() if a.site_id == site.id}
        servers = (await http.get("/agents/", params={"client": 1, "monitoring_type": "server"})).json()
        assert servers and {r["monitoring_type"] for r in servers} == {"server"}
        assert (await http.get("/agents/", params={"client": 999})).json() == []  # unknown pk: empty
        bad_type = await http.get("/agents/", params={"monitoring_type": "laptop"})
        assert bad_type.status_code == 400 and bad_type.json() == "monitoring type does not exist"
        not_int = await http.get("/agents/", params={"client": "acme"})
        assert not_int.status_code == 500 and "Server Error (500)" in not_int.text  # Django ValueError
        lean = (await http.get("/agents/", params={"client": 1, "detail": "false"})).json()
        assert list(lean[0]) == ["id", "hostname", "agent_id", "client", "site"]
        # ?agent_id= on the Beta list is a 500 upstream, and in the simulator.
        agent = next(iter(fleet.agents.values()))
        assert (await http.get("/beta/v1/agent/", params={"agent_id": agent.agent_id})).status_code == 500
    async with client(app, "viewer-key-000000000000000") as viewer:
        rows = (await viewer.get("/agents/")).json()  # filter_by_role
        assert rows and {fleet.client_id_of(fleet.agent_by_agent_id(r["agent_id"])) for r in rows} == {2}
    async with client(app, "wrong") as anon:
        assert (await anon.get("/agents/")).status_code in (401, 403)


async def test_agents_stop_and_come_back_deterministically(clock: Clock) -> None:
    def run() -> list[tuple[int, str]]:
        fleet = generate_fleet(seed=5, clients=2, agents=300, sites_per_client=1, now=NOW)
        app = create_app(fleet, clock=Clock(NOW), live_agents=True, stop_share=0.2)
        seen = []
        for minute in range(0, 120, 1):
            app.state.clock.now = NOW + timedelta(minutes=minute)  # type: ignore[attr-defined]
            app.state.tick()
            counts = fleet.status_counts(app.state.now())
            seen.append((minute, f"{counts['online']}/{counts['offline']}/{counts['overdue']}"))
        return seen

    first = run()
    assert first == run()  # deterministic from the seed and the clock
    fleet = generate_fleet(seed=5, clients=2, agents=300, sites_per_client=1, now=NOW)
    sim = create_app(fleet, clock=clock, live_agents=True, stop_share=0.05)
    live = [a for a in fleet.agents.values() if a.live]
    history: dict[int, list[str]] = {a.pk: [] for a in live}
    for _ in range(240):
        clock.advance(minutes=1)
        sim.state.tick()
        for a in live:
            history[a.pk].append(status_of(a, clock.now))
    went_overdue_and_back = [
        pk for pk, h in history.items() if "overdue" in h and "online" in h[h.index("overdue") :]
    ]
    assert went_overdue_and_back  # some stop long enough to become overdue, then check in again
    always_online = [pk for pk, h in history.items() if set(h) == {"online"}]
    assert len(always_online) > len(live) // 2  # most keep checking in


async def test_liveness_records_match_tacticals_table(fleet: Any, clock: Clock) -> None:
    app = create_app(fleet, clock=clock)
    made = make_provider(app, clock=clock)
    records = {}
    for scope in await made.provider.list_scopes():
        pages = [p async for p in made.provider.iter_liveness_pages(scope)]
        assert sum(p.requests for p in pages) == 1  # one request per client
        for page in pages:
            assert not page.invalid
            records.update({r.external_id: r for r in page.records})
    assert made.transport.paths().count("/agents/") == 3
    assert len(records) == len(fleet.agents)
    for agent in fleet.agents.values():
        record = records[agent.agent_id]
        assert record.realm_id == str(fleet.client_id_of(agent))
        assert record.last_seen_at == agent.last_seen  # microseconds survive
        assert record.rmm_status == status_of(agent, clock.now)
        assert record.health is not None and record.health.needs_reboot == agent.needs_reboot
        assert record.health.pending_actions == agent.pending_actions
        assert record.hints == {"hostname": agent.hostname, "client_id": str(fleet.client_id_of(agent))}
        if agent.logged_in_username in (None, "None"):
            assert record.current_user is None  # "-" or the last user in italics: nobody now
    # Cheap by construction: far fewer bytes than the Beta pages for the same agents.


async def test_truncated_table_raises_instead_of_truncating(fleet: Any, clock: Clock) -> None:
    app = create_app(fleet, clock=clock)
    app.state.faults.add(Fault(kind="truncate", path_contains="/agents/"))
    made = make_provider(app, clock=clock)
    with pytest.raises(ProviderIncompleteError):
        async for _ in made.provider.iter_liveness_pages(RemoteScope("1", "c1", "client")):
            pass


async def test_unknown_agent_is_found_by_hostname_and_client_matched_on_agent_id(fleet: Any, clock: Clock) -> None:
    app = create_app(fleet, clock=clock)
    site = next(s for s in fleet.sites.values() if s.client_id == 2)
    twin_a = fleet.add_agent(site.id, hostname="RECEPTION", when=clock.now)
    twin_b = fleet.add_agent(site.id, hostname="RECEPTION", when=clock.now)  # hostnames are not unique
    made = make_provider(app, clock=clock)
    records = {r.external_id: r async for p in made.provider.iter_liveness_pages(RemoteScope("2", "c2", "client"))
               for r in p.records}  # fmt: skip
    for twin in (twin_a, twin_b):
        snap = await made.provider.fetch_unknown_device(records[twin.agent_id])
        assert snap is not None and snap.external_id == twin.agent_id and snap.external_ref == str(twin.pk)
        assert snap.realm_id == "2" and snap.name == "RECEPTION"
    beta = [r for r in made.transport.requests if r.url.path == "/beta/v1/agent/"]
    assert beta and all(r.url.params.get("hostname") == "RECEPTION" for r in beta)
    assert all(r.url.params.get("client_id") == "2" and "agent_id" not in r.url.params for r in beta)
    fleet.delete_agent(twin_b.pk)  # gone before we asked: nothing to ingest
    assert await made.provider.fetch_unknown_device(records[twin_b.agent_id]) is None
