"""Assemble asset read models (shared by the API and the UI)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.time import utcnow
from rmmbridge.storage.models import Asset, AssetLiveness, RmmIntegration
from rmmbridge.tenancy.context import TenantContext

from . import repository
from .schemas import (
    AlertBrief,
    AssetDetails,
    AssetOut,
    AssetsSummary,
    AssetSummary,
    ClientStatusCounts,
    DeviceHealthOut,
    ExternalMappingOut,
    HealthCounts,
    HistoryOut,
    SourceOut,
    StatusCounts,
)
from .status import shown_status, uptime_seconds


def summary(
    asset: Asset,
    client_name: str | None,
    live_status: str,
    os_name: str | None = None,
    current_user: str | None = None,
    primary_ip: str | None = None,
    live: AssetLiveness | None = None,
    observed_at: datetime | None = None,
    stale: bool | None = False,
) -> AssetSummary:
    """One list row (``repository.list_query``'s columns, in order)."""
    out = AssetSummary.model_validate(asset)
    out.agent_status = live_status
    out.client_name = client_name
    out.os_name, out.current_user, out.primary_ip = os_name, current_user, primary_ip
    out.status_observed_at, out.status_stale = observed_at, bool(stale)
    if live is not None:
        out.last_seen_at = live.last_seen_at
        out.health = DeviceHealthOut(**{f: getattr(live, f) for f in DeviceHealthOut.model_fields})
    return out


async def asset_out(
    session: AsyncSession, ctx: TenantContext, asset: Asset, now: datetime | None = None
) -> AssetOut:
    from rmmbridge.clients import repository as clients_repo

    now = now or utcnow()
    liveness = await session.get(AssetLiveness, (ctx.tenant_id, asset.id))
    integration = (
        await session.get(RmmIntegration, (ctx.tenant_id, liveness.integration_id)) if liveness is not None else None
    )
    shown = shown_status(liveness, integration, now)
    live = shown.status
    last_seen = liveness.last_seen_at if liveness is not None else asset.last_seen_at
    ext: dict[str, Any] = await repository.extension(session, ctx, asset)
    details = AssetDetails(**{k: v for k, v in ext.items() if k in AssetDetails.model_fields})
    details.uptime_seconds = uptime_seconds(ext.get("boot_time"), last_seen, live, now)
    names = await clients_repo.names_by_id(session, ctx, [asset.client_id] if asset.client_id else [])
    data_as_of = asset.last_rmm_sync_at
    if asset.rmm_integration_id:
        integration = await session.get(RmmIntegration, (ctx.tenant_id, asset.rmm_integration_id))
        success = ((integration.sync_status or {}).get("devices") or {}).get("last_success_at") if integration else None
        if success and (data_as_of is None or success > data_as_of.isoformat()):
            from rmmbridge.kit.time import parse_iso

            data_as_of = parse_iso(success)
    base = summary(
        asset,
        names.get(asset.client_id) if asset.client_id else None,
        live,
        details.os_name,
        details.current_user,
        details.primary_ip,
        liveness,
        shown.observed_at,
        shown.stale,
    )
    return AssetOut(
        **base.model_dump(),
        location=asset.location,
        notes=asset.notes,
        overrides=list(asset.overrides or []),
        rmm_site_id=asset.rmm_site_id,
        rmm_site_name=asset.rmm_site_name,
        offline_after_s=asset.offline_after_s,
        overdue_after_s=asset.overdue_after_s,
        last_rmm_sync_at=asset.last_rmm_sync_at,
        data_as_of=data_as_of,
        created_at=asset.created_at,
        details=details,
        mappings=[ExternalMappingOut(**m) for m in await repository.mappings(session, ctx, asset.id)],
        recent_alerts=[
            AlertBrief.model_validate(a, from_attributes=True)
            for a in await repository.recent_alerts(session, ctx, asset.id)
        ],
        history=[HistoryOut.model_validate(h) for h in await repository.history(session, ctx, asset.id)],
        sources=await _sources(session, ctx, asset.id, now),
    )


async def _sources(session: AsyncSession, ctx: TenantContext, asset_id: Any, now: datetime) -> list[SourceOut]:
    from rmmbridge.identity.service import sources_of

    found = await sources_of(session, ctx, [asset_id], now)
    return [SourceOut(**s.as_dict()) for s in found.get(asset_id, [])]


def parse_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


async def fleet_summary(
    session: AsyncSession, ctx: TenantContext, filters: repository.AssetFilters, now: datetime
) -> AssetsSummary:
    """Status counts (total and per client, stale its own bucket) and health counts — what the
    dashboard, ``GET /fleet/summary`` and ``rmmbridge assets summary`` show."""
    from rmmbridge.clients import repository as clients_repo

    per_client, health = await repository.summary_counts(session, ctx, filters, now)
    totals = StatusCounts()
    clients: dict[uuid.UUID | None, ClientStatusCounts] = {}
    for (client_id, bucket), n in per_client.items():
        row = clients.setdefault(client_id, ClientStatusCounts(client_id=client_id))
        for counts in (row, totals):
            setattr(counts, bucket, getattr(counts, bucket) + n)
            counts.total += n
    names = await clients_repo.names_by_id(session, ctx, [c for c in clients if c is not None])
    for client_id, row in clients.items():
        row.client_name = names.get(client_id) if client_id else None
    return AssetsSummary(
        counts=totals,
        health=HealthCounts(**health),
        clients=sorted(clients.values(), key=lambda c: (-c.total, (c.client_name or "").lower())),
        data_as_of=await repository.data_as_of(session, ctx, filters.integration_id),
        now=now,
    )
