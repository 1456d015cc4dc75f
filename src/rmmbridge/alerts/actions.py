"""Two-way alert actions: acknowledge (local), resolve and snooze (local at once, then the RMM).

Order of work, and why:

1. One transaction records the action locally — status, who, a timeline entry, the event — and
   marks the remote side ``pending``. It commits before the RMM is called: the RMM sends no
   webhook for an API resolve (Tactical), so this is the only record of it, and no database lock
   is held while waiting on the RMM.
2. The RMM is asked, one call per integration (Tactical resolves many alerts in one bulk call).
3. A second transaction records the RMM's answer: ``synced``, or ``failed`` with its reason, shown
   on the alert with a retry. Local and remote are never silently different.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select

from rmmbridge.errors import AppError, NotFound, ValidationFailed, WrongState
from rmmbridge.events import catalogue
from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.ingestion import timeline
from rmmbridge.integrations.factory import build_provider
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import Capability, ProviderError
from rmmbridge.state import AppState
from rmmbridge.storage.db import is_postgres, unit_of_work
from rmmbridge.storage.models import RmmAlert, RmmIntegration
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

log = structlog.get_logger(__name__)

ACTIONS = ("acknowledge", "resolve", "snooze", "retry")
MAX_BULK = 500
MAX_SNOOZE_DAYS = 365


@dataclass(frozen=True)
class ActionResult:
    alert_id: uuid.UUID
    status: str
    remote_state: str | None
    remote_error: str | None


def actor_of(ctx: TenantContext) -> str:
    return ctx.email or ctx.actor


async def act(
    state: AppState, ctx: TenantContext, alert_ids: list[uuid.UUID], action: str, days: int | None = None
) -> list[ActionResult]:
    """Apply ``action`` to every alert in ``alert_ids`` (all exist in the tenant, or nothing is done)."""
    ctx.require(Permission.alerts_write)
    if action not in ACTIONS:
        raise ValidationFailed(f"action must be one of {', '.join(ACTIONS)}")
    ids = list(dict.fromkeys(alert_ids))
    if not ids:
        raise ValidationFailed("name at least one alert")
    if len(ids) > MAX_BULK:
        raise ValidationFailed(f"at most {MAX_BULK} alerts at once")
    if action == "snooze" and (days is None or not 1 <= days <= MAX_SNOOZE_DAYS):
        raise ValidationFailed(f"snooze needs days between 1 and {MAX_SNOOZE_DAYS}")
    who = actor_of(ctx)
    remote: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)  # integration → (alert, external id)
    remote_action: dict[uuid.UUID, str] = {}
    async with unit_of_work(state.sessionmaker) as session:
        query = (
            select(RmmAlert, RmmIntegration.provider)
            .join(
                RmmIntegration,
                (RmmIntegration.tenant_id == RmmAlert.tenant_id) & (RmmIntegration.id == RmmAlert.integration_id),
            )
            .where(RmmAlert.tenant_id == ctx.tenant_id, RmmAlert.id.in_(ids))
            .order_by(RmmAlert.id)
        )
        if is_postgres(session):
            query = query.with_for_update(of=RmmAlert)
        rows = (await session.execute(query)).all()
        if len(rows) != len(ids):
            missing = sorted(set(ids) - {a.id for a, _ in rows})
            raise NotFound(f"no alert {missing[0]}")
        now = utcnow()
        entries: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for alert, provider in rows:
            can_remote = Capability.alert_actions in state.registry.get(provider).capabilities
            if action == "acknowledge":
                if alert.acknowledged_at is None:
                    alert.acknowledged_at, alert.acknowledged_by = now, who
                    entries.append(timeline.entry(ctx.tenant_id, alert.id, "acknowledged", "user", now, actor=who))
                    events.append(_event(ctx, catalogue.ALERT_ACKNOWLEDGED, alert, who, now))
                continue
            if action == "retry":
                if alert.remote_state != "failed" or not alert.remote_action:
                    raise WrongState(f"alert {alert.id} has no failed action in the RMM to retry")
                kind = alert.remote_action
                if kind == "resolve" and alert.status != "resolved":  # a poll saw it still open meanwhile
                    alert.status, alert.resolved_at, alert.resolved_by = "resolved", now, who
                if kind == "snooze":  # what is left of the snooze, at least a day
                    left = (alert.snoozed_until - now) if alert.snoozed_until else timedelta(days=1)
                    days = max(1, -(-int(left.total_seconds()) // 86400))
                entries.append(timeline.entry(ctx.tenant_id, alert.id, f"{kind}_retried", "user", now, actor=who))
            elif action == "resolve":
                kind = "resolve"
                if alert.status != "resolved":
                    alert.status, alert.resolved_at, alert.resolved_by = "resolved", now, who
                    alert.snoozed_until = None
                    entries.append(timeline.entry(ctx.tenant_id, alert.id, "resolved", "user", now, actor=who))
                    events.append(_event(ctx, catalogue.ALERT_RESOLVED, alert, who, now))
                elif alert.remote_state in ("synced", "pending") and alert.remote_action == "resolve":
                    continue  # already resolved here and there
                elif alert.remote_state is None and alert.resolved_by is None:
                    continue  # the RMM resolved it (webhook or poll): nothing to send
            else:
                kind = "snooze"
                if alert.status == "resolved":
                    raise WrongState(f"alert {alert.id} is resolved; only active alerts can be snoozed")
                assert days is not None
                alert.snoozed_until = now + timedelta(days=days)
                entries.append(
                    timeline.entry(ctx.tenant_id, alert.id, "snoozed", "user", now, actor=who, detail=f"{days} day(s)")
                )
            if can_remote:
                alert.remote_action, alert.remote_state, alert.remote_error = kind, "pending", None
                remote[alert.integration_id].append((alert.id, alert.external_alert_id))
                remote_action[alert.integration_id] = kind
            alert.updated_at = now
        if action == "retry" and len({remote_action[i] for i in remote_action}) > 1:
            raise ValidationFailed("retry resolves and snoozes separately")
        await timeline.add_entries(session, entries)
        await write_events(session, events)
    for integration_id, targets in remote.items():
        await _send(state, ctx, integration_id, targets, remote_action[integration_id], days)
    return await _results(state, ctx, ids)


_BY = {catalogue.ALERT_ACKNOWLEDGED: "acknowledged_by", catalogue.ALERT_RESOLVED: "resolved_by"}


def _event(ctx: TenantContext, kind: str, alert: RmmAlert, who: str, now: Any) -> dict[str, Any]:
    # The alert's severity, type and message as the RMM's events carry them: routing rules and
    # chat messages need them for a user's action too.
    data = {
        "integration_id": str(alert.integration_id),
        "asset_id": str(alert.asset_id or ""),
        "severity": alert.severity,
        "alert_type": alert.alert_type,
        "message": (alert.message or "")[:500] or None,
        _BY[kind]: who,
    }
    return event_row(ctx.tenant_id, kind, "alert", alert.id, data, now)


async def _send(
    state: AppState,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    targets: list[tuple[uuid.UUID, str]],
    kind: str,
    days: int | None,
) -> None:
    """Ask the RMM, outside any transaction; record its answer on each alert."""
    error: str | None = None
    try:
        async with unit_of_work(state.sessionmaker, read_only=True) as session:
            row = await session.get(RmmIntegration, (ctx.tenant_id, integration_id))
            if row is None or not row.is_active or row.state == "disconnected":
                raise WrongState("the integration is not connected")
            provider = await build_provider(state, session, row)
        try:
            external = [ext for _, ext in targets]
            if kind == "resolve":
                await provider.resolve_alerts(external)
            else:
                for ext in external:
                    await provider.snooze_alert(ext, days or 1)
        finally:
            await provider.aclose()
    except ProviderError as exc:
        error = exc.message
    except AppError as exc:
        error = exc.detail
    now = utcnow()
    async with unit_of_work(state.sessionmaker) as session:
        alerts = await session.scalars(
            select(RmmAlert).where(RmmAlert.tenant_id == ctx.tenant_id, RmmAlert.id.in_([i for i, _ in targets]))
        )
        entries = []
        for alert in alerts:
            alert.remote_state = "failed" if error else "synced"
            alert.remote_error = error
            entries.append(
                timeline.entry(
                    ctx.tenant_id,
                    alert.id,
                    f"{kind}_failed_in_rmm" if error else f"{kind}d_in_rmm",
                    "rmm",
                    now,
                    detail=error,
                )
            )
        await timeline.add_entries(session, entries)
    if error:
        log.info("alert_remote_action_failed", integration_id=str(integration_id), action=kind, error=error[:300])


async def _results(state: AppState, ctx: TenantContext, ids: list[uuid.UUID]) -> list[ActionResult]:
    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        rows = await session.scalars(select(RmmAlert).where(RmmAlert.tenant_id == ctx.tenant_id, RmmAlert.id.in_(ids)))
        by_id = {a.id: a for a in rows}
    return [
        ActionResult(i, by_id[i].status, by_id[i].remote_state, by_id[i].remote_error) for i in ids if i in by_id
    ]
