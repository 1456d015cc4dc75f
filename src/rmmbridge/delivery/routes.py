"""Alert routing rules: stored, reordered, and tried against recent alerts (dry run)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import MissingReference, NotFound, ValidationFailed
from rmmbridge.state import AppState
from rmmbridge.storage.models import AlertRoute, Asset, EventSubscription, RmmAlert
from rmmbridge.tenancy.context import TenantContext

from . import routing
from .schemas import DryRunMatch, DryRunOut, RouteIn


async def list_routes(session: AsyncSession, ctx: TenantContext) -> list[AlertRoute]:
    return list(
        await session.scalars(
            select(AlertRoute).where(AlertRoute.tenant_id == ctx.tenant_id).order_by(AlertRoute.position, AlertRoute.id)
        )
    )


async def get_route(session: AsyncSession, ctx: TenantContext, route_id: uuid.UUID) -> AlertRoute:
    row = await session.get(AlertRoute, (ctx.tenant_id, route_id))
    if row is None:
        raise NotFound("no such routing rule")
    return row


async def _check_subscriptions(session: AsyncSession, ctx: TenantContext, ids: list[uuid.UUID]) -> None:
    found = set(
        await session.scalars(
            select(EventSubscription.id).where(
                EventSubscription.tenant_id == ctx.tenant_id, EventSubscription.id.in_(ids)
            )
        )
    )
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise MissingReference(f"no such subscriptions: {', '.join(missing)}", errors=[{"field": "subscription_ids"}])


def _values(body: RouteIn) -> dict[str, Any]:
    try:
        hours = body.hours()
    except ValueError as exc:
        raise ValidationFailed(f"business_hours: {exc}", errors=[{"field": "business_hours"}]) from None
    return {
        "name": body.name,
        "enabled": body.enabled,
        "severities": sorted(set(body.severities)),
        "alert_types": sorted(set(body.alert_types)),
        "client_ids": sorted({str(c) for c in body.client_ids}),
        "device_name_pattern": body.device_name_pattern or None,
        "business_hours": hours,
        "subscription_ids": list(dict.fromkeys(str(s) for s in body.subscription_ids)),
        "stop_after_match": body.stop_after_match,
        "group_window_s": body.group_window_s,
    }


async def create_route(session: AsyncSession, ctx: TenantContext, body: RouteIn) -> AlertRoute:
    await _check_subscriptions(session, ctx, body.subscription_ids)
    position = body.position
    if position is None:
        last = await session.scalar(select(func.max(AlertRoute.position)).where(AlertRoute.tenant_id == ctx.tenant_id))
        position = (last or 0) + 10
    row = AlertRoute(tenant_id=ctx.tenant_id, id=uuid.uuid4(), position=position, **_values(body))
    session.add(row)
    await session.flush()
    return row


async def replace_route(session: AsyncSession, ctx: TenantContext, route_id: uuid.UUID, body: RouteIn) -> AlertRoute:
    row = await get_route(session, ctx, route_id)
    await _check_subscriptions(session, ctx, body.subscription_ids)
    for key, value in _values(body).items():
        setattr(row, key, value)
    if body.position is not None:
        row.position = body.position
    await session.flush()
    return row


def transient(ctx: TenantContext, body: RouteIn) -> AlertRoute:
    return AlertRoute(tenant_id=ctx.tenant_id, id=uuid.uuid4(), position=body.position or 0, **_values(body))


async def dry_run(
    state: AppState, session: AsyncSession, ctx: TenantContext, rules: list[AlertRoute], days: int, limit: int
) -> DryRunOut:
    """Which of the tenant's recent alerts ``rules`` would have sent, and where (nothing is sent)."""
    since = state.clock() - timedelta(days=days)
    rows = (
        await session.execute(
            select(RmmAlert, Asset.name, Asset.client_id)
            .outerjoin(Asset, (Asset.tenant_id == RmmAlert.tenant_id) & (Asset.id == RmmAlert.asset_id))
            .where(RmmAlert.tenant_id == ctx.tenant_id, RmmAlert.last_seen_at >= since)
            .order_by(RmmAlert.last_seen_at.desc())
            .limit(limit)
        )
    ).all()
    matched: list[DryRunMatch] = []
    for alert, asset_name, client_id in rows:
        at = alert.raised_at or alert.first_seen_at
        facts = routing.AlertFacts(
            alert.severity, alert.alert_type, str(client_id) if client_id else None, asset_name, at
        )
        hits = routing.route(rules, facts)
        if hits:
            matched.append(
                DryRunMatch(
                    alert_id=alert.id,
                    severity=alert.severity,
                    alert_type=alert.alert_type,
                    message=alert.message,
                    asset_name=asset_name,
                    at=at,
                    rules=list(dict.fromkeys(r.name for r, _ in hits)),
                    subscriptions=[str(s) for _, s in hits],
                )
            )
    return DryRunOut(checked=len(rows), matched=matched)
