"""The RMM alert webhook receiver: ``POST /api/webhooks/{provider}``.

Authenticated by the integration's shared secret in the provider's header (looked up by keyed
digest, compared in constant time), never by a user session. It records the alert and queues a
refresh of the device, and answers well inside RMM timeouts (Tactical waits 8 s): the refresh runs
asynchronously and coalesces per device through single-flight runs.

Every rejection is a 4xx with a reason, never a 500; rejected payloads of a known integration are
kept (the last ones) for the admin to inspect.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import delete, insert, select

from rmmbridge.errors import AppError
from rmmbridge.ingestion.alerts import record_alert
from rmmbridge.integrations import webhooks as secrets_
from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.metrics import WEBHOOKS
from rmmbridge.kit.text import clean
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import Capability, InvalidRecord, WebhookRequest
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration, SyncRun, WebhookDelivery
from rmmbridge.storage.models.base import table_of
from rmmbridge.sync.service import request_sync
from rmmbridge.tenancy.auth import system_context
from rmmbridge.web.deps import app_state
from rmmbridge.web.problems import problem
from rmmbridge.web.state import AppState

from .schemas import WebhookAccepted

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/webhooks", include_in_schema=False)

MAX_BODY = 64 * 1024
KEEP_REJECTED = 50
REFRESH_DEBOUNCE = timedelta(seconds=60)
EXCERPT = 2000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token bucket per integration (per process): a misconfigured RMM loop cannot flood us."""

    def __init__(self, rate_per_s: float = 100.0, burst: float = 300.0) -> None:
        self.rate, self.burst = rate_per_s, burst
        self._buckets: dict[uuid.UUID, _Bucket] = defaultdict(lambda: _Bucket(burst, time.monotonic()))

    def allow(self, key: uuid.UUID) -> float | None:
        """``None`` when allowed, else seconds to wait."""
        bucket = self._buckets[key]
        now = time.monotonic()
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.rate


def _limiter(state: AppState) -> RateLimiter:
    limiter = state.extras.get("webhook_limiter")
    if limiter is None:
        limiter = state.extras["webhook_limiter"] = RateLimiter()
    return limiter  # type: ignore[no-any-return]


async def _read_body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def _reject(status: int, type_: str, detail: str, provider: str, **headers: str) -> Response:
    WEBHOOKS.labels(provider, f"rejected_{status}").inc()
    response = problem(status, type_, "Webhook rejected", detail)
    response.headers.update(headers)
    return response


async def _keep_rejection(state: AppState, row: RmmIntegration, reason: str, body: bytes) -> None:
    async with unit_of_work(state.sessionmaker) as session:
        await session.execute(
            insert(table_of(WebhookDelivery)).values(
                tenant_id=row.tenant_id,
                id=uuid7(),
                integration_id=row.id,
                accepted=False,
                reason=clean(reason[:500]),
                payload_excerpt=clean(body[:EXCERPT].decode("utf-8", "replace")),
                received_at=utcnow(),
            )
        )
        # Keep only the newest rejections per integration.
        keep = (
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.tenant_id == row.tenant_id,
                WebhookDelivery.integration_id == row.id,
                WebhookDelivery.accepted.is_(False),
            )
            .order_by(WebhookDelivery.received_at.desc())
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


@dataclass(frozen=True)
class _Rejection:
    status: int
    type: str
    reason: str
    retry_after: int | None = None


def _check_body_and_rate(state: AppState, row: RmmIntegration, body: bytes | None) -> _Rejection | None:
    if body is None:
        return _Rejection(413, "payload-too-large", f"body larger than {MAX_BODY} bytes")
    wait = _limiter(state).allow(row.id)
    if wait is not None:
        return _Rejection(429, "rate-limited", "too many webhook deliveries", max(1, round(wait)))
    return None


async def _refresh(
    state: AppState, session: Any, ctx: Any, cls: Any, row: RmmIntegration, event: Any
) -> uuid.UUID | None:
    """Queue a refresh of the alert's device, coalesced per device.

    A refresh already queued or running is joined (single flight per device), and a device
    refreshed less than ``REFRESH_DEBOUNCE`` ago is not refreshed again: agents report vitals
    every few minutes (reference/tactical-rmm.md §3.11), so a storm of alerts for one machine
    costs one fetch.
    """
    target = str(event.external_device_id or event.device_ref or "")
    if not target or Capability.device_refresh not in cls.capabilities:
        return None
    recent = await session.scalar(
        select(SyncRun.id)
        .where(
            SyncRun.tenant_id == row.tenant_id,
            SyncRun.integration_id == row.id,
            SyncRun.kind == "agent",
            SyncRun.target == target,
            SyncRun.created_at > utcnow() - REFRESH_DEBOUNCE,
        )
        .limit(1)
    )
    if recent is not None:
        return recent  # type: ignore[no-any-return]
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
        return None
    return started.run.id


@router.post("/{provider}")
async def receive(provider: str, request: Request) -> Response:
    state = app_state(request)
    if provider not in state.registry or Capability.alert_webhook not in state.registry.get(provider).capabilities:
        return _reject(404, "not-found", f"no webhook receiver for '{provider}'", provider)
    cls = state.registry.get(provider)
    names = [h for h in (cls.webhook_header, *cls.webhook_header_aliases) if h]
    presented = next((request.headers.get(h) for h in names if request.headers.get(h)), None)
    if not presented:
        return _reject(401, "unauthorized", f"send the webhook secret in the {names[0]} header", provider)
    body = await _read_body(request)
    # One transaction for the whole accepted path: find the integration, record the alert, log the
    # delivery, decide on the refresh. Rejections write (rarely) in their own transaction.
    async with unit_of_work(state.sessionmaker) as session:
        row = await secrets_.find_by_secret(state, session, provider, presented.strip())
        if row is None:
            return _reject(401, "unauthorized", "unknown webhook secret", provider)
        if not row.is_active or row.state == "disconnected":
            return _reject(403, "forbidden", "this integration is not active", provider)
        rejection = _check_body_and_rate(state, row, body)
        event = None
        if rejection is None:
            try:
                event = cls.parse_webhook(WebhookRequest(dict(request.headers), body or b""))
            except InvalidRecord as exc:
                rejection = _Rejection(422, "invalid-payload", exc.cause)
        if rejection is None and event is not None:
            ctx = system_context(row.tenant_id, "webhook")
            result = await record_alert(session, ctx, row.id, event, "webhook")
            await session.execute(
                insert(table_of(WebhookDelivery)).values(
                    tenant_id=row.tenant_id,
                    id=uuid7(),
                    integration_id=row.id,
                    accepted=True,
                    reason=result.outcome,
                    payload_excerpt=None,
                    received_at=utcnow(),
                )
            )
            refresh_run_id = await _refresh(state, session, ctx, cls, row, event)
    if rejection is not None:
        if rejection.status != 429:  # floods are counted, not stored
            await _keep_rejection(state, row, rejection.reason, (body or b"")[:EXCERPT])
        log.info("webhook_rejected", provider=provider, integration_id=str(row.id), reason=rejection.reason)
        headers = {"Retry-After": str(rejection.retry_after)} if rejection.retry_after else {}
        return _reject(rejection.status, rejection.type, rejection.reason, provider, **headers)
    WEBHOOKS.labels(provider, result.outcome).inc()
    log.info(
        "webhook_accepted",
        provider=provider,
        integration_id=str(row.id),
        outcome=result.outcome,
        alert_id=str(result.alert_id),
    )
    return JSONResponse(
        WebhookAccepted(alert_id=result.alert_id, outcome=result.outcome, refresh_run_id=refresh_run_id).model_dump(
            mode="json"
        ),
        status_code=202,
    )
