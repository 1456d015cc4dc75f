"""The deployment's one Temporal Schedule: the scheduler tick, every ``TICK`` (overlaps skipped)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from .payloads import SCHEDULE_ID, SCHEDULER_TICK_WORKFLOW

TICK = timedelta(seconds=30)


async def ensure_schedule(client: Client, task_queue: str, every: timedelta = TICK) -> bool:
    """Create the schedule unless it exists (every worker calls this at start). True if created."""
    try:
        await client.create_schedule(
            SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    SCHEDULER_TICK_WORKFLOW, id=f"{SCHEDULE_ID}-tick", task_queue=task_queue
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    except ScheduleAlreadyRunningError:
        return False
    return True
