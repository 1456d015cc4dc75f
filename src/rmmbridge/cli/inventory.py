"""``rmmbridge clients …`` and ``rmmbridge assets …``."""

from __future__ import annotations

import uuid
from typing import Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.assets import repository as assets_repo
from rmmbridge.assets import service as assets_service
from rmmbridge.assets import software as asset_software
from rmmbridge.assets import views as asset_views
from rmmbridge.clients import repository as clients_repo
from rmmbridge.clients import service as clients_service
from rmmbridge.clients.schemas import ClientCreate
from rmmbridge.kit.time import utcnow
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.web.api.pagination import PageParams, paginate
from rmmbridge.web.state import AppState

from .common import console, emit_json, fail, run
from .context import JsonOpt, TenantOpt, with_tenant

clients_app = typer.Typer(help="PSA clients.", no_args_is_help=True)
assets_app = typer.Typer(help="Assets.", no_args_is_help=True)


@clients_app.command("list")
def clients_list(
    q: str = typer.Option(None, "--search"),
    archived: bool = typer.Option(False, "--archived"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """List clients."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        rows, _ = await paginate(
            db, clients_repo.list_query(ctx, q=q, include_archived=archived), PageParams(page=1, page_size=500)
        )
        return [clients_service.to_out(c, n) for c, n in rows]

    rows = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(rows)
        return
    table = Table("id", "name", "assets", "archived")
    for c in rows:
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
    limit: int = typer.Option(100, "--limit", min=1, max=500),
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

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        filters = assets_repo.AssetFilters(client_id, provider, None, asset_type, agent_status, status, q)
        rows, total = await paginate(
            db, assets_repo.list_query(ctx, filters, utcnow()), PageParams(page=1, page_size=limit)
        )
        return [asset_views.summary(*r) for r in rows], total

    rows, total = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(rows)
        return
    table = Table("id", "name", "type", "client", "agent", "last seen", "os", "user", "ip", title=f"{total} assets")
    for a in rows:
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


@assets_app.command("software")
def assets_software(
    asset_id: str,
    show_all: bool = typer.Option(False, "--all", help="uninstalled versions too"),
    limit: int = typer.Option(500, "--limit", min=1, max=5000),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Installed software: one line per installed version, a product's versions together."""
    try:
        aid = uuid.UUID(asset_id)
    except ValueError:
        fail(f"'{asset_id}' is not an asset id")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        await assets_service.get_asset(db, ctx, aid)
        query = assets_repo.software_query(ctx, aid, None if show_all else True)
        rows = list((await db.execute(query.limit(limit))).all())
        return rows, await assets_repo.software_counts(db, ctx, aid)

    rows, counts = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json([asset_software.software_out(r) for r in rows])
        return
    title = f"{counts.installations} installed versions of {counts.products} products"
    if show_all and counts.uninstalled:
        title += f", {counts.uninstalled} uninstalled"
    table = Table("name", "publisher", "version", "installed", "state", title=title)
    for product in asset_software.group_by_product(rows):
        for n, s in enumerate(product["versions"]):
            table.add_row(
                product["name"] if n == 0 else "",
                (product["publisher"] or "") if n == 0 else "",
                s.version or "-",
                s.install_date.date().isoformat() if s.install_date else "",
                "current" if s.is_current else f"uninstalled {s.uninstalled_at:%Y-%m-%d}",
            )
    console.print(table)
