"""UI: the home dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from rmmbridge.storage.models import Asset, Client, RmmAlert
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.deps import DB

from .deps import UiAuth, ui_ctx
from .render import render

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, db: DB, auth: UiAuth) -> Response:
    ctx = ui_ctx(auth, Permission.assets_read)
    clients = await db.scalar(
        select(func.count()).where(Client.tenant_id == ctx.tenant_id, Client.archived_at.is_(None))
    )
    assets = await db.scalar(select(func.count()).where(Asset.tenant_id == ctx.tenant_id, Asset.status != "retired"))
    alerts = await db.scalar(
        select(func.count()).where(RmmAlert.tenant_id == ctx.tenant_id, RmmAlert.status == "active")
    )
    return render(request, "home.html", counts={"clients": clients, "assets": assets, "alerts": alerts})
