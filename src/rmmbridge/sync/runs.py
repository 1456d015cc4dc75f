"""Sync run rows: created first, one active run per (integration, kind), progress and outcome.

Single flight is enforced by the database (a partial unique index over queued/running runs), so
it holds across web processes and workers; a second request gets the active run back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import NotFound
from rmmbridge.events import catalogue
from rmmbridge.events.outbox import emit
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.models import RmmIntegration, SyncRun
from rmmbridge.storage.models.sync import ACTIVE_RUN_STATUSES
from rmmbridge.tenancy.context import TenantContext

from .ownership import Fence, RunSuperseded, current_fence, fenced, progressed, refused

MAX_ERRORS = 100
# Rows written before leases existed carry a heartbeat only: dead after this long without one.
LEGACY_STALE_AFTER = timedelta(minutes=3)
# Owners of runs executed by Temporal workers start with this (payloads.run_owner).
TEMPORAL_OWNER_PREFIX = "temporal:"
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class StartedRun:
    run: SyncRun
    joined: bool  # True: an active run existed and is returned instead of a new one


async def active_run(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, kind: str, target: str = ""
) -> SyncRun | None:
    return await session.scalar(
        select(SyncRun).where(
            SyncRun.tenant_id == ctx.tenant_id,
            SyncRun.integration_id == integration_id,
            SyncRun.kind == kind,
            SyncRun.target == target,
            SyncRun.status.in_(ACTIVE_RUN_STATUSES),
        )
    )


async def start_run(
    session: AsyncSession,
    ctx: TenantContext,
    integration: RmmIntegration,
    kind: str,
    trigger: str,
    params: dict[str, Any] | None = None,
    target: str = "",
) -> StartedRun:
    """Create a queued run, or return the active one of the same kind (and target)."""
    existing = await active_run(session, ctx, integration.id, kind, target)
    if existing is not None:
        now = utcnow()
        dead = lease_expired(existing, now) and not orchestrated(existing)
        if not (dead and await expire_run(session, existing, now)):
            return StartedRun(existing, True)
        await session.flush()
    run = SyncRun(
        tenant_id=ctx.tenant_id,
        integration_id=integration.id,
        kind=kind,
        trigger=trigger,
        status="queued",
        target=target,
        params=params or {},
        counters={},
        progress={},
        errors=[],
        attempts=[],
        heartbeat_at=utcnow(),
    )
    try:
        async with session.begin_nested():  # a savepoint, so a lost race does not abort the caller
            session.add(run)
            await session.flush()
    except IntegrityError:
        session.expunge(run) if run in session else None
        existing = await active_run(session, ctx, integration.id, kind, target)
        if existing is None:
            raise
        return StartedRun(existing, True)
    return StartedRun(run, False)


async def get_run(session: AsyncSession, ctx: TenantContext, run_id: uuid.UUID) -> SyncRun:
    run = await session.get(SyncRun, (ctx.tenant_id, run_id))
    if run is None:
        raise NotFound(f"no sync run {run_id}")
    return run


async def claim(
    session: AsyncSession,
    run: SyncRun,
    owner: str,
    *,
    lease_s: float = 30.0,
    resume: str | None = None,
) -> Fence | None:
    """Atomically make ``owner`` the run's owner; its fence, or None when the run is not takeable.

    A queued run is takeable (first attempt, or a run handed back by an owner that stopped). With
    ``resume`` (an owner prefix: the run's Temporal workflow), a running run whose owner starts
    with it is taken over too — the orchestrator retried the attempt elsewhere, and the fence
    (``attempt`` + 1) shuts the earlier attempt out. ``started_at`` stays the first attempt's.
    """
    now = utcnow()
    takeable = SyncRun.status == "queued"
    if resume:
        takeable = or_(takeable, and_(SyncRun.status == "running", SyncRun.owner.startswith(resume)))
    previous = run.status
    result = await session.execute(
        update(SyncRun)
        .where(SyncRun.tenant_id == run.tenant_id, SyncRun.id == run.id, takeable)
        .values(
            status="running",
            attempt=SyncRun.attempt + 1,
            owner=owner,
            started_at=func.coalesce(SyncRun.started_at, now),
            heartbeat_at=now,
            lease_expires_at=now + timedelta(seconds=lease_s),
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    await session.refresh(run)
    fence = Fence(owner, run.attempt, lease_s)
    attempts = [dict(a) for a in (run.attempts or [])]
    for entry in attempts:
        if entry.get("ended_at") is None:  # the earlier owner vanished without a word
            entry["ended_at"] = now.isoformat()
            entry["cause"] = (
                "lost: the orchestrator retried it after its worker stopped heartbeating"
                if previous == "running"
                else "ended without recording why"
            )
    attempts.append({"attempt": fence.attempt, "owner": owner, "started_at": now.isoformat(), "ended_at": None})
    run.attempts = attempts
    await session.execute(
        update(SyncRun)
        .where(*fenced(run.tenant_id, run.id, fence))
        .values(attempts=attempts)
        .execution_options(synchronize_session=False)
    )
    if fence.attempt == 1:  # one started event per run, whatever its attempts
        await emit(
            session,
            run.tenant_id,
            catalogue.INTEGRATION_SYNC_STARTED,
            "sync_run",
            run.id,
            {"integration_id": str(run.integration_id), "kind": run.kind, "trigger": run.trigger},
            now,
        )
    else:
        log.info("sync_resumed", run_id=str(run.id), attempt=fence.attempt, owner=owner)
    await session.flush()
    return fence


def _closed_attempts(run: SyncRun, fence: Fence | None, cause: str, now: datetime) -> list[Any]:
    attempts = [dict(a) for a in (run.attempts or [])]
    for entry in attempts:
        if entry.get("ended_at") is None and (fence is None or entry.get("attempt") == fence.attempt):
            entry["ended_at"] = now.isoformat()
            entry["cause"] = cause
            entry["counters"] = dict(run.counters or {})
    return attempts


async def save_progress(
    session: AsyncSession,
    run: SyncRun,
    counters: dict[str, Any],
    progress: dict[str, Any],
    errors: list[dict[str, Any]],
    fence: Fence | None = None,
) -> None:
    """Record a running run's progress (and renew its lease); refused unless ``fence`` still owns it."""
    fence = fence or current_fence.get()
    run.counters, run.progress, run.errors = counters, progress, errors[:MAX_ERRORS]
    now = utcnow()
    mine = (SyncRun.tenant_id == run.tenant_id, SyncRun.id == run.id)
    where = fenced(run.tenant_id, run.id, fence) if fence else mine
    values: dict[str, Any] = {"counters": run.counters, "progress": run.progress, "errors": run.errors}
    values["heartbeat_at"] = now
    if fence is not None:
        values["lease_expires_at"] = now + timedelta(seconds=fence.lease_s)
    result = await session.execute(
        update(SyncRun).where(*where).values(**values).execution_options(synchronize_session=False)
    )
    if fence is not None and not result.rowcount:  # type: ignore[attr-defined]
        raise refused(run.id, fence, "progress")
    progressed()


async def hand_back(session: AsyncSession, run: SyncRun, fence: Fence, cause: str) -> bool:
    """The owner stops before the run ends: back to queued (another worker, or this service once it
    is back, resumes it as the next attempt). False when the run was no longer this owner's."""
    now = utcnow()
    attempts = _closed_attempts(run, fence, cause, now)
    result = await session.execute(
        update(SyncRun)
        .where(*fenced(run.tenant_id, run.id, fence))
        .values(status="queued", lease_expires_at=None, heartbeat_at=now, attempts=attempts)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        refused(run.id, fence, "hand-back")
        return False
    return True


def add_errors(run: SyncRun, errors: list[dict[str, Any]]) -> None:
    if not errors:
        return
    current = list(run.errors or [])
    room = MAX_ERRORS - len(current)
    if room > 0:
        current.extend(errors[:room])
    counters = dict(run.counters or {})
    counters["errors_dropped"] = counters.get("errors_dropped", 0) + max(0, len(errors) - max(room, 0))
    run.counters = counters
    run.errors = current


async def finish_run(
    session: AsyncSession,
    run: SyncRun,
    status: str,
    *,
    complete_snapshot: bool = False,
    message: str | None = None,
    fence: Fence | None = None,
) -> None:
    """End the run. Under an owner's fence (given, or the executing attempt's) the write is refused
    with :class:`RunSuperseded` when the run is no longer that attempt's."""
    now = utcnow()
    if message:
        add_errors(run, [{"error": message}])
    fence = fence or current_fence.get()
    attempts = _closed_attempts(run, fence, message or status, now)
    if fence is not None:
        # The fence first: a superseded owner's result is refused before anything else of this
        # transaction (retirements, status recompute) can be committed on its word.
        result = await session.execute(
            update(SyncRun)
            .where(*fenced(run.tenant_id, run.id, fence))
            .values(status=status, finished_at=now, heartbeat_at=now, lease_expires_at=None, attempts=attempts)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise refused(run.id, fence, f"finish as {status}")
    run.status = status
    run.finished_at = now
    run.heartbeat_at = now
    run.lease_expires_at = None
    run.attempts = attempts
    run.complete_snapshot = complete_snapshot
    await emit(
        session,
        run.tenant_id,
        catalogue.INTEGRATION_SYNC_FINISHED,
        "sync_run",
        run.id,
        {"integration_id": str(run.integration_id), "kind": run.kind, "status": status, "counters": run.counters},
        now,
    )
    # Single-device refreshes are too frequent (one per webhook) to be worth a write to the shared
    # integration row; their outcome lives on the run.
    integration = (
        None if run.kind == "agent" else await session.get(RmmIntegration, (run.tenant_id, run.integration_id))
    )
    if integration is not None:
        status_map = dict(integration.sync_status or {})
        entry = dict(status_map.get(run.kind) or {})
        entry["last_run_id"] = str(run.id)
        if status in ("succeeded", "partial"):
            entry["last_success_at"] = now.isoformat()
        if status in ("failed", "partial"):
            entry["last_error_at"] = now.isoformat()
            first = (run.errors or [{}])[0]
            entry["last_error"] = str(first.get("error") or message or status)[:500]
        status_map[run.kind] = entry
        integration.sync_status = status_map
    await session.flush()


def lease_expired(run: SyncRun, now: datetime) -> bool:
    """A running run whose owner stopped renewing its lease (rows from before leases: heartbeat)."""
    if run.status != "running":
        return False
    if run.lease_expires_at is not None:
        return run.lease_expires_at < now
    return run.heartbeat_at is None or run.heartbeat_at < now - LEGACY_STALE_AFTER


def orchestrated(run: SyncRun) -> bool:
    """Runs of Temporal workflows are resumed or failed by their workflow, never expired here."""
    return (run.owner or "").startswith(TEMPORAL_OWNER_PREFIX)


async def expire_run(session: AsyncSession, run: SyncRun, now: datetime) -> bool:
    """Fail a run whose owner's lease ran out, fenced by the attempt seen (a renewal in between wins)."""
    fence = Fence(run.owner or "", run.attempt)
    try:
        await finish_run(
            session,
            run,
            "failed",
            message=f"interrupted: its owner ({run.owner}) stopped renewing its lease; the process died or hung",
            fence=fence,
        )
    except RunSuperseded:
        return False
    log.warning("sync_run_expired", run_id=str(run.id), owner=run.owner, attempt=run.attempt)
    return True


async def expire_dead_runs(session: AsyncSession, now: datetime | None = None) -> int:
    """Fail the runs whose owner died (lease expired). Returns how many."""
    now = now or utcnow()
    candidates = list(
        await session.scalars(
            select(SyncRun).where(
                SyncRun.status == "running",
                or_(
                    SyncRun.lease_expires_at < now,
                    and_(
                        SyncRun.lease_expires_at.is_(None),
                        or_(SyncRun.heartbeat_at.is_(None), SyncRun.heartbeat_at < now - LEGACY_STALE_AFTER),
                    ),
                ),
            )
        )
    )
    expired = 0
    for run in candidates:
        if orchestrated(run) or not lease_expired(run, now):
            continue
        expired += await expire_run(session, run, now)
    return expired


fail_stale_runs = expire_dead_runs  # the name callers knew
