"""Activities: the effects of the sync workflows, run by ``rmmbridge worker`` with its own state."""

from __future__ import annotations

import asyncio
import uuid

import structlog
from temporalio import activity

from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models.sync import ACTIVE_RUN_STATUSES
from rmmbridge.sync.retention import prune_expired
from rmmbridge.tenancy.auth import system_context

from .. import runs
from ..executor import execute_run
from ..scheduler import claim_orphans, fire_due, keep_alive_due
from .payloads import EXECUTE_RUN_ACTIVITY, FAIL_RUN_ACTIVITY, SCHEDULER_TICK_ACTIVITY, RunRef, run_owner

log = structlog.get_logger(__name__)

HEARTBEAT_EVERY = 20.0  # seconds; well inside workflows.RUN_HEARTBEAT_TIMEOUT


class SyncActivities:
    def __init__(self, state: AppState) -> None:
        self.state = state

    def all(self) -> list[object]:
        return [self.execute_sync_run, self.fail_sync_run, self.scheduler_tick]

    @activity.defn(name=EXECUTE_RUN_ACTIVITY)
    async def execute_sync_run(self, ref: RunRef) -> None:
        """Execute the run; a later attempt (the earlier worker died) resumes it from the start —
        every job is a snapshot, so running it again is safe."""
        tenant_id, run_id = uuid.UUID(ref.tenant_id), uuid.UUID(ref.run_id)
        beating = asyncio.create_task(self._heartbeat(tenant_id, run_id))
        try:
            await execute_run(
                self.state, tenant_id, run_id, owner=run_owner(ref.run_id), resume=activity.info().attempt > 1
            )
        finally:
            beating.cancel()

    async def _heartbeat(self, tenant_id: uuid.UUID, run_id: uuid.UUID) -> None:
        # Two heartbeats: Temporal's (a dead worker is noticed and the activity retried
        # elsewhere) and the run row's (so nothing takes the run for abandoned while it works).
        ctx = system_context(tenant_id, f"sync:{run_id}")
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY)
            activity.heartbeat()
            async with unit_of_work(self.state.sessionmaker) as session:
                await runs.touch(session, ctx, run_id)

    @activity.defn(name=FAIL_RUN_ACTIVITY)
    async def fail_sync_run(self, ref: RunRef) -> None:
        ctx = system_context(uuid.UUID(ref.tenant_id), f"sync:{ref.run_id}")
        async with unit_of_work(self.state.sessionmaker) as session:
            run = await runs.get_run(session, ctx, uuid.UUID(ref.run_id))
            if run.status in ACTIVE_RUN_STATUSES:
                await runs.finish_run(session, run, "failed", message="the run crashed on every attempt")

    @activity.defn(name=SCHEDULER_TICK_ACTIVITY)
    async def scheduler_tick(self) -> dict[str, int]:
        """What the in-process scheduler does each tick; Temporal's Schedule fires it once per
        interval for the whole deployment, so no lease is needed."""
        fired = await fire_due(self.state)
        kept = await keep_alive_due(self.state)
        orphans = await claim_orphans(self.state)  # queued while Temporal was unreachable
        pruned = await prune_expired(self.state)
        if fired or orphans:
            log.info("scheduler_tick", fired=len(fired), keep_alive=len(kept), resubmitted=orphans)
        return {"fired": len(fired), "keep_alive": len(kept), "resubmitted": orphans, **pruned}
