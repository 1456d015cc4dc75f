"""Execute one sync run by id: the same code whichever orchestrator delivered the id."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

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
from rmmbridge.storage.db import connection_lost, unit_of_work
from rmmbridge.storage.models import RmmIntegration, SyncRun
from rmmbridge.tenancy.auth import system_context
from rmmbridge.tenancy.context import TenantContext

from . import runs
from .ownership import Fence, LeaseKeeper, RunSuperseded, current_fence

log = structlog.get_logger(__name__)

T = TypeVar("T")
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
    state: AppState,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    owner: str,
    resume: str | None = None,
    on_beat: Callable[[], None] | None = None,
) -> str | None:
    """Run it if it is still queued (or, with ``resume``, running for an owner starting with it).

    Returns the run's final status, or None when this call did not take the run. The owner holds
    a lease renewed while the work progresses (``on_beat`` runs with each renewal); cancelled (the
    service or worker is stopping), the attempt hands the run back, queued, for the next attempt.
    """
    ctx = system_context(tenant_id, f"sync:{run_id}")
    settings = state.settings

    async def take() -> tuple[SyncRun, RmmIntegration, Fence] | None:
        async with unit_of_work(state.sessionmaker) as session:
            run = await runs.get_run(session, ctx, run_id)
            resumable = bool(resume) and run.status == "running" and (run.owner or "").startswith(resume or "")
            if run.status != "queued" and not resumable:
                return None  # already taken (a duplicate delivery) or finished
            integration = await session.get(RmmIntegration, (tenant_id, run.integration_id))
            assert integration is not None  # FK
            fence = await runs.claim(session, run, owner, lease_s=settings.run_lease_s, resume=resume)
            if fence is None:
                return None  # another process took it first
            return run, integration, fence

    # A run requested just before the database restarts is claimed once it is back, instead of
    # staying queued until the scheduler's orphan sweep (or forever, with the scheduler off).
    taken = await _through_outage(state, "claim", run_id, take)
    if taken is None:
        return None
    run, integration, fence = taken
    provider_key = integration.provider
    started = time.perf_counter()
    log.info(
        "sync_started",
        run_id=str(run_id),
        kind=run.kind,
        provider=provider_key,
        tenant_id=str(tenant_id),
        attempt=fence.attempt,
        owner=owner,
    )
    fence_token = current_fence.set(fence)
    keeper = LeaseKeeper(
        state.sessionmaker,
        tenant_id,
        run_id,
        fence,
        lease_s=settings.run_lease_s,
        stall_s=settings.run_stall_timeout_s,
        on_beat=on_beat,
    )
    keeper.start()
    provider: Provider | None = None
    try:
        if not integration.is_active:
            raise ProviderConfigError("the integration is not active; test the connection first")
        async with unit_of_work(state.sessionmaker) as session:
            provider = await build_provider(state, session, integration)
        await jobs()[run.kind](state, ctx, run, integration, provider)
    except asyncio.CancelledError:
        if keeper.superseded:  # our own doing: the run is another attempt's now; nothing to write
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            log.warning("sync_superseded", run_id=str(run_id), attempt=fence.attempt)
            return None
        keeper.stop_beating()
        await _hand_back(state, ctx, run_id, fence, "handed back: its owner was stopping")
        raise
    except RunSuperseded:
        log.warning("sync_superseded", run_id=str(run_id), attempt=fence.attempt)
        return None
    except (ProviderError, AppError) as exc:
        message = exc.message if isinstance(exc, ProviderError) else exc.detail
        await _fail(
            state,
            ctx,
            run_id,
            fence,
            message,
            auth=isinstance(exc, ProviderAuthError),
            reauth=isinstance(exc, ProviderReauthRequired),
        )
    except Exception as exc:  # a bug must still end the run, with its cause kept for the admin
        if connection_lost(exc):  # not a defect: the database restarted or became unreachable
            log.warning("sync_database_lost", run_id=str(run_id), error=f"{type(exc).__name__}: {exc}"[:300])
            message = f"interrupted: the connection to the database was lost ({type(exc).__name__}); run it again"
        else:
            log.exception("sync_crashed", run_id=str(run_id))
            message = f"internal error: {type(exc).__name__}: {exc}"
        await _fail(state, ctx, run_id, fence, message)
    finally:
        await keeper.close()
        current_fence.reset(fence_token)
        if provider is not None:
            await provider.aclose()

    async def read_final() -> SyncRun:
        async with unit_of_work(state.sessionmaker, read_only=True) as session:
            return await runs.get_run(session, ctx, run_id)

    final = await _through_outage(state, "final read", run_id, read_final)
    SYNC_RUNS.labels(provider_key, final.kind, final.status).inc()
    log.info(
        "sync_finished",
        run_id=str(run_id),
        kind=final.kind,
        status=final.status,
        attempt=fence.attempt,
        counters=final.counters,
        seconds=round(time.perf_counter() - started, 3),
    )
    return final.status


async def _through_outage(state: AppState, what: str, run_id: uuid.UUID, op: Callable[[], Awaitable[T]]) -> T:
    """``op`` retried while the database is unreachable (a restart), for as long as a failure write
    is retried; any other error, or an outage outlasting that, is raised."""
    deadline = time.monotonic() + _write_window(state)
    delay = 0.25
    while True:
        try:
            return await op()
        except Exception as exc:
            if not connection_lost(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("sync_database_unreachable", run_id=str(run_id), step=what, error=str(exc)[:200])
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def _write_window(state: AppState) -> float:
    return max(2 * state.settings.run_lease_s, 10.0)


async def _with_retries(state: AppState, what: str, run_id: uuid.UUID, write: Callable[[], Awaitable[None]]) -> None:
    """A write that must survive a database restart (PostgreSQL restarting must not leave the run
    ``running``): retried with backoff for two leases' time; after that the lease has run out and
    the dead-run sweep (or the orchestrator) ends the run instead."""
    deadline = time.monotonic() + _write_window(state)
    delay = 0.25
    while True:
        try:
            await write()
            return
        except RunSuperseded:
            return  # refused and logged: the run is another attempt's
        except Exception as exc:
            if time.monotonic() + delay > deadline:
                log.error("sync_write_gave_up", run_id=str(run_id), write=what, error=str(exc)[:300])
                return
            log.warning("sync_write_retried", run_id=str(run_id), write=what, error=str(exc)[:200])
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _hand_back(state: AppState, ctx: TenantContext, run_id: uuid.UUID, fence: Fence, cause: str) -> None:
    async def write() -> None:
        async with unit_of_work(state.sessionmaker) as session:
            run = await runs.get_run(session, ctx, run_id)
            if await runs.hand_back(session, run, fence, cause):
                log.warning("sync_handed_back", run_id=str(run_id), attempt=fence.attempt, cause=cause)

    await _with_retries(state, "hand-back", run_id, write)


async def _fail(
    state: AppState,
    ctx: TenantContext,
    run_id: uuid.UUID,
    fence: Fence,
    message: str,
    *,
    auth: bool = False,
    reauth: bool = False,
) -> None:
    async def write() -> None:
        async with unit_of_work(state.sessionmaker) as session:
            run = await runs.get_run(session, ctx, run_id)
            if run.status in ("succeeded", "partial", "failed"):
                return
            await runs.finish_run(session, run, "failed", message=message, fence=fence)
            if auth:
                await _flag_integration(session, run, message, "needs_reauth" if reauth else "needs_attention")

    await _with_retries(state, "fail", run_id, write)
    log.warning("sync_failed", run_id=str(run_id), error=message)


async def _flag_integration(session: AsyncSession, run: SyncRun, message: str, state: str) -> None:
    integration = await session.get(RmmIntegration, (run.tenant_id, run.integration_id))
    if integration is not None:
        if integration.state != state:  # once per change, not once per failing run
            await needs_attention(session, integration, state, message)
        integration.state = state
        integration.state_message = message
