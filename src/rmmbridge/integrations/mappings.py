"""Organization mappings: upsert from a provider's scopes, and map each to a PSA client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.clients import repository as clients_repo
from rmmbridge.clients import service as clients_service
from rmmbridge.clients.schemas import ClientCreate
from rmmbridge.errors import Conflict, NotFound, ValidationFailed
from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import RemoteScope
from rmmbridge.storage.db import dialect_insert
from rmmbridge.storage.models import RmmOrganizationMapping
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

from . import repository
from .schemas import MappingUpdate


@dataclass
class ScopeSyncResult:
    seen: int = 0
    created: int = 0
    missing: int = 0
    revived: int = 0


async def apply_scopes(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, scopes: list[RemoteScope]
) -> ScopeSyncResult:
    """Upsert one mapping per scope; scopes that disappeared get ``missing_since`` (never deleted)."""
    now = utcnow()
    result = ScopeSyncResult(seen=len(scopes))
    existing = dict(
        (
            await session.execute(
                select(RmmOrganizationMapping.external_org_id, RmmOrganizationMapping.missing_since).where(
                    RmmOrganizationMapping.tenant_id == ctx.tenant_id,
                    RmmOrganizationMapping.integration_id == integration_id,
                )
            )
        ).all()
    )
    unique = {s.external_id: s for s in scopes}
    if unique:
        insert = dialect_insert(session)
        rows = [
            {
                "tenant_id": ctx.tenant_id,
                "id": uuid7(),
                "integration_id": integration_id,
                "external_org_id": s.external_id,
                "external_org_name": s.name[:255],
                "scope_kind": s.kind,
                "attributes": dict(s.attributes),
                "device_count": s.device_count,
                "auto_sync_assets": True,
                "last_synced_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for s in unique.values()
        ]
        stmt = insert(RmmOrganizationMapping).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "integration_id", "external_org_id"],
            set_={
                "external_org_name": stmt.excluded.external_org_name,
                "scope_kind": stmt.excluded.scope_kind,
                "attributes": stmt.excluded.attributes,
                "device_count": stmt.excluded.device_count,
                "missing_since": None,
                "last_synced_at": stmt.excluded.last_synced_at,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        await session.execute(stmt)
    result.created = sum(1 for k in unique if k not in existing)
    result.revived = sum(1 for k in unique if k in existing and existing[k] is not None)
    gone = [k for k, missing in existing.items() if k not in unique and missing is None]
    if gone:
        await session.execute(
            update(RmmOrganizationMapping)
            .where(
                RmmOrganizationMapping.tenant_id == ctx.tenant_id,
                RmmOrganizationMapping.integration_id == integration_id,
                RmmOrganizationMapping.external_org_id.in_(gone),
            )
            .values(missing_since=now, updated_at=now)
        )
    result.missing = len(gone)
    return result


async def update_mapping(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, mapping_id: uuid.UUID, data: MappingUpdate
) -> RmmOrganizationMapping:
    ctx.require(Permission.settings_update)
    mapping = await repository.get_mapping(session, ctx, integration_id, mapping_id)
    if mapping is None:
        raise NotFound(f"no mapping {mapping_id} on integration {integration_id}")
    if data.unmap:
        mapping.client_id = None
    elif data.client_id is not None:
        client = await clients_repo.get(session, ctx, data.client_id)
        if client is None:
            # Another tenant's client is reported exactly like a missing one.
            raise ValidationFailed(f"no client {data.client_id}", errors=[{"field": "client_id"}])
        if client.archived_at is not None:
            raise ValidationFailed(f"client '{client.name}' is archived", errors=[{"field": "client_id"}])
        mapping.client_id = client.id
    if data.auto_sync_assets is not None:
        mapping.auto_sync_assets = data.auto_sync_assets
    mapping.updated_at = utcnow()
    await session.flush()
    return mapping


async def create_client_for_mapping(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, mapping_id: uuid.UUID
) -> RmmOrganizationMapping:
    """Create a PSA client named after the organization (or reuse the live one of that name) and map it."""
    ctx.require(Permission.settings_update)
    mapping = await repository.get_mapping(session, ctx, integration_id, mapping_id)
    if mapping is None:
        raise NotFound(f"no mapping {mapping_id} on integration {integration_id}")
    if mapping.client_id is not None:
        raise Conflict("this organization is already mapped; unmap it first")
    client = await clients_repo.find_live_by_name(session, ctx, mapping.external_org_name)
    if client is None:
        client = await clients_service.create_client(session, ctx, ClientCreate(name=mapping.external_org_name))
    mapping.client_id = client.id
    mapping.updated_at = utcnow()
    await session.flush()
    return mapping
