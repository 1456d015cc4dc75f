"""Webhook intake: deliveries written in group-committed batches.

The receiver answers each delivery only after its alert is committed (a 202 means it is stored),
but it does not open a transaction per delivery. Deliveries queue here; one writer per process
takes everything queued, writes it in one transaction — one integration lookup, one set-based
alert upsert per integration, one delivery-log insert, one debounce query for refreshes — and
then answers every waiting request. While a batch is being written the next one gathers, so the
batch size follows the load: one delivery when idle, dozens in a storm. Statements per delivery
fall from about ten to well under one.

A batch that fails is retried one delivery at a time, so one poisonous delivery cannot take its
neighbours down with it; a delivery that fails alone is answered 503 (the RMM may retry).
"""

from __future__ import annotations

import asyncio
import hmac
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import AppError
from rmmbridge.ingestion.alerts import RecordResult, record_alerts
from rmmbridge.ingestion.timeline import redact
from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.metrics import WEBHOOK_BATCHES
from rmmbridge.kit.text import clean
from rmmbridge.kit.time import ensure_utc, utcnow
from rmmbridge.providers.base import AlertEvent, Capability, DeviceActivity
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration, SyncRun, WebhookDelivery
from rmmbridge.storage.models.base import table_of
from rmmbridge.sync.service import request_sync
from rmmbridge.tenancy.auth import system_context
from rmmbridge.tenancy.context import TenantContext

log = structlog.get_logger(__name__)

MAX_BATCH = 256
KEEP_REJECTED = 50
REFRESH_DEBOUNCE = timedelta(seconds=60)
EXCERPT = 2000


@dataclass(frozen=True)
class Rejection:
    status: int
    type: str
    reason: str


@dataclass
class Delivery:
    """One authenticated-looking delivery: the secret's digest and either the event or why not."""

    provider: str
    digest: str
    event: AlertEvent | None
    rejection: Rejection | None
    body: bytes = b""
    # Not an alert: news about a device (``DeviceActivity``): accepted, maybe a device refresh.
    activity: DeviceActivity | None = None
    future: asyncio.Future[Outcome] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass(frozen=True)
class Outcome:
    integration_id: uuid.UUID | None = None
    result: RecordResult | None = None
    refresh_run_id: uuid.UUID | None = None
    rejection: Rejection | None = None


UNKNOWN_SECRET = Rejection(401, "unauthorized", "unknown webhook secret")
INACTIVE = Rejection(403, "forbidden", "this integration is not active")


class WebhookIntake:
    """The per-process batch writer; ``submit`` returns once the delivery is committed."""

    def __init__(self, state: AppState, max_batch: int = MAX_BATCH) -> None:
        self.state = state
        self.max_batch = max_batch
        self._queue: list[Delivery] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, delivery: Delivery) -> Outcome:
        self._queue.append(delivery)
        # The writer lives only while there is work, so there is nothing to start or stop with
        # the application (and nothing left pending when a test's event loop closes). One
        # writer, not several: a second one halves the batches and costs more CPU per delivery
        # than the overlap of round trips saves (measured with bench/webhooks.py), and SQLite
        # has a single write lock anyway.
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        return await delivery.future

    async def _drain(self) -> None:
        # The task is done in the same step as this last look at the queue, so a delivery
        # queued afterwards finds ``done()`` true and starts a new writer.
        while self._queue:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            await self._write(batch)

    async def _write(self, batch: list[Delivery]) -> None:
        try:
            outcomes = await self._write_batch(batch)
            WEBHOOK_BATCHES.observe(len(batch))
        except Exception as exc:
            if len(batch) > 1:
                log.warning("webhook_batch_retried_singly", size=len(batch), error=str(exc)[:300])
                for delivery in batch:
                    await self._write([delivery])
                return
            log.exception("webhook_delivery_failed", provider=batch[0].provider)
            _answer(batch[0], exc)
            return
        for delivery, outcome in zip(batch, outcomes, strict=True):
            _answer(delivery, outcome)

    async def _write_batch(self, batch: list[Delivery]) -> list[Outcome]:
        state = self.state
        now = utcnow()
        async with unit_of_work(state.sessionmaker) as session:
            owners = await _integrations_by_digest(session, {(d.provider, d.digest) for d in batch}, state.clock())
            outcomes: dict[int, Outcome] = {}
            accepted: dict[Owner, list[tuple[int, AlertEvent]]] = defaultdict(list)
            log_rows: list[dict[str, Any]] = []
            rejected_in: set[Owner] = set()
            activities: dict[Owner, list[tuple[int, DeviceActivity]]] = defaultdict(list)
            for i, d in enumerate(batch):
                row, event = owners.get((d.provider, d.digest)), d.event
                if row is None:
                    outcomes[i] = Outcome(rejection=UNKNOWN_SECRET)
                elif not row.is_active or row.state == "disconnected":
                    outcomes[i] = Outcome(row.id, rejection=INACTIVE)
                elif d.activity is not None:
                    activities[row].append((i, d.activity))
                elif d.rejection is not None or event is None:
                    rejection = d.rejection or Rejection(422, "invalid-payload", "no event")
                    outcomes[i] = Outcome(row.id, rejection=rejection)
                    log_rows.append(_log_row(row, now, False, rejection.reason, d.body))
                    rejected_in.add(row)
                else:
                    accepted[row].append((i, event))
            for row, items in accepted.items():
                ctx = system_context(row.tenant_id, "webhook")
                events = [event for _, event in items]
                payloads = [redact(batch[i].body) for i, _ in items]
                results = await record_alerts(session, ctx, row.id, events, "webhook", payloads)
                runs = await queue_refreshes(state, session, ctx, row, events, now)
                for (i, event), result in zip(items, results, strict=True):
                    outcomes[i] = Outcome(row.id, result, runs.get(_target(event)))
                    log_rows.append(_log_row(row, now, True, result.outcome, None))
            for row, acts in activities.items():
                ctx = system_context(row.tenant_id, "webhook")
                runs = await apply_activities(state, session, ctx, row, [a for _, a in acts], now)
                for i, act in acts:
                    run_id = runs.get(SCOPES_TARGET) if act.scope_sync else runs.get(act.external_device_id or "")
                    outcomes[i] = Outcome(row.id, None, run_id)
                    log_rows.append(_log_row(row, now, True, act.cause, None))
            if log_rows:
                await session.execute(insert(table_of(WebhookDelivery)), log_rows)
            for row in rejected_in:
                await _prune_rejections(session, row)
        return [outcomes[i] for i in range(len(batch))]  # every branch above answered its delivery


def intake_of(state: AppState) -> WebhookIntake:
    intake = state.extras.get("webhook_intake")
    if intake is None:
        intake = state.extras["webhook_intake"] = WebhookIntake(state)
    return intake  # type: ignore[no-any-return]


def _answer(delivery: Delivery, outcome: Outcome | BaseException) -> None:
    if delivery.future.done():  # the client went away; the delivery was still processed
        return
    if isinstance(outcome, BaseException):
        delivery.future.set_exception(outcome)
    else:
        delivery.future.set_result(outcome)


@dataclass(frozen=True)
class Owner:
    """What the intake needs of the integration owning a secret (a few columns, not the row)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    provider: str
    is_active: bool
    state: str
    digest: str


async def _integrations_by_digest(
    session: AsyncSession, keys: set[tuple[str, str]], now: datetime
) -> dict[tuple[str, str], Owner]:
    """The integrations owning the presented secrets — cross-tenant by design: the secret *is*
    the credential. The digest is keyed, and compared again in constant time. A rotated-out
    secret still counts until its overlap ends (``integrations/webhook_secrets.py``)."""
    digests = sorted({digest for _, digest in keys})
    rows = await session.execute(
        select(
            RmmIntegration.id,
            RmmIntegration.tenant_id,
            RmmIntegration.provider,
            RmmIntegration.is_active,
            RmmIntegration.state,
            RmmIntegration.webhook_secret_digest,
            RmmIntegration.previous_webhook_secret_digest,
            RmmIntegration.previous_webhook_secret_until,
        ).where(
            or_(
                RmmIntegration.webhook_secret_digest.in_(digests),
                and_(
                    RmmIntegration.previous_webhook_secret_digest.in_(digests),
                    RmmIntegration.previous_webhook_secret_until > now,
                ),
            )
        )
    )
    stored: dict[str, Owner] = {}
    for id_, tenant_id, provider, active, state, digest, previous, until in rows:
        if digest:
            stored[digest] = Owner(id_, tenant_id, provider, active, state, digest)
        until = ensure_utc(until)
        if previous and until is not None and until > now and previous not in stored:
            stored[previous] = Owner(id_, tenant_id, provider, active, state, previous)
    found: dict[tuple[str, str], Owner] = {}
    for provider, presented in keys:
        owner = stored.get(presented)
        # The presented digest against the stored one, in constant time, and for its own provider.
        if owner is not None and owner.provider == provider and hmac.compare_digest(presented, owner.digest):
            found[(provider, presented)] = owner
    return found


def _log_row(row: Owner, now: Any, accepted: bool, reason: str, body: bytes | None) -> dict[str, Any]:
    return {
        "tenant_id": row.tenant_id,
        "id": uuid7(),
        "integration_id": row.id,
        "accepted": accepted,
        "reason": clean(reason[:500]),
        "payload_excerpt": clean(body[:EXCERPT].decode("utf-8", "replace")) if body is not None else None,
        "received_at": now,
    }


async def _prune_rejections(session: AsyncSession, row: Owner) -> None:
    """Keep only the newest rejected payloads per integration."""
    keep = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.tenant_id == row.tenant_id,
            WebhookDelivery.integration_id == row.id,
            WebhookDelivery.accepted.is_(False),
        )
        .order_by(WebhookDelivery.received_at.desc(), WebhookDelivery.id.desc())
        .limit(KEEP_REJECTED)
    )
    await session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.tenant_id == row.tenant_id,
            WebhookDelivery.integration_id == row.id,
            WebhookDelivery.accepted.is_(False),
            WebhookDelivery.id.not_in(keep.scalar_subquery()),
        )
    )


SCOPES_TARGET = "\x00scopes"  # the key of a queued scope sync in ``apply_activities``' answer


async def apply_activities(
    state: AppState, session: AsyncSession, ctx: TenantContext, row: Owner, acts: list[DeviceActivity], now: Any
) -> dict[str, uuid.UUID]:
    """What non-alert activities ask for: single-device refreshes (per device, debounced) and one
    scope sync (joined while queued). Used by the receiver and by the activity backfill.
    Returns target → run id (``SCOPES_TARGET`` for the scope sync)."""
    wanted = [
        AlertEvent("", a.external_device_id, "info", "active") for a in acts if a.refresh and a.external_device_id
    ]
    runs = await queue_refreshes(state, session, ctx, row, wanted, now)
    if any(a.scope_sync for a in acts):
        run_id = await _queue_scope_sync(state, session, ctx, row, now)
        if run_id is not None:
            runs[SCOPES_TARGET] = run_id
    return runs


async def _queue_scope_sync(
    state: AppState, session: AsyncSession, ctx: TenantContext, row: Owner, now: Any
) -> uuid.UUID | None:
    """One scope sync for a burst of organization activities: a queued or running one is joined
    (single flight per kind). No time-based debounce: a sync finished a minute ago listed the
    organizations before this change."""
    if Capability.scope_sync not in state.registry.get(row.provider).capabilities:
        return None
    try:
        started = await request_sync(state, session, ctx, row.id, "scopes", "webhook", {})
    except AppError as exc:
        log.info("webhook_scope_sync_skipped", reason=exc.detail)
        return None
    return started.run.id


def _target(event: AlertEvent) -> str:
    return str(event.external_device_id or event.device_ref or "")


async def queue_refreshes(
    state: AppState,
    session: AsyncSession,
    ctx: TenantContext,
    row: Owner,
    events: list[AlertEvent],
    now: Any,
) -> dict[str, uuid.UUID]:
    """Queue a refresh of each alerted device, coalesced per device: target → run id.

    A refresh already queued or running is joined (single flight per device), and a device
    refreshed less than ``REFRESH_DEBOUNCE`` ago is not refreshed again: agents report vitals
    every few minutes (reference/tactical-rmm.md §3.11), so a storm of alerts for one machine
    costs one fetch. One query finds the recent runs of the whole batch.
    """
    if Capability.device_refresh not in state.registry.get(row.provider).capabilities:
        return {}
    wanted = {_target(e): e for e in events if _target(e)}
    if not wanted:
        return {}
    recent = dict(
        (
            await session.execute(
                select(SyncRun.target, SyncRun.id).where(
                    SyncRun.tenant_id == row.tenant_id,
                    SyncRun.integration_id == row.id,
                    SyncRun.kind == "agent",
                    SyncRun.target.in_(sorted(wanted)),
                    SyncRun.created_at > now - REFRESH_DEBOUNCE,
                )
            )
        ).all()
    )
    for target in sorted(set(wanted) - set(recent)):
        event = wanted[target]
        try:
            started = await request_sync(
                state,
                session,
                ctx,
                row.id,
                "agent",
                "webhook",
                {"external_id": event.external_device_id, "external_ref": event.device_ref},
            )
        except AppError as exc:  # e.g. the integration lost the capability: the alert is still recorded
            log.info("webhook_refresh_skipped", reason=exc.detail)
            continue
        recent[target] = started.run.id
    return recent
