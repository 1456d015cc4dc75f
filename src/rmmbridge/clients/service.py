"""PSA clients: create, rename, archive. Services flush; the boundary commits."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import Conflict, NotFound
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.models import Client
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

from . import repository
from .schemas import ClientCreate, ClientOut, ClientUpdate


def to_out(client: Client, asset_count: int = 0) -> ClientOut:
    out = ClientOut.model_validate(client)
    out.archived = client.archived_at is not None
    out.asset_count = asset_count
    return out


async def get_client(session: AsyncSession, ctx: TenantContext, client_id: uuid.UUID) -> Client:
    ctx.require(Permission.clients_read)
    client = await repository.get(session, ctx, client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    return client


async def create_client(session: AsyncSession, ctx: TenantContext, data: ClientCreate) -> Client:
    ctx.require(Permission.clients_write)
    if await repository.find_live_by_name(session, ctx, data.name):
        raise Conflict(f"a client named '{data.name}' already exists")
    client = Client(tenant_id=ctx.tenant_id, name=data.name)
    session.add(client)
    await _flush(session, data.name)
    return client


async def update_client(session: AsyncSession, ctx: TenantContext, client_id: uuid.UUID, data: ClientUpdate) -> Client:
    ctx.require(Permission.clients_write)
    client = await get_client(session, ctx, client_id)
    if data.archived is not None:
        if data.archived and client.archived_at is None:
            client.archived_at = utcnow()
        elif not data.archived and client.archived_at is not None:
            existing = await repository.find_live_by_name(session, ctx, data.name or client.name)
            if existing is not None and existing.id != client.id:
                raise Conflict(f"a live client named '{client.name}' exists; rename one of them first")
            client.archived_at = None
    if data.name is not None and data.name != client.name:
        existing = await repository.find_live_by_name(session, ctx, data.name)
        if existing is not None and existing.id != client.id and client.archived_at is None:
            raise Conflict(f"a client named '{data.name}' already exists")
        client.name = data.name
    await _flush(session, client.name)
    return client


async def _flush(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"a client named '{name}' already exists") from None
