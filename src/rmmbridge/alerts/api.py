"""REST: ``/api/v1/alerts``."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends

from rmmbridge.errors import NotFound
from rmmbridge.storage.models import RmmAlert
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.docs import error_responses
from rmmbridge.web.api.pagination import Page, Paging, make_page, paginate
from rmmbridge.web.deps import DB, require

from . import repository, views
from .schemas import AlertOut

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=error_responses(401, 403))
Reader = Annotated[TenantContext, Depends(require(Permission.alerts_read))]


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
) -> Page[AlertOut]:
    filters = repository.AlertFilters(status, severity, integration_id, asset_id, client_id)
    rows, total = await paginate(db, repository.list_query(ctx, filters), paging)
    return make_page([views.from_row(r) for r in rows], total, paging)


@router.get("/{alert_id}", response_model=AlertOut, responses=error_responses(404))
async def get_alert(db: DB, ctx: Reader, alert_id: uuid.UUID) -> AlertOut:
    row = (
        await db.execute(repository.list_query(ctx, repository.AlertFilters()).where(RmmAlert.id == alert_id))
    ).first()
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return views.from_row(row)
