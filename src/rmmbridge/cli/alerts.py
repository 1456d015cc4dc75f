"""``rmmbridge alerts list|show|ack|resolve|snooze|retry``."""

from __future__ import annotations

import uuid

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.alerts import actions, repository, views
from rmmbridge.alerts.schemas import ActionResultOut, AlertEntryOut, AlertOut
from rmmbridge.errors import NotFound
from rmmbridge.state import AppState
from rmmbridge.storage.models import RmmAlert
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.web.api.pagination import MAX_PAGE_SIZE, Page, PageParams, make_page, paginate

from .common import console, emit_json, fail, page_title, run
from .context import JsonOpt, PageOpt, TenantOpt, outside_transaction, with_tenant

alerts_app = typer.Typer(help="RMM alerts: list, show, acknowledge, resolve, snooze.", no_args_is_help=True)

STATUSES = ("active", "resolved")
SEVERITIES = ("info", "warning", "error", "critical")
SOURCES = ("webhook", "poll")


def _uuid(value: str | None, flag: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"{flag} takes an id (UUID), got '{value}'")


@alerts_app.command("list")
def alerts_list(
    status: str = typer.Option(None, "--status", help="active | resolved"),
    severity: str = typer.Option(None, "--severity", help="info | warning | error | critical"),
    alert_type: str = typer.Option(None, "--type", help="e.g. availability | check | task"),
    source: str = typer.Option(None, "--source", help="webhook | poll (how rmmbridge first learnt of it)"),
    client: str = typer.Option(None, "--client", help="client id"),
    integration: str = typer.Option(None, "--integration", help="integration id"),
    limit: int = typer.Option(50, "--limit", min=1, max=MAX_PAGE_SIZE),
    page: int = PageOpt,
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """List alerts, active first, newest first."""
    for value, allowed, flag in ((status, STATUSES, "--status"), (severity, SEVERITIES, "--severity"),
                                 (source, SOURCES, "--source")):  # fmt: skip
        if value and value not in allowed:
            fail(f"{flag} must be one of {', '.join(allowed)}")
    filters = repository.AlertFilters(
        status, severity, _uuid(integration, "--integration"), None, _uuid(client, "--client"), alert_type, source
    )
    params = PageParams(page=page, page_size=limit)

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Page[AlertOut]:
        rows, total = await paginate(db, repository.list_query(ctx, filters), params)
        return make_page([views.from_row(r) for r in rows], total, params)

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    table = Table("id", "severity", "status", "type", "device", "client", "source", "raised", "message",
                  title=page_title(out, "alerts"))  # fmt: skip
    for a in out.items:
        table.add_row(
            str(a.id), a.severity, _status(a), a.alert_type or "", a.asset_name or a.external_device_id or "",
            a.client_name or "", a.source, a.raised_at.isoformat(timespec="minutes") if a.raised_at else "",
            (a.message or "")[:60],
        )  # fmt: skip
    console.print(table)


def _status(a: AlertOut) -> str:
    parts = [a.status]
    if a.acknowledged_at:
        parts.append("acknowledged")
    if a.remote_state == "failed":
        parts.append(f"{a.remote_action} failed in RMM")
    return ", ".join(parts)


@alerts_app.command("show")
def show(alert_id: str, tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """One alert with its timeline (who did what, and the payloads received, secrets removed)."""
    aid = _uuid(alert_id, "ALERT_ID")
    assert aid is not None

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> tuple[AlertOut, list[AlertEntryOut]]:
        row = (
            await db.execute(repository.list_query(ctx, repository.AlertFilters()).where(RmmAlert.id == aid))
        ).first()
        if row is None:
            raise NotFound(f"no alert {aid}")
        entries = [AlertEntryOut.model_validate(e) for e in await db.scalars(repository.timeline_query(ctx, aid))]
        return views.from_row(row), entries

    alert, entries = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json({**alert.model_dump(mode="json"), "timeline": [e.model_dump(mode="json") for e in entries]})
        return
    device = alert.asset_name or alert.external_device_id
    typer.echo(f"{alert.severity.upper()} {alert.alert_type or ''} alert on {device}")
    typer.echo(f"status:   {_status(alert)}")
    if alert.remote_error:
        typer.echo(f"RMM said: {alert.remote_error}  (retry: rmmbridge alerts retry {alert.id})")
    typer.echo(f"client:   {alert.client_name or '-'}")
    typer.echo(f"message:  {alert.message or ''}")
    for e in entries:
        who = f" by {e.actor}" if e.actor else ""
        detail = f": {e.detail}" if e.detail else ""
        typer.echo(f"  {e.at.isoformat(timespec='seconds')}  {e.kind} ({e.source}){who}{detail}")


def _act(ids: list[str], action: str, tenant: str | None, json_out: bool, days: int | None = None) -> None:
    parsed = [_uuid(i, "ALERT_ID") for i in ids]

    async def _do(state: AppState, ctx: TenantContext) -> list[actions.ActionResult]:
        return await actions.act(state, ctx, [p for p in parsed if p], action, days)

    results = run(lambda: outside_transaction(tenant, _do))
    if json_out:
        emit_json([ActionResultOut(**r.__dict__) for r in results])
        return
    failed = 0
    for r in results:
        remote = f", RMM: {r.remote_state}" if r.remote_state else ""
        typer.echo(f"{r.alert_id}: {r.status}{remote}{' — ' + r.remote_error if r.remote_error else ''}")
        failed += r.remote_state == "failed"
    if failed:
        fail(f"{failed} alert(s) were changed here but the RMM refused; fix the cause and run `rmmbridge alerts retry`")


@alerts_app.command("ack")
def ack(alert_ids: list[str], tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Acknowledge (in rmmbridge only)."""
    _act(alert_ids, "acknowledge", tenant, json_out)


@alerts_app.command("resolve")
def resolve(alert_ids: list[str], tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Resolve here and in the RMM (exit 1 when the RMM refused; the alert shows why)."""
    _act(alert_ids, "resolve", tenant, json_out)


@alerts_app.command("snooze")
def snooze(
    alert_ids: list[str],
    days: int = typer.Option(..., "--days", min=1, max=365),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Snooze in the RMM for some days."""
    _act(alert_ids, "snooze", tenant, json_out, days)


@alerts_app.command("retry")
def retry(alert_ids: list[str], tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Send a resolve or snooze the RMM refused again."""
    _act(alert_ids, "retry", tenant, json_out)
