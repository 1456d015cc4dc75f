"""NinjaOne flows beyond §10, through the REST API on SQLite and PostgreSQL, against the simulator:
webhook delivery modes and lifecycle activities, software walk with cursor expiry, liveness,
the alerts poll, disconnect."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from rmmbridge.providers.ninjaone import HEADER
from rmmbridge.simulators.faults import Fault
from rmmbridge.storage.models import AssetSoftware, RmmAlert, SyncRun
from tests.conftest import assets_by_device, run_sync

from .test_section10 import Setup, _sim_event, approved, synced


async def provisioned(http: Any, state: Any, transport: Any, tenant: Any, app: Any, **kw: Any) -> Setup:
    setup = await synced(http, state, transport, tenant, app, **kw)
    r = await http.post(
        f"/api/v1/integrations/{setup.integration_id}/webhook/provision",
        json={"send_test": False},
        headers=tenant.headers(),
    )
    assert r.status_code == 200 and r.json()["ok"], r.text
    return setup


async def test_webhook_delivery_modes_and_lifecycle(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    setup = await provisioned(http, state, transport, tenant, app)
    conf = next(iter(setup.sim.webhooks.values()))
    assert conf["url"].endswith("/api/webhooks/ninjaone") and conf["expand"] == ["device"]
    assert sorted(conf["organizationIds"]) == sorted(setup.fleet.organizations)
    device = next(iter(approved(setup.fleet)))
    # Duplicates: the second copy of each activity is a no-op.
    setup.sim.modes.delivery = "duplicate"
    await _sim_event(setup, {"kind": "trigger", "deviceId": device})
    # Out of order: RESET before TRIGGERED must not leave the alert open.
    setup.sim.modes.delivery = "out_of_order"
    sent = (await _sim_event(setup, {"kind": "cycle", "deviceId": device}))["sent"]
    assert sent[0]["statusCode"] == "RESET"
    rows = {
        a.external_alert_id: a for a in await db.scalars(select(RmmAlert).where(RmmAlert.tenant_id == tenant.tenant_id))
    }
    assert rows[sent[0]["seriesUid"]].status == "resolved"
    assert len(rows) == 2 and sum(1 for a in rows.values() if a.status == "active") == 1
    assert all(d["status"] in (200, 202) for d in setup.sim.deliveries)
    # A lifecycle activity: acknowledged with 200 (no retries) and a single-device refresh queued.
    setup.sim.modes.delivery = "normal"
    setup.sim.deliveries.clear()
    await _sim_event(setup, {"kind": "node_updated", "statusCode": "NODE_UPDATED", "deviceId": device})
    answer = setup.sim.deliveries[0]
    assert answer["status"] == 200 and answer["attempt"] == 1, answer
    runs = (
        await db.scalars(select(SyncRun).where(SyncRun.tenant_id == tenant.tenant_id, SyncRun.kind == "agent"))
    ).all()
    assert any(r.target == str(device) for r in runs)
    # Disconnect deletes the secret at once: later deliveries get 401 whether NinjaOne stopped or not.
    secret_conf = dict(conf)
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/disconnect", headers=tenant.headers())
    assert r.status_code == 200
    assert setup.sim.webhooks == {}  # DELETE /v2/webhook, best effort
    header = secret_conf["headers"][0]
    r = await http.post(
        "/api/webhooks/ninjaone",
        json={"id": 1, "statusCode": "TRIGGERED", "seriesUid": "x"},
        headers={header["name"]: header["value"]},
    )
    assert r.status_code == 401
    assert await assets_by_device(db, setup)  # data kept


async def test_software_walk_restarts_on_cursor_expiry(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    setup = await synced(http, state, transport, tenant, app, devices=50, software_page_size=10)
    # The second page's cursor has expired (400 INVALID_CURSOR): the walk restarts once and completes.
    setup.sim.faults.add(
        Fault("status", path_contains="/queries/software", query_contains="cursor=", status=400, times=1)
    )
    run = await run_sync(http, state, setup, "software")
    assert run["status"] == "succeeded", run
    assets = await assets_by_device(db, setup)
    rows = (await db.scalars(select(AssetSoftware).where(AssetSoftware.tenant_id == tenant.tenant_id))).all()
    with_software = {str(a) for a in {r.asset_id for r in rows}}
    expected = {
        str(assets[str(i)].id)
        for i, d in approved(setup.fleet).items()
        if setup.fleet.software_of(i) and str(i) in assets
    }
    assert with_software == expected
    # Cursors that keep failing: the run fails, nothing is marked uninstalled.
    setup.sim.faults.add(Fault("status", path_contains="/queries/software", query_contains="cursor=", status=400))
    run = await run_sync(http, state, setup, "software")
    assert run["status"] in ("failed", "partial"), run
    after = (await db.scalars(select(AssetSoftware).where(AssetSoftware.tenant_id == tenant.tenant_id))).all()
    assert sum(1 for r in after if getattr(r, "is_current", True)) == sum(
        1 for r in rows if getattr(r, "is_current", True)
    )


async def test_liveness_and_alert_poll(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    setup = await synced(http, state, transport, tenant, app)
    device = next(d for d in approved(setup.fleet).values() if not d["offline"])
    device["offline"] = True
    setup.sim.requests.clear()
    run = await run_sync(http, state, setup, "liveness")
    assert run["status"] == "succeeded", run
    assert all("/v2/devices?" in p for _, p in setup.sim.requests), setup.sim.requests
    r = await http.get("/api/v1/assets", params={"page_size": 200}, headers=tenant.headers())
    status = {i["rmm_device_id"]: i["agent_status"] for i in r.json()["items"]}
    assert status[str(device["id"])] in ("offline", "overdue")
    run = await run_sync(http, state, setup, "alerts")
    assert run["status"] == "succeeded", run
    alerts = (await db.scalars(select(RmmAlert).where(RmmAlert.tenant_id == tenant.tenant_id))).all()
    assert {a.external_alert_id for a in alerts} == set(setup.fleet.alerts)
    uid = next(iter(setup.fleet.alerts))
    setup.fleet.alerts.pop(uid)
    await run_sync(http, state, setup, "alerts")
    resolved = (
        await db.scalars(
            select(RmmAlert).where(RmmAlert.external_alert_id == uid, RmmAlert.tenant_id == tenant.tenant_id)
        )
    ).one()
    await db.refresh(resolved)
    assert resolved.status == "resolved"
    _ = uuid, HEADER


async def test_provisioning_refused_for_an_app_without_user_context(http, state, transport, tenant, app) -> None:  # type: ignore[no-untyped-def]
    setup = await synced(http, state, transport, tenant, app, devices=20)
    setup.sim.modes.user_context_required = True
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/provision", headers=tenant.headers())
    # The refusal is reported as the failed step, with NinjaOne's reason, and nothing is configured.
    assert r.status_code == 200 and not r.json()["ok"], r.text
    failed = [s for s in r.json()["steps"] if s["outcome"] == "failed"]
    assert failed and "signed-in user" in failed[0]["detail"] and setup.sim.webhooks == {}
    # Tactical-style providers without provision_webhook, and viewers, are refused with a reason.
    r = await http.post(
        f"/api/v1/integrations/{setup.integration_id}/webhook/provision", headers=tenant.headers("viewer")
    )
    assert r.status_code == 403
