"""Sync run rows: created first, one active run per (integration, kind), progress and outcome.

Single flight is enforced by the database (a partial unique index over queued/running runs), so
it holds across web processes and workers; a second request gets the active run back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import NotFound
from rmmbridge.events import catalogue
from rmmbridge.events.outbox import emit
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.models import RmmIntegration, SyncRun
from rmmbridge.storage.models.sync import ACTIVE_RUN_STATUSES
from rmmbridge.tenancy.context import TenantContext

MAX_ERRORS = 100
# A run whose heartbeat is older than this belongs to a process that died.
STALE_AFTER = timedelta(minutes=3)


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
        return StartedRun(existing, True)
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


async def claim(session: AsyncSession, run: SyncRun, owner: str, *, resume: bool = False) -> bool:
    """Atomically move a queued run to running for ``owner``; False when another process won.

    ``resume`` also takes a run already running for the same ``owner`` (a Temporal activity
    retried after its worker died: the owner is the workflow, not the process).
    """
    now = utcnow()
    takeable = SyncRun.status == "queued"
    if resume:
        takeable = or_(takeable, and_(SyncRun.status == "running", SyncRun.owner == owner))
    result = await session.execute(
        update(SyncRun)
        .where(SyncRun.tenant_id == run.tenant_id, SyncRun.id == run.id, takeable)
        .values(status="running", started_at=now, heartbeat_at=now, owner=owner)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await session.refresh(run)
    await emit(
        session,
        run.tenant_id,
        catalogue.INTEGRATION_SYNC_STARTED,
        "sync_run",
        run.id,
        {"integration_id": str(run.integration_id), "kind": run.kind, "trigger": run.trigger},
        now,
    )
    await session.flush()
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
    session: AsyncSession, run: SyncRun, status: str, *, complete_snapshot: bool = False, message: str | None = None
) -> None:
    now = utcnow()
    run.status = status
    run.finished_at = now
    run.heartbeat_at = now
    run.complete_snapshot = complete_snapshot
    if message:
        add_errors(run, [{"error": message}])
    event = catalogue.INTEGRATION_SYNC_FINISHED
    await emit(
        session,
        run.tenant_id,
        event,
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


async def touch(session: AsyncSession, ctx: TenantContext, run_id: uuid.UUID) -> None:
    """Record that the run's worker is alive."""
    await session.execute(
        update(SyncRun)
        .where(SyncRun.tenant_id == ctx.tenant_id, SyncRun.id == run_id, SyncRun.status == "running")
        .values(heartbeat_at=utcnow())
    )


async def fail_stale_runs(session: AsyncSession, now: datetime | None = None) -> int:
    """Mark runs whose process died (no heartbeat for a while) as failed. Returns how many."""
    now = now or utcnow()
    cutoff = now - STALE_AFTER
    stale = list(
        await session.scalars(
            select(SyncRun).where(
                SyncRun.status.in_(ACTIVE_RUN_STATUSES),
                or_(SyncRun.heartbeat_at.is_(None), SyncRun.heartbeat_at < cutoff),
            )
        )
    )
    for run in stale:
        await finish_run(session, run, "failed", message="interrupted: the process running it stopped")
    return len(stale)
