"""Fan-out: the outbox, read in feed order, becomes one delivery row per (event, subscription).

Runs in every process; the cursor moves with a compare-and-set in the same transaction as the
inserted deliveries, so two dispatchers reading the same position cannot both commit (the loser
rolls back and reads again), and a crash before commit leaves the cursor where it was.
Subscriptions receive events created from their own creation on (a new subscription does not
get the retained backlog; replay a time range for that).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.events.catalogue import ALERT_TRIGGERED
from rmmbridge.events.outbox import feed_horizon
from rmmbridge.state import AppState
from rmmbridge.storage.db import dialect_insert, is_postgres, unit_of_work
from rmmbridge.storage.models import AlertRoute, Asset, DeliveryCursor, EventDelivery, EventOutbox, EventSubscription
from rmmbridge.storage.models.base import table_of

from . import routing
from .envelope import envelope

WEBHOOK_CURSOR = "webhooks"
BATCH = 1000


class CursorMoved(Exception):
    """Another process advanced the cursor first; this batch is rolled back."""


async def cursor_row(session: AsyncSession, name: str) -> DeliveryCursor:
    row = await session.get(DeliveryCursor, name, populate_existing=True)
    if row is not None:  # the usual case: no write on an idle poll
        return row
    await session.execute(
        dialect_insert(session)(table_of(DeliveryCursor))
        .values(name=name, tx_id=0, event_id=None)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    row = await session.get(DeliveryCursor, name, populate_existing=True)
    assert row is not None
    return row


async def read_after(session: AsyncSession, tx_id: int, event_id: uuid.UUID | None, limit: int) -> list[Any]:
    """The next events as rows whose attributes are the outbox's columns (what ``plan_event`` and
    ``envelope`` read): no ORM instance per event, which was a sixth of the fan-out's CPU."""
    query = after(select(*table_of(EventOutbox).c), session, tx_id, event_id, limit)
    return list((await session.execute(query)).all())


def after(query: Any, session: AsyncSession, tx_id: int, event_id: uuid.UUID | None, limit: int) -> Any:
    """``query`` (over the outbox) restricted to the ``limit`` events after the cursor, in feed order."""
    if event_id is not None:
        query = query.where(or_(EventOutbox.tx_id > tx_id, and_(EventOutbox.tx_id == tx_id, EventOutbox.id > event_id)))
    else:
        query = query.where(EventOutbox.tx_id >= tx_id)
    if is_postgres(session):
        query = query.where(EventOutbox.tx_id < feed_horizon())
    return query.order_by(EventOutbox.tx_id, EventOutbox.id).limit(limit)


async def advance(session: AsyncSession, cursor: DeliveryCursor, last: EventOutbox) -> None:
    table = table_of(DeliveryCursor)
    same = table.c.event_id.is_(None) if cursor.event_id is None else table.c.event_id == cursor.event_id
    result = await session.execute(
        update(table)
        .where(table.c.name == cursor.name, table.c.tx_id == cursor.tx_id, same)
        .values(tx_id=last.tx_id, event_id=last.id, updated_at=func.now())
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise CursorMoved(cursor.name)


def asset_facts(rows: Any) -> dict[str, dict[str, Any]]:
    return {str(r.id): {"id": str(r.id), "name": r.name, "client_id": str(r.client_id or "") or None} for r in rows}


async def load_assets(session: AsyncSession, events: list[EventOutbox]) -> dict[str, dict[str, Any]]:
    """Name and client of the assets the events are about (one query per tenant in the batch)."""
    wanted: dict[uuid.UUID, set[uuid.UUID]] = {}
    for e in events:
        raw = e.entity_id if e.entity_type == "asset" else (e.payload or {}).get("asset_id")
        try:
            wanted.setdefault(e.tenant_id, set()).add(uuid.UUID(str(raw)))
        except ValueError:
            continue
    out: dict[str, dict[str, Any]] = {}
    for tenant_id, ids in wanted.items():
        rows = await session.execute(
            select(Asset.id, Asset.name, Asset.client_id).where(Asset.tenant_id == tenant_id, Asset.id.in_(ids))
        )
        out.update(asset_facts(rows))
    return out


def asset_of(event: EventOutbox, assets: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    key = event.entity_id if event.entity_type == "asset" else str((event.payload or {}).get("asset_id") or "")
    return assets.get(key)


def wants(sub: EventSubscription, event_type: str, client_id: str | None) -> bool:
    return sub.enabled and matches_filters(sub.event_types, sub.client_ids, event_type, client_id)


def matches_filters(event_types: list[str], client_ids: list[str], event_type: str, client_id: str | None) -> bool:
    """A subscription's filters: empty lists match everything."""
    if event_types and event_type not in event_types:
        return False
    return not (client_ids and (client_id or "") not in client_ids)


@dataclass
class Planned:
    subscription_id: uuid.UUID
    route: Any  # AlertRoute | None


def plan_event(
    event: EventOutbox,
    asset: dict[str, Any] | None,
    subs: list[EventSubscription],
    rules: list[AlertRoute],
) -> list[Planned]:
    """The subscriptions ``event`` goes to (filters, then routing rules for alert events)."""
    client_id = (asset or {}).get("client_id")
    live = [s for s in subs if s.created_at <= event.created_at + timedelta(seconds=1)]
    if not event.event_type.startswith("alert.") or not rules:
        return [Planned(s.id, None) for s in live if wants(s, event.event_type, client_id)]
    routed = routing.routed_subscriptions(rules)
    out = [Planned(s.id, None) for s in live if s.id not in routed and wants(s, event.event_type, client_id)]
    data = event.payload or {}
    facts = routing.AlertFacts(
        severity=data.get("severity"),
        alert_type=data.get("alert_type"),
        client_id=client_id,
        device_name=(asset or {}).get("name"),
        at=event.created_at,
    )
    by_id = {s.id: s for s in live}
    for rule, sid in routing.route(rules, facts):
        sub = by_id.get(sid)
        if sub is not None and wants(sub, event.event_type, client_id) and all(p.subscription_id != sid for p in out):
            out.append(Planned(sid, rule))
    return out


async def dispatch_once(state: AppState, limit: int = BATCH) -> int:
    """Fan out the next batch of events; returns how many events were read (0: caught up)."""
    try:
        async with unit_of_work(state.sessionmaker) as session:
            cursor = await cursor_row(session, WEBHOOK_CURSOR)
            events = await read_after(session, cursor.tx_id, cursor.event_id, limit)
            if not events:
                return 0
            tenants = {e.tenant_id for e in events}
            subs_by_tenant: dict[uuid.UUID, list[EventSubscription]] = {}
            for sub in await session.scalars(
                select(EventSubscription).where(
                    EventSubscription.tenant_id.in_(tenants), EventSubscription.enabled.is_(True)
                )
            ):
                subs_by_tenant.setdefault(sub.tenant_id, []).append(sub)
            rows: list[dict[str, Any]] = []
            if subs_by_tenant:
                rows = await _plan_rows(
                    session, state, [e for e in events if e.tenant_id in subs_by_tenant], subs_by_tenant
                )
            if rows:
                insert = dialect_insert(session)(table_of(EventDelivery))
                await session.execute(
                    insert.on_conflict_do_nothing(index_elements=["tenant_id", "subscription_id", "event_id"]), rows
                )
            await advance(session, cursor, events[-1])
            return len(events)
    except CursorMoved:
        return 0


async def _plan_rows(
    session: AsyncSession,
    state: AppState,
    events: list[EventOutbox],
    subs_by_tenant: dict[uuid.UUID, list[EventSubscription]],
) -> list[dict[str, Any]]:
    rules_by_tenant: dict[uuid.UUID, list[AlertRoute]] = {}
    if any(e.event_type.startswith("alert.") for e in events):
        for rule in await session.scalars(
            select(AlertRoute)
            .where(AlertRoute.tenant_id.in_(subs_by_tenant), AlertRoute.enabled.is_(True))
            .order_by(AlertRoute.position)
        ):
            rules_by_tenant.setdefault(rule.tenant_id, []).append(rule)
    assets = await load_assets(session, events)
    now = state.clock()
    rows: list[dict[str, Any]] = []
    grouped_candidates: list[dict[str, Any]] = []
    for event in events:
        asset = asset_of(event, assets)
        body = envelope(event, asset)
        for planned in plan_event(
            event, asset, subs_by_tenant[event.tenant_id], rules_by_tenant.get(event.tenant_id, [])
        ):
            row = {
                "tenant_id": event.tenant_id,
                "id": uuid.uuid4(),
                "subscription_id": planned.subscription_id,
                "event_id": event.id,
                "event_type": event.event_type,
                "entity_id": event.entity_id,
                "payload": body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "route_id": planned.route.id if planned.route is not None else None,
                "event_created_at": event.created_at,
                "created_at": now,
                "updated_at": now,
            }
            rows.append(row)
            if planned.route is not None and planned.route.group_window_s > 0 and event.event_type == ALERT_TRIGGERED:
                row["_window"] = planned.route.group_window_s
                grouped_candidates.append(row)
    if grouped_candidates:
        await _group_retriggers(session, grouped_candidates)
    for row in rows:
        row.pop("_window", None)
    return rows


async def _group_retriggers(session: AsyncSession, candidates: list[dict[str, Any]]) -> None:
    """A trigger of an alert already sent to the subscription within the rule's window is recorded
    as ``grouped`` (visible in the log) instead of sent again: no ticket storm from a flapping check."""
    widest = max(r["_window"] for r in candidates)
    earliest = min(r["event_created_at"] for r in candidates) - timedelta(seconds=widest)
    last_sent: dict[tuple[Any, Any, str], datetime] = {}
    for tenant_id in {r["tenant_id"] for r in candidates}:
        mine = [r for r in candidates if r["tenant_id"] == tenant_id]
        previous = await session.execute(
            select(EventDelivery.subscription_id, EventDelivery.entity_id, func.max(EventDelivery.event_created_at))
            .where(
                EventDelivery.tenant_id == tenant_id,
                EventDelivery.subscription_id.in_({r["subscription_id"] for r in mine}),
                EventDelivery.entity_id.in_({r["entity_id"] for r in mine}),
                EventDelivery.event_type == ALERT_TRIGGERED,
                EventDelivery.status != "grouped",
                EventDelivery.event_created_at >= earliest,
            )
            .group_by(EventDelivery.subscription_id, EventDelivery.entity_id)
        )
        for sid, entity, at in previous:
            last_sent[(tenant_id, sid, entity)] = at
    for row in sorted(candidates, key=lambda r: r["event_created_at"]):
        key = (row["tenant_id"], row["subscription_id"], row["entity_id"])
        sent = last_sent.get(key)
        if sent is not None and row["event_created_at"] - sent < timedelta(seconds=row["_window"]):
            row["status"] = "grouped"
            row["next_attempt_at"] = None
            row["last_error"] = f"grouped with the trigger sent at {sent.isoformat()}"
        else:
            last_sent[key] = row["event_created_at"]
