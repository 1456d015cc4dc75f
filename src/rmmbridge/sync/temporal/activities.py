"""Activities: the effects of the sync workflows, run by ``rmmbridge worker`` with its own state."""

from __future__ import annotations

import asyncio
import uuid

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models.sync import ACTIVE_RUN_STATUSES
from rmmbridge.sync.retention import prune_expired
from rmmbridge.tenancy.auth import system_context

from .. import runs
from ..executor import execute_run
from ..runner import process_identity
from ..scheduler import claim_orphans, fire_due, keep_alive_due
from .payloads import EXECUTE_RUN_ACTIVITY, FAIL_RUN_ACTIVITY, SCHEDULER_TICK_ACTIVITY, RunRef, run_owner

log = structlog.get_logger(__name__)



class SyncActivities:
    def __init__(self, state: AppState) -> None:
        self.state = state

    def all(self) -> list[object]:
        return [self.execute_sync_run, self.fail_sync_run, self.scheduler_tick]

    @activity.defn(name=EXECUTE_RUN_ACTIVITY)
    async def execute_sync_run(self, ref: RunRef) -> str:
        """Execute the run. A later attempt (the earlier worker died, stalled or stopped) resumes the
        same run record as its next attempt, from the start — every job is a snapshot, so running
        it again is safe — and the fence shuts the earlier attempt out.

        The run's lease keeper beats Temporal's heartbeat with each renewal, so both stop together
        when the work stops progressing, and Temporal hands the run to another worker.
        """
        tenant_id, run_id = uuid.UUID(ref.tenant_id), uuid.UUID(ref.run_id)
        workflow_owner = run_owner(ref.run_id)
        try:
            status = await execute_run(
                self.state,
                tenant_id,
                run_id,
                owner=f"{workflow_owner}@{process_identity()}",
                resume=workflow_owner if activity.info().attempt > 1 else None,
                on_beat=activity.heartbeat,
            )
        except asyncio.CancelledError:
            if activity.is_worker_shutdown():
                # execute_run handed the run back; failing this attempt (not "cancelled", which would
                # end the workflow) makes Temporal retry it on another worker.
                raise ApplicationError("handed back: the worker stopped", type="HandedBack") from None
            raise
        return status or "not taken"

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
