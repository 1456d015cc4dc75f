"""Run ownership (issue #15): fencing tokens refuse a superseded owner's writes, a lease renewed
while the work progresses keeps a slow run alive, a dead owner's run is failed and the next request
starts a new run, a stopping runner hands its run back (the device sync's page queue full), and
attempts are recorded with one started event per run."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from rmmbridge.kit.time import utcnow
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import EventOutbox, SyncRun
from rmmbridge.sync import runs
from rmmbridge.sync.ownership import RunSuperseded
from rmmbridge.sync.runner import DirectRunner, runner_of
from rmmbridge.sync.service import request_sync
from rmmbridge.tenancy.auth import system_context
from tests.conftest import map_all, run_sync


async def _queued(state, tiny, kind: str = "devices") -> SyncRun:
    async with unit_of_work(state.sessionmaker) as s:
        ctx = system_context(tiny.tenant.tenant_id, "test")
        started = await request_sync(state, s, ctx, uuid.UUID(tiny.integration_id), kind, "test", submit=False)
    return started.run


async def _get(state, tenant_id, run_id) -> SyncRun:
    async with unit_of_work(state.sessionmaker, read_only=True) as s:
        row = await s.get(SyncRun, (tenant_id, run_id))
        assert row is not None
        return row


async def _claim(state, tenant_id, run_id, owner, **kw):
    async with unit_of_work(state.sessionmaker) as s:
        run = await s.get(SyncRun, (tenant_id, run_id))
        return await runs.claim(s, run, owner, **kw)


async def test_a_superseded_owners_late_write_is_refused(state, tiny, capsys):
    tid = tiny.tenant.tenant_id
    run = await _queued(state, tiny, "alerts")
    first = await _claim(state, tid, run.id, "host-a:1", lease_s=30)
    assert first is not None and first.attempt == 1
    # Its lease ran out (the owner hung); a new request fails the run and starts another.
    async with unit_of_work(state.sessionmaker) as s:
        await s.execute(
            update(SyncRun).where(SyncRun.id == run.id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    newer = await _queued(state, tiny, "alerts")
    assert newer.id != run.id
    expired = await _get(state, tid, run.id)
    assert expired.status == "failed" and "stopped renewing its lease" in expired.errors[-1]["error"]
    # The hung owner wakes up and reports its result: refused, logged, nothing overwritten.
    with pytest.raises(RunSuperseded):
        async with unit_of_work(state.sessionmaker) as s:
            late = await s.get(SyncRun, (tid, run.id))
            late.counters = {"created": 999}
            await runs.finish_run(s, late, "partial", fence=first)
    again = await _get(state, tid, run.id)
    assert again.status == "failed" and again.counters.get("created") != 999
    logged = capsys.readouterr()
    # stdout while structlog is unconfigured; stderr once the process configured logging.
    assert "sync_write_refused" in logged.out + logged.err

    # Taken over by a newer attempt of the same orchestrator (a Temporal retry): the first
    # attempt's progress, hand-back and result are all refused.
    second_run = newer
    a1 = await _claim(state, tid, second_run.id, "temporal:sync-run-x@w1:1", lease_s=30)
    a2 = await _claim(state, tid, second_run.id, "temporal:sync-run-x@w2:2", lease_s=30, resume="temporal:sync-run-x")
    assert a1 is not None and a2 is not None and (a1.attempt, a2.attempt) == (1, 2)
    with pytest.raises(RunSuperseded):
        async with unit_of_work(state.sessionmaker) as s:
            row = await s.get(SyncRun, (tid, second_run.id))
            await runs.save_progress(s, row, {"processed": 5}, {"pages": 1}, [], fence=a1)
    async with unit_of_work(state.sessionmaker) as s:
        row = await s.get(SyncRun, (tid, second_run.id))
        assert await runs.hand_back(s, row, a1, "stopping") is False
    async with unit_of_work(state.sessionmaker) as s:
        row = await s.get(SyncRun, (tid, second_run.id))
        await runs.finish_run(s, row, "succeeded", fence=a2)
    done = await _get(state, tid, second_run.id)
    assert done.status == "succeeded" and done.attempt == 2
    assert [(a["attempt"], a["owner"]) for a in done.attempts] == [
        (1, "temporal:sync-run-x@w1:1"),
        (2, "temporal:sync-run-x@w2:2"),
    ]
    assert done.attempts[0]["ended_at"] and "lost" in done.attempts[0]["cause"]
    assert done.attempts[1]["cause"] == "succeeded"


async def test_a_slow_owner_keeps_its_lease_and_no_second_run_starts(http, state, tiny, db, monkeypatch):
    """Pages slower than the lease: the owner is alive, so its heartbeat renews the lease; the dead-run
    sweep leaves the run alone and a second request joins it (today: failed after 3 min of no page
    and two more syncs beside it)."""
    await run_sync(http, state, tiny, "scopes")
    await map_all(http, tiny)
    monkeypatch.setattr(state.settings, "run_lease_s", 0.6)
    tiny.fleet.delay_s = 3.0  # each page takes five leases
    h = tiny.tenant.headers()
    try:
        first = (await http.post(f"/api/v1/integrations/{tiny.integration_id}/sync/devices", headers=h)).json()
        run_id = uuid.UUID(first["run"]["id"])
        await asyncio.sleep(2.0)  # > 3 leases without a page written
        async with unit_of_work(state.sessionmaker) as s:
            assert await runs.expire_dead_runs(s) == 0
        second = (await http.post(f"/api/v1/integrations/{tiny.integration_id}/sync/devices", headers=h)).json()
        assert second["joined"] is True and second["run"]["id"] == str(run_id)
        row = await db.get(SyncRun, (tiny.tenant.tenant_id, run_id), populate_existing=True)
        assert row.status == "running" and row.lease_expires_at > utcnow()
    finally:
        tiny.fleet.delay_s = 0
    await runner_of(state).wait(run_id, timeout=60)
    row = await db.get(SyncRun, (tiny.tenant.tenant_id, run_id), populate_existing=True)
    assert row.status == "succeeded" and row.attempt == 1 and row.counters["created"] == 30
    count = await db.scalar(
        select(func.count())
        .select_from(SyncRun)
        .where(SyncRun.integration_id == uuid.UUID(tiny.integration_id), SyncRun.kind == "devices")
    )
    assert count == 1


async def test_a_dead_owners_run_is_failed_and_the_next_request_starts_a_new_run(http, state, tiny, db):
    """SIGKILL of the owning process, as the database sees it: the run stays running but its lease
    is no longer renewed. 31 s later (today: joined for ~3.5 minutes) a request starts a new run."""
    tid, iid = tiny.tenant.tenant_id, uuid.UUID(tiny.integration_id)
    dead_at = utcnow() - timedelta(seconds=31)
    async with unit_of_work(state.sessionmaker) as s:
        dead = SyncRun(
            tenant_id=tid,
            integration_id=iid,
            kind="scopes",
            trigger="test",
            status="running",
            owner="gone-host:4242",
            attempt=1,
            attempts=[{"attempt": 1, "owner": "gone-host:4242", "started_at": dead_at.isoformat(), "ended_at": None}],
            started_at=dead_at,
            heartbeat_at=dead_at,
            lease_expires_at=dead_at + timedelta(seconds=state.settings.run_lease_s),
        )
        s.add(dead)
    r = await http.post(f"/api/v1/integrations/{tiny.integration_id}/sync/scopes", headers=tiny.tenant.headers())
    assert r.status_code == 202 and r.json()["joined"] is False and r.json()["run"]["id"] != str(dead.id)
    failed = await db.get(SyncRun, (tid, dead.id), populate_existing=True)
    assert failed.status == "failed" and "gone-host:4242" in failed.errors[-1]["error"]
    assert failed.attempts[0]["ended_at"] is not None
    await runner_of(state).wait(uuid.UUID(r.json()["run"]["id"]), timeout=60)


async def test_stopping_hands_the_run_back_even_with_the_page_queue_full(http, state, tiny, db, monkeypatch):
    """The SIGTERM hang: the writer stops while the scope walkers have filled the page queue. The
    runner's stop returns within its window, the run is handed back (queued, its attempt closed
    with the cause), and the next process resumes it as attempt 2 with one started event."""
    from rmmbridge.sync import device_sync

    await run_sync(http, state, tiny, "scopes")
    await map_all(http, tiny)
    monkeypatch.setattr(device_sync, "QUEUE_RECORDS", 1)
    original = device_sync.DeviceIngestor.ingest
    writing = asyncio.Event()

    async def slow_ingest(self, session, page, now):  # type: ignore[no-untyped-def]
        writing.set()
        await asyncio.sleep(30)  # the writer is slow; the walkers fill the queue meanwhile
        return await original(self, session, page, now)

    monkeypatch.setattr(device_sync.DeviceIngestor, "ingest", slow_ingest)
    runner = DirectRunner(state)
    run = await _queued(state, tiny)
    await runner.submit(tiny.tenant.tenant_id, run.id, "devices")
    await asyncio.wait_for(writing.wait(), 30)
    await asyncio.sleep(0.5)  # the walkers block on the full queue
    began = time.monotonic()
    await runner.stop(grace_s=2.0)
    assert time.monotonic() - began < 4.0
    row = await db.get(SyncRun, (tiny.tenant.tenant_id, run.id), populate_existing=True)
    assert row.status == "queued" and row.attempt == 1
    assert row.attempts[0]["cause"].startswith("handed back") and row.attempts[0]["ended_at"]
    monkeypatch.setattr(device_sync.DeviceIngestor, "ingest", original)
    resumed = DirectRunner(state)
    await resumed.submit(tiny.tenant.tenant_id, run.id, "devices")
    await resumed.wait(run.id, timeout=60)
    row = await db.get(SyncRun, (tiny.tenant.tenant_id, run.id), populate_existing=True)
    assert row.status == "succeeded" and row.attempt == 2 and row.counters["created"] == 30
    assert [a["attempt"] for a in row.attempts] == [1, 2] and row.started_at < row.finished_at
    assert row.started_at.isoformat()[:19] == row.attempts[0]["started_at"][:19]  # kept from attempt 1
    started = await db.scalar(
        select(func.count())
        .select_from(EventOutbox)
        .where(EventOutbox.event_type == "integration.sync_started", EventOutbox.entity_id == str(run.id))
    )
    assert started == 1
    shown = (await http.get(f"/api/v1/sync-runs/{run.id}", headers=tiny.tenant.headers())).json()
    assert shown["attempt"] == 2 and [a["cause"][:11] for a in shown["attempts"]] == ["handed back", "succeeded"]


async def test_healthz_and_metrics_report_the_direct_orchestrator(http):
    body = (await http.get("/healthz")).json()
    assert body["status"] == "ok" and body["orchestrator"] == {"name": "direct", "state": "up"}
    assert 'rmmbridge_orchestrator_up{orchestrator="direct"} 1.0' in (await http.get("/metrics")).text


async def test_a_failure_write_survives_a_database_outage(http, state, tiny, db, monkeypatch):
    """The write that ends a run is retried: a failing first attempt (PostgreSQL restarting) does not
    leave the run running."""
    from rmmbridge.sync import executor

    calls = {"n": 0}
    original = runs.finish_run

    async def flaky_finish(session, run, status, **kw):  # type: ignore[no-untyped-def]
        if status == "failed" and calls["n"] < 2:
            calls["n"] += 1
            raise ConnectionResetError("the database restarted")
        return await original(session, run, status, **kw)

    monkeypatch.setattr(runs, "finish_run", flaky_finish)
    tiny.fleet.api_key = "rotated"  # the run fails (an auth error), and the failure must be written
    run = await _queued(state, tiny, "scopes")
    status = await executor.execute_run(state, tiny.tenant.tenant_id, run.id, owner="test:1")
    assert status == "failed" and calls["n"] == 2
    row = await db.get(SyncRun, (tiny.tenant.tenant_id, run.id), populate_existing=True)
    assert row.status == "failed" and row.lease_expires_at is None
