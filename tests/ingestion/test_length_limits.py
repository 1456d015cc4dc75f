"""Over-long remote values (issue #14 item 2), the same on SQLite and PostgreSQL: an id longer
than its column is an invalid record (skipped, counted with the cause, the run partial and not a
complete snapshot); free text is cut to its column. Over real HTTP against TinyRMM."""

from __future__ import annotations

from sqlalchemy import select

from rmmbridge.storage.models import Asset, WorkstationAsset
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
