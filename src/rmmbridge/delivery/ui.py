"""UI: Settings → Event delivery (webhook subscriptions, their delivery log, alert routing rules)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from rmmbridge.errors import AppError
from rmmbridge.events import catalogue
from rmmbridge.storage.models import EventDelivery
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.pagination import PageParams, paginate
from rmmbridge.web.deps import DB, State
from rmmbridge.web.ui.deps import Form, UiAuth, ui_ctx
from rmmbridge.web.ui.render import redirect, render

from . import routes as routes_svc
from . import subscriptions as subs
from .formats import FORMATS
from .schemas import RouteIn

router = APIRouter(include_in_schema=False)
BASE = "/settings/event-delivery"


def _message(exc: Exception) -> str:
    if isinstance(exc, AppError):
        return exc.detail
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


async def _overview(request: Request, db: Any, auth: Any, **extra: Any) -> Response:
    ctx = ui_ctx(auth, Permission.settings_read)
    all_subs = await subs.list_all(db, ctx)
    return render(
        request,
        "event_delivery.html",
        subscriptions=all_subs,
        names={str(s.id): s.name for s in all_subs},
        rules=await routes_svc.list_routes(db, ctx),
        event_types=catalogue.SUBSCRIBABLE,
        formats=FORMATS,
        can_write=ctx.can(Permission.settings_update),
        **extra,
    )


@router.get(BASE)
async def overview(request: Request, db: DB, auth: UiAuth, ok: str = "", error: str = "") -> Response:
    return await _overview(request, db, auth, ok=ok, error=error)


@router.post(BASE)
async def create_subscription(request: Request, state: State, db: DB, auth: UiAuth, form: Form) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    types = [t for t in (await request.form()).getlist("event_types") if isinstance(t, str)]
    try:
        sub, secret = await subs.create(
            state,
            db,
            ctx,
            name=str(form.get("name", "")).strip()[:200] or "Webhook",
            url=str(form.get("url", "")),
            fmt=str(form.get("format", "standard")),
            event_types=types,
        )
    except AppError as exc:
        return redirect(BASE, error=_message(exc))
    # Rendered, not redirected: the secret is shown once and must never travel in a URL.
    return await _detail(request, db, auth, sub.id, secret=secret, ok="Subscription created.")


async def _detail(request: Request, db: Any, auth: Any, sub_id: uuid.UUID, page: int = 1, **extra: Any) -> Response:
    ctx = ui_ctx(auth, Permission.settings_read)
    sub = await subs.get(db, ctx, sub_id)
    params = PageParams(page=max(1, page), page_size=50)
    query = (
        select(EventDelivery)
        .where(EventDelivery.tenant_id == ctx.tenant_id, EventDelivery.subscription_id == sub.id)
        .order_by(EventDelivery.created_at.desc(), EventDelivery.id.desc())
    )
    rows, total = await paginate(db, query, params)
    return render(
        request,
        "event_subscription.html",
        sub=sub,
        deliveries=[r[0] for r in rows],
        total=total,
        page=params.page,
        pages=max(1, -(-total // params.page_size)),
        can_write=ctx.can(Permission.settings_update),
        **extra,
    )


@router.get(BASE + "/{sub_id}")
async def detail(
    request: Request, db: DB, auth: UiAuth, sub_id: uuid.UUID, page: int = 1, ok: str = "", error: str = ""
) -> Response:
    return await _detail(request, db, auth, sub_id, page, ok=ok, error=error)


@router.post(BASE + "/{sub_id}")
async def act(request: Request, state: State, db: DB, auth: UiAuth, form: Form, sub_id: uuid.UUID) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    sub = await subs.get(db, ctx, sub_id)
    here = f"{BASE}/{sub_id}"
    action = form.get("action")
    try:
        if action == "test":
            await subs.send_test(state, db, sub)
            return redirect(here, ok="Test event queued: it shows in the log below within seconds.")
        if action in ("enable", "disable"):
            await subs.update_sub(state, db, sub, {"enabled": action == "enable"})
            return redirect(here, ok=f"Subscription {action}d.")
        if action == "rotate":
            secret, _ = await subs.rotate_secret(state, db, sub, timedelta(hours=24))
            return await _detail(request, db, auth, sub_id, secret=secret, ok="New secret; the old one signs for 24 h.")
        if action == "replay":
            await subs.replay_one(state, db, sub, uuid.UUID(str(form.get("delivery_id", ""))))
            return redirect(here, ok="Delivery queued again.")
        if action == "replay_range":
            hours = float(str(form.get("hours", "1")) or 1)
            if not 0 < hours <= 24 * 14:
                raise ValueError("hours must be between 0 and 336")
            now = state.clock()
            result = await subs.replay_range(state, db, sub, now - timedelta(hours=hours), now + timedelta(seconds=1))
            return redirect(here, ok=f"{result.requeued + result.added} events queued again.")
        if action == "delete":
            await subs.delete(state, db, sub)
            return redirect(BASE, ok="Subscription deleted.")
    except (AppError, ValueError) as exc:
        return redirect(here, error=_message(exc))
    return redirect(here, error="Unknown action.")


@router.post(BASE + "/rules")
async def add_rule(request: Request, db: DB, auth: UiAuth, form: Form) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    data = await request.form()
    try:
        body = RouteIn.model_validate(
            {
                "name": str(form.get("name", "")).strip() or "Rule",
                "severities": data.getlist("severities"),
                "alert_types": [t.strip() for t in str(form.get("alert_types", "")).split(",") if t.strip()],
                "device_name_pattern": str(form.get("device_name_pattern", "")).strip() or None,
                "subscription_ids": data.getlist("subscription_ids"),
                "stop_after_match": form.get("stop_after_match") == "on",
                "group_window_s": int(str(form.get("group_window_s", "0")) or 0),
            }
        )
        if form.get("dry_run"):
            result = await routes_svc.dry_run(request.app.state.rmm, db, ctx, [routes_svc.transient(ctx, body)], 7, 200)
            return await _overview(request, db, auth, dry_run=result, ok=f"Dry run of '{body.name}' (nothing sent).")
        await routes_svc.create_route(db, ctx, body)
    except (AppError, ValidationError, ValueError) as exc:
        return redirect(BASE, error=_message(exc))
    return redirect(BASE, ok="Routing rule added.")


@router.post(BASE + "/rules/{route_id}")
async def delete_rule(request: Request, db: DB, auth: UiAuth, form: Form, route_id: uuid.UUID) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    try:
        await db.delete(await routes_svc.get_route(db, ctx, route_id))
    except AppError as exc:
        return redirect(BASE, error=_message(exc))
    return redirect(BASE, ok="Routing rule deleted.")
