"""Schedules in seconds, the adaptive liveness rule and interval edits, driven by a test clock.

``fire_due(state, now=…)`` is the one function both orchestrators call each tick (the in-process
Scheduler and Temporal's SchedulerTick activity), so these tests cover both paths' decisions.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from rmmbridge.kit.time import utcnow
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import SyncRun
from rmmbridge.sync.runner import runner_of
from rmmbridge.sync.scheduler import fire_due
from tests.providers.tacticalrmm.test_sync_flow import check_connection, connect

ONLY_LIVENESS = {
    "liveness": {"enabled": True},
    "devices": {"enabled": False},
    "alerts": {"enabled": False},
    "software": {"enabled": False},
}


async def _fired(state, iid: str, now: datetime) -> list[str]:
    fired = [f.split(":")[1] for f in await fire_due(state, now) if f.startswith(iid)]
    await runner_of(state).wait_all(timeout=60)
    return fired


async def _pass_took(state, iid: str, kind: str, started: datetime, seconds: float) -> None:
    """The newest finished run of ``kind`` started at ``started`` and took ``seconds`` (test clock)."""
    async with unit_of_work(state.sessionmaker) as s:
        run = await s.scalar(
            select(SyncRun)
            .where(SyncRun.integration_id == uuid.UUID(iid), SyncRun.kind == kind)
            .order_by(SyncRun.created_at.desc())
            .limit(1)
        )
        assert run is not None and run.finished_at is not None, "the fired run has finished"
        run.started_at, run.finished_at = started, started + timedelta(seconds=seconds)


async def _patch(http, tenant, iid: str, schedules: dict) -> dict:
    r = await http.patch(
        f"/api/v1/integrations/{iid}", headers=tenant.headers(), json={"settings": {"schedules": schedules}}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def _tactical(http, transport, tenant) -> str:
    setup = await connect(http, transport, tenant)
    assert (await check_connection(http, setup))["ok"]
    await _patch(http, tenant, setup.integration_id, ONLY_LIVENESS)
    return setup.integration_id


async def test_liveness_runs_every_60_s_by_default(http, state, transport, tenant):
    iid = await _tactical(http, transport, tenant)
    t0 = utcnow()
    assert await _fired(state, iid, t0) == ["liveness"]  # on from the moment it is connected
    await _pass_took(state, iid, "liveness", t0, 1.5)
    assert await _fired(state, iid, t0 + timedelta(seconds=30)) == []
    assert await _fired(state, iid, t0 + timedelta(seconds=58)) == []
    assert await _fired(state, iid, t0 + timedelta(seconds=60)) == ["liveness"]


async def test_a_slow_pass_holds_the_next_one_back_ten_times_its_duration(http, state, transport, tenant):
    iid = await _tactical(http, transport, tenant)
    t0 = utcnow()
    assert await _fired(state, iid, t0) == ["liveness"]
    await _pass_took(state, iid, "liveness", t0, 12)  # a big fleet: 12 s of the RMM's time
    assert await _fired(state, iid, t0 + timedelta(seconds=60)) == []
    assert await _fired(state, iid, t0 + timedelta(seconds=118)) == []
    schedules = (await http.get(f"/api/v1/integrations/{iid}/schedules", headers=tenant.headers())).json()
    live = next(s for s in schedules if s["kind"] == "liveness")
    assert live["held_back"] is True and live["last_run"]["seconds"] == 12.0
    assert await _fired(state, iid, t0 + timedelta(seconds=120)) == ["liveness"]


async def test_interval_edits_take_effect_at_the_next_tick(http, state, transport, tenant):
    iid = await _tactical(http, transport, tenant)
    t0 = utcnow()
    assert await _fired(state, iid, t0) == ["liveness"]
    await _pass_took(state, iid, "liveness", t0, 0.5)
    await _patch(http, tenant, iid, {"liveness": {"interval_seconds": 300}})
    assert await _fired(state, iid, t0 + timedelta(seconds=60)) == []  # the old 60 s no longer applies
    await _patch(http, tenant, iid, {"liveness": {"interval_seconds": 30}})
    assert await _fired(state, iid, t0 + timedelta(seconds=31)) == ["liveness"]
    await _pass_took(state, iid, "liveness", t0 + timedelta(seconds=31), 0.5)
    await _patch(http, tenant, iid, {"liveness": {"enabled": False}})
    assert await _fired(state, iid, t0 + timedelta(hours=1)) == []


async def test_a_schedule_whose_run_is_active_queues_nothing(http, state, transport, tenant, caplog):
    iid = await _tactical(http, transport, tenant)
    t0 = utcnow()
    async with unit_of_work(state.sessionmaker) as s:
        s.add(
            SyncRun(
                tenant_id=tenant.tenant_id,
                integration_id=uuid.UUID(iid),
                kind="liveness",
                trigger="manual",
                status="running",
                started_at=t0,
                heartbeat_at=t0,
            )
        )
    fired = await fire_due(state, t0 + timedelta(minutes=5))
    assert not [f for f in fired if f.startswith(iid)]
    assert "schedule_skipped" not in caplog.text
    async with unit_of_work(state.sessionmaker) as s:
        queued = await s.scalar(
            select(SyncRun.id).where(SyncRun.integration_id == uuid.UUID(iid), SyncRun.status == "queued")
        )
        assert queued is None
        await s.execute(
            update(SyncRun).where(SyncRun.integration_id == uuid.UUID(iid)).values(status="succeeded", finished_at=t0)
        )
    assert await _fired(state, iid, t0 + timedelta(minutes=5)) == ["liveness"]


async def test_devices_schedule_in_seconds_and_legacy_minutes(http, state, tiny):
    iid = tiny.integration_id
    await _patch(http, tiny.tenant, iid, {"alerts": {"enabled": False}, "devices": {"interval_minutes": 10}})
    t0 = utcnow()
    assert await _fired(state, iid, t0) == ["devices"]
    assert await _fired(state, iid, t0 + timedelta(seconds=590)) == []
    assert await _fired(state, iid, t0 + timedelta(seconds=600)) == ["devices"]
    schedules = (await http.get(f"/api/v1/integrations/{iid}/schedules", headers=tiny.tenant.headers())).json()
    assert [s["kind"] for s in schedules] == ["devices", "alerts", "software"]  # TinyRMM has no liveness
    devices = schedules[0]
    assert devices["interval_seconds"] == 600 and devices["enabled"] is True
    assert devices["last_run"]["status"] == "succeeded" and devices["last_run"]["trigger"] == "schedule"
    assert devices["held_back"] is False and devices["adaptive"] is False


async def test_the_cadence_does_not_slip_by_a_tick_each_period(http, state, tiny):
    """Ticks rarely land on a due time (a tick's own work shifts the next one): the schedule fires at
    the first tick after it is due, but its next period counts from the due time, so lateness
    never accumulates (alerts every 15 min ran every 15 min + a tick)."""
    iid = tiny.integration_id
    await _patch(http, tiny.tenant, iid, {"devices": {"enabled": False}, "software": {"enabled": False},
                                         "alerts": {"interval_seconds": 300}})  # fmt: skip
    t0 = utcnow()
    fired_at: list[float] = []
    for k in range(89):  # ticks every 10.3 s (a 10 s tick plus its own 0.3 s of work)
        if await _fired(state, iid, t0 + timedelta(seconds=10.3 * k)):
            fired_at.append(round(10.3 * k, 1))
    assert fired_at[0] == 0 and len(fired_at) == 4, fired_at
    assert fired_at[3] < 900 + 10.3, fired_at  # three periods: at most one tick late, not three
