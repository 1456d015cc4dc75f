"""Sending deliveries: claim the due ones, POST them signed, record each outcome.

Claiming is one UPDATE that marks a batch ``delivering`` under this process's lease and counts the
attempt: on PostgreSQL the candidate rows are picked ``FOR UPDATE SKIP LOCKED``, so concurrent
senders take disjoint batches without waiting; on SQLite the UPDATE runs under the database's
write lock, so the claim is atomic too. An attempt is sent only by the process that claimed it,
and its outcome is recorded only while the claim is still that process's (lease owner and attempt
number unchanged). A process killed mid-batch leaves its rows ``delivering``; when the lease
expires another process claims them again as a new attempt — at-least-once, deduplicated by the
receiver on ``webhook-id``.

Time: due-ness and the retry ladder follow ``state.clock`` (the test clock in tests); the lease
follows the wall clock, like every other lease.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, bindparam, or_, select, tuple_, update

from rmmbridge.kit.http import retry_after_value
from rmmbridge.kit.metrics import DELIVERY_ATTEMPTS, DELIVERY_LAG
from rmmbridge.kit.time import utcnow
from rmmbridge.state import AppState
from rmmbridge.storage.db import is_postgres, unit_of_work
from rmmbridge.storage.models import EventDelivery, EventSubscription
from rmmbridge.storage.models.base import table_of

from . import formats, schedule
from .poster import Poster, PostError, describe
from .signing import Signer
from .subscriptions import secrets_in_use

log = structlog.get_logger(__name__)

LEASE = timedelta(seconds=120)  # well above the request timeout: a live sender never loses its claim
CONNECT_TIMEOUT_S = 5.0
TIMEOUT_S = 15.0  # from the request written to the whole answer read
EXCERPT = 500
# Deliveries in flight per send pipeline (worker.PIPELINES of them per process): 32 in all, and
# so at most 32 connections from a process to one receiver, as before the pipelines.
LANES = 16


@dataclass
class Claimed:
    tenant_id: uuid.UUID
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    payload: dict[str, Any]
    attempts: int
    event_created_at: datetime


@dataclass
class Outcome:
    claim: Claimed
    status_code: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None
    retry_after_s: float | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def claim(state: AppState, owner: str, now: datetime, limit: int) -> list[Claimed]:
    d = table_of(EventDelivery)
    s = table_of(EventSubscription)
    wall = utcnow()
    async with unit_of_work(state.sessionmaker) as session:
        due = (
            select(d.c.tenant_id, d.c.id)
            .join(s, and_(s.c.tenant_id == d.c.tenant_id, s.c.id == d.c.subscription_id))
            .where(
                s.c.enabled.is_(True),
                or_(
                    and_(d.c.status == "pending", d.c.next_attempt_at <= now),
                    and_(d.c.status == "delivering", d.c.lease_expires_at < wall),
                ),
            )
            .order_by(d.c.next_attempt_at)
            .limit(limit)
        )
        if is_postgres(session):
            due = due.with_for_update(of=d, skip_locked=True)
        result = await session.execute(
            update(d)
            .where(tuple_(d.c.tenant_id, d.c.id).in_(due))
            .values(status="delivering", lease_owner=owner, lease_expires_at=wall + LEASE, attempts=d.c.attempts + 1)
            .returning(
                d.c.tenant_id,
                d.c.id,
                d.c.subscription_id,
                d.c.event_id,
                d.c.payload,
                d.c.attempts,
                d.c.event_created_at,
            )
        )
        return [Claimed(*row) for row in result.all()]


async def deliver_due(
    state: AppState,
    poster: Poster,
    owner: str,
    *,
    limit: int = 500,
    now: datetime | None = None,
    lanes: int = LANES,
) -> int:
    """Send one batch of due deliveries; returns how many were attempted.

    ``lanes`` coroutines each take the next claimed delivery when their previous send ended, so
    up to ``lanes`` POSTs are in flight (to one receiver or many) on the poster's kept-alive
    connections; the batch's outcomes are then recorded in one statement.
    """
    now = now or state.clock()
    claimed = await claim(state, owner, now, limit)
    if not claimed:
        return 0
    subs, signers = await _subscriptions(state, claimed, now)
    queue = deque(c for c in claimed if (c.tenant_id, c.subscription_id) in subs)
    outcomes: list[Outcome] = []
    base_url = state.settings.base_url

    async def lane() -> None:
        while queue:
            c = queue.popleft()
            key = (c.tenant_id, c.subscription_id)
            outcomes.append(await send(poster, subs[key], signers[key], c, base_url))

    await asyncio.gather(*(lane() for _ in range(min(lanes, len(queue)))))
    await record(state, owner, outcomes, state.clock())
    return len(claimed)


async def _subscriptions(
    state: AppState, claimed: list[Claimed], now: datetime
) -> tuple[dict[tuple[uuid.UUID, uuid.UUID], EventSubscription], dict[tuple[uuid.UUID, uuid.UUID], Signer]]:
    wanted = {(c.tenant_id, c.subscription_id) for c in claimed}
    subs: dict[tuple[uuid.UUID, uuid.UUID], EventSubscription] = {}
    keys: dict[tuple[uuid.UUID, uuid.UUID], Signer] = {}
    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        rows = await session.scalars(
            select(EventSubscription).where(tuple_(EventSubscription.tenant_id, EventSubscription.id).in_(wanted))
        )
        for sub in rows:
            subs[(sub.tenant_id, sub.id)] = sub
        for tenant_id in {t for t, _ in wanted}:
            for sub in [s for (t, _), s in subs.items() if t == tenant_id]:
                keys[(tenant_id, sub.id)] = Signer(await secrets_in_use(state, session, sub, now))
    return subs, keys


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # built once, not per dumps()


def encode(body: dict[str, Any]) -> bytes:
    return _JSON.encode(body).encode()


async def send(poster: Poster, sub: EventSubscription, signer: Signer, c: Claimed, base_url: str) -> Outcome:
    body = encode(formats.render(sub.format, c.payload, base_url))
    headers = signer.header_lines(str(c.event_id), int(time.time()), body)
    started = time.perf_counter()
    try:
        answer = await poster.post(sub.url, headers, body)
    except Exception as exc:
        if not isinstance(exc, PostError | OSError):
            log.warning("delivery_send_failed", delivery_id=str(c.id), error=f"{type(exc).__name__}: {exc}")
        return Outcome(c, None, int((time.perf_counter() - started) * 1000), None, describe(exc)[:500], None)
    ok = 200 <= answer.status < 300
    return Outcome(
        c,
        answer.status,
        int((time.perf_counter() - started) * 1000),
        answer.text(EXCERPT) if answer.body else "",
        None,
        None if ok else retry_after_value(answer.header("retry-after")),
    )


async def record(state: AppState, owner: str, outcomes: list[Outcome], now: datetime) -> None:
    d = table_of(EventDelivery)
    rows: list[dict[str, Any]] = []
    by_sub: dict[tuple[uuid.UUID, uuid.UUID], list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_sub[(o.claim.tenant_id, o.claim.subscription_id)].append(o)
        if o.ok:
            status, next_at = "succeeded", None
            DELIVERY_LAG.observe(max(0.0, (utcnow() - o.claim.event_created_at).total_seconds()))
        elif o.status_code == 410:
            status, next_at = "failed", None
        else:
            delay = schedule.retry_delay(o.claim.attempts, o.retry_after_s)
            status, next_at = ("failed", None) if delay is None else ("pending", now + timedelta(seconds=delay))
        DELIVERY_ATTEMPTS.labels("ok" if o.ok else ("gone" if o.status_code == 410 else "error")).inc()
        rows.append(
            {
                "b_tenant": o.claim.tenant_id,
                "b_id": o.claim.id,
                "b_attempts": o.claim.attempts,
                "status": status,
                "next_attempt_at": next_at,
                "last_status_code": o.status_code,
                "last_latency_ms": o.latency_ms,
                "response_excerpt": o.excerpt,
                "last_error": o.error or (None if o.ok else f"HTTP {o.status_code}"),
                "delivered_at": now if o.ok else None,
                "updated_at": now,
            }
        )
    if not rows:
        return
    async with unit_of_work(state.sessionmaker) as session:
        await session.execute(
            update(d)
            .where(
                d.c.tenant_id == bindparam("b_tenant"),
                d.c.id == bindparam("b_id"),
                d.c.attempts == bindparam("b_attempts"),
                d.c.lease_owner == owner,
                d.c.status == "delivering",
            )
            .values(
                status=bindparam("status"),
                next_attempt_at=bindparam("next_attempt_at"),
                last_status_code=bindparam("last_status_code"),
                last_latency_ms=bindparam("last_latency_ms"),
                response_excerpt=bindparam("response_excerpt"),
                last_error=bindparam("last_error"),
                delivered_at=bindparam("delivered_at"),
                updated_at=bindparam("updated_at"),
                lease_owner=None,
                lease_expires_at=None,
            ),
            rows,
        )
        await _subscription_health(session, by_sub, now)


async def _subscription_health(
    session: Any, by_sub: dict[tuple[uuid.UUID, uuid.UUID], list[Outcome]], now: datetime
) -> None:
    """Success clears the failing streak; 410 disables at once; three days of failures disable."""
    for key, outs in by_sub.items():
        sub = await session.get(EventSubscription, key)
        if sub is None:
            continue
        if any(o.ok for o in outs):
            sub.failing_since = None
            sub.last_success_at = now
            continue
        gone = next((o for o in outs if o.status_code == 410), None)
        if gone is not None:
            _disable(sub, now, "the receiver answered 410 Gone: it asked not to be sent anything more")
            continue
        if sub.failing_since is None:
            sub.failing_since = now
        elif now - sub.failing_since >= schedule.DISABLE_AFTER:
            last = outs[-1].error or f"HTTP {outs[-1].status_code}"
            _disable(sub, now, f"every delivery failed since {sub.failing_since:%Y-%m-%d %H:%M} UTC (last: {last})")


def _disable(sub: EventSubscription, now: datetime, reason: str) -> None:
    if sub.enabled:
        sub.enabled = False
        sub.disabled_at = now
        sub.disabled_reason = reason[:500]
        log.warning("event_subscription_disabled", subscription_id=str(sub.id), reason=reason)
