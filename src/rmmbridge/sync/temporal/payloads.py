"""What travels through Temporal: ids only (no credentials, no device data)."""

from __future__ import annotations

from dataclasses import dataclass

SYNC_RUN_WORKFLOW = "SyncRun"
SCHEDULER_TICK_WORKFLOW = "SchedulerTick"
EXECUTE_RUN_ACTIVITY = "execute_sync_run"
FAIL_RUN_ACTIVITY = "fail_sync_run"
SCHEDULER_TICK_ACTIVITY = "scheduler_tick"
SCHEDULE_ID = "rmmbridge-scheduler"


@dataclass(frozen=True)
class RunRef:
    tenant_id: str
    run_id: str
    kind: str = ""


def workflow_id(run_id: str) -> str:
    """One workflow per run: a second submit of the same run is refused by Temporal itself."""
    return f"sync-run-{run_id}"


def run_owner(run_id: str) -> str:
    """The owner recorded on the run row: the workflow, not the worker process, so a retried
    activity on another worker may resume the run its earlier attempt started."""
    return f"temporal:{workflow_id(run_id)}"
