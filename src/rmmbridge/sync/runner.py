"""The ``SyncRunner`` protocol and the in-process (``direct``) implementation.

Features never talk to an orchestrator directly: they create a run row and, after commit, hand its
id to the runner. The direct runner executes it as an asyncio task in this process; the Temporal
runner (``sync/temporal``) starts a workflow with the same id-only payload.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from typing import Protocol

import structlog

from rmmbridge.state import AppState

log = structlog.get_logger(__name__)


class SyncRunner(Protocol):
    async def submit(self, tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str | None = None) -> None:
        """Execute the run (asynchronously); returns once it is handed over."""

    async def wait(self, run_id: uuid.UUID, timeout: float | None = None) -> None:
        """Wait for a run submitted by this process to finish (tests, CLI --wait)."""

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop accepting work; let runs finish within the graceful-shutdown window (``grace_s``,
        default the setting), hand back the rest."""


def process_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class DirectRunner:
    def __init__(self, state: AppState, max_concurrent: int = 4, max_refreshes: int = 16) -> None:
        self._state = state
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        # Whole-integration runs and single-device refreshes queue separately: a burst of webhook
        # refreshes must not hold a device sync in "queued", nor the other way round.
        self._limit = asyncio.Semaphore(max_concurrent)
        self._refresh_limit = asyncio.Semaphore(max_refreshes)
        self.owner = process_identity()
        self._closing = False

    async def submit(self, tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str | None = None) -> None:
        from .executor import execute_run

        if self._closing:  # the run stays queued: whichever process runs jobs next claims it
            log.info("sync_submit_while_stopping", run_id=str(run_id))
            return
        if run_id in self._tasks and not self._tasks[run_id].done():
            return
        limit = self._refresh_limit if kind == "agent" else self._limit

        async def _run() -> None:
            async with limit:
                try:
                    await execute_run(self._state, tenant_id, run_id, owner=self.owner)
                except Exception:  # the database stayed away past the retries; a run left queued
                    # is picked up by the scheduler's orphan sweep. Logged, not an unretrieved task error.
                    log.exception("sync_run_not_started", run_id=str(run_id))

        task = asyncio.create_task(_run(), name=f"sync-run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda t: self._tasks.pop(run_id, None) if self._tasks.get(run_id) is t else None)

    async def wait(self, run_id: uuid.UUID, timeout: float | None = None) -> None:
        task = self._tasks.get(run_id)
        if task is not None:
            await asyncio.wait_for(asyncio.shield(task), timeout)

    async def wait_all(self, timeout: float | None = None) -> None:
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)

    async def stop(self, grace_s: float | None = None) -> None:
        """Runs in progress get the graceful-shutdown window to finish, less a reserve in which the
        others are cancelled and hand their run back (queued, resumed by the next process that runs
        jobs). Returns within the window unless a run ignores its cancellation."""
        self._closing = True
        tasks = [t for t in self._tasks.values() if not t.done()]
        if not tasks:
            return
        grace = self._state.settings.graceful_shutdown_s if grace_s is None else grace_s
        reserve = min(5.0, grace / 2)
        log.info("sync_runner_stopping", runs=len(tasks), grace_s=grace)
        _, pending = await asyncio.wait(tasks, timeout=max(grace - reserve, 0))
        for task in pending:
            task.cancel()
        if pending:
            _, stuck = await asyncio.wait(pending, timeout=reserve)
            if stuck:
                log.error("sync_runs_not_stopped", runs=len(stuck))


def runner_of(state: AppState) -> SyncRunner:
    runner = state.extras.get("runner")
    if runner is None:
        from rmmbridge.config import Orchestrator

        if state.settings.orchestrator == Orchestrator.temporal:
            from .temporal.runner import TemporalRunner

            runner = TemporalRunner(state)
        else:
            runner = DirectRunner(state)
        state.extras["runner"] = runner
    return runner  # type: ignore[no-any-return]
