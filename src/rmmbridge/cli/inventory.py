"""``rmmbridge clients …`` and ``rmmbridge assets …``."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.assets import repository as assets_repo
from rmmbridge.assets import service as assets_service
from rmmbridge.assets import software as asset_software
from rmmbridge.assets import views as asset_views
from rmmbridge.assets.schemas import AssetSummary
from rmmbridge.clients import repository as clients_repo
from rmmbridge.clients import service as clients_service
from rmmbridge.clients.schemas import ClientCreate, ClientOut
from rmmbridge.state import AppState
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.web.api.pagination import MAX_PAGE_SIZE, Page, PageParams, make_page, paginate

from .common import console, emit_json, fail, page_title, run
from .context import JsonOpt, PageOpt, TenantOpt, resolve_asset, resolve_client, with_tenant
from .tables import Col, WideOpt, print_table

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
    cols = [Col("id", ident=True), Col("name"), Col("assets", justify="right"), Col("archived", drop=1)]
    print_table(cols, [[str(c.id), c.name, str(c.asset_count), "yes" if c.archived else ""] for c in out.items],
                title=page_title(out, "clients"))  # fmt: skip


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


AGENT_STATUSES = ("online", "offline", "overdue", "unknown", "stale")


@assets_app.command("list")
def assets_list(
    client: str = typer.Option(None, "--client", help="client name or id"),
    provider: str = typer.Option(None, "--provider"),
    asset_type: str = typer.Option(None, "--type", help="workstation | server"),
    agent_status: str = typer.Option(None, "--agent-status", help="online | offline | overdue | unknown | stale"),
    stale: bool = typer.Option(False, "--stale", help="only devices whose status could not be checked lately"),
    needs_reboot: bool = typer.Option(False, "--needs-reboot", help="only devices that need a reboot"),
    failing_checks: bool = typer.Option(False, "--failing-checks", help="only devices with failing checks"),
    patches_pending: bool = typer.Option(False, "--patches-pending", help="only devices with patches pending"),
    maintenance: bool = typer.Option(False, "--maintenance", help="only devices in maintenance mode"),
    status: str = typer.Option(None, "--status", help="active | inactive | retired"),
    q: str = typer.Option(None, "--search", help="name, serial, IP or user contains"),
    limit: int = typer.Option(100, "--limit", min=1, max=MAX_PAGE_SIZE, help="assets per page"),
    page: int = PageOpt,
    wide: bool = WideOpt,
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """List assets (agent status as of the last liveness pass; stale ones marked)."""
    if stale:
        if agent_status and agent_status != "stale":
            fail("--stale and --agent-status select different statuses; use one of them")
        agent_status = "stale"
    for value, allowed, flag in (
        (asset_type, ("workstation", "server"), "--type"),
        (agent_status, AGENT_STATUSES, "--agent-status"),
        (status, ("active", "inactive", "retired"), "--status"),
    ):
        if value and value not in allowed:
            fail(f"{flag} must be one of {', '.join(allowed)}")

    params = PageParams(page=page, page_size=limit)

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Page[AssetSummary]:
        client_id = await resolve_client(db, ctx, client) if client else None
        filters = assets_repo.AssetFilters(
            client_id,
            provider,
            None,
            asset_type,
            agent_status,
            status,
            q,
            needs_reboot=needs_reboot or None,
            failing_checks=failing_checks or None,
            patches_pending=patches_pending or None,
            maintenance_mode=maintenance or None,
        )
        rows, total = await paginate(db, assets_repo.list_query(ctx, filters, state.clock()), params)
        return make_page([asset_views.summary(*r) for r in rows], total, params)

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    cols = [Col("id", ident=True), Col("name"), Col("type", drop=3), Col("client", drop=2), Col("agent"),
            Col("last seen", drop=4), Col("health", drop=5), Col("os", drop=6), Col("user", drop=7),
            Col("ip", drop=8)]  # fmt: skip
    print_table(cols, [
        [str(a.id), a.name, a.asset_type, a.client_name or "", _agent(a),
         a.last_seen_at.isoformat(timespec="minutes") if a.last_seen_at else "never", _health(a), a.os_name or "",
         a.current_user or "", a.primary_ip or ""]
        for a in out.items
    ], title=page_title(out, "assets"), wide=wide)  # fmt: skip


def duration_text(seconds: int | float) -> str:
    """``3 d 4 h``, ``5 h 12 min``, ``42 s``: an uptime a person reads at a glance."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{total} s"


def _agent(a: Any) -> str:
    """``online``, or ``online (stale, as of 14:05)`` when the status could not be checked lately."""
    if not a.status_stale:
        return str(a.agent_status)
    when = a.status_observed_at.strftime("%Y-%m-%d %H:%M") if a.status_observed_at else "never"
    return f"{a.agent_status} (stale, as of {when})"


def _health(a: Any) -> str:
    h = a.health
    flags = [
        f"{h.checks_failing} failing" if h.checks_failing else "",
        f"{h.checks_warning} warning" if h.checks_warning else "",
        "reboot" if h.needs_reboot else "",
        "patches" if h.patches_pending else "",
        "maintenance" if h.maintenance_mode else "",
        f"{h.pending_actions} pending" if h.pending_actions else "",
    ]
    return ", ".join(f for f in flags if f)


@assets_app.command("summary")
def assets_summary(
    client: str = typer.Option(None, "--client", help="client name or id"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Status counts (stale counted apart), per client, with device health and when data was checked."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        client_id = await resolve_client(db, ctx, client) if client else None
        return await asset_views.fleet_summary(db, ctx, assets_repo.AssetFilters(client_id=client_id), state.clock())

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    as_of = out.data_as_of.isoformat(timespec="seconds") if out.data_as_of else "never checked"
    table = Table("client", *AGENT_STATUSES, "total", title=f"{out.counts.total} assets — status as of {as_of}")
    for row in [*out.clients, out.counts]:
        name = getattr(row, "client_name", None) or ("total" if row is out.counts else "no client")
        table.add_row(name, *(str(getattr(row, s)) for s in AGENT_STATUSES), str(row.total))
    console.print(table)
    health = out.health
    console.print(
        f"health: {health.failing_checks} with failing checks, {health.warning_checks} with warnings, "
        f"{health.needs_reboot} need a reboot, {health.patches_pending} with patches pending, "
        f"{health.maintenance_mode} in maintenance, {health.pending_actions} with pending actions"
    )


@assets_app.command("show")
def assets_show(
    asset: str = typer.Argument(..., help="the asset's name (hostname), id, or the start of its id"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """One asset with hardware, vitals, alerts and history."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        aid = await resolve_asset(db, ctx, asset)
        return await asset_views.asset_out(db, ctx, await assets_service.get_asset(db, ctx, aid), state.clock())

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    table = Table(show_header=False, title=out.name)
    d = out.details
    rows = [
        ("type", out.asset_type),
        ("client", out.client_name),
        ("agent status", _agent(out)),
        ("health", _health(out)),
        ("id", out.id),
        ("last seen", out.last_seen_at.isoformat(timespec="minutes") if out.last_seen_at else "never"),
        ("serial", out.serial_number),
        ("make / model", f"{d.manufacturer or ''} {d.model or ''}"),
        ("os", f"{d.os_name or ''} {d.os_version or ''}"),
        ("cpu", d.cpu_model),
        ("ram GB", round(d.ram_bytes / 2**30, 1) if d.ram_bytes else None),
        ("current user", d.current_user),
        ("uptime", duration_text(d.uptime_seconds) if d.uptime_seconds is not None else None),
        ("lan ip", ", ".join(d.lan_ips)),
        ("wan ip", d.wan_ip),
        ("provider", out.rmm_provider),
        ("device id", out.rmm_device_id),
        ("overrides", ", ".join(out.overrides)),
        ("active alerts", sum(1 for a in out.recent_alerts if a.status == "active")),
        ("sources", "; ".join(f"{s.integration_name}: {s.external_id} ({s.status})" for s in out.sources)),
    ]
    for key, value in rows:
        table.add_row(key, "" if value is None else str(value))
    console.print(table)


@assets_app.command("software")
def assets_software(
    asset: str = typer.Argument(..., help="the asset's name (hostname), id, or the start of its id"),
    show_all: bool = typer.Option(False, "--all", help="uninstalled versions too"),
    limit: int = typer.Option(500, "--limit", min=1, max=5000),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Installed software: one line per installed version, a product's versions together."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        aid = await resolve_asset(db, ctx, asset)
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


views_app = typer.Typer(help="Saved views of the assets list (each user's own).", no_args_is_help=True)
assets_app.add_typer(views_app, name="views")


@views_app.command("list")
def views_list(
    user: str = typer.Option(None, "--user", help="only this user's views (e-mail)"),
    wide: bool = WideOpt,
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """List the saved views of the tenant's users: owner, name, filters and columns."""
    from rmmbridge.assets import saved_views
    from rmmbridge.assets.schemas import SavedViewOut
    from rmmbridge.tenancy import service as tenancy_service

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> list[tuple[SavedViewOut, str]]:
        user_id = None
        if user:
            found = await tenancy_service.find_user_by_email(db, user)
            if found.tenant_id != ctx.tenant_id:
                fail(f"{user} is not a user of this tenant")
            user_id = found.id
        found_views = await saved_views.tenant_views(db, ctx, user_id)
        return [(SavedViewOut.model_validate(v), email) for v, email in found_views]

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json([{**v.model_dump(mode="json"), "owner": email} for v, email in out])
        return
    cols = [Col("id", ident=True), Col("owner"), Col("name"), Col("filters", drop=1), Col("columns", drop=2)]
    rows = [[str(v.id), email, v.name, " ".join(f"{k}={val}" for k, val in v.filters.items()) or "—",
             ",".join(v.columns)] for v, email in out]  # fmt: skip
    print_table(cols, rows, title=f"{len(out)} saved view{'s' if len(out) != 1 else ''}", wide=wide)
