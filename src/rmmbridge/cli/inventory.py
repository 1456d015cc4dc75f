"""``rmmbridge clients …`` and ``rmmbridge assets …``."""

from __future__ import annotations

import uuid
from typing import Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.assets import repository as assets_repo
from rmmbridge.assets import service as assets_service
from rmmbridge.assets import views as asset_views
from rmmbridge.assets.schemas import AssetSummary
from rmmbridge.clients import repository as clients_repo
from rmmbridge.clients import service as clients_service
from rmmbridge.clients.schemas import ClientCreate, ClientOut
from rmmbridge.kit.time import utcnow
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.web.api.pagination import MAX_PAGE_SIZE, Page, PageParams, make_page, paginate
from rmmbridge.web.state import AppState

from .common import console, emit_json, fail, page_title, run
from .context import JsonOpt, PageOpt, TenantOpt, with_tenant

clients_app = typer.Typer(help="PSA clients.", no_args_is_help=True)
assets_app = typer.Typer(help="Assets.", no_args_is_help=True)


@clients_app.command("list")
def clients_list(
    q: str = typer.Option(None, "--search"),
    archived: bool = typer.Option(False, "--archived"),
    limit: int = typer.Option(500, "--limit", min=1, max=MAX_PAGE_SIZE, help="clients per page"),
    page: int = PageOpt,
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """List clients."""
    params = PageParams(page=page, page_size=limit)

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Page[ClientOut]:
        rows, total = await paginate(db, clients_repo.list_query(ctx, q=q, include_archived=archived), params)
        return make_page([clients_service.to_out(c, n) for c, n in rows], total, params)

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    table = Table("id", "name", "assets", "archived", title=page_title(out, "clients"))
    for c in out.items:
        table.add_row(str(c.id), c.name, str(c.asset_count), "yes" if c.archived else "")
    console.print(table)


@clients_app.command("add")
def clients_add(name: str, tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Create a client."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        return clients_service.to_out(await clients_service.create_client(db, ctx, ClientCreate(name=name)))

    try:
        ClientCreate(name=name)
    except ValueError:
        fail("a client name is 1-200 characters and not blank")
    out = run(lambda: with_tenant(tenant, _do))
    emit_json(out) if json_out else console.print(f"created client {out.name} ({out.id})")


@assets_app.command("list")
def assets_list(
    client: str = typer.Option(None, "--client", help="client id"),
    provider: str = typer.Option(None, "--provider"),
    asset_type: str = typer.Option(None, "--type", help="workstation | server"),
    agent_status: str = typer.Option(None, "--agent-status", help="online | offline | overdue | unknown"),
    status: str = typer.Option(None, "--status", help="active | inactive | retired"),
    q: str = typer.Option(None, "--search", help="name, serial, IP or user contains"),
    limit: int = typer.Option(100, "--limit", min=1, max=MAX_PAGE_SIZE, help="assets per page"),
    page: int = PageOpt,
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """List assets (agent status computed now)."""
    client_id = None
    if client:
        try:
            client_id = uuid.UUID(client)
        except ValueError:
            fail(f"--client takes a client id, got '{client}'")
    for value, allowed, flag in (
        (asset_type, ("workstation", "server"), "--type"),
        (agent_status, ("online", "offline", "overdue", "unknown"), "--agent-status"),
        (status, ("active", "inactive", "retired"), "--status"),
    ):
        if value and value not in allowed:
            fail(f"{flag} must be one of {', '.join(allowed)}")

    params = PageParams(page=page, page_size=limit)

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Page[AssetSummary]:
        filters = assets_repo.AssetFilters(client_id, provider, None, asset_type, agent_status, status, q)
        rows, total = await paginate(db, assets_repo.list_query(ctx, filters, utcnow()), params)
        return make_page([asset_views.summary(*r) for r in rows], total, params)

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    table = Table(
        "id", "name", "type", "client", "agent", "last seen", "os", "user", "ip", title=page_title(out, "assets")
    )
    for a in out.items:
        table.add_row(
            str(a.id),
            a.name,
            a.asset_type,
            a.client_name or "",
            a.agent_status,
            a.last_seen_at.isoformat(timespec="minutes") if a.last_seen_at else "never",
            a.os_name or "",
            a.current_user or "",
            a.primary_ip or "",
        )
    console.print(table)


@assets_app.command("show")
def assets_show(asset_id: str, tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """One asset with hardware, vitals, alerts and history."""
    try:
        aid = uuid.UUID(asset_id)
    except ValueError:
        fail(f"'{asset_id}' is not an asset id")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        return await asset_views.asset_out(db, ctx, await assets_service.get_asset(db, ctx, aid))

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    table = Table(show_header=False, title=out.name)
    d = out.details
    rows = [
        ("type", out.asset_type),
        ("client", out.client_name),
        ("agent status", out.agent_status),
        ("last seen", out.last_seen_at),
        ("serial", out.serial_number),
        ("make / model", f"{d.manufacturer or ''} {d.model or ''}"),
        ("os", f"{d.os_name or ''} {d.os_version or ''}"),
        ("cpu", d.cpu_model),
        ("ram GB", round(d.ram_bytes / 2**30, 1) if d.ram_bytes else None),
        ("current user", d.current_user),
        ("uptime s", d.uptime_seconds),
        ("lan ip", ", ".join(d.lan_ips)),
        ("wan ip", d.wan_ip),
        ("provider", out.rmm_provider),
        ("device id", out.rmm_device_id),
        ("overrides", ", ".join(out.overrides)),
        ("active alerts", sum(1 for a in out.recent_alerts if a.status == "active")),
    ]
    for key, value in rows:
        table.add_row(key, "" if value is None else str(value))
    console.print(table)
