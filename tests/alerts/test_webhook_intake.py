"""Group-committed webhook intake: batches keep per-delivery semantics.

A burst of concurrent deliveries is written in fewer transactions than deliveries, each delivery
still gets its own answer (created / resolved / duplicate / 401), events for one alert apply in
delivery order, tenants stay apart, and one delivery that cannot be stored does not take its
batch down with it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from rmmbridge.alerts.intake import Delivery, intake_of
from rmmbridge.ingestion.alerts import record_alerts
from rmmbridge.providers.base import AlertEvent
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import EventOutbox, RmmAlert, WebhookDelivery
from rmmbridge.sync.runner import runner_of
from rmmbridge.tenancy.auth import system_context
from tests.conftest import connect_tiny, map_all, run_sync

URL = "/api/webhooks/tinyrmm"


async def _ready(http, state, tiny) -> str:
    await run_sync(http, state, tiny, "scopes")
    await map_all(http, tiny)
    await run_sync(http, state, tiny, "devices")
    r = await http.post(f"/api/v1/integrations/{tiny.integration_id}/webhook/rotate", headers=tiny.tenant.headers())
    return r.json()["secret"]  # type: ignore[no-any-return]


def _batches() -> float:
    return REGISTRY.get_sample_value("rmmbridge_webhook_batch_size_count") or 0.0


async def test_one_batch_applies_events_in_delivery_order(state, http, tiny, db):
    await _ready(http, state, tiny)
    iid = uuid.UUID(tiny.integration_id)
    ctx = system_context(tiny.tenant.tenant_id, "test")
    t0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def ev(key: str, status: str, device: str = "dev-00001", raised: datetime = t0, severity: str = "warning"):
        return AlertEvent(key, device, severity, status, "check", f"{key} {status}", raised_at=raised)

    async with unit_of_work(state.sessionmaker) as session:
        results = await record_alerts(session, ctx, iid, [ev("k-old", "active")], "webhook")
    assert [r.outcome for r in results] == ["created"]
    batch = [
        ev("k-new", "active"),  # created
        ev("k-new", "resolved"),  # resolves what the same batch created
        ev("k-new", "active", raised=t0 - timedelta(hours=1)),  # an old trigger after its resolve
        ev("k-old", "active", severity="error"),  # already stored: updated
        ev("k-old", "active", severity="error"),  # redelivery in the same batch
        # Raised again after the resolve was recorded: reopened.
        ev("k-new", "active", raised=datetime.now(UTC) + timedelta(minutes=5)),
        ev("k-orphan", "active", device="no-such-device"),  # recorded without an asset
    ]
    async with unit_of_work(state.sessionmaker) as session:
        results = await record_alerts(session, ctx, iid, batch, "webhook")
    assert [r.outcome for r in results] == [
        "created",
        "resolved",
        "duplicate",
        "updated",
        "duplicate",
        "reopened",
        "created",
    ]
    assert results[0].alert_id == results[1].alert_id == results[5].alert_id
    assert results[0].asset_id is not None and results[6].asset_id is None
    rows = {
        a.external_alert_id: a
        for a in await db.scalars(
            select(RmmAlert).where(RmmAlert.integration_id == iid).execution_options(populate_existing=True)
        )
    }
    assert rows["k-new"].status == "active" and rows["k-new"].occurrences == 2
    assert rows["k-old"].severity == "error" and rows["k-orphan"].asset_id is None
    events = (
        await db.scalars(
            select(EventOutbox.event_type).where(
                EventOutbox.tenant_id == tiny.tenant.tenant_id, EventOutbox.event_type.like("alert.%")
            )
        )
    ).all()
    # One event per change, none for the duplicates: raised ×3 (k-old, k-new, k-orphan),
    # resolved, updated, reopened.
    assert sorted(events) == sorted(
        ["alert.triggered"] * 3 + ["alert.resolved", "alert.updated", "alert.triggered"]
    )


async def test_a_burst_is_group_committed_with_an_answer_per_delivery(http, state, tiny, transport, other_tenant, db):
    secret = await _ready(http, state, tiny)
    other = await connect_tiny(http, transport, other_tenant)
    other_secret = await _ready(http, state, other)
    before = _batches()

    async def post(body: dict, secret_: str):
        return await http.post(URL, json=body, headers={"X-Tiny-Secret": secret_})

    sends = []
    for n in range(30):
        sends.append(post({"id": f"b{n}", "device": f"dev-{n % 10 + 1:05d}", "severity": "error"}, secret))
        sends.append(post({"id": f"b{n}", "device": f"dev-{n % 10 + 1:05d}", "severity": "error"}, other_secret))
    sends += [post({"id": "x", "device": "dev-00001"}, "not-a-secret") for _ in range(5)]
    sends.append(post({"device": "dev-00001"}, secret))  # no alert id: rejected, kept for the admin
    responses = await asyncio.gather(*sends)
    statuses = [r.status_code for r in responses]
    assert statuses == [202] * 60 + [401] * 5 + [422], [r.text for r in responses if r.status_code >= 500]
    assert all(r.json()["outcome"] == "created" for r in responses[:60])
    batches = _batches() - before
    assert 1 <= batches < len(sends), batches  # group commit happened
    for setup in (tiny, other):
        count = await db.scalar(
            select(func.count())
            .select_from(RmmAlert)
            .where(
                RmmAlert.tenant_id == setup.tenant.tenant_id,
                RmmAlert.integration_id == uuid.UUID(setup.integration_id),
            )
        )
        assert count == 30  # each tenant got exactly its own alerts, although they share ids
    logged = dict(
        (
            await db.execute(
                select(WebhookDelivery.accepted, func.count())
                .where(WebhookDelivery.integration_id == uuid.UUID(tiny.integration_id))
                .group_by(WebhookDelivery.accepted)
            )
        ).all()
    )
    assert logged == {True: 30, False: 1}
    # Refreshes: one per alerted device (ten devices), however many alerts each got.
    refresh_ids = {r.json()["refresh_run_id"] for r in responses[0:60:2]}
    assert len(refresh_ids) == 10 and None not in refresh_ids
    await runner_of(state).wait_all(timeout=60)


async def test_a_delivery_that_cannot_be_stored_does_not_fail_its_batch(http, state, tiny, db):
    await _ready(http, state, tiny)
    digest = state.secrets.digest(
        (
            await http.post(f"/api/v1/integrations/{tiny.integration_id}/webhook/reveal", headers=tiny.tenant.headers())
        ).json()["secret"]
    )
    good = AlertEvent("good-1", "dev-00002", "warning", "active")
    # Attributes that cannot be serialised: stands for any row the database refuses.
    poison = AlertEvent("poison-1", "dev-00002", "warning", "active", attributes={"x": object()})
    intake = intake_of(state)
    answers = await asyncio.gather(
        intake.submit(Delivery("tinyrmm", digest, good, None)),
        intake.submit(Delivery("tinyrmm", digest, poison, None)),
        return_exceptions=True,
    )
    assert answers[0].result is not None and answers[0].result.outcome == "created"
    assert isinstance(answers[1], Exception)
    stored = (
        await db.scalars(
            select(RmmAlert.external_alert_id).where(RmmAlert.integration_id == uuid.UUID(tiny.integration_id))
        )
    ).all()
    assert stored == ["good-1"]
    await runner_of(state).wait_all(timeout=30)


@pytest.mark.parametrize("rate", [2.0])
async def test_rate_limit_is_per_secret_and_answers_retry_after(http, state, tiny, rate):
    from rmmbridge.alerts.webhooks import RateLimiter

    secret = await _ready(http, state, tiny)
    saved = state.extras.pop("webhook_limiter", None)
    state.extras["webhook_limiter"] = RateLimiter(rate, burst_s=1.0)  # a burst of two
    try:
        h = {"X-Tiny-Secret": secret}
        codes = [(await http.post(URL, json={"id": f"r{n}", "device": "dev-00001"}, headers=h)) for n in range(3)]
        assert [r.status_code for r in codes] == [202, 202, 429]
        assert int(codes[2].headers["Retry-After"]) >= 1
        # Another secret has its own bucket (an unknown one is simply refused).
        r = await http.post(URL, json={"id": "r9", "device": "dev-00001"}, headers={"X-Tiny-Secret": "other"})
        assert r.status_code == 401
    finally:
        state.extras.pop("webhook_limiter")
        if saved is not None:
            state.extras["webhook_limiter"] = saved
    await runner_of(state).wait_all(timeout=30)
