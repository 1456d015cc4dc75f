"""REST: ``/api/v1/alerts`` — list, read, timeline, and the two-way actions."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from starlette.exceptions import HTTPException as StarletteHTTPException

from rmmbridge.errors import NotFound
from rmmbridge.kit.text import NO_NUL
from rmmbridge.storage.models import RmmAlert
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.docs import error_responses
from rmmbridge.web.api.pagination import Page, Paging, make_page, paginate
from rmmbridge.web.deps import DB, State, require

from . import actions, repository, views
from .schemas import ActionResultOut, AlertEntryOut, AlertOut, BulkIn, SnoozeIn

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=error_responses(401, 403))
Reader = Annotated[TenantContext, Depends(require(Permission.alerts_read))]
Writer = Annotated[TenantContext, Depends(require(Permission.alerts_write))]


@router.api_route("/bulk", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def bulk_other_methods() -> None:
    """/alerts/bulk is its own resource (POST only): without this, a GET reached /alerts/{alert_id}
    and answered 422 "bulk is not a UUID" instead of 405 with ``Allow: POST``."""
    raise StarletteHTTPException(status_code=405)


@router.get("", response_model=Page[AlertOut], summary="List alerts (active first, newest first)")
async def list_alerts(
    db: DB,
    ctx: Reader,
    paging: Paging,
    status: Literal["active", "resolved"] | None = None,
    severity: Literal["info", "warning", "error", "critical"] | None = None,
    integration_id: uuid.UUID | None = None,
    asset_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    alert_type: Annotated[str | None, Query(max_length=60, pattern=NO_NUL)] = None,
    source: Literal["webhook", "poll"] | None = None,
) -> Page[AlertOut]:
    filters = repository.AlertFilters(status, severity, integration_id, asset_id, client_id, alert_type, source)
    rows, total = await paginate(db, repository.list_query(ctx, filters), paging)
    return make_page([views.from_row(r) for r in rows], total, paging)


async def _one(db: DB, ctx: TenantContext, alert_id: uuid.UUID) -> AlertOut:
    row = (
        await db.execute(repository.list_query(ctx, repository.AlertFilters()).where(RmmAlert.id == alert_id))
    ).first()
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return views.from_row(row)


@router.get("/{alert_id}", response_model=AlertOut, responses=error_responses(404))
async def get_alert(db: DB, ctx: Reader, alert_id: uuid.UUID) -> AlertOut:
    return await _one(db, ctx, alert_id)


@router.get("/{alert_id}/timeline", response_model=list[AlertEntryOut], responses=error_responses(404))
async def get_timeline(db: DB, ctx: Reader, alert_id: uuid.UUID) -> list[AlertEntryOut]:
    """Raised, redelivered, acknowledged, resolved … with source and who; payloads received, secrets removed."""
    await _one(db, ctx, alert_id)
    return [AlertEntryOut.model_validate(e) for e in await db.scalars(repository.timeline_query(ctx, alert_id))]


async def _act(
    state: State, db: DB, ctx: TenantContext, alert_id: uuid.UUID, action: str, days: int | None = None
) -> AlertOut:
    # The request's own transaction ends here: the action commits locally before the RMM is asked,
    # and no lock may be held while waiting on the RMM (SQLite has one writer).
    await db.commit()
    await actions.act(state, ctx, [alert_id], action, days)
    return await _one(db, ctx, alert_id)


@router.post("/{alert_id}/acknowledge", response_model=AlertOut, responses=error_responses(404, 422))
async def acknowledge(state: State, db: DB, ctx: Writer, alert_id: uuid.UUID) -> AlertOut:
    """Acknowledge in rmmbridge (the RMM has no acknowledge)."""
    return await _act(state, db, ctx, alert_id, "acknowledge")


@router.post("/{alert_id}/resolve", response_model=AlertOut, responses=error_responses(404, 409, 422))
async def resolve(state: State, db: DB, ctx: Writer, alert_id: uuid.UUID) -> AlertOut:
    """Resolve here at once and in the RMM; ``remote_state`` is ``failed`` (with ``remote_error``)
    when the RMM refused — retry with ``/retry``."""
    return await _act(state, db, ctx, alert_id, "resolve")


@router.post("/{alert_id}/snooze", response_model=AlertOut, responses=error_responses(404, 409, 422))
async def snooze(state: State, db: DB, ctx: Writer, alert_id: uuid.UUID, body: SnoozeIn) -> AlertOut:
    return await _act(state, db, ctx, alert_id, "snooze", body.days)


@router.post("/{alert_id}/retry", response_model=AlertOut, responses=error_responses(404, 409))
async def retry(state: State, db: DB, ctx: Writer, alert_id: uuid.UUID) -> AlertOut:
    """Send a resolve or snooze the RMM refused again."""
    return await _act(state, db, ctx, alert_id, "retry")


@router.post("/bulk", response_model=list[ActionResultOut], responses=error_responses(404, 409, 422))
async def bulk(state: State, db: DB, ctx: Writer, body: BulkIn) -> list[ActionResultOut]:
    """One action on many alerts (all exist, or nothing is done); one RMM call per integration."""
    await db.commit()
    results = await actions.act(state, ctx, body.alert_ids, body.action, body.days)
    return [ActionResultOut(**r.__dict__) for r in results]
