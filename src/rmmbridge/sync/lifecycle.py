"""Start and stop the background services of a web process (job runner, scheduler)."""

from __future__ import annotations

import structlog
from fastapi import FastAPI

from rmmbridge.config import Orchestrator
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work

from . import runs
from .runner import runner_of
from .scheduler import Scheduler

log = structlog.get_logger(__name__)


async def start_background_services(app: FastAPI, state: AppState) -> None:
    runner_of(state)
    if state.settings.orchestrator == Orchestrator.direct and state.settings.delivery_enabled:
        from rmmbridge.delivery.worker import DeliveryWorker

        delivery = DeliveryWorker(state)
        delivery.start()
        state.extras["delivery"] = delivery
    if state.settings.orchestrator != Orchestrator.direct:
        return  # Temporal workers own execution, retries and the schedule
    # Runs left running by a crashed process are found and failed at start.
    async with unit_of_work(state.sessionmaker) as session:
        failed = await runs.fail_stale_runs(session)
    if failed:
        log.warning("stale_runs_failed", count=failed)
    if state.settings.scheduler_enabled:
        scheduler = Scheduler(state)
        scheduler.start()
        state.extras["scheduler"] = scheduler


async def stop_background_services(app: FastAPI, state: AppState) -> None:
    delivery = state.extras.pop("delivery", None)
    if delivery is not None:
        await delivery.stop()
    scheduler = state.extras.pop("scheduler", None)
    if scheduler is not None:
        await scheduler.stop()
    runner = state.extras.pop("runner", None)
    if runner is not None:
        await runner.stop()
