"""Queries over integrations and organization mappings, scoped by tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.storage.models import Asset, Client, RmmIntegration, RmmOrganizationMapping
from rmmbridge.tenancy.context import TenantContext


async def get(session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID) -> RmmIntegration | None:
    return await session.get(RmmIntegration, (ctx.tenant_id, integration_id))


async def list_all(session: AsyncSession, ctx: TenantContext) -> list[RmmIntegration]:
    rows = await session.scalars(
        select(RmmIntegration).where(RmmIntegration.tenant_id == ctx.tenant_id).order_by(RmmIntegration.created_at)
    )
    return list(rows)


async def by_provider(session: AsyncSession, ctx: TenantContext, provider: str) -> list[RmmIntegration]:
    rows = await session.scalars(
        select(RmmIntegration).where(RmmIntegration.tenant_id == ctx.tenant_id, RmmIntegration.provider == provider)
    )
    return list(rows)


async def by_name(session: AsyncSession, ctx: TenantContext, name: str) -> RmmIntegration | None:
    """The integration of that name, compared case-insensitively (names are unique per tenant)."""
    return await session.scalar(
        select(RmmIntegration).where(
            RmmIntegration.tenant_id == ctx.tenant_id, func.lower(RmmIntegration.name) == name.strip().lower()
        )
    )


async def free_name(session: AsyncSession, ctx: TenantContext, base: str) -> str:
    """``base``, or ``base 2``, ``base 3``… : the first name no integration of the tenant has."""
    taken = {
        n.lower()
        for n in await session.scalars(select(RmmIntegration.name).where(RmmIntegration.tenant_id == ctx.tenant_id))
    }
    name, n = base, 1
    while name.lower() in taken:
        n += 1
        name = f"{base} {n}"
    return name


def mappings_query(ctx: TenantContext, integration_id: uuid.UUID, q: str | None = None):  # type: ignore[no-untyped-def]
    asset_count = (
        select(func.count())
        .where(
            Asset.tenant_id == RmmOrganizationMapping.tenant_id,
            Asset.rmm_integration_id == RmmOrganizationMapping.integration_id,
            Asset.rmm_organization_id == RmmOrganizationMapping.external_org_id,
            Asset.status != "retired",
        )
        .correlate(RmmOrganizationMapping)
        .scalar_subquery()
    )
    query = (
        select(RmmOrganizationMapping, Client.name, asset_count.label("asset_count"))
        .outerjoin(
            Client,
            (Client.tenant_id == RmmOrganizationMapping.tenant_id) & (Client.id == RmmOrganizationMapping.client_id),
        )
        .where(
            RmmOrganizationMapping.tenant_id == ctx.tenant_id,
            RmmOrganizationMapping.integration_id == integration_id,
        )
    )
    if q:
        query = query.where(func.lower(RmmOrganizationMapping.external_org_name).contains(q.lower(), autoescape=True))
    # Unmapped first, then by name: what needs the admin's attention comes first.
    return query.order_by(
        RmmOrganizationMapping.client_id.is_not(None), func.lower(RmmOrganizationMapping.external_org_name)
    )


async def get_mapping(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, mapping_id: uuid.UUID
) -> RmmOrganizationMapping | None:
    row = await session.get(RmmOrganizationMapping, (ctx.tenant_id, mapping_id))
    return row if row is not None and row.integration_id == integration_id else None


async def syncable_mappings(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID
) -> list[RmmOrganizationMapping]:
    """Mappings whose devices a device sync ingests: mapped to a client, auto-sync on, still present."""
    rows = await session.scalars(
        select(RmmOrganizationMapping)
        .where(
            RmmOrganizationMapping.tenant_id == ctx.tenant_id,
            RmmOrganizationMapping.integration_id == integration_id,
            RmmOrganizationMapping.client_id.is_not(None),
            RmmOrganizationMapping.auto_sync_assets.is_(True),
            RmmOrganizationMapping.missing_since.is_(None),
        )
        .order_by(RmmOrganizationMapping.external_org_id)
    )
    return list(rows)
