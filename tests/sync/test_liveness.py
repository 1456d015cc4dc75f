"""Issue #11 against the Tactical simulator, on SQLite and PostgreSQL, driven by one test clock:
default settings keep rmmbridge's status counts equal to Tactical's own (per client and in total);
agents that stop checking in go offline then overdue in step with Tactical; a pass writes set-based
and records history/events only for changed statuses; a new agent appears within one pass; when the
RMM stops answering, statuses go stale with their last observed value and are never counted offline.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from rmmbridge.simulators.faults import Fault
from rmmbridge.simulators.tacticalrmm import create_app, generate_fleet, status_of
from rmmbridge.storage.models import AssetHistory, AssetLiveness, EventOutbox, SyncRun
from rmmbridge.sync.runner import runner_of
from rmmbridge.sync.scheduler import fire_due
from tests.conftest import map_all, run_sync
from tests.providers.tacticalrmm import Clock
from tests.providers.tacticalrmm.test_sync_flow import Setup, check_connection

TICK = timedelta(seconds=30)


@dataclass
class Live:
    setup: Setup
    clock: Clock
    clients: dict[str, str]  # Tactical client pk -> PSA client id


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def clock(state, monkeypatch) -> Clock:  # type: ignore[no-untyped-def]
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr(state, "clock", clock)
    monkeypatch.setattr(state, "sleep", no_sleep)
    return clock


async def connect_live(http: Any, transport: Any, tenant: Any, state: Any, clock: Clock, **sim: Any) -> Live:
    fleet = generate_fleet(seed=11, clients=3, agents=150, sites_per_client=2, now=clock.now)
    app = create_app(fleet, clock=clock, live_agents=True, **sim)
    host = f"api-{uuid.uuid4().hex[:8]}.example.com"
    transport.add(host, app)
    h = tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": "tacticalrmm"}, headers=h)
    iid = r.json()["id"]
    from rmmbridge.simulators.tacticalrmm import DEFAULT_API_KEY

    r = await http.put(
        f"/api/v1/integrations/{iid}/credentials",
        headers=h,
        json={"instance_url": f"https://{host}", "auth_mode": "api_key", "values": {"api_key": DEFAULT_API_KEY}},
    )
    assert r.status_code == 200, r.text
    setup = Setup(tenant, iid, app, fleet, host)
    assert (await check_connection(http, setup))["ok"]
    assert (await run_sync(http, state, setup, "scopes"))["status"] == "succeeded"
    clients = await map_all(http, setup)
    assert (await run_sync(http, state, setup, "devices"))["status"] == "succeeded"
    return Live(setup, clock, clients)


async def tick(state: Any, clock: Clock, integration_id: str | None = None) -> list[str]:
    """One scheduler tick at the test clock's time, its runs run to completion (no real waiting).
    Returns the kinds fired for ``integration_id`` (the session's database holds other tests' too)."""
    fired = await fire_due(state)
    await runner_of(state).wait_all(timeout=120)  # type: ignore[attr-defined]
    return [kind for iid, kind in (f.split(":", 1) for f in fired) if integration_id in (None, iid)]


async def summary(http: Any, live: Live) -> dict[str, Any]:
    r = await http.get("/api/v1/fleet/summary", headers=live.setup.tenant.headers())
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def tactical_counts(live: Live) -> dict[str, dict[str, int]]:
    by_client = live.setup.fleet.status_counts_by_client(live.clock.now)
    return {live.clients[str(cid)]: counts for cid, counts in by_client.items()}


def ours(body: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        c["client_id"]: {"online": c["online"], "offline": c["offline"], "overdue": c["overdue"]}
        for c in body["clients"]
    }


async def test_default_settings_keep_counts_equal_to_tacticals(http, state, transport, tenant, clock, db) -> None:  # type: ignore[no-untyped-def]
    live = await connect_live(http, transport, tenant, state, clock, stop_share=0.1)
    fleet = live.setup.fleet
    # One agent we stop ourselves, to follow it through offline and overdue.
    quitter = next(a for a in fleet.agents.values() if a.live and a.offline_time == 4 and a.overdue_time == 30)
    quitter.live = False
    quitter_asset = (
        await http.get(f"/api/v1/assets?q={quitter.hostname}", headers=tenant.headers())
    ).json()["items"]
    quitter_id = next(a["id"] for a in quitter_asset if a["rmm_device_id"] == quitter.agent_id)
    kinds: Counter[str] = Counter()
    transitions: list[tuple[str, str]] = []  # (Tactical's status, ours) for the quitter, per step
    for step in range(1, 71):  # 35 simulated minutes, one scheduler tick every 30 s
        clock.advance(seconds=TICK.total_seconds())
        kinds.update(await tick(state, clock, live.setup.integration_id))
        body = await summary(http, live)
        assert body["counts"]["stale"] == 0 and body["counts"]["unknown"] == 0
        assert ours(body) == tactical_counts(live), f"step {step} at {clock.now}"
        assert body["counts"]["total"] == len(fleet.agents)
        for status in ("online", "offline", "overdue"):
            assert body["counts"][status] == fleet.status_counts(clock.now)[status]
        asset = (await http.get(f"/api/v1/assets/{quitter_id}", headers=tenant.headers())).json()
        transitions.append((status_of(quitter, clock.now), asset["agent_status"]))
        assert not asset["status_stale"]
    assert kinds["liveness"] == 35 and kinds["devices"] == 1  # every 60 s; the hourly sync once
    assert [t for t, o in transitions if t != o] == []  # in step with Tactical at every tick
    assert {t for t, _ in transitions} == {"online", "offline", "overdue"}
    # Agents did stop (and some came back): the pass, not the hourly sync, kept statuses true.
    changed = await db.scalar(
        select(func.count()).select_from(EventOutbox).where(
            EventOutbox.tenant_id == tenant.tenant_id, EventOutbox.event_type == "asset.status_changed"
        )
    )
    assert changed and changed > 2
    last = await db.scalar(
        select(SyncRun).where(SyncRun.tenant_id == tenant.tenant_id, SyncRun.kind == "liveness")
        .order_by(SyncRun.created_at.desc()).limit(1)
    )  # fmt: skip
    assert last is not None and last.status == "succeeded"
    assert last.counters["requests"] == 3 and last.counters["rows"] == len(fleet.agents)
    assert 0 < last.counters["rows_written"] < len(fleet.agents) and "seconds" in last.counters
    body = await summary(http, live)
    assert body["data_as_of"] is not None


async def test_pass_writes_set_based_and_records_only_status_changes(http, state, transport, tenant, clock, db) -> None:  # type: ignore[no-untyped-def]
    live = await connect_live(http, transport, tenant, state, clock)
    fleet = live.setup.fleet
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    clock.advance(seconds=30)
    stopped = [a for a in fleet.agents.values() if a.live and (a.offline_time, a.overdue_time) == (4, 30)][:3]
    for agent in stopped:
        fleet.set_last_seen(agent.pk, clock.now - timedelta(minutes=5))  # just went offline
        agent.live = False
    history_before = await db.scalar(select(func.count()).select_from(AssetHistory))
    event.listen(state.engine.sync_engine, "before_cursor_execute", count)
    try:
        r = await http.post(
            f"/api/v1/integrations/{live.setup.integration_id}/sync/liveness", headers=tenant.headers()
        )
        assert r.status_code == 202, r.text
        await runner_of(state).wait(uuid.UUID(r.json()["run"]["id"]), timeout=120)
    finally:
        event.remove(state.engine.sync_engine, "before_cursor_execute", count)
    run = (await http.get(f"/api/v1/sync-runs/{r.json()['run']['id']}", headers=tenant.headers())).json()
    assert run["status"] == "succeeded", run
    assert run["counters"]["status_changed"] == 3
    # On PostgreSQL the rows arrive by COPY into a staging table and the upsert reads them in a
    # leading ``WITH``: the statement is still the one INSERT per page.
    upserts = [s for s in statements if "INSERT INTO ASSET_LIVENESS" in s.upper()]
    assert len(upserts) == 3  # one per page (one page per client), whatever the page size
    per_row = [s for s in statements if "asset_liveness" in s.lower() and s.lstrip().upper().startswith("UPDATE")]
    assert per_row == [] or all("status_changed_at" in s for s in per_row)
    history_after = await db.scalar(select(func.count()).select_from(AssetHistory))
    assert history_after - history_before == 3  # history only for the changed statuses
    events = (
        await db.execute(
            select(EventOutbox.payload).where(
                EventOutbox.tenant_id == tenant.tenant_id, EventOutbox.event_type == "asset.status_changed"
            )
        )
    ).scalars().all()
    assert sorted((e["from"], e["to"]) for e in events) == [("online", "offline")] * 3
    # A second pass with nothing moved writes nothing and records nothing.
    run2 = await run_sync(http, state, live.setup, "liveness")
    assert run2["counters"]["rows_written"] == 0 and run2["counters"]["status_changed"] == 0
    # Health from the table is on the asset, filterable.
    reboot = [a for a in fleet.agents.values() if a.needs_reboot]
    r = await http.get("/api/v1/assets?needs_reboot=true&page_size=200", headers=tenant.headers())
    assert {a["rmm_device_id"] for a in r.json()["items"]} == {a.agent_id for a in reboot}
    assert all(a["health"]["needs_reboot"] for a in r.json()["items"])


async def test_new_agent_appears_within_one_pass(http, state, transport, tenant, clock, db) -> None:  # type: ignore[no-untyped-def]
    live = await connect_live(http, transport, tenant, state, clock)
    fleet = live.setup.fleet
    site = next(s for s in fleet.sites.values() if s.client_id == 2)
    clock.advance(seconds=30)
    twins = [fleet.add_agent(site.id, hostname="FRONT-DESK", when=clock.now) for _ in range(2)]
    by_agent_id = Fault(kind="status", status=500, path_contains="/beta/v1/agent/", query_contains="agent_id=")
    live.setup.app.state.faults.add(by_agent_id)
    run = await run_sync(http, state, live.setup, "liveness")
    assert run["status"] == "succeeded" and run["counters"]["new_devices"] == 2
    r = await http.get("/api/v1/assets?q=FRONT-DESK", headers=tenant.headers())
    found = {a["rmm_device_id"]: a for a in r.json()["items"]}
    assert set(found) == {t.agent_id for t in twins}  # same hostname, two assets, matched on agent_id
    assert all(a["agent_status"] == "online" and a["client_id"] == live.clients["2"] for a in found.values())
    assert by_agent_id.hits == 0  # never asked by agent_id (a 500 upstream)
    # The next pass knows them: no new fetch.
    clock.advance(seconds=60)
    again = await run_sync(http, state, live.setup, "liveness")
    assert again["counters"]["new_devices"] == 0 and again["counters"]["requests"] == 3


async def test_stale_when_tactical_stops_answering(http, state, transport, tenant, clock, db) -> None:  # type: ignore[no-untyped-def]
    live = await connect_live(http, transport, tenant, state, clock)
    for _ in range(2):
        clock.advance(seconds=30)
        await tick(state, clock)
    before = await summary(http, live)
    assert before["counts"]["stale"] == 0
    shown_before = {
        a["id"]: a["agent_status"]
        for a in (await http.get("/api/v1/assets?page_size=200", headers=tenant.headers())).json()["items"]
    }
    as_of = before["data_as_of"]
    live.setup.app.state.faults.add(Fault(kind="status", status=502))  # the server stops answering
    partial_or_failed: list[str] = []
    for _ in range(6):  # three liveness intervals
        clock.advance(seconds=30)
        await tick(state, clock)
    runs = (
        await db.execute(
            select(SyncRun.status).where(SyncRun.tenant_id == tenant.tenant_id, SyncRun.kind == "liveness")
            .order_by(SyncRun.created_at.desc()).limit(3)
        )
    ).scalars().all()  # fmt: skip
    partial_or_failed.extend(runs)
    assert set(partial_or_failed) == {"failed"}
    after = await summary(http, live)
    assert after["data_as_of"] == as_of  # a failed pass does not advance freshness
    assert after["counts"]["stale"] == len(live.setup.fleet.agents)
    assert after["counts"]["offline"] == after["counts"]["overdue"] == after["counts"]["online"] == 0
    items = (await http.get("/api/v1/assets?page_size=200", headers=tenant.headers())).json()["items"]
    assert all(a["status_stale"] for a in items)
    assert {a["id"]: a["agent_status"] for a in items} == shown_before  # the last observed status, not decayed
    stale = (await http.get("/api/v1/assets?agent_status=stale&page_size=1", headers=tenant.headers())).json()
    assert stale["total"] == len(live.setup.fleet.agents)
    offline = (await http.get("/api/v1/assets?agent_status=offline", headers=tenant.headers())).json()
    assert offline["total"] == 0
    one = (await http.get(f"/api/v1/assets/{items[0]['id']}", headers=tenant.headers())).json()
    assert one["status_stale"] and one["status_observed_at"] is not None
    # Tactical answers again: the next pass makes everything fresh and equal to Tactical's counts.
    live.setup.app.state.faults.clear()
    clock.advance(seconds=60)
    await tick(state, clock)
    body = await summary(http, live)
    assert body["counts"]["stale"] == 0 and ours(body) == tactical_counts(live)


async def test_partial_pass_does_not_advance_freshness(http, state, transport, tenant, clock, db) -> None:  # type: ignore[no-untyped-def]
    live = await connect_live(http, transport, tenant, state, clock)
    first = await run_sync(http, state, live.setup, "liveness")
    assert first["status"] == "succeeded"
    as_of = (await summary(http, live))["data_as_of"]
    clock.advance(seconds=60)
    live.setup.app.state.faults.add(Fault(kind="status", status=502, query_contains="client=2"))
    run = await run_sync(http, state, live.setup, "liveness")
    assert run["status"] == "partial" and any(e.get("scope") == "2" for e in run["errors"])
    assert (await summary(http, live))["data_as_of"] == as_of
    live_rows = await db.scalar(select(func.count()).select_from(AssetLiveness).where(
        AssetLiveness.tenant_id == tenant.tenant_id))  # fmt: skip
    assert live_rows == len(live.setup.fleet.agents)


async def test_threshold_changed_in_tactical_counts_after_the_next_device_sync(http, state, transport, tenant, clock, db) -> None:  # type: ignore[no-untyped-def]
    live = await connect_live(http, transport, tenant, state, clock)
    fleet = live.setup.fleet
    agent = next(a for a in fleet.agents.values() if a.live and (a.offline_time, a.overdue_time) == (4, 30))
    agent.live = False
    fleet.set_last_seen(agent.pk, clock.now - timedelta(minutes=6))
    agent.offline_time = 10  # the admin gave this agent a longer offline time in Tactical
    assert status_of(agent, clock.now) == "online"
    assert (await run_sync(http, state, live.setup, "devices"))["status"] == "succeeded"
    assert (await run_sync(http, state, live.setup, "liveness"))["status"] == "succeeded"
    r = await http.get(f"/api/v1/assets?q={agent.hostname}", headers=tenant.headers())
    (asset,) = [a for a in r.json()["items"] if a["rmm_device_id"] == agent.agent_id]
    assert asset["agent_status"] == "online"
    clock.advance(minutes=5)  # 11 minutes without a check-in: offline by its own 10-minute rule
    await run_sync(http, state, live.setup, "liveness")
    r = await http.get(f"/api/v1/assets/{asset['id']}", headers=tenant.headers())
    assert r.json()["agent_status"] == status_of(agent, clock.now) == "offline"


async def test_new_agents_wait_for_a_running_device_sync(http, state, transport, tenant, clock, db) -> None:  # type: ignore[no-untyped-def]
    from rmmbridge.storage.db import unit_of_work
    from rmmbridge.sync.service import request_sync
    from rmmbridge.tenancy.auth import system_context

    live = await connect_live(http, transport, tenant, state, clock)
    site = next(iter(live.setup.fleet.sites.values()))
    live.setup.fleet.add_agent(site.id, hostname="NEW-ONE", when=clock.now)
    ctx = system_context(tenant.tenant_id, "test")
    async with unit_of_work(state.sessionmaker) as s:  # a device sync queued (not run): it will bring the agent
        await request_sync(state, s, ctx, uuid.UUID(live.setup.integration_id), "devices", "test", submit=False)
    run = await run_sync(http, state, live.setup, "liveness")
    assert run["status"] == "succeeded"
    assert run["counters"]["new_devices"] == 0 and run["counters"]["new_deferred"] == 1
    assert run["counters"]["requests"] == 3  # no one-by-one fetch while the sync is under way
