"""Outbound webhooks end to end: REST → outbox → dispatcher → sender → a real receiver on loopback.

Signatures are checked with the ``standardwebhooks`` package (the specification's reference
implementation), not with rmmbridge's own code. Time-driven behaviour runs on a test clock.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from rmmbridge.delivery import schedule
from rmmbridge.storage.models import EventDelivery

from .support import drain, emit_events

pytestmark = pytest.mark.usefixtures("clock")


async def subscribe(http, tenant, url: str, **extra) -> tuple[str, str]:
    body = {"name": "psa", "url": url, **extra}
    r = await http.post("/api/v1/webhook-subscriptions", json=body, headers=tenant.headers())
    assert r.status_code == 201, r.text
    return r.json()["subscription"]["id"], r.json()["secret"]


async def log_of(http, tenant, sub_id: str) -> list[dict]:
    r = await http.get(f"/api/v1/webhook-subscriptions/{sub_id}/deliveries?page_size=500", headers=tenant.headers())
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_events_arrive_signed_per_standard_webhooks(http, state, tenant, receiver, worker):
    sub_id, secret = await subscribe(http, tenant, receiver.url, event_types=["asset.created"])
    assert secret.startswith("whsec_")
    ids = await emit_events(state, tenant.tenant_id, 3)
    await emit_events(state, tenant.tenant_id, 2, event_type="asset.retired")  # filtered out
    await drain(worker)
    assert sorted(receiver.ids()) == sorted(ids)
    verifier = Webhook(secret)
    for got in receiver.received:
        payload = verifier.verify(got.body, got.headers)
        assert payload["id"] == got.headers["webhook-id"] and payload["type"] == "asset.created"
        assert payload["tenant_id"] == str(tenant.tenant_id) and payload["data"]["external_id"].startswith("d")
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(got.body + b" ", got.headers)
    log = await log_of(http, tenant, sub_id)
    assert {d["status"] for d in log} == {"succeeded"} and len(log) == 3
    assert all(d["attempts"] == 1 and d["last_status_code"] == 200 and d["last_latency_ms"] >= 0 for d in log)
    # The secret is shown once: never again in the subscription.
    r = await http.get(f"/api/v1/webhook-subscriptions/{sub_id}", headers=tenant.headers())
    assert "secret" not in r.text.lower().replace("previous_secret_expires_at", "")


async def test_other_tenants_and_clients_filters(http, state, tenant, other_tenant, receiver, worker):
    await subscribe(http, tenant, receiver.url)
    await emit_events(state, other_tenant.tenant_id, 2)
    mine = await emit_events(state, tenant.tenant_id, 1)
    await drain(worker)
    assert list(receiver.ids()) == mine
    r = await http.post(
        "/api/v1/webhook-subscriptions",
        json={"name": "x", "url": receiver.url, "client_ids": [str(uuid.uuid4())]},
        headers=tenant.headers("viewer"),
    )
    assert r.status_code == 403


async def test_retry_ladder_and_retry_after_on_the_test_clock(http, state, tenant, receiver, worker, clock, db):
    _sub_id, secret = await subscribe(http, tenant, receiver.url)
    receiver.script = [(500, {}), (503, {"Retry-After": "120"}), (502, {})]
    [event_id] = await emit_events(state, tenant.tenant_id, 1)

    async def row() -> EventDelivery:
        query = select(EventDelivery).where(
            EventDelivery.tenant_id == tenant.tenant_id, EventDelivery.event_id == uuid.UUID(event_id)
        )
        return (await db.scalars(query.execution_options(populate_existing=True))).one()

    await drain(worker)
    first = await row()
    assert first.status == "pending" and first.attempts == 1 and first.last_status_code == 500
    wait = (first.next_attempt_at - clock.now).total_seconds()
    assert 5 * (1 - schedule.JITTER) <= wait <= 5 * (1 + schedule.JITTER)
    await drain(worker)
    assert len(receiver.received) == 1  # not due yet: nothing sent
    clock.advance(seconds=wait)
    await drain(worker)
    second = await row()
    assert len(receiver.received) == 2 and second.attempts == 2
    assert second.next_attempt_at == clock.now + timedelta(seconds=120)  # Retry-After, as given
    clock.advance(seconds=119)
    await drain(worker)
    assert len(receiver.received) == 2
    clock.advance(seconds=1)
    await drain(worker)
    third = await row()
    assert third.attempts == 3 and third.last_status_code == 502
    wait = (third.next_attempt_at - clock.now).total_seconds()
    assert 300 * (1 - schedule.JITTER) <= wait <= 300 * (1 + schedule.JITTER)
    clock.advance(seconds=wait)
    await drain(worker)
    done = await row()
    assert done.status == "succeeded" and done.attempts == 4 and receiver.ids()[event_id] == 4
    # Every attempt carries the same webhook-id and a valid signature of its own timestamp.
    assert all(Webhook(secret).verify(r.body, r.headers) for r in receiver.received)


async def test_the_ladder_ends_after_more_than_a_day(http, state, tenant, receiver, worker, clock, db):
    receiver.default = 500
    _sub_id, _ = await subscribe(http, tenant, receiver.url)
    [event_id] = await emit_events(state, tenant.tenant_id, 1)
    started = clock.now
    for _ in range(schedule.MAX_ATTEMPTS + 2):
        await drain(worker)
        query = select(EventDelivery).where(EventDelivery.event_id == uuid.UUID(event_id))
        d = (await db.scalars(query.execution_options(populate_existing=True))).one()
        if d.status == "failed":
            break
        clock.now = d.next_attempt_at
    assert d.status == "failed" and d.attempts == schedule.MAX_ATTEMPTS
    assert clock.now - started >= timedelta(hours=24)


async def test_410_disables_the_subscription(http, state, tenant, receiver, worker):
    receiver.script = [(410, {})]
    sub_id, _ = await subscribe(http, tenant, receiver.url)
    await emit_events(state, tenant.tenant_id, 1)
    await drain(worker)
    sub = (await http.get(f"/api/v1/webhook-subscriptions/{sub_id}", headers=tenant.headers())).json()
    assert sub["enabled"] is False and "410" in sub["disabled_reason"]
    await emit_events(state, tenant.tenant_id, 2)
    await drain(worker)
    assert len(receiver.received) == 1  # nothing more goes to a disabled subscription
    assert (await log_of(http, tenant, sub_id))[0]["status"] == "failed"


async def test_failing_for_three_days_disables_with_the_reason(http, state, tenant, receiver, worker, clock):
    receiver.default = 500
    sub_id, _ = await subscribe(http, tenant, receiver.url)
    for _ in range(4):  # an event a day, each failing
        await emit_events(state, tenant.tenant_id, 1)
        await drain(worker)
        clock.advance(days=1)
    sub = (await http.get(f"/api/v1/webhook-subscriptions/{sub_id}", headers=tenant.headers())).json()
    assert sub["enabled"] is False
    assert "every delivery failed since" in sub["disabled_reason"] and "HTTP 500" in sub["disabled_reason"]
    # Re-enabled by the admin: a fresh start, pending retries flow again.
    receiver.default = 200
    r = await http.patch(f"/api/v1/webhook-subscriptions/{sub_id}", json={"enabled": True}, headers=tenant.headers())
    assert r.json()["enabled"] is True and r.json()["disabled_reason"] is None
    clock.advance(days=1)
    await drain(worker)
    assert any(d["status"] == "succeeded" for d in await log_of(http, tenant, sub_id))


async def test_a_success_ends_the_failing_streak(http, state, tenant, receiver, worker, clock):
    receiver.script = [(500, {})]
    sub_id, _ = await subscribe(http, tenant, receiver.url)
    await emit_events(state, tenant.tenant_id, 1)
    await drain(worker)
    sub = (await http.get(f"/api/v1/webhook-subscriptions/{sub_id}", headers=tenant.headers())).json()
    assert sub["failing_since"] is not None
    clock.advance(minutes=1)
    await drain(worker)
    sub = (await http.get(f"/api/v1/webhook-subscriptions/{sub_id}", headers=tenant.headers())).json()
    assert sub["failing_since"] is None and sub["last_success_at"] is not None and sub["enabled"]


async def test_replay_one_delivery_and_a_time_range(http, state, tenant, receiver, worker, clock):
    sub_id, _secret = await subscribe(http, tenant, receiver.url)
    first = await emit_events(state, tenant.tenant_id, 2)
    clock.advance(hours=1)
    later = await emit_events(state, tenant.tenant_id, 2)
    await drain(worker)
    assert sum(receiver.ids().values()) == 4
    log = await log_of(http, tenant, sub_id)
    one = next(d for d in log if d["event_id"] == first[0])
    r = await http.post(
        f"/api/v1/webhook-subscriptions/{sub_id}/deliveries/{one['id']}/replay", headers=tenant.headers()
    )
    assert r.status_code == 202, r.text
    await drain(worker)
    assert receiver.ids()[first[0]] == 2 and receiver.ids()[first[1]] == 1
    start = (clock.now - timedelta(minutes=30)).isoformat()
    end = (clock.now + timedelta(minutes=1)).isoformat()
    r = await http.post(
        f"/api/v1/webhook-subscriptions/{sub_id}/replay", json={"start": start, "end": end}, headers=tenant.headers()
    )
    assert r.status_code == 202 and r.json()["requeued"] == 2, r.text
    await drain(worker)
    assert [receiver.ids()[i] for i in later] == [2, 2] and receiver.ids()[first[1]] == 1
    # An empty range (end before start) sends nothing; it is not an error the schema could state.
    r = await http.post(
        f"/api/v1/webhook-subscriptions/{sub_id}/replay", json={"start": end, "end": start}, headers=tenant.headers()
    )
    assert r.status_code == 202 and r.json() == {"requeued": 0, "added": 0}, r.text
    r = await http.post(
        f"/api/v1/webhook-subscriptions/{sub_id}/deliveries/{uuid.uuid4()}/replay", headers=tenant.headers()
    )
    assert r.status_code == 404


async def test_send_test_event(http, state, tenant, receiver, worker):
    sub_id, secret = await subscribe(http, tenant, receiver.url, event_types=["alert.triggered"])
    r = await http.post(f"/api/v1/webhook-subscriptions/{sub_id}/test", headers=tenant.headers())
    assert r.status_code == 202 and r.json()["event_type"] == "delivery.test"
    await drain(worker)
    [got] = receiver.received
    assert Webhook(secret).verify(got.body, got.headers)["type"] == "delivery.test"
    assert (await log_of(http, tenant, sub_id))[0]["status"] == "succeeded"


async def test_secret_rotation_signs_with_both_during_the_overlap(http, state, tenant, receiver, worker, clock):
    sub_id, old = await subscribe(http, tenant, receiver.url)
    r = await http.post(
        f"/api/v1/webhook-subscriptions/{sub_id}/rotate-secret", json={"overlap_hours": 1}, headers=tenant.headers()
    )
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old and r.json()["previous_secret_expires_at"]
    await emit_events(state, tenant.tenant_id, 1)
    await drain(worker)
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(got.body, got.headers)
    Webhook(new).verify(got.body, got.headers)
    clock.advance(hours=2)
    await emit_events(state, tenant.tenant_id, 1)
    await drain(worker)
    got = receiver.received[-1]
    Webhook(new).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(got.body, got.headers)


async def test_urls_are_checked_at_save_and_at_delivery(http, state, tenant, receiver, worker, monkeypatch):
    from tests.support.fake_dns import fake_dns

    h = tenant.headers()
    for bad in ("ftp://example.com/x", "http://user:pw@example.com/", "not a url", "http://h:65536/", "http://[::1%25lo]/"):
        r = await http.post("/api/v1/webhook-subscriptions", json={"name": "x", "url": bad}, headers=h)
        assert r.status_code == 422, (bad, r.text)
    # Well formed, refused by the operator's address policy: 403 address-refused (as for RMM hosts).
    for refused in ("http://169.254.169.254/latest", "http://metadata./x", "http://[::ffff:169.254.169.254]/"):
        r = await http.post("/api/v1/webhook-subscriptions", json={"name": "x", "url": refused}, headers=h)
        assert r.status_code == 403 and r.json()["type"].endswith("address-refused"), (refused, r.text)
        assert r.json()["errors"][0]["field"] == "url"
    port = receiver.server.port
    with fake_dns(monkeypatch, {"hooks.example.test": ["127.0.0.1"]}) as answers:
        sub_id, _ = await subscribe(http, tenant, f"http://hooks.example.test:{port}/hook")
        answers["hooks.example.test"] = ["169.254.169.254"]  # rebinding after the save
        await emit_events(state, tenant.tenant_id, 1)
        await drain(worker)
    assert receiver.received == []
    [d] = await log_of(http, tenant, sub_id)
    assert d["status"] == "pending" and "does not connect there" in d["last_error"]


async def test_event_catalogue_in_openapi_and_api(http, tenant):
    r = await http.get("/api/v1/openapi.json")
    if r.status_code == 404:
        r = await http.get("/openapi.json")
    doc = r.json()
    assert {"asset.created", "asset.updated", "alert.triggered", "integration.sync_finished"} <= set(doc["webhooks"])
    assert {"asset.source_attached", "asset.merge_proposed", "asset.merged", "asset.unmerged"} <= set(doc["webhooks"])
    assert "coverage.changed" in doc["webhooks"]
    schema = doc["webhooks"]["asset.updated"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "changed" in schema["properties"]["data"]["properties"]
    types = (await http.get("/api/v1/event-types", headers=tenant.headers("viewer"))).json()
    updated = next(t for t in types if t["type"] == "asset.updated")
    assert "rmm.device.updated" in updated["legacy_names"] and "RMM_DEVICE_UPDATED" in updated["legacy_names"]
