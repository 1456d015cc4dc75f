"""Asset queries: list with filters (status computed at read time), details, software."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.storage.models import (
    Asset,
    AssetHistory,
    AssetLiveness,
    AssetSoftware,
    AssetSoftwareInventory,
    Client,
    ExternalEntityMapping,
    RmmAlert,
    RmmIntegration,
    ServerAsset,
    SoftwareCatalog,
    WorkstationAsset,
)
from rmmbridge.tenancy.context import TenantContext

from .status import bucket_sql, join_liveness, observed_sql, stale_sql, status_sql

SORTS = {
    "name": func.lower(Asset.name),
    "type": Asset.asset_type,
    "status": Asset.status,
    "last_seen": AssetLiveness.last_seen_at,
    "client": Client.name,
    "updated": Asset.updated_at,
}


@dataclass(frozen=True)
class AssetFilters:
    client_id: uuid.UUID | None = None
    provider: str | None = None
    integration_id: uuid.UUID | None = None
    asset_type: str | None = None
    agent_status: str | None = None
    status: str | None = None
    q: str | None = None
    include_retired: bool = False
    sort: str = "name"
    descending: bool = False
    # Device health (asset_liveness); None: no filter.
    needs_reboot: bool | None = None
    failing_checks: bool | None = None
    patches_pending: bool | None = None
    maintenance_mode: bool | None = None


def _health(f: AssetFilters) -> list[Any]:
    lv = AssetLiveness
    conditions: list[Any] = []
    for flag, condition in (
        (f.needs_reboot, lv.needs_reboot.is_(True)),
        (f.failing_checks, lv.checks_failing > 0),
        (f.patches_pending, lv.patches_pending.is_(True)),
        (f.maintenance_mode, lv.maintenance_mode.is_(True)),
    ):
        if flag is True:
            conditions.append(condition)
        elif flag is False:
            conditions.append(or_(~condition, condition.is_(None)))
    return conditions


def _filtered(ctx: TenantContext, f: AssetFilters, now: datetime, *columns: Any) -> Select:  # type: ignore[type-arg]
    """``columns`` over assets with their client, extension and liveness rows, filtered."""
    ws, sv = WorkstationAsset, ServerAsset
    query = (
        select(*columns)
        .select_from(Asset)
        .outerjoin(Client, and_(Client.tenant_id == Asset.tenant_id, Client.id == Asset.client_id))
        .outerjoin(ws, and_(ws.tenant_id == Asset.tenant_id, ws.asset_id == Asset.id))
        .outerjoin(sv, and_(sv.tenant_id == Asset.tenant_id, sv.asset_id == Asset.id))
        .where(Asset.tenant_id == ctx.tenant_id)
    )
    query = join_liveness(query, Asset)
    if f.client_id:
        query = query.where(Asset.client_id == f.client_id)
    if f.provider:
        query = query.where(Asset.rmm_provider == f.provider)
    if f.integration_id:
        query = query.where(Asset.rmm_integration_id == f.integration_id)
    if f.asset_type:
        query = query.where(Asset.asset_type == f.asset_type)
    if f.status:
        query = query.where(Asset.status == f.status)
    elif not f.include_retired:
        query = query.where(Asset.status != "retired")
    if f.agent_status:
        # "stale" is its own bucket: a stale device is not counted (or filtered) as offline.
        query = query.where(bucket_sql(now) == f.agent_status)
    query = query.where(*_health(f))
    if f.q:
        like = f"%{f.q.lower().replace('%', '').replace('_', '')}%"
        query = query.where(
            or_(
                func.lower(Asset.name).like(like),
                func.lower(Asset.serial_number).like(like),
                func.lower(ws.current_user).like(like),
                func.lower(sv.current_user).like(like),
                ws.primary_ip.like(like),
                sv.primary_ip.like(like),
                ws.wan_ip.like(like),
                sv.wan_ip.like(like),
            )
        )
    return query


def list_query(ctx: TenantContext, f: AssetFilters, now: datetime) -> Select:  # type: ignore[type-arg]
    """Rows of (asset, client name, shown status, os, user, ip, liveness row, observed at, stale)."""
    ws, sv = WorkstationAsset, ServerAsset
    query = _filtered(
        ctx,
        f,
        now,
        Asset,
        Client.name.label("client_name"),
        status_sql(now).label("live_status"),
        func.coalesce(ws.os_name, sv.os_name).label("os_name"),
        func.coalesce(ws.current_user, sv.current_user).label("current_user"),
        func.coalesce(ws.primary_ip, sv.primary_ip).label("primary_ip"),
        AssetLiveness,
        observed_sql().label("status_observed_at"),
        stale_sql(now).label("status_stale"),
    )
    column = SORTS.get(f.sort, Asset.name)
    return query.order_by(column.desc() if f.descending else column, Asset.id)


def _buckets(ctx: TenantContext, f: AssetFilters, now: datetime) -> Any:
    """A narrow subquery (client, bucket, health) for counting; grouping happens outside it because
    PostgreSQL cannot match a GROUP BY expression whose bound parameters differ from the SELECT's."""
    lv = AssetLiveness
    return _filtered(
        ctx,
        AssetFilters(**{**f.__dict__, "agent_status": None}),
        now,
        Asset.client_id,
        bucket_sql(now).label("bucket"),
        lv.needs_reboot,
        lv.checks_failing,
        lv.checks_warning,
        lv.patches_pending,
        lv.maintenance_mode,
        lv.pending_actions,
    ).subquery()


async def status_counts(session: AsyncSession, ctx: TenantContext, f: AssetFilters, now: datetime) -> dict[str, int]:
    """Counts per status bucket (online / offline / overdue / unknown / stale) for the same filters
    (ignoring the agent-status filter itself)."""
    base = _buckets(ctx, f, now)
    rows = await session.execute(select(base.c.bucket, func.count()).group_by(base.c.bucket))
    return {k: int(v) for k, v in rows.all()}


HEALTH_COUNTS = (
    "needs_reboot",
    "failing_checks",
    "warning_checks",
    "patches_pending",
    "maintenance_mode",
    "pending_actions",
)


async def summary_counts(
    session: AsyncSession, ctx: TenantContext, f: AssetFilters, now: datetime
) -> tuple[dict[tuple[uuid.UUID | None, str], int], dict[str, int]]:
    """Counts per (client, status bucket), and health counts, over the same filtered rows."""
    b = _buckets(ctx, f, now)
    per_client = await session.execute(
        select(b.c.client_id, b.c.bucket, func.count()).group_by(b.c.client_id, b.c.bucket)
    )
    counts = {(client_id, bucket): int(n) for client_id, bucket, n in per_client.all()}
    row = (
        await session.execute(
            select(
                func.count().filter(b.c.needs_reboot.is_(True)),
                func.count().filter(b.c.checks_failing > 0),
                func.count().filter(b.c.checks_warning > 0),
                func.count().filter(b.c.patches_pending.is_(True)),
                func.count().filter(b.c.maintenance_mode.is_(True)),
                func.count().filter(b.c.pending_actions > 0),
            )
        )
    ).one()
    return counts, dict(zip(HEALTH_COUNTS, (int(v) for v in row), strict=True))


async def data_as_of(session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID | None = None) -> Any:
    """When the statuses shown were last checked: the oldest last check of the active integrations."""
    query = select(func.min(RmmIntegration.status_checked_at)).where(
        RmmIntegration.tenant_id == ctx.tenant_id, RmmIntegration.is_active.is_(True)
    )
    if integration_id is not None:
        query = query.where(RmmIntegration.id == integration_id)
    return await session.scalar(query)


async def extension(session: AsyncSession, ctx: TenantContext, asset: Asset) -> dict[str, Any]:
    for table in (WorkstationAsset.__table__, ServerAsset.__table__):
        row = (
            await session.execute(select(table).where(table.c.tenant_id == ctx.tenant_id, table.c.asset_id == asset.id))
        ).first()
        if row is not None:
            return dict(row._mapping)
    return {}


async def mappings(session: AsyncSession, ctx: TenantContext, asset_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(ExternalEntityMapping, RmmIntegration.provider)
        .outerjoin(
            RmmIntegration,
            and_(
                RmmIntegration.tenant_id == ExternalEntityMapping.tenant_id,
                RmmIntegration.id == ExternalEntityMapping.integration_id,
            ),
        )
        .where(ExternalEntityMapping.tenant_id == ctx.tenant_id, ExternalEntityMapping.local_id == asset_id)
    )
    return [
        {
            "integration_id": m.integration_id,
            "provider": provider,
            "entity_type": m.entity_type,
            "external_id": m.external_id,
            "external_ref": m.external_ref,
            "realm_id": m.realm_id,
            "site_id": m.site_id,
        }
        for m, provider in rows.all()
    ]


async def recent_alerts(
    session: AsyncSession, ctx: TenantContext, asset_id: uuid.UUID, limit: int = 20
) -> list[RmmAlert]:
    rows = await session.scalars(
        select(RmmAlert)
        .where(RmmAlert.tenant_id == ctx.tenant_id, RmmAlert.asset_id == asset_id)
        .order_by(RmmAlert.status, RmmAlert.last_seen_at.desc())
        .limit(limit)
    )
    return list(rows)


async def history(
    session: AsyncSession, ctx: TenantContext, asset_id: uuid.UUID, limit: int = 50
) -> list[AssetHistory]:
    rows = await session.scalars(
        select(AssetHistory)
        .where(AssetHistory.tenant_id == ctx.tenant_id, AssetHistory.asset_id == asset_id)
        .order_by(AssetHistory.created_at.desc(), AssetHistory.id.desc())
        .limit(limit)
    )
    return list(rows)


def software_query(
    ctx: TenantContext, asset_id: uuid.UUID, current: bool | None, software_id: uuid.UUID | None = None
) -> Select:  # type: ignore[type-arg]
    """One row per installed version: ``(AssetSoftware, name, publisher, last_seen_at)``.

    A current installation was last seen with its asset's last inventory (unchanged lists do not rewrite
    their rows); an uninstalled one by the last inventory that listed it, stored on the row.
    """
    inv = AssetSoftwareInventory
    last_seen = case(
        (AssetSoftware.is_current.is_(True), func.coalesce(inv.seen_at, AssetSoftware.last_seen_at)),
        else_=AssetSoftware.last_seen_at,
    )
    query = (
        select(AssetSoftware, SoftwareCatalog.name, SoftwareCatalog.publisher, last_seen.label("last_seen_at"))
        .join(
            SoftwareCatalog,
            and_(SoftwareCatalog.tenant_id == AssetSoftware.tenant_id, SoftwareCatalog.id == AssetSoftware.software_id),
        )
        .outerjoin(inv, and_(inv.tenant_id == AssetSoftware.tenant_id, inv.asset_id == AssetSoftware.asset_id))
        .where(AssetSoftware.tenant_id == ctx.tenant_id, AssetSoftware.asset_id == asset_id)
    )
    if current is not None:
        query = query.where(AssetSoftware.is_current.is_(current))
    if software_id is not None:
        query = query.where(AssetSoftware.software_id == software_id)
    # Versions of one product stay together (by catalog id: two products may share a display name).
    return query.order_by(
        AssetSoftware.is_current.desc(),
        func.lower(SoftwareCatalog.name),
        SoftwareCatalog.publisher,
        AssetSoftware.software_id,
        AssetSoftware.version.desc(),
    )


@dataclass(frozen=True)
class SoftwareCounts:
    installations: int  # current installed versions: side-by-side versions are two installations of one product
    products: int  # distinct catalog entries among them
    uninstalled: int  # versions seen before and uninstalled since


async def software_counts(session: AsyncSession, ctx: TenantContext, asset_id: uuid.UUID) -> SoftwareCounts:
    current = AssetSoftware.is_current.is_(True)
    row = (
        await session.execute(
            select(
                func.count(case((current, 1))),
                func.count(case((current, AssetSoftware.software_id)).distinct()),
                func.count(case((AssetSoftware.is_current.is_(False), 1))),
            ).where(AssetSoftware.tenant_id == ctx.tenant_id, AssetSoftware.asset_id == asset_id)
        )
    ).one()
    return SoftwareCounts(int(row[0]), int(row[1]), int(row[2]))
