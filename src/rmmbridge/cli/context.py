"""What operational CLI commands share: the app state, a tenant context, and lookups by name."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.config import Settings
from rmmbridge.deployment.public_url import PublicUrl
from rmmbridge.errors import NotFound, ValidationFailed
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration, Tenant
from rmmbridge.tenancy.auth import system_context
from rmmbridge.tenancy.context import TenantContext

from .common import fail, note, require_data, settings

T = TypeVar("T")

TenantOpt = typer.Option(
    None, "--tenant", "-t", envvar="RMMBRIDGE_TENANT", help="tenant name or id (default: the only tenant)"
)
JsonOpt = typer.Option(False, "--json", help="print JSON for scripting (the REST API's shape)")
PageOpt = typer.Option(1, "--page", min=1, help="page number (with --json: the REST API's page envelope)")


async def resolve_tenant(session: AsyncSession, ref: str | None) -> Tenant:
    if ref:
        from rmmbridge.tenancy.service import find_tenant

        return await find_tenant(session, ref)
    tenants = list(await session.scalars(select(Tenant).limit(2)))
    if len(tenants) != 1:
        raise ValidationFailed("several tenants exist; choose one with --tenant" if tenants else "no tenant yet")
    return tenants[0]


async def resolve_integration(session: AsyncSession, ctx: TenantContext, ref: str) -> RmmIntegration:
    """An integration by id, unique id prefix, name, or provider key (when the tenant has one of it)."""
    ref = ref.strip()
    try:
        row = await session.get(RmmIntegration, (ctx.tenant_id, uuid.UUID(ref)))
        if row is not None:
            return row
    except ValueError:
        pass
    by_name = await session.scalar(
        select(RmmIntegration).where(
            RmmIntegration.tenant_id == ctx.tenant_id, func.lower(RmmIntegration.name) == ref.lower()
        )
    )
    if by_name is not None:
        return by_name
    rows = list(
        await session.scalars(
            select(RmmIntegration)
            .where(RmmIntegration.tenant_id == ctx.tenant_id, RmmIntegration.provider == ref.lower())
            .order_by(RmmIntegration.created_at)
        )
    )
    if not rows and len(ref) >= 4 and all(c in "0123456789abcdef-" for c in ref.lower()):
        every = await session.scalars(select(RmmIntegration).where(RmmIntegration.tenant_id == ctx.tenant_id))
        rows = [r for r in every if str(r.id).startswith(ref.lower())]
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise NotFound(f"no integration '{ref}' (give its name or id; `rmmbridge integrations list` shows them)")
    names = ", ".join(f"“{r.name}” ({r.id})" for r in rows)
    raise NotFound(f"'{ref}' matches several integrations: {names}; give the name or id")


async def with_tenant(tenant_ref: str | None, fn: Callable[[AppState, AsyncSession, TenantContext], Awaitable[T]]) -> T:
    """One transaction as the CLI operator (an admin of the chosen tenant)."""
    from rmmbridge.app import build_state
    from rmmbridge.storage import migrate

    s = settings()
    require_data(s)
    state = build_state(s)
    try:
        if state.settings.is_sqlite:
            await migrate.upgrade(state.engine)
        elif await migrate.pending(state.engine):
            fail("the database schema is not up to date; run `rmmbridge db upgrade` first")
        async with unit_of_work(state.sessionmaker) as session:
            tenant = await resolve_tenant(session, tenant_ref)
            return await fn(state, session, system_context(tenant.id, "cli"))
    finally:
        await state.engine.dispose()


async def public_url_noted(session: AsyncSession, own: Settings) -> PublicUrl:
    """The service's public base URL, with a note on stderr when this shell would disagree.

    An operator's shell often lacks the service's environment (or has a stale one): the stored
    value wins, and the operator is told where the URL comes from rather than guessing.
    """
    from rmmbridge.deployment import public_url

    url = await public_url.current(session, own)
    shell = own.base_url if "base_url" in own.model_fields_set else None
    if url.source == "default":
        note(
            "the service has not published its public URL; this is the built-in default. Start `rmmbridge serve` "
            "with RMMBRIDGE_BASE_URL, or run `rmmbridge config set-base-url https://…`"
        )
    elif url.source == "environment":
        note("the service has not published its public URL; showing this shell's RMMBRIDGE_BASE_URL")
    elif shell is not None and shell != url.base:
        note(f"this shell's RMMBRIDGE_BASE_URL ({shell}) differs from the service's public URL; showing the service's")
    return url


async def outside_transaction(
    tenant_ref: str | None, fn: Callable[[AppState, TenantContext], Awaitable[T]]
) -> T:
    """As the CLI operator, with no transaction held while ``fn`` runs: for work that calls an RMM
    which may call rmmbridge back (a test webhook), and opens its own short transactions."""
    from rmmbridge.app import build_state
    from rmmbridge.storage import migrate

    state = build_state(settings())
    try:
        if state.settings.is_sqlite:
            await migrate.upgrade(state.engine)
        elif await migrate.pending(state.engine):
            fail("the database schema is not up to date; run `rmmbridge db upgrade` first")
        async with unit_of_work(state.sessionmaker, read_only=True) as session:
            tenant = await resolve_tenant(session, tenant_ref)
        return await fn(state, system_context(tenant.id, "cli"))
    finally:
        await state.engine.dispose()


async def resolve_client(session: AsyncSession, ctx: TenantContext, ref: str) -> uuid.UUID:
    """A client by id or name (case-insensitive, live clients), as every ``--client`` takes it."""
    from rmmbridge.clients import repository as clients_repo

    try:
        client = await clients_repo.get(session, ctx, uuid.UUID(ref.strip()))
    except ValueError:
        client = await clients_repo.find_live_by_name(session, ctx, ref.strip())
    if client is None:
        raise NotFound(f"no client '{ref}' (give its name or id; `rmmbridge clients list` shows them)")
    return client.id


async def resolve_asset(session: AsyncSession, ctx: TenantContext, ref: str) -> uuid.UUID:
    """An asset by what `assets list` shows: its id, a unique prefix of the id, or its name
    (hostname, case-insensitive; retired assets only when nothing else has the name)."""
    from rmmbridge.storage.models import Asset

    text = ref.strip()
    try:
        row = await session.get(Asset, (ctx.tenant_id, uuid.UUID(text)))
        if row is not None:
            return row.id
    except ValueError:
        pass
    named = list(
        await session.execute(
            select(Asset.id, Asset.status, Asset.client_id)
            .where(Asset.tenant_id == ctx.tenant_id, func.lower(Asset.name) == text.lower())
            .limit(20)
        )
    )
    live = [r for r in named if r.status != "retired"] or named
    if len(live) == 1:
        return live[0].id
    if live:
        ids = ", ".join(str(r.id) for r in live[:5])
        raise NotFound(f"{len(live)} assets are named '{text}': {ids}; give the id")
    hexits = text.lower().replace("-", "")
    if len(hexits) >= 4 and all(c in "0123456789abcdef" for c in hexits) and len(hexits) <= 32:
        # The ids starting with the prefix form one range of the index (both backends order
        # UUIDs by their bytes), so this reads at most two rows.
        low, high = uuid.UUID(hexits.ljust(32, "0")), uuid.UUID(hexits.ljust(32, "f"))
        found = list(
            await session.scalars(
                select(Asset.id).where(Asset.tenant_id == ctx.tenant_id, Asset.id >= low, Asset.id <= high).limit(2)
            )
        )
        if len(found) == 1:
            return found[0]
        if found:
            raise NotFound(f"'{text}' is the start of several asset ids; give more of it")
    raise NotFound(f"no asset '{text}' (give its name, id or the start of its id; `rmmbridge assets list` shows them)")
