"""Webhook subscriptions: create, change, rotate the secret, test, replay.

The signing secret is generated here and shown once (in the answer to create / rotate); it is
kept sealed in the secret store. Rotation keeps the previous secret signing alongside the new one
for an overlap period, so a receiver can switch its verifier without losing a delivery.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import Conflict, NotFound, ValidationFailed
from rmmbridge.events.catalogue import CATALOGUE_VERSION, DELIVERY_TEST, SUBSCRIBABLE
from rmmbridge.kit.urls import check_host_allowed, parse_base_url
from rmmbridge.state import AppState
from rmmbridge.storage.db import dialect_insert
from rmmbridge.storage.models import EventDelivery, EventOutbox, EventSubscription
from rmmbridge.storage.models.base import table_of
from rmmbridge.tenancy.context import TenantContext

from . import signing
from .dispatcher import asset_of, load_assets, matches_filters
from .envelope import envelope
from .formats import FORMATS

MAX_REPLAY = 50_000


def _secret_name(sub_id: uuid.UUID, which: str) -> str:
    return f"event_subscription/{sub_id}/{which}"


async def validate_url(state: AppState, raw: str) -> str:
    """An absolute http(s) URL without user info, whose host is not a metadata or link-local address
    (private ones only if the operator allows private hosts). The transport checks the address
    again at every delivery: a name may resolve elsewhere later."""
    text = (raw or "").strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValidationFailed(f"url is not a valid URL: {exc}", errors=[{"field": "url"}]) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("url must be an absolute http:// or https:// URL", errors=[{"field": "url"}])
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed("url must not carry a user name or password", errors=[{"field": "url"}])
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text) or len(text) > 2000:
        raise ValidationFailed(
            "url must be at most 2000 characters, without spaces or control characters", errors=[{"field": "url"}]
        )
    # The policy first: a metadata name or address is well formed (the schema's pattern admits it)
    # and refused by the operator's policy — 403 ``address-refused``, as for RMM hosts, not a 422.
    await check_host_allowed(parts.hostname, allow_private=state.settings.allow_private_provider_hosts, field="url")
    try:  # the host's shape (no control characters, a valid IDNA name); the same rules as RMM hosts
        parse_base_url(f"https://{parts.netloc}", "webhook", "url must name a host", credentials="nothing")
    except ValueError as exc:
        raise ValidationFailed(f"url: {exc}", errors=[{"field": "url"}]) from None
    return text


def check_filters(event_types: list[str], fmt: str) -> None:
    unknown = sorted(set(event_types) - set(SUBSCRIBABLE))
    if unknown:
        raise ValidationFailed(f"unknown event types: {', '.join(unknown)}", errors=[{"field": "event_types"}])
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}", errors=[{"field": "format"}])


async def get(session: AsyncSession, ctx: TenantContext, sub_id: uuid.UUID) -> EventSubscription:
    sub = await session.get(EventSubscription, (ctx.tenant_id, sub_id))
    if sub is None:
        raise NotFound("no such subscription")
    return sub


async def list_all(session: AsyncSession, ctx: TenantContext) -> list[EventSubscription]:
    return list(
        await session.scalars(
            select(EventSubscription)
            .where(EventSubscription.tenant_id == ctx.tenant_id)
            .order_by(EventSubscription.created_at)
        )
    )


async def create(
    state: AppState,
    session: AsyncSession,
    ctx: TenantContext,
    *,
    name: str,
    url: str,
    fmt: str = "standard",
    event_types: list[str] | None = None,
    client_ids: list[uuid.UUID] | None = None,
) -> tuple[EventSubscription, str]:
    check_filters(event_types or [], fmt)
    sub = EventSubscription(
        tenant_id=ctx.tenant_id,
        id=uuid.uuid4(),
        name=name,
        url=await validate_url(state, url),
        format=fmt,
        event_types=sorted(set(event_types or [])),
        client_ids=sorted({str(c) for c in client_ids or []}),
        enabled=True,
        # On the clock producers stamp events with: "events from its creation on" compares the two.
        created_at=state.clock(),
    )
    session.add(sub)
    await session.flush()
    secret = signing.new_secret()
    await state.secrets.put(session, ctx.tenant_id, _secret_name(sub.id, "current"), secret)
    return sub, secret


async def update_sub(state: AppState, session: AsyncSession, sub: EventSubscription, changes: dict[str, Any]) -> None:
    if "url" in changes:
        sub.url = await validate_url(state, changes["url"])
    fmt = changes.get("format", sub.format)
    types = changes.get("event_types", sub.event_types)
    check_filters(types or [], fmt)
    sub.format, sub.event_types = fmt, sorted(set(types or []))
    if "client_ids" in changes:
        sub.client_ids = sorted({str(c) for c in changes["client_ids"] or []})
    if "name" in changes:
        sub.name = changes["name"]
    if "enabled" in changes and changes["enabled"] != sub.enabled:
        sub.enabled = bool(changes["enabled"])
        if sub.enabled:  # re-enabled by the admin: a fresh start
            sub.disabled_reason, sub.disabled_at, sub.failing_since = None, None, None
        else:
            sub.disabled_reason, sub.disabled_at = "disabled by an admin", state.clock()
    await session.flush()


async def rotate_secret(
    state: AppState, session: AsyncSession, sub: EventSubscription, overlap: timedelta
) -> tuple[str, datetime | None]:
    """A new current secret; the old one keeps signing until ``now + overlap`` (0: retired now)."""
    current = await state.secrets.get(session, sub.tenant_id, _secret_name(sub.id, "current"))
    secret = signing.new_secret()
    await state.secrets.put(session, sub.tenant_id, _secret_name(sub.id, "current"), secret)
    if current and overlap.total_seconds() > 0:
        await state.secrets.put(session, sub.tenant_id, _secret_name(sub.id, "previous"), current)
        sub.previous_secret_expires_at = state.clock() + overlap
    else:
        await state.secrets.delete_prefix(session, sub.tenant_id, _secret_name(sub.id, "previous"))
        sub.previous_secret_expires_at = None
    await session.flush()
    return secret, sub.previous_secret_expires_at


async def secrets_in_use(state: AppState, session: AsyncSession, sub: EventSubscription, now: datetime) -> list[str]:
    found = await state.secrets.get_many(session, sub.tenant_id, f"event_subscription/{sub.id}/")
    out = [found["current"]] if "current" in found else []
    expires = sub.previous_secret_expires_at
    if "previous" in found and expires is not None and now < expires:
        out.append(found["previous"])
    return out


async def delete(state: AppState, session: AsyncSession, sub: EventSubscription) -> None:
    await state.secrets.delete_prefix(session, sub.tenant_id, f"event_subscription/{sub.id}/")
    await session.delete(sub)
    await session.flush()


async def send_test(state: AppState, session: AsyncSession, sub: EventSubscription) -> EventDelivery:
    """Queue a ``delivery.test`` event for this subscription only (never in the feed)."""
    now = state.clock()
    event_id = uuid.uuid4()
    body = {
        "id": str(event_id),
        "type": DELIVERY_TEST,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "version": CATALOGUE_VERSION,
        "tenant_id": str(sub.tenant_id),
        "entity_type": "subscription",
        "entity_id": str(sub.id),
        "data": {"message": f"Test event for subscription {sub.name}"},
    }
    row = EventDelivery(
        tenant_id=sub.tenant_id,
        id=uuid.uuid4(),
        subscription_id=sub.id,
        event_id=event_id,
        event_type=DELIVERY_TEST,
        entity_id=str(sub.id),
        payload=body,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        event_created_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


_RESET = {
    "status": "pending",
    "attempts": 0,
    "lease_owner": None,
    "lease_expires_at": None,
    "last_error": None,
}


async def replay_one(state: AppState, session: AsyncSession, sub: EventSubscription, delivery_id: uuid.UUID) -> None:
    d = table_of(EventDelivery)
    result = await session.execute(
        update(d)
        .where(
            d.c.tenant_id == sub.tenant_id,
            d.c.subscription_id == sub.id,
            d.c.id == delivery_id,
            d.c.status != "delivering",
        )
        .values(**_RESET, next_attempt_at=state.clock(), updated_at=state.clock())
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        exists = await session.get(EventDelivery, (sub.tenant_id, delivery_id))
        if exists is None or exists.subscription_id != sub.id:
            raise NotFound("no such delivery")
        # The current state, not the request, is in the way: the same request succeeds in a moment.
        raise Conflict("the delivery is being sent right now; replay it once it finished")


@dataclass
class ReplayResult:
    requeued: int
    added: int


async def replay_range(
    state: AppState, session: AsyncSession, sub: EventSubscription, start: datetime, end: datetime
) -> ReplayResult:
    """Send again every event of ``[start, end)`` this subscription wants: deliveries in the log are
    queued again, events still in the outbox that it never got (disabled, created later) are added."""
    if end <= start:  # [start, end) is empty: nothing to send (no schema can order two fields)
        return ReplayResult(0, 0)
    now = state.clock()
    events = list(
        await session.scalars(
            select(EventOutbox)
            .where(
                EventOutbox.tenant_id == sub.tenant_id,
                EventOutbox.created_at >= start,
                EventOutbox.created_at < end,
            )
            .order_by(EventOutbox.created_at)
            .limit(MAX_REPLAY + 1)
        )
    )
    if len(events) > MAX_REPLAY:
        # How many events the range holds is stored state, not the body's shape: 409.
        raise Conflict(f"more than {MAX_REPLAY} events in that range; replay a shorter one", errors=[{"field": "end"}])
    assets = await load_assets(session, events)
    rows = []
    for event in events:
        asset = asset_of(event, assets)
        if not matches_filters(sub.event_types, sub.client_ids, event.event_type, (asset or {}).get("client_id")):
            continue
        rows.append(
            {
                "tenant_id": sub.tenant_id,
                "id": uuid.uuid4(),
                "subscription_id": sub.id,
                "event_id": event.id,
                "event_type": event.event_type,
                "entity_id": event.entity_id,
                "payload": envelope(event, asset),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "event_created_at": event.created_at,
                "created_at": now,
                "updated_at": now,
            }
        )
    d = table_of(EventDelivery)
    requeued = await session.execute(
        update(d)
        .where(
            d.c.tenant_id == sub.tenant_id,
            d.c.subscription_id == sub.id,
            and_(d.c.event_created_at >= start, d.c.event_created_at < end),
            d.c.status != "delivering",
        )
        .values(**_RESET, next_attempt_at=now, updated_at=now)
    )
    added = 0
    if rows:
        result = await session.execute(
            dialect_insert(session)(d).on_conflict_do_nothing(
                index_elements=["tenant_id", "subscription_id", "event_id"]
            ),
            rows,
        )
        added = max(0, int(result.rowcount or 0))  # type: ignore[attr-defined]
    return ReplayResult(int(requeued.rowcount or 0), added)  # type: ignore[attr-defined]
