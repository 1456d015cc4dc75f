"""Assemble asset read models (shared by the API and the UI)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.time import utcnow
from rmmbridge.storage.models import Asset, RmmIntegration
from rmmbridge.tenancy.context import TenantContext

from . import repository
from .schemas import AlertBrief, AssetDetails, AssetOut, AssetSummary, ExternalMappingOut, HistoryOut
from .status import compute_status, uptime_seconds


def summary(
    asset: Asset,
    client_name: str | None,
    live_status: str,
    os_name: str | None = None,
    current_user: str | None = None,
    primary_ip: str | None = None,
) -> AssetSummary:
    out = AssetSummary.model_validate(asset)
    out.agent_status = live_status
    out.client_name = client_name
    out.os_name, out.current_user, out.primary_ip = os_name, current_user, primary_ip
    return out


async def asset_out(session: AsyncSession, ctx: TenantContext, asset: Asset) -> AssetOut:
    from rmmbridge.clients import repository as clients_repo

    now = utcnow()
    live = compute_status(
        asset.last_seen_at, asset.offline_at, asset.overdue_at, now, thresholds_known=asset.offline_after_s is not None
    )
    ext: dict[str, Any] = await repository.extension(session, ctx, asset)
    details = AssetDetails(**{k: v for k, v in ext.items() if k in AssetDetails.model_fields})
    details.uptime_seconds = uptime_seconds(ext.get("boot_time"), asset.last_seen_at, live, now)
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
    )


def parse_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
