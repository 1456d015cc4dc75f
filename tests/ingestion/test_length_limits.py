"""Over-long remote values (issue #14 item 2), the same on SQLite and PostgreSQL: an id longer
than its column is an invalid record (skipped, counted with the cause, the run partial and not a
complete snapshot); free text is cut to its column. Over real HTTP against TinyRMM."""

from __future__ import annotations

from sqlalchemy import select

from rmmbridge.storage.models import Asset, RmmAlert, WorkstationAsset
from tests.conftest import connect_tiny, map_all, run_sync
from tests.support.tinyrmm import TinyDevice, make_fleet


async def test_overlong_remote_values(http, state, transport, tenant, db):
    fleet = make_fleet(orgs=1, devices=3)
    fleet.devices["d" * 300] = TinyDevice(id="d" * 300, org="org-0", hostname="LONG-ID")
    fleet.devices["long-text"] = TinyDevice(
        id="long-text", org="org-0", hostname="H" * 400, os="Windows " * 60, user="u" * 300, serial="S" * 256
    )
    setup = await connect_tiny(http, transport, tenant, fleet)
    await run_sync(http, state, setup, "scopes")
    await map_all(http, setup)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "partial", run
    assert run["complete_snapshot"] is False  # a device we could not store is not a device that is gone
    assert run["counters"]["failed"] == 1 and run["counters"]["created"] == 4
    assert any("external_id is longer than 255" in e["error"] for e in run["errors"]), run["errors"]

    rows = {
        a.rmm_device_id: a for a in (await db.scalars(select(Asset).where(Asset.tenant_id == tenant.tenant_id))).all()
    }
    assert "d" * 300 not in rows
    long = rows["long-text"]
    assert long.name == "H" * 255 and long.serial_number == "S" * 255
    ext = await db.scalar(select(WorkstationAsset).where(WorkstationAsset.asset_id == long.id))
    assert ext is not None and len(ext.os_name) == 255 and ext.current_user == "u" * 255


async def test_overlong_alert_ids_on_the_webhook_and_the_poll(http, state, tiny, db):
    await run_sync(http, state, tiny, "scopes")
    await map_all(http, tiny)
    await run_sync(http, state, tiny, "devices")
    r = await http.post(f"/api/v1/integrations/{tiny.integration_id}/webhook/rotate", headers=tiny.tenant.headers())
    secret = r.json()["secret"]
    long_id = "a" * 256
    r = await http.post(
        "/api/webhooks/tinyrmm", json={"id": long_id, "device": "dev-00001"}, headers={"X-Tiny-Secret": secret}
    )
    assert r.status_code == 422 and "external_alert_id is longer than 255" in r.json()["detail"]
    r = await http.post(
        "/api/webhooks/tinyrmm", json={"id": "ok-1", "device": "d" * 256}, headers={"X-Tiny-Secret": secret}
    )
    assert r.status_code == 422 and "external_device_id" in r.json()["detail"]

    tiny.fleet.alerts = {
        long_id: {"id": long_id, "device": "dev-00001", "severity": "error", "message": "CPU", "active": True},
        "p2": {"id": "p2", "device": "dev-00002", "severity": "warning", "message": "RAM", "active": True},
    }
    run = await run_sync(http, state, tiny, "alerts")
    assert run["status"] == "partial" and run["counters"]["invalid"] == 1 and run["counters"]["created"] == 1
    assert "external_alert_id is longer than 255" in run["errors"][0]["error"]
    ids = set(await db.scalars(select(RmmAlert.external_alert_id).where(RmmAlert.tenant_id == tiny.tenant.tenant_id)))
    assert ids == {"p2"}
