"""REST: start syncs and follow runs."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from rmmbridge.integrations.service import get_integration
from rmmbridge.storage.models import SyncRun
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.docs import error_responses
from rmmbridge.web.api.pagination import Page, Paging, make_page, paginate
from rmmbridge.web.deps import DB, State, require

from . import runs
from .schedules import schedule_views
from .schemas import ScheduleOut, SyncRequest, SyncRunOut, SyncStarted
from .service import request_sync

router = APIRouter(tags=["sync"], responses=error_responses(401, 403))
Reader = Annotated[TenantContext, Depends(require(Permission.settings_read))]
Operator = Annotated[TenantContext, Depends(require(Permission.sync_run))]
Kind = Literal["scopes", "devices", "alerts", "software", "liveness"]


@router.post(
    "/integrations/{integration_id}/sync/{kind}",
    response_model=SyncStarted,
    status_code=202,
    responses=error_responses(404, 409, 422),
)
async def start_sync(
    state: State, db: DB, ctx: Operator, integration_id: uuid.UUID, kind: Kind, body: SyncRequest | None = None
) -> SyncStarted:
    """Start a sync run (or get the one of this kind already running)."""
    params = {"incremental": True} if body and body.incremental else {}
    # The UI's own script calls this with the session cookie: a person pressed the button, as with
    # the form ("manual"); a bearer token is a script ("api").
    trigger = "manual" if ctx.actor.startswith("user:") else "api"
    started = await request_sync(state, db, ctx, integration_id, kind, trigger, params)
    return SyncStarted(run=SyncRunOut.model_validate(started.run), joined=started.joined)


@router.get(
    "/integrations/{integration_id}/schedules", response_model=list[ScheduleOut], responses=error_responses(404)
)
async def list_schedules(state: State, db: DB, ctx: Reader, integration_id: uuid.UUID) -> list[ScheduleOut]:
    """Every sync kind the provider supports: its schedule, next run and last run.

    Change a schedule with ``PATCH /integrations/{id}`` and
    ``{"settings": {"schedules": {"liveness": {"interval_seconds": 60, "enabled": true}}}}``:
    liveness 30 s – 15 min (default on, 60 s), the other kinds 5 min – 7 days. A liveness pass also
    waits ten times the last pass's duration. ``interval_minutes`` is still accepted.
    """
    row = await get_integration(db, ctx, integration_id)
    return await schedule_views(db, ctx, state.registry.get(row.provider), row, state.clock())


@router.get("/sync-runs", response_model=Page[SyncRunOut])
async def list_runs(
    db: DB,
    ctx: Reader,
    paging: Paging,
    integration_id: uuid.UUID | None = None,
    kind: Annotated[Literal["scopes", "devices", "alerts", "software", "agent", "liveness"] | None, Query()] = None,
    status: Annotated[Literal["queued", "running", "succeeded", "partial", "failed"] | None, Query()] = None,
) -> Page[SyncRunOut]:
    query = select(SyncRun).where(SyncRun.tenant_id == ctx.tenant_id)
    if integration_id:
        query = query.where(SyncRun.integration_id == integration_id)
    if kind:
        query = query.where(SyncRun.kind == kind)
    if status:
        query = query.where(SyncRun.status == status)
    rows, total = await paginate(db, query.order_by(SyncRun.created_at.desc(), SyncRun.id.desc()), paging)
    return make_page([SyncRunOut.model_validate(r[0]) for r in rows], total, paging)


@router.get("/sync-runs/{run_id}", response_model=SyncRunOut, responses=error_responses(404))
async def get_run(db: DB, ctx: Reader, run_id: uuid.UUID) -> SyncRunOut:
    return SyncRunOut.model_validate(await runs.get_run(db, ctx, run_id))
