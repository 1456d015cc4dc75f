"""``rmmbridge worker``: a Temporal worker executing sync workflows and their activities."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from rmmbridge.config import Settings
from rmmbridge.delivery.temporal import DeliveryActivities, EventDeliveryWorkflow, ensure_delivery_workflow
from rmmbridge.state import AppState

from .activities import SyncActivities
from .runner import connect
from .schedules import ensure_schedule
from .workflows import SchedulerTickWorkflow, SyncRunWorkflow

log = structlog.get_logger(__name__)

# Activities share the process's connection pool; a few runs at once per worker (scale out by
# adding workers).
MAX_CONCURRENT_ACTIVITIES = 8


def shutdown_wait_s(grace_s: float) -> float:
    """The part of the graceful-shutdown window runs get to finish; the rest is the hand-back's."""
    return max(grace_s - min(5.0, grace_s / 2), 0.0)


def build_worker(client: Client, state: AppState) -> Worker:
    return Worker(
        client,
        task_queue=state.settings.temporal_task_queue,
        workflows=[SyncRunWorkflow, SchedulerTickWorkflow, EventDeliveryWorkflow],
        activities=SyncActivities(state).all() + DeliveryActivities(state).all(),  # type: ignore[arg-type]
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        # On SIGTERM runs may finish within the window, less a reserve in which the others are
        # cancelled and hand their run back (Temporal retries it on another worker).
        graceful_shutdown_timeout=timedelta(seconds=shutdown_wait_s(state.settings.graceful_shutdown_s)),
        # The workflows import only their payload names from rmmbridge; passing the package
        # through spares the sandbox re-importing it for every workflow run.
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("rmmbridge")
        ),
    )


async def run_worker(settings: Settings) -> None:
    from rmmbridge.app import build_state

    # Signals first: a stop requested while connecting still ends the process cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    state = build_state(settings)
    try:
        client = await connect(settings)
        if await ensure_schedule(client, settings.temporal_task_queue):
            log.info("temporal_schedule_created")
        if settings.delivery_enabled:
            await ensure_delivery_workflow(client, settings.temporal_task_queue)
        log.info("temporal_worker_started", address=settings.temporal_address, task_queue=settings.temporal_task_queue)
        async with build_worker(client, state):
            await stop.wait()
    finally:
        await state.engine.dispose()
