"""Workflow definitions. Deterministic code only: every effect happens in an activity."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from .payloads import (
        EXECUTE_RUN_ACTIVITY,
        FAIL_RUN_ACTIVITY,
        SCHEDULER_TICK_ACTIVITY,
        SCHEDULER_TICK_WORKFLOW,
        SYNC_RUN_WORKFLOW,
        RunRef,
    )

# A run heartbeats with each renewal of its lease (a third of RMMBRIDGE_RUN_LEASE_S, 10 s by
# default) while its work progresses (activities.py); a worker that dies or wedges is noticed after
# the heartbeat timeout and the run resumes on another worker, RUN_RETRY's first interval later:
# 30 + 5 s after the last heartbeat.
RUN_HEARTBEAT_TIMEOUT = timedelta(seconds=30)
RUN_TIMEOUT = timedelta(hours=6)
RUN_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2.0, maximum_attempts=3)


@workflow.defn(name=SYNC_RUN_WORKFLOW)
class SyncRunWorkflow:
    @workflow.run
    async def run(self, ref: RunRef) -> str:
        try:
            status: str = await workflow.execute_activity(
                EXECUTE_RUN_ACTIVITY,
                ref,
                start_to_close_timeout=RUN_TIMEOUT,
                heartbeat_timeout=RUN_HEARTBEAT_TIMEOUT,
                retry_policy=RUN_RETRY,
            )
        except ActivityError:
            # Every attempt crashed (a provider failure is not a crash: execute_run records it
            # and returns). The run must still end, with the reason for the admin.
            await workflow.execute_activity(
                FAIL_RUN_ACTIVITY,
                ref,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RetryPolicy(maximum_attempts=10),
            )
            raise
        if status == "failed":
            # The workflow's outcome is the run's: never "Completed" over a failed run.
            raise ApplicationError("the sync run failed; its errors are on the run", non_retryable=True)
        return status


@workflow.defn(name=SCHEDULER_TICK_WORKFLOW)
class SchedulerTickWorkflow:
    """Started by the Temporal Schedule every tick: fire due schedules, keep sessions warm."""

    @workflow.run
    async def run(self) -> dict[str, int]:
        result: dict[str, int] = await workflow.execute_activity(
            SCHEDULER_TICK_ACTIVITY,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=1),  # the next tick is the retry
        )
        return result
