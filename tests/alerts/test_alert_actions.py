"""Acknowledge, resolve and snooze over HTTP against the Tactical simulator, on SQLite and
PostgreSQL: local at once, sent to Tactical (which sends no webhook for an API resolve), a refused
remote action shown with its reason and retryable, bulk as one Tactical call, every step in the
alert's timeline with who did it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from rmmbridge.simulators.faults import Fault
from rmmbridge.storage.models import EventOutbox
from tests.alerts.tactical_setup import Setup, connect_tactical
from tests.conftest import run_sync
from tests.events.payloads import check_outbox


async def polled_alerts(http: Any, state: Any, setup: Setup, n: int) -> list[tuple[Any, dict[str, Any]]]:
    """Open ``n`` check alerts in Tactical (no webhook configured), poll them; (sim alert, local alert)."""
    agents = [a for a in setup.fleet.agents.values() if not a.maintenance_mode][:n]
    opened = [setup.fleet.add_alert(a.pk, "check", "error", check_id=900 + i) for i, a in enumerate(agents)]
    run = await run_sync(http, state, setup, "alerts")  # type: ignore[arg-type]
    assert run["status"] == "succeeded", run
    h = setup.tenant.headers()
    items = (await http.get(f"/api/v1/alerts?integration_id={setup.integration_id}&page_size=200", headers=h)).json()
    by_ext = {a["external_alert_id"]: a for a in items["items"]}
    return [(o, by_ext[str(o.id)]) for o in opened]


async def test_acknowledge_resolve_snooze_and_remote_failure(http, transport, app, state, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect_tactical(http, transport, app, state, tenant)
    (a1, l1), (a2, l2), (a3, l3), (a4, l4) = await polled_alerts(http, state, setup, 4)
    tech = tenant.headers("technician")

    # Viewers cannot act.
    r = await http.post(f"/api/v1/alerts/{l1['id']}/resolve", headers=tenant.headers("viewer"))
    assert r.status_code == 403

    # Acknowledge: local only, with who.
    r = await http.post(f"/api/v1/alerts/{l1['id']}/acknowledge", headers=tech)
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged_by"] == tenant.emails["technician"] and r.json()["status"] == "active"
    assert a1.resolved is False

    # Resolve: resolved here at once and in Tactical; Tactical sends nothing back for it.
    r = await http.post(f"/api/v1/alerts/{l1['id']}/resolve", headers=tech)
    out = r.json()
    assert out["status"] == "resolved" and out["resolved_by"] == tenant.emails["technician"]
    assert out["remote_state"] == "synced" and out["remote_error"] is None
    assert a1.resolved is True and a1.resolved_on is not None
    assert setup.sim.actions.deliveries == []

    # Snooze: sent as {"type": "snooze", "snooze_days": 3}.
    r = await http.post(f"/api/v1/alerts/{l2['id']}/snooze", headers=tech, json={"days": 3})
    assert r.status_code == 200 and r.json()["remote_state"] == "synced" and r.json()["snoozed_until"]
    assert a2.snoozed and a2.snooze_until is not None
    assert timedelta(days=2, hours=23) < a2.snooze_until - a2.alert_time < timedelta(days=3, hours=1)
    r = await http.post(f"/api/v1/alerts/{l2['id']}/snooze", headers=tech, json={"days": 0})
    assert r.status_code == 422

    # Tactical refuses: resolved locally all the same, the reason shown, retry works once it is fixed.
    setup.sim.faults.add(Fault(kind="status", status=403, path_contains=f"/alerts/{a3.id}/", method="PUT"))
    r = await http.post(f"/api/v1/alerts/{l3['id']}/resolve", headers=tech)
    out = r.json()
    assert out["status"] == "resolved" and out["remote_state"] == "failed"
    assert "can_manage_alerts" in out["remote_error"]
    assert a3.resolved is False  # remote and local differ, visibly
    setup.sim.faults.clear()
    r = await http.post(f"/api/v1/alerts/{l3['id']}/retry", headers=tech)
    assert r.json()["remote_state"] == "synced" and a3.resolved is True
    r = await http.post(f"/api/v1/alerts/{l3['id']}/retry", headers=tech)
    assert r.status_code == 409  # nothing left to retry

    timeline = (await http.get(f"/api/v1/alerts/{l3['id']}/timeline", headers=tech)).json()
    assert [(e["kind"], e["source"], e["actor"]) for e in timeline] == [
        ("raised", "poll", None),
        ("resolved", "user", tenant.emails["technician"]),
        ("resolve_failed_in_rmm", "rmm", None),
        ("resolve_retried", "user", tenant.emails["technician"]),
        ("resolved_in_rmm", "rmm", None),
    ]

    # Bulk: one Tactical call for both; unknown ids refuse the whole request.
    r = await http.post(
        "/api/v1/alerts/bulk", headers=tech, json={"action": "resolve", "alert_ids": [l4["id"], str(uuid.uuid4())]}
    )
    assert r.status_code == 404 and a4.resolved is False
    r = await http.post(
        "/api/v1/alerts/bulk", headers=tech, json={"action": "resolve", "alert_ids": [l2["id"], l4["id"]]}
    )
    assert r.status_code == 200, r.text
    assert {x["remote_state"] for x in r.json()} == {"synced"} and a2.resolved and a4.resolved

    # A later poll does not reopen what was resolved in both places.
    run = await run_sync(http, state, setup, "alerts")  # type: ignore[arg-type]
    assert run["status"] == "succeeded"
    r = await http.get(f"/api/v1/alerts/{l1['id']}", headers=tech)
    assert r.json()["status"] == "resolved"

    kinds = [
        e.event_type
        for e in await db.scalars(
            select(EventOutbox).where(EventOutbox.tenant_id == tenant.tenant_id, EventOutbox.entity_id == l1["id"])
        )
    ]
    assert "alert.acknowledged" in kinds and "alert.resolved" in kinds
    # The user's actions carry who, and the alert's facts that routing rules match on.
    acted = {
        e.event_type: e.payload
        for e in await db.scalars(
            select(EventOutbox).where(EventOutbox.tenant_id == tenant.tenant_id, EventOutbox.entity_id == l1["id"])
        )
        if e.payload.get("acknowledged_by") or e.payload.get("resolved_by")
    }
    assert acted["alert.acknowledged"]["acknowledged_by"] == tenant.emails["technician"]
    assert acted["alert.resolved"]["resolved_by"] == tenant.emails["technician"]
    assert acted["alert.resolved"]["severity"] == "error" and acted["alert.resolved"]["asset_id"]
    assert {"alert.acknowledged", "alert.resolved"} <= set(await check_outbox(db, tenant.tenant_id))


async def test_gone_in_tactical_and_reopened_by_a_poll(http, transport, app, state, tenant) -> None:  # type: ignore[no-untyped-def]
    setup = await connect_tactical(http, transport, app, state, tenant)
    (a1, l1), (a2, l2) = await polled_alerts(http, state, setup, 2)
    h = tenant.headers("technician")
    # Tactical no longer has it (deleted with its agent): nothing is left to resolve there.
    setup.fleet.alerts.pop(a1.id)
    r = await http.post(f"/api/v1/alerts/{l1['id']}/resolve", headers=h)
    assert r.json()["status"] == "resolved" and r.json()["remote_state"] == "synced"

    # Refused, then a poll still sees it open: it is active again, the refusal still shown; a
    # retry resolves it in both places.
    setup.sim.faults.add(Fault(kind="status", status=403, path_contains=f"/alerts/{a2.id}/", method="PUT"))
    r = await http.post(f"/api/v1/alerts/{l2['id']}/resolve", headers=h)
    assert r.json()["remote_state"] == "failed"
    run = await run_sync(http, state, setup, "alerts")  # type: ignore[arg-type]
    assert run["status"] == "succeeded"
    out = (await http.get(f"/api/v1/alerts/{l2['id']}", headers=h)).json()
    assert out["status"] == "active" and out["remote_state"] == "failed"
    setup.sim.faults.clear()
    r = await http.post(f"/api/v1/alerts/{l2['id']}/retry", headers=h)
    assert r.json()["status"] == "resolved" and r.json()["remote_state"] == "synced" and a2.resolved
