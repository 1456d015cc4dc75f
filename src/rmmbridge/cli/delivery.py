"""``rmmbridge delivery …``: the event catalogue, webhook subscriptions and alert routing rules."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.delivery import routes as routes_svc
from rmmbridge.delivery import subscriptions as subs
from rmmbridge.delivery.schemas import DeliveryOut, RouteIn, RouteOut, SubscriptionOut
from rmmbridge.errors import NotFound, ValidationFailed
from rmmbridge.events import catalogue
from rmmbridge.state import AppState
from rmmbridge.storage.models import EventDelivery, EventSubscription
from rmmbridge.tenancy.context import TenantContext

from .common import console, emit_json, fail, run
from .context import JsonOpt, TenantOpt, with_tenant

delivery_app = typer.Typer(help="Outbound events: the catalogue, webhook subscriptions, alert routing rules.")


async def _sub(db: AsyncSession, ctx: TenantContext, ref: str) -> EventSubscription:
    try:
        return await subs.get(db, ctx, uuid.UUID(ref))
    except ValueError:
        pass
    rows = [s for s in await subs.list_all(db, ctx) if s.name == ref]
    if len(rows) != 1:
        raise NotFound(f"no subscription '{ref}'" if not rows else f"'{ref}' is ambiguous; use its id")
    return rows[0]


@delivery_app.command("types")
def types(json_out: bool = JsonOpt) -> None:
    """The event catalogue (and the old names each type replaces)."""
    legacy: dict[str, list[str]] = {}
    for old, new in catalogue.LEGACY_NAMES.items():
        legacy.setdefault(new, []).append(old)
    rows: list[dict[str, Any]] = [
        {"type": t, "description": catalogue.DESCRIPTIONS[t], "legacy_names": legacy.get(t, [])}
        for t in catalogue.SUBSCRIBABLE
    ]
    if json_out:
        emit_json(rows)
        return
    table = Table("type", "description", "replaces", title=f"event catalogue {catalogue.CATALOGUE_VERSION}")
    for r in rows:
        table.add_row(r["type"], r["description"], ", ".join(r["legacy_names"]))
    console.print(table)


@delivery_app.command("list")
def list_subscriptions(tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Webhook subscriptions of the tenant."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> list[SubscriptionOut]:
        return [SubscriptionOut.model_validate(s) for s in await subs.list_all(db, ctx)]

    rows = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(rows)
        return
    table = Table("id", "name", "url", "format", "events", "state")
    for s in rows:
        state_text = "enabled" if s.enabled else f"disabled: {s.disabled_reason}"
        table.add_row(str(s.id), s.name, s.url, s.format, ", ".join(s.event_types) or "all", state_text)
    console.print(table)


@delivery_app.command("subscribe")
def subscribe(
    name: str = typer.Argument(..., help="a name for the destination"),
    url: str = typer.Argument(..., help="where to POST events"),
    fmt: str = typer.Option("standard", "--format", help="standard | slack | teams"),
    event_type: list[str] = typer.Option([], "--event-type", "-e", help="only these types (repeat); default: all"),
    client: list[str] = typer.Option([], "--client", help="only events of these client ids (repeat)"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Create a subscription and print its signing secret (shown only now)."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> tuple[SubscriptionOut, str]:
        try:
            clients = [uuid.UUID(c) for c in client]
        except ValueError:
            raise ValidationFailed("--client takes client ids") from None
        sub, secret = await subs.create(
            state, db, ctx, name=name, url=url, fmt=fmt, event_types=event_type, client_ids=clients
        )
        return SubscriptionOut.model_validate(sub), secret

    sub, secret = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json({"subscription": sub.model_dump(mode="json"), "secret": secret})
        return
    console.print(f"subscription {sub.id} created; signing secret (shown only now):", highlight=False)
    console.print(secret, highlight=False, soft_wrap=True)


@delivery_app.command("enable")
def enable(ref: str = typer.Argument(..., help="subscription id or name"), tenant: str = TenantOpt) -> None:
    """Re-enable a subscription (a disabled one starts afresh)."""
    _set_enabled(ref, tenant, True)


@delivery_app.command("disable")
def disable(ref: str = typer.Argument(..., help="subscription id or name"), tenant: str = TenantOpt) -> None:
    """Stop sending to a subscription."""
    _set_enabled(ref, tenant, False)


def _set_enabled(ref: str, tenant: str, value: bool) -> None:
    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> None:
        await subs.update_sub(state, db, await _sub(db, ctx, ref), {"enabled": value})

    run(lambda: with_tenant(tenant, _do))
    console.print(f"{ref}: {'enabled' if value else 'disabled'}", highlight=False)


@delivery_app.command("delete")
def delete(ref: str = typer.Argument(..., help="subscription id or name"), tenant: str = TenantOpt) -> None:
    """Delete a subscription and its delivery log."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> None:
        await subs.delete(state, db, await _sub(db, ctx, ref))

    run(lambda: with_tenant(tenant, _do))
    console.print(f"{ref}: deleted", highlight=False)


@delivery_app.command("rotate-secret")
def rotate_secret(
    ref: str = typer.Argument(..., help="subscription id or name"),
    overlap_hours: float = typer.Option(24, "--overlap-hours", min=0, max=720, help="the old secret signs this long"),
    tenant: str = TenantOpt,
) -> None:
    """A new signing secret (printed only now); the old one keeps signing during the overlap."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> tuple[str, datetime | None]:
        return await subs.rotate_secret(state, db, await _sub(db, ctx, ref), timedelta(hours=overlap_hours))

    secret, until = run(lambda: with_tenant(tenant, _do))
    console.print(secret, highlight=False, soft_wrap=True)
    if until:
        console.print(f"the previous secret also signs until {until:%Y-%m-%d %H:%M} UTC", highlight=False)


@delivery_app.command("test")
def send_test(ref: str = typer.Argument(..., help="subscription id or name"), tenant: str = TenantOpt) -> None:
    """Queue a test event for the subscription (see `delivery log`)."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> EventDelivery:
        return await subs.send_test(state, db, await _sub(db, ctx, ref))

    row = run(lambda: with_tenant(tenant, _do))
    console.print(f"test event {row.event_id} queued (delivery {row.id})", highlight=False)


@delivery_app.command("log")
def log(
    ref: str = typer.Argument(..., help="subscription id or name"),
    status: str = typer.Option(None, "--status", help="pending | delivering | succeeded | failed | grouped"),
    limit: int = typer.Option(50, "--limit", min=1, max=500),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """The subscription's delivery log, newest first."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> list[DeliveryOut]:
        sub = await _sub(db, ctx, ref)
        query = select(EventDelivery).where(
            EventDelivery.tenant_id == ctx.tenant_id, EventDelivery.subscription_id == sub.id
        )
        if status:
            query = query.where(EventDelivery.status == status)
        rows = await db.scalars(query.order_by(EventDelivery.created_at.desc()).limit(limit))
        return [DeliveryOut.model_validate(r) for r in rows]

    rows = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(rows)
        return
    table = Table("delivery", "event", "type", "status", "tries", "answer", "ms", "when")
    for d in rows:
        answer = str(d.last_status_code or "") or (d.last_error or "")[:40]
        table.add_row(str(d.id), str(d.event_id), d.event_type, d.status, str(d.attempts), answer,
                      str(d.last_latency_ms or ""), f"{d.created_at:%Y-%m-%d %H:%M:%S}")  # fmt: skip
    console.print(table)


@delivery_app.command("replay")
def replay(
    ref: str = typer.Argument(..., help="subscription id or name"),
    delivery: str = typer.Option(None, "--delivery", help="one delivery id"),
    start: datetime = typer.Option(None, "--from", help="replay events from (UTC, ISO 8601)"),
    end: datetime = typer.Option(None, "--to", help="… until (UTC, ISO 8601)"),
    tenant: str = TenantOpt,
) -> None:
    """Send one delivery again, or every event of a time range."""
    if (delivery is None) == (start is None or end is None):
        fail("give either --delivery ID, or --from and --to")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> str:
        sub = await _sub(db, ctx, ref)
        if delivery is not None:
            try:
                await subs.replay_one(state, db, sub, uuid.UUID(delivery))
            except ValueError:
                raise ValidationFailed("--delivery takes a delivery id") from None
            return "1 delivery queued again"
        utc = [t if t.tzinfo else t.replace(tzinfo=datetime.now().astimezone().tzinfo) for t in (start, end)]
        result = await subs.replay_range(state, db, sub, utc[0], utc[1])
        return f"{result.requeued} deliveries queued again, {result.added} added"

    console.print(run(lambda: with_tenant(tenant, _do)), highlight=False)


routes_app = typer.Typer(help="Alert routing rules (ordered; the first matching rule with stop wins).")
delivery_app.add_typer(routes_app, name="routes")


@routes_app.command("list")
def routes_list(tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> list[RouteOut]:
        return [RouteOut.model_validate(r) for r in await routes_svc.list_routes(db, ctx)]

    rows = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(rows)
        return
    table = Table("pos", "id", "name", "match", "to", "stop", "group")
    for r in rows:
        table.add_row(str(r.position), str(r.id), r.name + ("" if r.enabled else " (off)"), _match_text(r),
                      ", ".join(r.subscription_ids), "yes" if r.stop_after_match else "no",
                      f"{r.group_window_s}s" if r.group_window_s else "")  # fmt: skip
    console.print(table)


def _match_text(r: RouteOut) -> str:
    parts = []
    if r.severities:
        parts.append("severity " + "/".join(r.severities))
    if r.alert_types:
        parts.append("type " + "/".join(r.alert_types))
    if r.client_ids:
        parts.append(f"{len(r.client_ids)} clients")
    if r.device_name_pattern:
        parts.append(f"device {r.device_name_pattern}")
    if r.business_hours:
        h = r.business_hours
        parts.append(f"{'in' if h['inside'] else 'outside'} {h['start']}-{h['end']} {h['timezone']}")
    return "; ".join(parts) or "every alert"


def _rule(name: str, to: list[str], severity: list[str], alert_type: list[str], client: list[str], device: str | None,
          hours: str | None, stop: bool, group_window: int, position: int | None) -> RouteIn:  # fmt: skip
    business: dict[str, Any] | None = None
    if hours:
        # "Europe/Berlin 0-4 08:00-18:00" (add "outside" to match outside the hours)
        words = hours.split()
        try:
            first, last = (int(x) for x in words[1].split("-"))
            start, end = words[2].split("-")
            business = {"timezone": words[0], "days": list(range(first, last + 1)), "start": start, "end": end,
                        "inside": not (len(words) > 3 and words[3] == "outside")}  # fmt: skip
        except (IndexError, ValueError):
            fail('--hours looks like "Europe/Berlin 0-4 08:00-18:00" (add "outside" for outside the hours)')
    try:
        return RouteIn.model_validate({
            "name": name, "subscription_ids": to, "severities": severity, "alert_types": alert_type,
            "client_ids": client, "device_name_pattern": device, "business_hours": business,
            "stop_after_match": stop, "group_window_s": group_window, "position": position,
        })  # fmt: skip
    except Exception as exc:  # pydantic's message, on one line
        fail(str(exc).replace("\n", " "))


@routes_app.command("add")
def routes_add(
    name: str = typer.Argument(...),
    to: list[str] = typer.Option(..., "--to", help="subscription id (repeat for several)"),
    severity: list[str] = typer.Option([], "--severity", help="info | warning | error | critical (repeat)"),
    alert_type: list[str] = typer.Option([], "--alert-type"),
    client: list[str] = typer.Option([], "--client", help="client id (repeat)"),
    device: str = typer.Option(None, "--device", help="device name pattern, e.g. 'srv-*'"),
    hours: str = typer.Option(None, "--hours", help='"Europe/Berlin 0-4 08:00-18:00" [outside]'),
    keep_going: bool = typer.Option(False, "--continue", help="let later rules match too"),
    group_window: int = typer.Option(0, "--group-window", min=0, help="seconds re-triggers are grouped"),
    position: int = typer.Option(None, "--position", min=0),
    tenant: str = TenantOpt,
) -> None:
    """Add a routing rule (after the last one unless --position)."""
    body = _rule(name, to, severity, alert_type, client, device, hours, not keep_going, group_window, position)

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> RouteOut:
        return RouteOut.model_validate(await routes_svc.create_route(db, ctx, body))

    row = run(lambda: with_tenant(tenant, _do))
    console.print(f"rule {row.id} added at position {row.position}", highlight=False)


@routes_app.command("delete")
def routes_delete(route_id: str = typer.Argument(...), tenant: str = TenantOpt) -> None:
    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> None:
        try:
            await db.delete(await routes_svc.get_route(db, ctx, uuid.UUID(route_id)))
        except ValueError:
            raise NotFound(f"no routing rule '{route_id}'") from None

    run(lambda: with_tenant(tenant, _do))
    console.print(f"rule {route_id} deleted", highlight=False)


@routes_app.command("dry-run")
def routes_dry_run(
    days: int = typer.Option(7, "--days", min=1, max=30, help="look at alerts of the last N days"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Which recent alerts the saved rules would have sent, and where (nothing is sent)."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        return await routes_svc.dry_run(state, db, ctx, await routes_svc.list_routes(db, ctx), days, 200)

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    table = Table(
        "alert", "severity", "asset", "rules", "to", title=f"{len(out.matched)} of {out.checked} alerts match"
    )
    for m in out.matched:
        table.add_row(m.message or m.alert_type or str(m.alert_id), m.severity, m.asset_name or "",
                      ", ".join(m.rules), ", ".join(m.subscriptions))  # fmt: skip
    console.print(table)
