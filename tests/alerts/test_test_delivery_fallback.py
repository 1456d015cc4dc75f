"""“Send test alert” on a Tactical server older than the URL action test run
(``POST /core/urlaction/run/test/`` answers Django's HTML 404): rmmbridge falls back to a synthetic
delivery through its own webhook receiver, and says so. Over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from rmmbridge.simulators.faults import Fault
from rmmbridge.storage.models import RmmAlert, WebhookDelivery
from tests.alerts.tactical_setup import admin_template, connect_tactical


async def test_send_test_falls_back_to_a_synthetic_delivery(http, transport, app, state, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect_tactical(http, transport, app, state, tenant)
    admin_template(setup)
    setup.sim.url_action_test_run = False  # an older Tactical: the route does not exist
    h = tenant.headers()
    iid = setup.integration_id

    # Provisioning itself sends the test: the fallback applies there too.
    r = await http.post(f"/api/v1/integrations/{iid}/webhook/provision", headers=h, json={})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["ok"] is True, report["steps"]
    assert report["test_delivered"] is True, report["test_detail"]
    assert "synthetic" in report["test_detail"], report["test_detail"]

    # "Send test alert" on its own: synthetic, accepted by the receiver, shown on the status card.
    r = await http.post(f"/api/v1/integrations/{iid}/webhook/test", headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["delivered"] is True, out
    assert "synthetic" in out["detail"] and "Tactical" in out["detail"], out["detail"]
    assert out["info"]["deliveries_accepted"] == 2 and out["info"]["last_delivery_accepted"] is True
    assert out["info"]["provisioning"]["test_delivered"] is True

    # Tactical sent nothing itself: every test record in the simulator is absent.
    assert not [d for d in setup.sim.actions.deliveries if d.kind == "test"]
    # The deliveries went through the receiver: logged as accepted, each a test alert of this integration.
    deliveries = list(
        await db.scalars(select(WebhookDelivery).where(WebhookDelivery.integration_id == uuid.UUID(iid)))
    )
    assert len(deliveries) == 2 and all(d.accepted for d in deliveries)
    alerts = list(await db.scalars(select(RmmAlert).where(RmmAlert.integration_id == uuid.UUID(iid))))
    tests = [a for a in alerts if a.alert_type == "rmmbridge-test"]
    assert tests and all("synthetic" in (a.message or "") for a in tests), [(a.alert_type, a.message) for a in alerts]

    # With the endpoint back (the server upgraded), the test goes through Tactical again.
    setup.sim.url_action_test_run = True
    r = await http.post(f"/api/v1/integrations/{iid}/webhook/test", headers=h)
    out = r.json()
    assert out["delivered"] is True and "through Tactical" in out["detail"] and "synthetic" not in out["detail"], out
    assert [d.kind for d in setup.sim.actions.deliveries if d.kind == "test"] == ["test"]


async def test_a_405_falls_back_and_a_refusal_does_not(http, transport, app, state, tenant) -> None:  # type: ignore[no-untyped-def]
    """A 405 (an older URL table, or a proxy) also means "no test run"; a 403 is the answer itself:
    the missing permission is reported and nothing synthetic is sent in its place."""
    setup = await connect_tactical(http, transport, app, state, tenant)
    admin_template(setup)
    h = tenant.headers()
    iid = setup.integration_id
    r = await http.post(f"/api/v1/integrations/{iid}/webhook/provision", headers=h, json={"send_test": False})
    assert r.json()["ok"] is True, r.text

    setup.sim.faults.add(Fault("status", path_contains="/core/urlaction/run/test/", method="POST", status=405))
    r = await http.post(f"/api/v1/integrations/{iid}/webhook/test", headers=h)
    out = r.json()
    assert out["delivered"] is True and "synthetic" in out["detail"] and "HTTP 405" in out["detail"], out
    accepted = out["info"]["deliveries_accepted"]

    setup.sim.faults.clear()
    setup.sim.faults.add(Fault("status", path_contains="/core/urlaction/run/test/", method="POST", status=403))
    r = await http.post(f"/api/v1/integrations/{iid}/webhook/test", headers=h)
    out = r.json()
    assert out["delivered"] is False and "can_run_urlactions" in out["detail"], out
    assert "synthetic" not in out["detail"]
    assert out["info"]["deliveries_accepted"] == accepted  # nothing arrived
