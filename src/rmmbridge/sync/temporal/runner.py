"""``TemporalRunner``: the ``SyncRunner`` of web processes when ``RMMBRIDGE_ORCHESTRATOR=temporal``."""

from __future__ import annotations

import asyncio
import uuid

import structlog
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from rmmbridge.config import Settings
from rmmbridge.state import AppState

from .payloads import SYNC_RUN_WORKFLOW, RunRef, workflow_id

log = structlog.get_logger(__name__)


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)


class TemporalRunner:
    """Starts one workflow per run; the workers execute it."""

    def __init__(self, state: AppState) -> None:
        self._state = state
        self._client: Client | None = None
        self._connecting = asyncio.Lock()

    async def client(self) -> Client:
        async with self._connecting:
            if self._client is None:
                self._client = await connect(self._state.settings)
            return self._client

    async def submit(self, tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str | None = None) -> None:
        """Start the run's workflow. A run submitted twice (the scheduler resubmitting a run that
        is still queued) starts once: the workflow id is the run id. If Temporal is unreachable
        the run stays queued, and the scheduler tick submits it again later."""
        try:
            client = await self.client()
            await client.start_workflow(
                SYNC_RUN_WORKFLOW,
                RunRef(str(tenant_id), str(run_id), kind or ""),
                id=workflow_id(str(run_id)),
                task_queue=self._state.settings.temporal_task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            return
        except Exception as exc:  # connection refused, namespace missing, …: the run waits, queued
            log.error("temporal_submit_failed", run_id=str(run_id), error=str(exc)[:300])

    async def wait(self, run_id: uuid.UUID, timeout: float | None = None) -> None:
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id(str(run_id)))
        try:
            await asyncio.wait_for(handle.result(), timeout)
        except WorkflowFailureError:
            return  # the run row says why (fail_sync_run recorded it)

    async def stop(self) -> None:
        self._client = None  # the SDK's connection closes with its last reference
