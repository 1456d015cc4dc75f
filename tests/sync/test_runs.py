"""Sync runs: single flight (database-enforced), crash recovery, capability enforcement, scheduler."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from rmmbridge.kit.time import utcnow
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import EventOutbox, RmmIntegration, SchedulerLease, ScheduleState, SyncRun
from rmmbridge.sync import runs
from rmmbridge.sync.runner import runner_of
from rmmbridge.sync.scheduler import LEASE_NAME, Scheduler, acquire_lease, fire_due
from rmmbridge.tenancy.auth import system_context
from tests.conftest import connect_tiny, map_all, run_sync


async def test_second_request_joins_the_active_run(http, state, tiny):
    h = tiny.tenant.headers()
    tiny.fleet.delay_s = 0.5  # keep the first run busy while the second request arrives
    first = await http.post(f"/api/v1/integrations/{tiny.integration_id}/sync/scopes", headers=h)
    second = await http.post(f"/api/v1/integrations/{tiny.integration_id}/sync/scopes", headers=h)
    assert first.status_code == second.status_code == 202
    assert second.json()["joined"] is True and second.json()["run"]["id"] == first.json()["run"]["id"]
    await runner_of(state).wait(uuid.UUID(first.json()["run"]["id"]), timeout=60)
    tiny.fleet.delay_s = 0
    third = await http.post(f"/api/v1/integrations/{tiny.integration_id}/sync/scopes", headers=h)
    assert third.json()["joined"] is False and third.json()["run"]["id"] != first.json()["run"]["id"]
    await runner_of(state).wait(uuid.UUID(third.json()["run"]["id"]), timeout=60)


async def test_single_flight_is_enforced_by_the_database(state, tiny):
    tid, iid = tiny.tenant.tenant_id, uuid.UUID(tiny.integration_id)
    async with unit_of_work(state.sessionmaker) as s:
        s.add(SyncRun(tenant_id=tid, integration_id=iid, kind="devices", trigger="test", status="running"))
    with pytest.raises(IntegrityError):
        async with unit_of_work(state.sessionmaker) as s:
            s.add(SyncRun(tenant_id=tid, integration_id=iid, kind="devices", trigger="test", status="queued"))
    # A finished run does not block a new one.
    async with unit_of_work(state.sessionmaker) as s:
        run = await s.scalar(select(SyncRun).where(SyncRun.integration_id == iid, SyncRun.status == "running"))
        await runs.finish_run(s, run, "succeeded")
    async with unit_of_work(state.sessionmaker) as s:
        s.add(SyncRun(tenant_id=tid, integration_id=iid, kind="devices", trigger="test", status="queued"))
        await s.flush()
        await s.rollback()


async def test_crashed_run_is_failed_at_next_start(state, tiny, db, settings_factory):
    tid, iid = tiny.tenant.tenant_id, uuid.UUID(tiny.integration_id)
    async with unit_of_work(state.sessionmaker) as s:
        run = SyncRun(
            tenant_id=tid,
            integration_id=iid,
            kind="alerts",
            trigger="test",
            status="running",
            heartbeat_at=utcnow() - timedelta(minutes=10),
        )
        s.add(run)
    from rmmbridge.app import build_state
    from rmmbridge.sync.lifecycle import start_background_services, stop_background_services

    # A second process starting on the same database, as `serve` does: its own state, runner and
    # delivery worker, so nothing it starts outlives the test or competes with the session's.
    process = build_state(settings_factory(scheduler_enabled=False, delivery_enabled=False))
    await start_background_services(None, process)  # type: ignore[arg-type]
    try:
        failed = await db.get(SyncRun, (tid, run.id), populate_existing=True)
        assert failed.status == "failed"
        assert "interrupted" in failed.errors[0]["error"]
        integ = await db.get(RmmIntegration, (tid, iid), populate_existing=True)
        assert integ.sync_status["alerts"]["last_error"].startswith("interrupted")
    finally:
        await stop_background_services(None, process)  # type: ignore[arg-type]
        await process.engine.dispose()


async def test_capabilities_are_enforced(http, state, transport, tenant):
    setup = await connect_tiny(http, transport, tenant, provider="tinypull")
    h = tenant.headers()
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/sync/software", headers=h)
    assert r.status_code == 404 and "does not support software inventory" in r.json()["detail"]
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/rotate", headers=h)
    # No webhook for this provider: the sub-resource does not exist for it.
    assert r.status_code == 404 and r.json()["type"].endswith("capability-not-supported")
    info = (await http.get(f"/api/v1/integrations/{setup.integration_id}/webhook", headers=h)).json()
    assert info["supported"] is False and info["url"] is None
    providers = {p["key"]: p for p in (await http.get("/api/v1/providers", headers=h)).json()}
    assert "software_inventory" not in providers["tinypull"]["capabilities"]
    assert "software_inventory" in providers["tinyrmm"]["capabilities"]


async def test_runs_emit_events_and_record_status(http, state, tiny, db):
    run = await run_sync(http, state, tiny, "scopes")
    types = set((await db.scalars(select(EventOutbox.event_type).where(EventOutbox.entity_id == run["id"]))).all())
    assert types == {"integration.sync_started", "integration.sync_finished"}
    integ = (await http.get(f"/api/v1/integrations/{tiny.integration_id}", headers=tiny.tenant.headers())).json()
    assert integ["sync_status"]["scopes"]["last_success_at"] is not None


async def test_auth_failure_fails_run_and_flags_integration(http, state, tiny):
    await run_sync(http, state, tiny, "scopes")
    await map_all(http, tiny)
    tiny.fleet.api_key = "rotated-in-rmm"
    run = await run_sync(http, state, tiny, "devices")
    assert run["status"] == "failed" and "does not recognise" in run["errors"][0]["error"]
    integ = (await http.get(f"/api/v1/integrations/{tiny.integration_id}", headers=tiny.tenant.headers())).json()
    assert integ["state"] == "needs_attention" and "does not recognise" in integ["state_message"]
    events = await http.get("/api/v1/events?event_type=integration.needs_attention", headers=tiny.tenant.headers())
    [event] = [e for e in events.json()["items"] if e["entity_id"] == tiny.integration_id]
    assert event["payload"]["state"] == "needs_attention" and "does not recognise" in event["payload"]["message"]
    await run_sync(http, state, tiny, "devices")  # still failing: no second event for the same state
    events = await http.get("/api/v1/events?event_type=integration.needs_attention", headers=tiny.tenant.headers())
    assert len([e for e in events.json()["items"] if e["entity_id"] == tiny.integration_id]) == 1


async def test_scheduler_fires_due_schedules_once_and_holds_a_lease(http, state, tiny, db):
    h = tiny.tenant.headers()
    await http.patch(
        f"/api/v1/integrations/{tiny.integration_id}",
        headers=h,
        json={"settings": {"schedules": {"alerts": {"enabled": False}}}},
    )
    fired = await fire_due(state)
    mine = [f for f in fired if f.startswith(tiny.integration_id)]
    assert mine == [f"{tiny.integration_id}:devices"]
    await runner_of(state).wait_all(timeout=60)
    again = [f for f in await fire_due(state) if f.startswith(tiny.integration_id)]
    assert again == []  # next due in 60 minutes
    due = await db.get(ScheduleState, (tiny.tenant.tenant_id, uuid.UUID(tiny.integration_id), "devices"))
    assert timedelta(minutes=59) < due.next_due_at - utcnow() <= timedelta(minutes=60)
    # The settings merge kept the default device schedule while switching alerts off.
    integ = (await http.get(f"/api/v1/integrations/{tiny.integration_id}", headers=h)).json()
    assert integ["settings"]["schedules"] == {"alerts": {"enabled": False}}


async def test_only_one_scheduler_holds_the_lease(state):
    from datetime import timedelta as td

    async def forget_lease() -> None:
        async with unit_of_work(state.sessionmaker) as s:
            row = await s.get(SchedulerLease, LEASE_NAME)
            if row is not None:
                await s.delete(row)

    await forget_lease()
    # Whatever happens, the lease this test hands to "web-2" (valid six minutes from now) must not
    # outlive it: a real `serve` in a later test would not become the scheduler's leader.
    try:
        await _lease_rules(state, td)
    finally:
        await forget_lease()


async def _lease_rules(state, td) -> None:  # type: ignore[no-untyped-def]
    async with unit_of_work(state.sessionmaker) as s:
        assert await acquire_lease(s, "web-1", td(seconds=60)) is True
    async with unit_of_work(state.sessionmaker) as s:
        assert await acquire_lease(s, "web-2", td(seconds=60)) is False
    async with unit_of_work(state.sessionmaker) as s:
        assert await acquire_lease(s, "web-1", td(seconds=60)) is True  # renewal
    later = utcnow() + td(minutes=5)
    async with unit_of_work(state.sessionmaker) as s:
        assert await acquire_lease(s, "web-2", td(seconds=60), now=later) is True  # holder died
    sched = Scheduler(state)
    assert await sched.tick() == []  # not the leader now
    ctx = system_context(uuid.uuid4(), "x")
    assert ctx.actor == "system:x"
