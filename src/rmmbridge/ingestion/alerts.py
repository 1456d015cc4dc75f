"""Alerts: recorded from webhooks, upserted from polling set-wise (the polling job is sync/alert_sync.py).

The natural key is ``(tenant, integration, external alert id)``: a redelivered webhook is a
no-op, concurrent duplicates collapse on the unique key (never two rows, never a 500), a resolve
finds its trigger (or is recorded resolved when it arrives first), and a trigger that arrives
after a later resolve does not reopen the alert.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.events import catalogue
from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.text import clean
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import AlertEvent
from rmmbridge.storage.db import dialect_insert, is_postgres
from rmmbridge.storage.models import RmmAlert
from rmmbridge.storage.models.base import table_of
from rmmbridge.tenancy.context import TenantContext

from . import timeline
from .devices import asset_ids_for

SEVERITIES = ("info", "warning", "error", "critical")
RESOLVE_BATCH = 500


@dataclass(frozen=True)
class RecordResult:
    alert_id: uuid.UUID
    outcome: str  # created | resolved | reopened | updated | duplicate
    asset_id: uuid.UUID | None


def _row(
    ctx: TenantContext,
    integration_id: uuid.UUID,
    ev: AlertEvent,
    asset_id: uuid.UUID | None,
    source: str,
    now: datetime,
) -> dict[str, Any]:
    return clean(
        {
            "tenant_id": ctx.tenant_id,
            "id": uuid7(),
            "integration_id": integration_id,
            "external_alert_id": ev.external_alert_id,
            "external_device_id": ev.external_device_id,
            "asset_id": asset_id,
            "severity": ev.severity,
            "status": ev.status,
            "alert_type": ev.alert_type,
            "message": ev.message,
            "source": source,
            "occurrences": 1,
            "raised_at": ev.raised_at,
            "resolved_at": ev.resolved_at or (now if ev.status == "resolved" else None),
            "first_seen_at": now,
            "last_seen_at": now,
            "webhook_seen": source == "webhook",
            "poll_seen": source == "poll",
            # The RMM's second device key (Tactical's agent pk) too: delivery hints look agents up by it.
            "attributes": {**dict(ev.attributes), **({"agent_pk": ev.device_ref} if ev.device_ref else {})},
            "updated_at": now,
        }
    )


async def record_alerts(
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    events: Sequence[AlertEvent],
    source: str,
    payloads: Sequence[str | None] | None = None,
) -> list[RecordResult]:
    """Record a batch of alert events of one integration, in delivery order (webhook path).

    Set-based: one asset lookup, one multi-row ``INSERT … ON CONFLICT DO NOTHING``, one locked
    read of the alerts that already existed, one outbox insert. Events for the same alert within
    the batch apply in order (a trigger then its resolve gives created, resolved). Keys are
    inserted and locked in sorted order, so concurrent batches (other workers) cannot deadlock.
    """
    if not events:
        return []
    now = utcnow()
    assets = await asset_ids_for(
        session, ctx, integration_id, {e.external_device_id for e in events if e.external_device_id}
    )
    first: dict[str, int] = {}
    for i, ev in enumerate(events):
        first.setdefault(ev.external_alert_id, i)
    keys = sorted(first)
    table = table_of(RmmAlert)
    insert = dialect_insert(session)
    inserted = dict(
        (
            await session.execute(
                insert(table)
                .on_conflict_do_nothing(index_elements=["tenant_id", "integration_id", "external_alert_id"])
                .returning(table.c.external_alert_id, table.c.id),
                [
                    _row(
                        ctx,
                        integration_id,
                        events[first[k]],
                        assets.get(events[first[k]].external_device_id or ""),
                        source,
                        now,
                    )
                    for k in keys
                ],
            )
        ).all()
    )
    results: list[RecordResult | None] = [None] * len(events)
    outbox: list[dict[str, Any]] = []
    for key, alert_id in inserted.items():
        ev = events[first[key]]
        asset_id = assets.get(ev.external_device_id or "")
        results[first[key]] = RecordResult(alert_id, "created", asset_id)
        outbox.append(
            event_row(
                ctx.tenant_id,
                catalogue.ALERT_RESOLVED if ev.status == "resolved" else catalogue.ALERT_TRIGGERED,
                "alert",
                alert_id,
                {"integration_id": str(integration_id), "asset_id": str(asset_id or ""), **_alert_data(ev)},
                now,
            )
        )
    pending = [i for i in range(len(events)) if results[i] is None]
    if pending:
        query = (
            select(RmmAlert)
            .where(
                RmmAlert.tenant_id == ctx.tenant_id,
                RmmAlert.integration_id == integration_id,
                RmmAlert.external_alert_id.in_(sorted({events[i].external_alert_id for i in pending})),
            )
            .order_by(RmmAlert.external_alert_id)
        )
        if is_postgres(session):
            query = query.with_for_update()  # serialise concurrent deliveries of the same alert
        current = {a.external_alert_id: a for a in await session.scalars(query)}
        for i in pending:
            ev = events[i]
            alert = current[ev.external_alert_id]
            outcome = _transition(alert, ev, assets.get(ev.external_device_id or ""), source, now)
            if outcome != "duplicate":
                outbox.append(
                    event_row(
                        ctx.tenant_id,
                        catalogue.ALERT_OUTCOME_EVENTS[outcome],
                        "alert",
                        alert.id,
                        {
                            "integration_id": str(integration_id),
                            "asset_id": str(alert.asset_id or ""),
                            **_alert_data(ev),
                            **({"reopened": True} if outcome == "reopened" else {}),
                        },
                        now,
                    )
                )
            results[i] = RecordResult(alert.id, outcome, alert.asset_id)
        await session.flush()
    await write_events(session, outbox)
    done = [r for r in results if r is not None]
    await timeline.add_entries(
        session,
        [
            timeline.entry(
                ctx.tenant_id,
                r.alert_id,
                timeline.kind_of(r.outcome, ev.status),
                source,
                now,
                payload=payloads[i] if payloads is not None else None,
            )
            for i, (r, ev) in enumerate(zip(done, events, strict=True))
        ],
    )
    return done


def _alert_data(ev: AlertEvent) -> dict[str, Any]:
    # What routing rules and chat messages need without reading the alert back.
    return {"severity": ev.severity, "alert_type": ev.alert_type, "message": (clean(ev.message) or "")[:500] or None}


def _transition(current: RmmAlert, ev: AlertEvent, asset_id: uuid.UUID | None, source: str, now: datetime) -> str:
    if source == "webhook":
        current.webhook_seen = True
    if asset_id is not None and current.asset_id is None:
        current.asset_id = asset_id
    current.last_seen_at = now
    if ev.status == "resolved":
        if current.status == "resolved":
            return "duplicate"
        current.status = "resolved"
        current.resolved_at = ev.resolved_at or now
        return "resolved"
    # A trigger.
    if current.status == "active":
        changed = ev.severity != current.severity or (ev.message and ev.message != current.message)
        current.severity = ev.severity
        current.message = clean(ev.message) or current.message
        return "updated" if changed else "duplicate"
    raised = ev.raised_at
    if raised is not None and current.resolved_at is not None and raised > current.resolved_at:
        current.status = "active"
        current.resolved_at = None
        current.raised_at = raised
        current.occurrences += 1
        return "reopened"
    return "duplicate"  # an old trigger delivered after its resolve


async def resolve_unlisted(
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    polled_since: datetime,
    *,
    poll_seen_only: bool = False,
) -> int:
    """Resolve the active alerts a complete poll started at ``polled_since`` no longer listed, each
    with a timeline entry (source: poll); with ``poll_seen_only``, only those an earlier poll listed
    (the provider's rule)."""
    conditions = [
        RmmAlert.tenant_id == ctx.tenant_id,
        RmmAlert.integration_id == integration_id,
        RmmAlert.status == "active",
        RmmAlert.last_seen_at < polled_since,
    ]
    if poll_seen_only:
        conditions.append(RmmAlert.poll_seen.is_(True))
    listed = (
        await session.execute(
            select(RmmAlert.id, RmmAlert.asset_id, RmmAlert.severity, RmmAlert.alert_type, RmmAlert.message).where(
                *conditions
            )
        )
    ).all()
    gone = [r.id for r in listed]
    for chunk in range(0, len(gone), RESOLVE_BATCH):
        ids = gone[chunk : chunk + RESOLVE_BATCH]
        await session.execute(
            update(RmmAlert)
            .where(RmmAlert.tenant_id == ctx.tenant_id, RmmAlert.id.in_(ids))
            .values(status="resolved", resolved_at=polled_since, updated_at=utcnow())
        )
    await timeline.add_entries(
        session,
        [timeline.entry(ctx.tenant_id, i, "resolved", "poll", polled_since, detail="no longer active") for i in gone],
    )
    await write_events(
        session,
        [
            event_row(
                ctx.tenant_id,
                catalogue.ALERT_RESOLVED,
                "alert",
                r.id,
                {
                    "integration_id": str(integration_id),
                    "asset_id": str(r.asset_id or ""),
                    "severity": r.severity,
                    "alert_type": r.alert_type,
                    "message": (r.message or "")[:500] or None,
                },
                polled_since,
            )
            for r in listed
        ],
    )
    return len(gone)


async def upsert_polled(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, events: list[AlertEvent]
) -> tuple[int, int]:
    now = utcnow()
    unique = {e.external_alert_id: e for e in events}
    assets = await asset_ids_for(
        session, ctx, integration_id, [e.external_device_id for e in unique.values() if e.external_device_id]
    )
    prior: dict[str, str] = dict(
        (
            await session.execute(
                select(RmmAlert.external_alert_id, RmmAlert.status).where(
                    RmmAlert.tenant_id == ctx.tenant_id,
                    RmmAlert.integration_id == integration_id,
                    RmmAlert.external_alert_id.in_(list(unique)),
                )
            )
        ).all()  # type: ignore[arg-type]
    )
    existing = set(prior)
    insert = dialect_insert(session)
    stmt = insert(RmmAlert)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "integration_id", "external_alert_id"],
        set_={
            "status": "active",
            "severity": stmt.excluded.severity,
            "message": stmt.excluded.message,
            "last_seen_at": stmt.excluded.last_seen_at,
            "poll_seen": True,
            "resolved_at": None,
            "asset_id": func.coalesce(RmmAlert.asset_id, stmt.excluded.asset_id),
            "updated_at": now,
        },
    )
    await session.execute(
        stmt,
        # Sorted by key, as the webhook path inserts, so the two never lock in opposite orders.
        [
            _row(ctx, integration_id, e, assets.get(e.external_device_id or ""), "poll", now)
            for _, e in sorted(unique.items())
        ],
    )
    new = sorted(set(unique) - existing)
    reopened = sorted(k for k, status in prior.items() if status == "resolved")
    if new or reopened:
        # Alerts only polling found are events like any other (routing rules, subscriptions): a new
        # one is triggered, a resolved one the RMM lists as active again is triggered, reopened.
        rows = (
            await session.execute(
                select(RmmAlert.id, RmmAlert.external_alert_id, RmmAlert.asset_id).where(
                    RmmAlert.tenant_id == ctx.tenant_id,
                    RmmAlert.integration_id == integration_id,
                    RmmAlert.external_alert_id.in_(new + reopened),
                )
            )
        ).all()
        await timeline.add_entries(
            session,
            [
                timeline.entry(ctx.tenant_id, r.id, "raised", "poll", now)
                for r in rows
                if r.external_alert_id not in existing
            ],
        )
        await write_events(
            session,
            [
                event_row(
                    ctx.tenant_id,
                    catalogue.ALERT_TRIGGERED,
                    "alert",
                    r.id,
                    {
                        "integration_id": str(integration_id),
                        "asset_id": str(r.asset_id or ""),
                        **_alert_data(unique[r.external_alert_id]),
                        **({"reopened": True} if r.external_alert_id in existing else {}),
                    },
                    now,
                )
                for r in rows
            ],
        )
    return len(new), len(existing)


def _missed_filter(ctx: TenantContext, integration_id: uuid.UUID, configured_at: datetime) -> Any:
    return and_(
        RmmAlert.tenant_id == ctx.tenant_id,
        RmmAlert.integration_id == integration_id,
        RmmAlert.source == "poll",
        RmmAlert.webhook_seen.is_(False),
        # Raised after the webhook existed: an older alert could never have been delivered.
        func.coalesce(RmmAlert.raised_at, RmmAlert.first_seen_at) >= configured_at,
    )


async def missed_by_webhook(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, configured_at: datetime | None
) -> int:
    """Alerts raised after the webhook was configured (or provisioned) that polling found first and
    no webhook ever delivered — a sign the RMM's alert action is off. Zero without a webhook."""
    if configured_at is None:
        return 0
    count = await session.scalar(select(func.count()).where(_missed_filter(ctx, integration_id, configured_at)))
    return int(count or 0)


HINT_SAMPLE = 200


async def missed_sample(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, configured_at: datetime
) -> list[RmmAlert]:
    """The most recent alerts counted as missed by the webhook (for asking the RMM why)."""
    return list(
        (
            await session.scalars(
                select(RmmAlert)
                .where(_missed_filter(ctx, integration_id, configured_at))
                .order_by(RmmAlert.first_seen_at.desc())
                .limit(HINT_SAMPLE)
            )
        ).all()
    )
