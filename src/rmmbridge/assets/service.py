"""Hand edits of assets. Edited RMM-fed fields become overrides that syncs respect."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.clients import repository as clients_repo
from rmmbridge.errors import NotFound, ValidationFailed
from rmmbridge.events import catalogue
from rmmbridge.events.outbox import emit
from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.models import Asset, AssetHistory, ExternalEntityMapping, ServerAsset, WorkstationAsset
from rmmbridge.storage.models.base import table_of
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

from .schemas import AssetUpdate

OVERRIDABLE = ("name", "asset_type", "client_id")


async def get_asset(session: AsyncSession, ctx: TenantContext, asset_id: uuid.UUID) -> Asset:
    ctx.require(Permission.assets_read)
    asset = await session.get(Asset, (ctx.tenant_id, asset_id))
    if asset is None:
        raise NotFound(f"no asset {asset_id}")
    return asset


async def edit_asset(session: AsyncSession, ctx: TenantContext, asset_id: uuid.UUID, data: AssetUpdate) -> Asset:
    ctx.require(Permission.assets_write)
    asset = await get_asset(session, ctx, asset_id)
    given = data.model_dump(exclude_unset=True, exclude={"clear_overrides"})
    if "client_id" in given and given["client_id"] is not None:
        client = await clients_repo.get(session, ctx, given["client_id"])
        if client is None:
            raise ValidationFailed(f"no client {given['client_id']}", errors=[{"field": "client_id"}])
    for field in ("name", "asset_type", "status"):
        if field in given and given[field] is None:
            raise ValidationFailed(f"{field} cannot be null", errors=[{"field": field}])
    changes: dict[str, Any] = {}
    overrides = set(asset.overrides or [])
    old_type = asset.asset_type
    for field, value in given.items():
        old = getattr(asset, field)
        if old != value:
            changes[field] = [str(old) if old is not None else None, str(value) if value is not None else None]
            setattr(asset, field, value)
        if field in OVERRIDABLE and asset.rmm_integration_id is not None:
            overrides.add(field)
    cleared = set(data.clear_overrides) & overrides
    if cleared:
        overrides -= cleared
        changes["overrides_cleared"] = sorted(cleared)
        # Forget the last ingested digest so the next sync re-applies the RMM's values.
        await session.execute(
            update(ExternalEntityMapping)
            .where(ExternalEntityMapping.tenant_id == ctx.tenant_id, ExternalEntityMapping.local_id == asset.id)
            .values(content_hash=None)
        )
    asset.overrides = sorted(overrides)
    if asset.asset_type != old_type:
        await _move_extension(session, ctx, asset.id, old_type, asset.asset_type)
    if changes:
        now = utcnow()
        asset.updated_at = now
        await session.execute(
            insert(table_of(AssetHistory)).values(
                tenant_id=ctx.tenant_id,
                id=uuid7(),
                asset_id=asset.id,
                action="edited",
                actor=ctx.actor,
                changes=changes,
                created_at=now,
            )
        )
        changed = {"changed": sorted(changes), "source": "user"}
        await emit(session, ctx.tenant_id, catalogue.ASSET_UPDATED, "asset", asset.id, changed, now)
    await session.flush()
    return asset


async def _move_extension(session: AsyncSession, ctx: TenantContext, asset_id: uuid.UUID, old: str, new: str) -> None:
    tables = {"workstation": table_of(WorkstationAsset), "server": table_of(ServerAsset)}
    src, dst = tables.get(old), tables.get(new)
    if src is None or dst is None or src is dst:
        return
    row = (
        await session.execute(select(src).where(src.c.tenant_id == ctx.tenant_id, src.c.asset_id == asset_id))
    ).first()
    if row is not None:
        await session.execute(delete(src).where(src.c.tenant_id == ctx.tenant_id, src.c.asset_id == asset_id))
        await session.execute(insert(dst).values(**row._mapping))
