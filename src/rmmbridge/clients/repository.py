"""Queries over ``clients``; every one is scoped by the caller's tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.storage.models import Asset, Client
from rmmbridge.tenancy.context import TenantContext


async def get(session: AsyncSession, ctx: TenantContext, client_id: uuid.UUID) -> Client | None:
    return await session.get(Client, (ctx.tenant_id, client_id))


async def find_live_by_name(session: AsyncSession, ctx: TenantContext, name: str) -> Client | None:
    return await session.scalar(
        select(Client).where(
            Client.tenant_id == ctx.tenant_id,
            func.lower(Client.name) == name.lower(),
            Client.archived_at.is_(None),
        )
    )


def list_query(
    ctx: TenantContext, *, q: str | None = None, include_archived: bool = False, sort: str = "name"
) -> Select:  # type: ignore[type-arg]
    asset_count = (
        select(func.count())
        .where(Asset.tenant_id == Client.tenant_id, Asset.client_id == Client.id, Asset.status != "retired")
        .correlate(Client)
        .scalar_subquery()
    )
    query = select(Client, asset_count.label("asset_count")).where(Client.tenant_id == ctx.tenant_id)
    if not include_archived:
        query = query.where(Client.archived_at.is_(None))
    if q:
        query = query.where(func.lower(Client.name).contains(q.lower(), autoescape=True))
    order = {
        "name": (func.lower(Client.name), Client.id),
        "-name": (func.lower(Client.name).desc(), Client.id),
        "created": (Client.created_at, Client.id),
        "-created": (Client.created_at.desc(), Client.id),
    }[sort]
    return query.order_by(*order)


async def names_by_id(session: AsyncSession, ctx: TenantContext, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Client.id, Client.name).where(Client.tenant_id == ctx.tenant_id, Client.id.in_(set(ids)))
    )
    return dict(rows.all())


async def all_live(session: AsyncSession, ctx: TenantContext) -> list[Client]:
    rows = await session.scalars(
        select(Client)
        .where(Client.tenant_id == ctx.tenant_id, Client.archived_at.is_(None))
        .order_by(func.lower(Client.name))
    )
    return list(rows)
