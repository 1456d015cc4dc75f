"""UI: the alerts list with filters (status, severity, type, source, client, provider, asset,
search) and bulk actions, and the alert page ``/alerts/<id>`` with its timeline and actions."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, or_, select

from rmmbridge.assets import repository as assets_repo
from rmmbridge.assets import views as asset_views
from rmmbridge.assets.views import parse_uuid
from rmmbridge.clients import repository as clients_repo
from rmmbridge.errors import AppError, NotFound
from rmmbridge.storage.models import Asset, RmmAlert, RmmIntegration
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.pagination import PageParams, paginate
from rmmbridge.web.deps import DB, State
from rmmbridge.web.ui.deps import Form, UiAuth, ui_ctx
from rmmbridge.web.ui.render import redirect, render

from . import actions, repository, views

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
STATUSES = ("active", "resolved")
SEVERITIES = ("critical", "error", "warning", "info")
SOURCES = ("webhook", "poll")


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
    alert_type: str = "",
    source: str = "",
    page: int = 1,
    ok: str = "",
    error: str = "",
) -> Response:
    ctx = ui_ctx(auth, Permission.alerts_read)
    types = sorted(
        t
        for t in await db.scalars(
            select(RmmAlert.alert_type).where(RmmAlert.tenant_id == ctx.tenant_id).distinct().limit(50)
        )
        if t
    )
    current = {
        "status": status if status in STATUSES else ("all" if status == "all" else ""),
        "severity": severity if severity in SEVERITIES else "",
        "client_id": str(parse_uuid(client_id) or ""),
        "provider": provider if provider in state.registry else "",
        "integration_id": str(parse_uuid(integration_id) or ""),
        "asset_id": str(parse_uuid(asset_id) or ""),
        "q": q.strip()[:200],
        "alert_type": alert_type if alert_type in types else "",
        "source": source if source in SOURCES else "",
    }
    filters = repository.AlertFilters(
        status=current["status"] if current["status"] in STATUSES else None,
        severity=current["severity"] or None,
        integration_id=parse_uuid(current["integration_id"]),
        asset_id=parse_uuid(current["asset_id"]),
        client_id=parse_uuid(current["client_id"]),
        alert_type=current["alert_type"] or None,
        source=current["source"] or None,
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
        types=types,
        sources=SOURCES,
        can_act=ctx.can(Permission.alerts_write),
        ok=ok,
        error=error,
    )


@router.get("/alerts/{alert_id}")
async def alert_page(
    request: Request, state: State, db: DB, auth: UiAuth, alert_id: str, ok: str = "", error: str = ""
) -> Response:
    ctx = ui_ctx(auth, Permission.alerts_read)
    aid = parse_uuid(alert_id)
    row = (
        (await db.execute(repository.list_query(ctx, repository.AlertFilters()).where(RmmAlert.id == aid))).first()
        if aid
        else None
    )
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    alert = views.from_row(row)
    device = None
    if alert.asset_id:
        now = state.clock()
        found = (
            await db.execute(
                assets_repo.list_query(ctx, assets_repo.AssetFilters(), now).where(Asset.id == alert.asset_id)
            )
        ).first()
        device = asset_views.summary(*found) if found else None
    entries = list(await db.scalars(repository.timeline_query(ctx, alert.id)))
    return render(
        request,
        "alert.html",
        a=alert,
        device=device,
        entries=entries,
        provider_name=state.registry.get(alert.provider).display_name if alert.provider in state.registry else "",
        can_act=ctx.can(Permission.alerts_write),
        ok=ok,
        error=error,
    )


@router.post("/alerts/{alert_id}/{action}")
async def alert_action(
    state: State, db: DB, auth: UiAuth, form: Form, alert_id: uuid.UUID, action: str
) -> Response:
    ctx = ui_ctx(auth, Permission.alerts_write)
    back = str(form.get("back")) if str(form.get("back", "")).startswith("/alerts") else f"/alerts/{alert_id}"
    if action not in ("acknowledge", "resolve", "snooze", "retry"):
        raise NotFound(f"no alert action {action}")
    days = _days(form) if action == "snooze" else None
    await db.commit()  # recorded locally first; no lock held while the RMM is asked
    try:
        (result,) = await actions.act(state, ctx, [alert_id], action, days)
    except AppError as exc:
        return _back(back, error=exc.detail)
    if result.remote_state == "failed":
        return _back(back, error=f"Done here, but the RMM refused: {result.remote_error}. Retry once fixed.")
    return _back(back, ok=DONE[action])


@router.post("/alerts/bulk")
async def bulk_action(request: Request, state: State, db: DB, auth: UiAuth, form: Form) -> Response:
    ctx = ui_ctx(auth, Permission.alerts_write)
    back = str(form.get("back")) if str(form.get("back", "")).startswith("/alerts") else "/alerts"
    # Every checked box (``form`` keeps one value per name; the CSRF token was checked there).
    checked = (await request.form()).getlist("alert_id")
    ids = [i for i in (parse_uuid(str(v)) for v in checked) if i]
    action = str(form.get("action", ""))
    if not ids:
        return _back(back, error="Select at least one alert.")
    days = _days(form) if action == "snooze" else None
    await db.commit()
    try:
        results = await actions.act(state, ctx, ids, action, days)
    except AppError as exc:
        return _back(back, error=exc.detail)
    failed = [r for r in results if r.remote_state == "failed"]
    if failed:
        refused = f"the RMM refused {len(failed)}: {failed[0].remote_error}"
        return _back(back, error=f"{len(results)} done here; {refused}")
    return _back(back, ok=f"{len(results)} alert(s): {DONE.get(action, action)}")


def _back(back: str, **params: str) -> Response:
    """303 to ``back`` (a list URL with its filters kept) with the flash message added."""
    path, _, query = back.partition("?")
    kept = {k: v for k, v in parse_qsl(query) if k not in ("ok", "error")}
    return redirect(path, **kept, **params)


DONE = {
    "acknowledge": "Acknowledged.",
    "resolve": "Resolved here and in the RMM.",
    "snooze": "Snoozed in the RMM.",
    "retry": "Sent to the RMM again: it agreed.",
}


def _days(form: dict[str, Any]) -> int | None:
    try:
        return int(str(form.get("days", "")))
    except ValueError:
        return None

