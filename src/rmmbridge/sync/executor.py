"""Execute one sync run by id: the same code whichever orchestrator delivered the id."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import AppError
from rmmbridge.events.outbox import needs_attention
from rmmbridge.integrations.factory import build_provider
from rmmbridge.kit.metrics import SYNC_RUNS
from rmmbridge.providers.base import (
    Provider,
    ProviderAuthError,
    ProviderConfigError,
    ProviderError,
    ProviderReauthRequired,
)
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration, SyncRun
from rmmbridge.tenancy.auth import system_context
from rmmbridge.tenancy.context import TenantContext

from . import runs

log = structlog.get_logger(__name__)

Job = Callable[[AppState, TenantContext, SyncRun, RmmIntegration, Provider], Awaitable[None]]


def jobs() -> dict[str, Job]:
    from .device_sync import run_device_sync
    from .liveness import run_liveness_pass
    from .other_jobs import run_agent_refresh, run_alert_sync, run_scope_sync, run_software_sync

    return {
        "scopes": run_scope_sync,
        "devices": run_device_sync,
        "alerts": run_alert_sync,
        "software": run_software_sync,
        "agent": run_agent_refresh,
        "liveness": run_liveness_pass,
    }


async def execute_run(
    state: AppState, tenant_id: uuid.UUID, run_id: uuid.UUID, *, owner: str, resume: bool = False
) -> None:
    """Run it if it is still queued (or, with ``resume``, still running for ``owner``)."""
    ctx = system_context(tenant_id, f"sync:{run_id}")
    async with unit_of_work(state.sessionmaker) as session:
        run = await runs.get_run(session, ctx, run_id)
        resumable = resume and run.status == "running" and run.owner == owner
        if run.status != "queued" and not resumable:
            return  # already taken (a duplicate delivery) or finished
        integration = await session.get(RmmIntegration, (tenant_id, run.integration_id))
        assert integration is not None  # FK
        if not await runs.claim(session, run, owner, resume=resume):
            return  # another process took it first
        provider_key = integration.provider
    started = time.perf_counter()
    log.info("sync_started", run_id=str(run_id), kind=run.kind, provider=provider_key, tenant_id=str(tenant_id))
    provider: Provider | None = None
    try:
        if not integration.is_active:
            raise ProviderConfigError("the integration is not active; test the connection first")
        async with unit_of_work(state.sessionmaker) as session:
            provider = await build_provider(state, session, integration)
        await jobs()[run.kind](state, ctx, run, integration, provider)
    except asyncio.CancelledError:
        await _fail(state, ctx, run_id, "interrupted: the service stopped while the run was in progress")
        raise
    except (ProviderError, AppError) as exc:
        message = exc.message if isinstance(exc, ProviderError) else exc.detail
        await _fail(
            state,
            ctx,
            run_id,
            message,
            auth=isinstance(exc, ProviderAuthError),
            reauth=isinstance(exc, ProviderReauthRequired),
        )
    except Exception as exc:  # a bug must still end the run, with its cause kept for the admin
        log.exception("sync_crashed", run_id=str(run_id))
        await _fail(state, ctx, run_id, f"internal error: {type(exc).__name__}: {exc}")
    finally:
        if provider is not None:
            await provider.aclose()
    async with unit_of_work(state.sessionmaker) as session:
        final = await runs.get_run(session, ctx, run_id)
        SYNC_RUNS.labels(provider_key, final.kind, final.status).inc()
        log.info(
            "sync_finished",
            run_id=str(run_id),
            kind=final.kind,
            status=final.status,
            counters=final.counters,
            seconds=round(time.perf_counter() - started, 3),
        )


async def _fail(
    state: AppState, ctx: TenantContext, run_id: uuid.UUID, message: str, *, auth: bool = False, reauth: bool = False
) -> None:
    async with unit_of_work(state.sessionmaker) as session:
        run = await runs.get_run(session, ctx, run_id)
        if run.status in ("succeeded", "partial", "failed"):
            return
        await runs.finish_run(session, run, "failed", message=message)
        if auth:
            await _flag_integration(session, run, message, "needs_reauth" if reauth else "needs_attention")
    log.warning("sync_failed", run_id=str(run_id), error=message)


async def _flag_integration(session: AsyncSession, run: SyncRun, message: str, state: str) -> None:
    integration = await session.get(RmmIntegration, (run.tenant_id, run.integration_id))
    if integration is not None:
        if integration.state != state:  # once per change, not once per failing run
            await needs_attention(session, integration, state, message)
        integration.state = state
        integration.state_message = message
