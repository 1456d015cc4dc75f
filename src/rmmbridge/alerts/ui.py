"""UI: the alerts list with filters (status, severity, client, provider, asset, search)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, or_, select

from rmmbridge.assets.views import parse_uuid
from rmmbridge.clients import repository as clients_repo
from rmmbridge.storage.models import Asset, RmmAlert, RmmIntegration
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.pagination import PageParams, paginate
from rmmbridge.web.deps import DB, State
from rmmbridge.web.ui.deps import UiAuth, ui_ctx
from rmmbridge.web.ui.render import render

from . import repository, views

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
STATUSES = ("active", "resolved")
SEVERITIES = ("critical", "error", "warning", "info")


@router.get("/alerts")
async def alerts_page(
    request: Request,
    state: State,
    db: DB,
    auth: UiAuth,
    status: str = "active",
    severity: str = "",
    client_id: str = "",
    provider: str = "",
    integration_id: str = "",
    asset_id: str = "",
    q: str = "",
    page: int = 1,
) -> Response:
    ctx = ui_ctx(auth, Permission.alerts_read)
    current = {
        "status": status if status in STATUSES else ("all" if status == "all" else ""),
        "severity": severity if severity in SEVERITIES else "",
        "client_id": str(parse_uuid(client_id) or ""),
        "provider": provider if provider in state.registry else "",
        "integration_id": str(parse_uuid(integration_id) or ""),
        "asset_id": str(parse_uuid(asset_id) or ""),
        "q": q.strip()[:200],
    }
    filters = repository.AlertFilters(
        status=current["status"] if current["status"] in STATUSES else None,
        severity=current["severity"] or None,
        integration_id=parse_uuid(current["integration_id"]),
        asset_id=parse_uuid(current["asset_id"]),
        client_id=parse_uuid(current["client_id"]),
    )
    query = repository.list_query(ctx, filters)
    if current["provider"]:
        query = query.where(RmmIntegration.provider == current["provider"])
    if current["q"]:
        like = f"%{current['q'].lower().replace('%', '').replace('_', '')}%"
        query = query.where(or_(func.lower(RmmAlert.message).like(like), func.lower(Asset.name).like(like)))
    params = PageParams(page=max(1, page), page_size=PAGE_SIZE)
    rows, total = await paginate(db, query, params)

    counts_query = (
        select(RmmAlert.severity, func.count())
        .where(RmmAlert.tenant_id == ctx.tenant_id, RmmAlert.status == "active")
        .group_by(RmmAlert.severity)
    )
    severity_counts = {k: int(v) for k, v in (await db.execute(counts_query)).all()}
    asset_name = None
    if filters.asset_id:
        asset_name = await db.scalar(
            select(Asset.name).where(Asset.tenant_id == ctx.tenant_id, Asset.id == filters.asset_id)
        )

    def url(**changes: Any) -> str:
        merged = {**current, **changes}
        if merged.get("page") in (1, "1"):
            merged.pop("page")
        return "/alerts?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})

    return render(
        request,
        "alerts.html",
        alerts=[views.from_row(r) for r in rows],
        total=total,
        current=current,
        statuses=STATUSES,
        severities=SEVERITIES,
        severity_counts=severity_counts,
        clients=await clients_repo.all_live(db, ctx),
        providers=[(cls.key, cls.display_name) for cls in state.registry],
        provider_names={cls.key: cls.display_name for cls in state.registry},
        asset_name=asset_name,
        page=params.page,
        pages=max(1, -(-total // params.page_size)),
        url=url,
    )
