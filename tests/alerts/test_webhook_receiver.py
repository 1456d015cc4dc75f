"""The generic webhook receiver, driven with TinyRMM's webhook format."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from rmmbridge.storage.models import RmmAlert, SyncRun, WebhookDelivery
from rmmbridge.sync.runner import runner_of
from tests.conftest import map_all, run_sync

URL = "/api/webhooks/tinyrmm"


async def _ready(http, state, tiny):
    await run_sync(http, state, tiny, "scopes")
    await map_all(http, tiny)
    await run_sync(http, state, tiny, "devices")
    r = await http.post(f"/api/v1/integrations/{tiny.integration_id}/webhook/rotate", headers=tiny.tenant.headers())
    assert r.status_code == 200
    return r.json()["secret"]


async def _alerts(db, tiny):
    return (
        await db.scalars(
            select(RmmAlert)
            .where(RmmAlert.tenant_id == tiny.tenant.tenant_id)
            .execution_options(populate_existing=True)
        )
    ).all()


async def test_reading_webhook_info_never_creates_a_secret(http, tiny):
    info = (await http.get(f"/api/v1/integrations/{tiny.integration_id}/webhook", headers=tiny.tenant.headers())).json()
    assert info["supported"] and info["secret_configured"] is False and info["secret_hint"] is None
    assert info["url"].endswith("/api/webhooks/tinyrmm") and info["header"] == "X-Tiny-Secret"
    again = (
        await http.get(f"/api/v1/integrations/{tiny.integration_id}/webhook", headers=tiny.tenant.headers())
    ).json()
    assert again["secret_configured"] is False


async def test_trigger_redelivery_resolve_and_refresh(http, state, tiny, db):
    secret = await _ready(http, state, tiny)
    h = {"X-Tiny-Secret": secret}
    body = {"id": "alert-1", "device": "dev-00003", "severity": "error", "message": "Disk C: 95% full"}
    r = await http.post(URL, json=body, headers=h)
    assert r.status_code == 202, r.text
    assert r.json()["outcome"] == "created" and r.json()["refresh_run_id"]
    await runner_of(state).wait(uuid.UUID(r.json()["refresh_run_id"]), timeout=30)
    run = await db.get(SyncRun, (tiny.tenant.tenant_id, uuid.UUID(r.json()["refresh_run_id"])), populate_existing=True)
    assert run.kind == "agent" and run.status == "succeeded" and run.target == "dev-00003"
    r2 = await http.post(URL, json=body, headers=h)
    assert r2.json()["outcome"] == "duplicate"
    alerts = await _alerts(db, tiny)
    assert len(alerts) == 1 and alerts[0].asset_id is not None and alerts[0].severity == "error"
    r3 = await http.post(URL, json={**body, "resolved": True}, headers=h)
    assert r3.json()["outcome"] == "resolved"
    assert (await http.post(URL, json={**body, "resolved": True}, headers=h)).json()["outcome"] == "duplicate"
    alerts = await _alerts(db, tiny)
    assert len(alerts) == 1 and alerts[0].status == "resolved" and alerts[0].webhook_seen
    await runner_of(state).wait_all(timeout=30)


async def test_resolve_before_trigger_and_concurrent_duplicates(http, state, tiny, db):
    secret = await _ready(http, state, tiny)
    h = {"X-Tiny-Secret": secret}
    r = await http.post(URL, json={"id": "a-early", "device": "dev-00001", "resolved": True}, headers=h)
    assert r.status_code == 202 and r.json()["outcome"] == "created"
    dup = {"id": "a-race", "device": "dev-00002", "severity": "warning"}
    results = await asyncio.gather(*(http.post(URL, json=dup, headers=h) for _ in range(8)))
    assert all(r.status_code == 202 for r in results), [r.text for r in results]
    assert sorted(r.json()["outcome"] for r in results).count("created") == 1
    count = await db.scalar(
        select(func.count())
        .select_from(RmmAlert)
        .where(RmmAlert.tenant_id == tiny.tenant.tenant_id, RmmAlert.external_alert_id == "a-race")
    )
    assert count == 1
    await runner_of(state).wait_all(timeout=30)


async def test_rejections_are_4xx_with_reasons_and_kept(http, state, tiny, db):
    secret = await _ready(http, state, tiny)
    h = {"X-Tiny-Secret": secret}
    assert (await http.post(URL, json={"id": "x", "device": "d"})).status_code == 401
    assert (
        await http.post(URL, json={"id": "x", "device": "d"}, headers={"X-Tiny-Secret": "wrong"})
    ).status_code == 401
    assert (await http.post("/api/webhooks/nosuch", json={}, headers=h)).status_code == 404
    assert (await http.post("/api/webhooks/tinypull", json={}, headers=h)).status_code == 404
    r = await http.post(URL, content=b"{broken", headers={**h, "content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
    r = await http.post(URL, content=b"x" * (70 * 1024), headers=h)
    assert r.status_code == 413
    kept = (
        await db.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.integration_id == uuid.UUID(tiny.integration_id), WebhookDelivery.accepted.is_(False)
            )
        )
    ).all()
    assert {k.reason for k in kept} >= {"body is not JSON", "body larger than 65536 bytes"}
    assert any(k.payload_excerpt == "{broken" for k in kept)
    assert (
        await db.scalar(select(func.count()).select_from(RmmAlert).where(RmmAlert.tenant_id == tiny.tenant.tenant_id))
        == 0
    )
    info = (await http.get(f"/api/v1/integrations/{tiny.integration_id}/webhook", headers=tiny.tenant.headers())).json()
    assert info["deliveries_rejected"] >= 2


async def test_disconnected_integration_refuses_its_secret(http, state, tiny):
    secret = await _ready(http, state, tiny)
    await http.post(f"/api/v1/integrations/{tiny.integration_id}/disconnect", headers=tiny.tenant.headers())
    r = await http.post(URL, json={"id": "x", "device": "dev-00001"}, headers={"X-Tiny-Secret": secret})
    assert r.status_code == 401  # the secret was deleted with the credentials


async def test_rotation_invalidates_the_old_secret(http, state, tiny):
    old = await _ready(http, state, tiny)
    new = (
        await http.post(f"/api/v1/integrations/{tiny.integration_id}/webhook/rotate", headers=tiny.tenant.headers())
    ).json()["secret"]
    assert new != old
    assert (
        await http.post(URL, json={"id": "r", "device": "dev-00001"}, headers={"X-Tiny-Secret": old})
    ).status_code == 401
    r = await http.post(URL, json={"id": "r", "device": "dev-00001"}, headers={"X-Tiny-Secret": new})
    assert r.status_code == 202
    revealed = (
        await http.post(f"/api/v1/integrations/{tiny.integration_id}/webhook/reveal", headers=tiny.tenant.headers())
    ).json()["secret"]
    assert revealed == new
    r = await http.post(
        f"/api/v1/integrations/{tiny.integration_id}/webhook/reveal", headers=tiny.tenant.headers("viewer")
    )
    assert r.status_code == 403
    await runner_of(state).wait_all(timeout=30)


async def test_alert_polling_reconciles(http, state, tiny, db):
    await _ready(http, state, tiny)
    tiny.fleet.alerts = {
        "p1": {"id": "p1", "device": "dev-00001", "severity": "error", "message": "CPU", "active": True},
        "p2": {"id": "p2", "device": "dev-00002", "severity": "warning", "message": "RAM", "active": True},
    }
    run = await run_sync(http, state, tiny, "alerts")
    assert run["counters"]["created"] == 2 and run["counters"]["missed_by_webhook"] == 2
    tiny.fleet.alerts["p1"]["active"] = False
    run = await run_sync(http, state, tiny, "alerts")
    assert run["counters"]["resolved"] == 1
    rows = {a.external_alert_id: a.status for a in await _alerts(db, tiny)}
    assert rows == {"p1": "resolved", "p2": "active"}
    listed = (await http.get("/api/v1/alerts?status=active", headers=tiny.tenant.headers())).json()
    assert [a["external_alert_id"] for a in listed["items"]] == ["p2"] and listed["items"][0]["asset_name"]
