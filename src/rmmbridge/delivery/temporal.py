"""Event delivery in ``temporal`` mode: one long-lived workflow runs the delivery loop as a
sequence of heartbeating activity slices on the workers.

Temporal decides where the slice runs; a worker that dies stops heartbeating, and the slice is
retried on another worker within ``HEARTBEAT``. The database-side guarantees (cursor
compare-and-set, per-attempt claims) are the same as in ``direct`` mode, so a slice retried while
the dead one's claims are still leased sends nothing twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

DELIVERY_WORKFLOW = "EventDelivery"
DELIVERY_ACTIVITY = "deliver_events"
SLICE_S = 60.0
HEARTBEAT = timedelta(seconds=30)
SLICES_PER_RUN = 60  # then continue-as-new: the workflow's history stays short


def workflow_id(task_queue: str) -> str:
    return f"rmmbridge-event-delivery-{task_queue}"


class DeliveryActivities:
    def __init__(self, state: Any) -> None:
        self.state = state
        self._worker: Any = None

    def all(self) -> list[object]:
        return [self.deliver_events]

    @activity.defn(name=DELIVERY_ACTIVITY)
    async def deliver_events(self, seconds: float) -> int:
        from .worker import DeliveryWorker

        if self._worker is None:  # one per worker process: its HTTP pool and NATS connection persist
            self._worker = DeliveryWorker(self.state)
        activity.heartbeat(0)
        return await self._worker.run_for(seconds, on_progress=activity.heartbeat)  # type: ignore[no-any-return]


@workflow.defn(name=DELIVERY_WORKFLOW)
class EventDeliveryWorkflow:
    @workflow.run
    async def run(self) -> None:
        for _ in range(SLICES_PER_RUN):
            await workflow.execute_activity(
                DELIVERY_ACTIVITY,
                SLICE_S,
                start_to_close_timeout=timedelta(seconds=SLICE_S * 3),
                heartbeat_timeout=HEARTBEAT,
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            )
        workflow.continue_as_new()


async def ensure_delivery_workflow(client: Any, task_queue: str) -> None:
    """Start the delivery workflow of ``task_queue`` unless it runs already (every worker calls this)."""
    from temporalio.common import WorkflowIDConflictPolicy

    await client.start_workflow(
        DELIVERY_WORKFLOW,
        id=workflow_id(task_queue),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
