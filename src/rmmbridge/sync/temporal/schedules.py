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
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from .payloads import SCHEDULE_ID, SCHEDULER_TICK_WORKFLOW

TICK = timedelta(seconds=10)  # as the in-process Scheduler: liveness may run every 30 s


async def ensure_schedule(client: Client, task_queue: str, every: timedelta = TICK) -> bool:
    """Create the schedule unless it exists (every worker calls this at start). True if created.

    An existing schedule with another interval (one created by an older release, before the
    tick went from 30 s to 10 s) is brought to ``every``.
    """
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
        handle = client.get_schedule_handle(SCHEDULE_ID)
        current = (await handle.describe()).schedule.spec.intervals
        if [i.every for i in current] != [every]:

            def _with_interval(given: ScheduleUpdateInput) -> ScheduleUpdate:
                schedule = given.description.schedule
                schedule.spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)])
                return ScheduleUpdate(schedule=schedule)

            await handle.update(_with_interval)
        return False
    return True
