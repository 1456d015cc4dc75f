"""The ``temporal`` orchestrator against a real Temporal dev server: runs are workflows executed by
a worker, a run submitted twice runs once, the scheduler tick fires due schedules, a retried
activity resumes the run its earlier attempt started, and a run that crashes on every attempt
still ends failed (the workflow's last-resort activity)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import ActivityEnvironment

from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import Asset, EventOutbox, SyncRun
from rmmbridge.sync.runner import runner_of
from rmmbridge.sync.temporal.activities import SyncActivities
from rmmbridge.sync.temporal.payloads import SCHEDULE_ID, SCHEDULER_TICK_WORKFLOW, RunRef, run_owner, workflow_id
from rmmbridge.sync.temporal.runner import TemporalRunner
from rmmbridge.sync.temporal.schedules import ensure_schedule
from tests.conftest import connect_tiny, make_tenant, map_all, run_sync


async def _connected(temporal, transport):
    tenant = await make_tenant(temporal.state, "tmp")
    tiny = await connect_tiny(temporal.http, transport, tenant)
    return tiny


async def _run_row(state, tenant_id, run_id) -> SyncRun:
    async with unit_of_work(state.sessionmaker, read_only=True) as s:
        row = await s.get(SyncRun, (tenant_id, uuid.UUID(str(run_id))))
        assert row is not None
        return row


async def test_runs_are_workflows_executed_by_the_worker(temporal, transport):
    assert isinstance(runner_of(temporal.state), TemporalRunner)
    tiny = await _connected(temporal, transport)
    scopes = await run_sync(temporal.http, temporal.state, tiny, "scopes")
    assert scopes["status"] == "succeeded", scopes
    await map_all(temporal.http, tiny)
    run = await run_sync(temporal.http, temporal.state, tiny, "devices")
    assert run["status"] == "succeeded" and run["counters"]["created"] == 30, run
    row = await _run_row(temporal.state, tiny.tenant.tenant_id, run["id"])
    assert row.owner.startswith(run_owner(run["id"]) + "@")  # the workflow, on a worker, not the web process
    described = await temporal.client.get_workflow_handle(workflow_id(run["id"])).describe()
    assert described.status == WorkflowExecutionStatus.COMPLETED
    async with unit_of_work(temporal.state.sessionmaker, read_only=True) as s:
        count = await s.scalar(select(func.count()).select_from(Asset).where(Asset.tenant_id == tiny.tenant.tenant_id))
    assert count == 30


async def test_a_run_submitted_twice_runs_once(temporal, transport):
    tiny = await _connected(temporal, transport)
    await run_sync(temporal.http, temporal.state, tiny, "scopes")
    r = await temporal.http.post(
        f"/api/v1/integrations/{tiny.integration_id}/sync/scopes", headers=tiny.tenant.headers()
    )
    run_id = uuid.UUID(r.json()["run"]["id"])
    runner = runner_of(temporal.state)
    await runner.submit(tiny.tenant.tenant_id, run_id, "scopes")  # the scheduler resubmitting it
    await runner.wait(run_id, timeout=60)
    assert (await _run_row(temporal.state, tiny.tenant.tenant_id, run_id)).status == "succeeded"
    async with unit_of_work(temporal.state.sessionmaker, read_only=True) as s:
        started = await s.scalar(
            select(func.count())
            .select_from(EventOutbox)
            .where(EventOutbox.event_type == "integration.sync_started", EventOutbox.entity_id == str(run_id))
        )
    assert started == 1


async def test_scheduler_tick_fires_due_schedules_and_the_schedule_exists_once(temporal, transport):
    tiny = await _connected(temporal, transport)
    await run_sync(temporal.http, temporal.state, tiny, "scopes")
    await map_all(temporal.http, tiny)
    queue = temporal.state.settings.temporal_task_queue
    assert await ensure_schedule(temporal.client, queue, every=timedelta(hours=1)) is True
    assert await ensure_schedule(temporal.client, queue, every=timedelta(hours=1)) is False
    schedule = await temporal.client.get_schedule_handle(SCHEDULE_ID).describe()
    assert schedule.schedule.spec.intervals[0].every == timedelta(hours=1)
    # A worker of a release with another tick brings the existing schedule to its interval.
    assert await ensure_schedule(temporal.client, queue, every=timedelta(hours=2)) is False
    schedule = await temporal.client.get_schedule_handle(SCHEDULE_ID).describe()
    assert [i.every for i in schedule.schedule.spec.intervals] == [timedelta(hours=2)]
    # One tick, run now (the schedule would start the same workflow every interval).
    result = await temporal.client.execute_workflow(
        SCHEDULER_TICK_WORKFLOW, id=f"tick-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    assert result["fired"] >= 2  # devices and alerts are scheduled by default
    async with unit_of_work(temporal.state.sessionmaker, read_only=True) as s:
        fired = list(
            await s.scalars(
                select(SyncRun).where(SyncRun.tenant_id == tiny.tenant.tenant_id, SyncRun.trigger == "schedule")
            )
        )
    assert {r.kind for r in fired} >= {"devices", "alerts"}
    for r in fired:
        await runner_of(temporal.state).wait(r.id, timeout=120)
        assert (await _run_row(temporal.state, r.tenant_id, r.id)).status == "succeeded"
    # A second tick right away fires nothing for this integration: its schedules are not due.
    again = await temporal.client.execute_workflow(
        SCHEDULER_TICK_WORKFLOW, id=f"tick-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    assert again["fired"] == 0
    await temporal.client.get_schedule_handle(SCHEDULE_ID).delete()


async def test_a_retried_activity_resumes_its_run_and_nobody_elses(temporal, transport):
    tiny = await _connected(temporal, transport)
    await run_sync(temporal.http, temporal.state, tiny, "scopes")
    await map_all(temporal.http, tiny)
    async with unit_of_work(temporal.state.sessionmaker) as s:
        from rmmbridge.sync.service import request_sync
        from rmmbridge.tenancy.auth import system_context

        ctx = system_context(tiny.tenant.tenant_id, "test")
        started = await request_sync(
            temporal.state, s, ctx, uuid.UUID(tiny.integration_id), "devices", "test", submit=False
        )
    run_id = started.run.id
    ref = RunRef(str(tiny.tenant.tenant_id), str(run_id), "devices")
    # The first attempt's worker died mid-run: the row says running, owned by the workflow.
    async with unit_of_work(temporal.state.sessionmaker) as s:
        await s.execute(
            update(SyncRun)
            .where(SyncRun.tenant_id == tiny.tenant.tenant_id, SyncRun.id == run_id)
            .values(status="running", owner=run_owner(str(run_id)))
        )
    activities = SyncActivities(temporal.state)
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=1)
    await env.run(activities.execute_sync_run, ref)  # a first attempt does not take a running run
    assert (await _run_row(temporal.state, tiny.tenant.tenant_id, run_id)).status == "running"
    env.info = dataclasses.replace(env.info, attempt=2)
    await env.run(activities.execute_sync_run, ref)
    row = await _run_row(temporal.state, tiny.tenant.tenant_id, run_id)
    assert row.status == "succeeded" and row.counters["created"] == 30
    # A run owned by another workflow is never taken over.
    other = RunRef(ref.tenant_id, str(run_id), "devices")
    async with unit_of_work(temporal.state.sessionmaker) as s:
        await s.execute(
            update(SyncRun)
            .where(SyncRun.tenant_id == tiny.tenant.tenant_id, SyncRun.id == run_id)
            .values(status="running", owner="temporal:sync-run-someone-else")
        )
    await env.run(activities.execute_sync_run, other)
    assert (await _run_row(temporal.state, tiny.tenant.tenant_id, run_id)).owner == "temporal:sync-run-someone-else"


async def test_the_workflows_last_resort_ends_an_active_run_failed(temporal, transport):
    tiny = await _connected(temporal, transport)
    async with unit_of_work(temporal.state.sessionmaker) as s:
        from rmmbridge.sync.service import request_sync
        from rmmbridge.tenancy.auth import system_context

        ctx = system_context(tiny.tenant.tenant_id, "test")
        started = await request_sync(
            temporal.state, s, ctx, uuid.UUID(tiny.integration_id), "scopes", "test", submit=False
        )
    ref = RunRef(str(tiny.tenant.tenant_id), str(started.run.id), "scopes")
    await SyncActivities(temporal.state).fail_sync_run(ref)
    row = await _run_row(temporal.state, tiny.tenant.tenant_id, started.run.id)
    assert row.status == "failed" and any("every attempt" in e.get("error", "") for e in row.errors)
