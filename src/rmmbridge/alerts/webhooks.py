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
from dataclasses import dataclass

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from rmmbridge.ingestion.limits import fit_alert
from rmmbridge.kit.metrics import WEBHOOKS
from rmmbridge.providers.base import Capability, DeviceActivity, InvalidRecord, WebhookRequest
from rmmbridge.state import AppState
from rmmbridge.web.deps import app_state
from rmmbridge.web.problems import problem
from rmmbridge.web.throttles import retry_after, source_address, throttles_of

from .intake import UNKNOWN_SECRET, Delivery, Rejection, intake_of
from .schemas import WebhookAccepted

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/webhooks", include_in_schema=False)

MAX_BODY = 64 * 1024
MAX_BUCKETS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token bucket per webhook secret (so per integration), per process: a misconfigured RMM
    loop, or a flood of guessed secrets, cannot flood the database."""

    def __init__(self, rate_per_s: float, burst_s: float = 3.0) -> None:
        self.rate, self.burst = rate_per_s, max(1.0, rate_per_s * burst_s)
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str) -> float | None:
        """``None`` when allowed, else seconds to wait."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        # A bucket idle long enough to have refilled is the same as no bucket: drop those. If
        # every bucket is busy (a guessed-secrets flood), start over rather than grow unbounded.
        refill = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < refill}
        if len(self._buckets) >= MAX_BUCKETS:
            self._buckets.clear()


def _limiter(state: AppState) -> RateLimiter:
    limiter = state.extras.get("webhook_limiter")
    if limiter is None:
        limiter = state.extras["webhook_limiter"] = RateLimiter(state.settings.webhook_rate_limit)
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


@router.post("/{provider}")
async def receive(provider: str, request: Request) -> Response:
    state = app_state(request)
    if provider not in state.registry or Capability.alert_webhook not in state.registry.get(provider).capabilities:
        # The path is the caller's: a fixed label, or every guessed name would be a metric series.
        return _reject(404, "not-found", f"no webhook receiver for '{provider}'", "unknown")
    cls = state.registry.get(provider)
    names = [h for h in (cls.webhook_header, *cls.webhook_header_aliases) if h]
    presented = next((request.headers.get(h) for h in names if request.headers.get(h)), None)
    if not presented or len(presented) > 512:
        return _reject(401, "unauthorized", f"send the webhook secret in the {names[0]} header", provider)
    # An address that keeps presenting unknown secrets is guessing: it waits, before any database
    # work. Known secrets are never slowed by this (only unknown ones count).
    address = source_address(request)
    guessing = throttles_of(state).webhook_address
    if (wait := guessing.wait(address)) is not None:
        return _reject(
            429, "rate-limited", "too many unknown webhook secrets", provider, **{"Retry-After": retry_after(wait)}
        )
    digest = state.secrets.digest(presented.strip())
    # Floods are refused before any database work, keyed by the secret's digest (one per
    # integration), and are counted rather than stored.
    wait = _limiter(state).allow(digest)
    if wait is not None:
        return _reject(
            429, "rate-limited", "too many webhook deliveries", provider, **{"Retry-After": str(max(1, round(wait)))}
        )
    body = await _read_body(request)
    event, rejection, activity = None, None, None
    if body is None:
        rejection = Rejection(413, "payload-too-large", f"body larger than {MAX_BODY} bytes")
    else:
        try:
            event = fit_alert(cls.parse_webhook(WebhookRequest(dict(request.headers), body)))
        except DeviceActivity as exc:  # news about a device, not an alert
            activity = exc
        except InvalidRecord as exc:
            rejection = Rejection(422, "invalid-payload", exc.cause)
    try:
        outcome = await intake_of(state).submit(
            Delivery(provider, digest, event, rejection, body or b"", activity=activity)
        )
    except Exception:  # logged by the intake; the database is unreachable or failing
        return _reject(
            503, "unavailable", "the delivery could not be stored; retry later", provider, **{"Retry-After": "5"}
        )
    if outcome.rejection is not None:
        if outcome.rejection is UNKNOWN_SECRET:
            guessing.failed(address)
        if outcome.integration_id is not None:
            log.info(
                "webhook_rejected",
                provider=provider,
                integration_id=str(outcome.integration_id),
                reason=outcome.rejection.reason,
            )
        return _reject(outcome.rejection.status, outcome.rejection.type, outcome.rejection.reason, provider)
    if activity is not None:  # authenticated, and not an alert: acknowledged (a 2xx stops the RMM's retries)
        WEBHOOKS.labels(provider, "activity").inc()
        return JSONResponse(
            {
                "accepted": True,
                "processed": outcome.refresh_run_id is not None,
                "reason": activity.cause,
                "refresh_run_id": str(outcome.refresh_run_id) if outcome.refresh_run_id else None,
            },
            status_code=200,
        )
    result = outcome.result
    assert result is not None and event is not None  # accepted deliveries carry their parsed event
    WEBHOOKS.labels(provider, result.outcome).inc()
    log.info(
        "webhook_accepted",
        provider=provider,
        integration_id=str(outcome.integration_id),
        outcome=result.outcome,
        alert_id=str(result.alert_id),
    )
    return JSONResponse(
        WebhookAccepted(
            alert_id=result.alert_id,
            external_alert_id=event.external_alert_id,
            outcome=result.outcome,
            refresh_run_id=outcome.refresh_run_id,
        ).model_dump(mode="json"),
        status_code=202,
    )
