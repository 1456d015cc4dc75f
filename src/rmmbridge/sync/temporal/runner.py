"""``TemporalRunner``: the ``SyncRunner`` of web processes when ``RMMBRIDGE_ORCHESTRATOR=temporal``.

Submitting never waits on Temporal: the run is queued in the database either way, so a request
answers at once and a background pump starts the run's workflow — right away while Temporal is
up, as soon as it is back when it is not. The pump's outcome is the orchestrator's state shown by
``/healthz`` and ``/metrics``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from rmmbridge.config import Settings
from rmmbridge.kit.metrics import ORCHESTRATOR_UP, SYNC_SUBMISSIONS_PENDING
from rmmbridge.kit.time import utcnow
from rmmbridge.state import AppState

from .payloads import SYNC_RUN_WORKFLOW, RunRef, workflow_id

log = structlog.get_logger(__name__)

# How long one attempt to reach Temporal may take before the orchestrator counts as down.
CONNECT_TIMEOUT_S = 2.0
RPC_TIMEOUT = timedelta(seconds=2)
RETRY_EVERY_S = 1.0  # while Temporal is down, pending runs are retried this often
PROBE_CACHE_S = 5.0
_RETIRED_CLIENTS: list[Client] = []


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)


class TemporalRunner:
    """Starts one workflow per run; the workers execute it."""

    def __init__(self, state: AppState) -> None:
        self._state = state
        self._client: Client | None = None
        self._connecting = asyncio.Lock()
        self._pending: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
        self._submitted: dict[uuid.UUID, asyncio.Event] = {}
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self.up: bool | None = None  # unknown until the first contact
        self.since = utcnow()
        self.error: str | None = None
        self._checked_at = 0.0

    async def client(self) -> Client:
        async with self._connecting:
            if self._client is None:
                self._client = await asyncio.wait_for(connect(self._state.settings), CONNECT_TIMEOUT_S)
            return self._client

    def _drop_client(self) -> None:
        # Kept, not freed: the SDK's native client finalized by the garbage collector at an
        # arbitrary moment (another thread, a closed loop) can crash the process. One per
        # reconnect after an outage: a bounded, small cost.
        if self._client is not None:
            _RETIRED_CLIENTS.append(self._client)
            del _RETIRED_CLIENTS[:-32]
        self._client = None

    def _mark(self, up: bool, error: str | None = None) -> None:
        if up != self.up:
            self.since = utcnow()
            if up:
                log.info("temporal_reachable")
            else:
                log.error("temporal_unreachable", error=error)
        self.up, self.error = up, error
        self._checked_at = time.monotonic()
        ORCHESTRATOR_UP.labels("temporal").set(1 if up else 0)
        SYNC_SUBMISSIONS_PENDING.set(len(self._pending))

    async def submit(self, tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str | None = None) -> None:
        """Hand the run to the pump and return at once. A run submitted twice (the scheduler
        resubmitting a run still queued) starts once: the workflow id is the run id."""
        self._pending[run_id] = (tenant_id, kind or "")
        self._submitted.setdefault(run_id, asyncio.Event())
        SYNC_SUBMISSIONS_PENDING.set(len(self._pending))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run_pump(), name="temporal-submit")
        self._wake.set()

    async def _run_pump(self) -> None:
        while True:
            self._wake.clear()
            for run_id, (tenant_id, kind) in list(self._pending.items()):
                try:
                    await self._start(tenant_id, run_id, kind)
                except Exception as exc:  # connection refused, timeout, namespace missing: retried
                    self._mark(False, f"{type(exc).__name__}: {exc}"[:300])
                    self._drop_client()  # reconnect: the old connection may be to a restarted server
                    break
                self._pending.pop(run_id, None)
                submitted = self._submitted.pop(run_id, None)
                if submitted is not None:
                    submitted.set()
                self._mark(True)
            if not self._pending:
                # Nothing left: the pump ends (submit starts a new one). A task parked forever
                # would outlive its event loop and be destroyed by the garbage collector at an
                # arbitrary moment — logging from inside the collector, which CPython 3.11 does
                # not survive in every state (a crashed compile, a segfault).
                return
            else:
                try:
                    await asyncio.wait_for(self._wake.wait(), RETRY_EVERY_S)
                except TimeoutError:
                    pass

    async def _start(self, tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str) -> None:
        client = await self.client()
        try:
            await client.start_workflow(
                SYNC_RUN_WORKFLOW,
                RunRef(str(tenant_id), str(run_id), kind),
                id=workflow_id(str(run_id)),
                task_queue=self._state.settings.temporal_task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                rpc_timeout=RPC_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            return

    async def probe(self) -> dict[str, Any]:
        """The orchestrator's state (cached a few seconds): for ``/healthz`` and ``/metrics``."""
        if time.monotonic() - self._checked_at > PROBE_CACHE_S:
            try:
                client = await self.client()
                await client.service_client.check_health(timeout=RPC_TIMEOUT)
                self._mark(True)
            except Exception as exc:
                self._drop_client()
                self._mark(False, f"{type(exc).__name__}: {exc}"[:300])
        return {
            "name": "temporal",
            "state": "up" if self.up else "down",
            "since": self.since.isoformat(),
            "error": self.error,
            "pending_submissions": len(self._pending),
        }

    async def wait(self, run_id: uuid.UUID, timeout: float | None = None) -> None:
        async def _wait() -> None:
            submitted = self._submitted.get(run_id)
            if submitted is not None:
                await submitted.wait()
            client = await self.client()
            handle = client.get_workflow_handle(workflow_id(str(run_id)))
            try:
                await handle.result()
            except WorkflowFailureError:
                return  # the run row says why (fail_sync_run recorded it)

        await asyncio.wait_for(_wait(), timeout)

    async def stop(self, grace_s: float | None = None) -> None:
        # Runs execute on the workers; runs not yet submitted stay queued (the next tick submits them).
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        self._drop_client()
