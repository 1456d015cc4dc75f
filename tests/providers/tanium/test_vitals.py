"""Tanium WAN IP and uptime from the best-effort enrichment walks (§4.7): read when the Discover
module and the Last Reboot sensor answer; when they fail the sync still succeeds and the stored
values stay (an enrichment never nulls what is stored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from rmmbridge.kit.time import ensure_utc
from rmmbridge.providers.tanium import normalize
from rmmbridge.storage.models import ServerAsset, WorkstationAsset
from tests.conftest import assets_by_device, map_all, run_sync

from .test_sync_flow import connect


async def _vitals(db: Any, asset_id: Any) -> tuple[str | None, datetime | None]:
    for table in (WorkstationAsset, ServerAsset):
        row = await db.scalar(select(table).where(table.asset_id == asset_id).execution_options(populate_existing=True))
        if row is not None:
            return row.wan_ip, ensure_utc(row.boot_time)
    raise AssertionError(f"no extension row for {asset_id}")


async def test_wan_ip_and_boot_time_and_failing_enrichments(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(http, transport, tenant, endpoints=30)
    assert (await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=tenant.headers())).json()["ok"]
    await run_sync(http, state, setup, "scopes")
    await map_all(http, setup)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    assets = await assets_by_device(db, setup, refresh=True)
    assert assets
    stored = {}
    for eid, asset in assets.items():
        ep = setup.fleet.endpoints[eid]
        wan, booted = await _vitals(db, asset.id)
        assert wan == ep.nat_ip
        assert booted is not None and abs(booted - ep.last_reboot) < timedelta(seconds=1)
        stored[eid] = (wan, booted)

    # Discover uninstalled, the sensor failing: the sync still succeeds and nothing is nulled.
    setup.sim.modes.discover_installed = False
    setup.sim.modes.last_reboot_sensor_fails = True
    for ep in setup.fleet.endpoints.values():
        ep.name += "-2"  # something the inventory does report changes, so every asset is rewritten
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded" and run["counters"]["updated"] == len(assets), run
    for eid, asset in (await assets_by_device(db, setup, refresh=True)).items():
        assert asset.name.endswith("-2")
        assert await _vitals(db, asset.id) == stored[eid]


def test_last_reboot_values() -> None:
    def node(value: Any) -> dict[str, Any]:
        return {"id": "1", "lastReboot": {"columns": [{"name": "Last Reboot", "values": [value]}]}}

    assert normalize.last_reboot(node("Sat, 11 Apr 2026 21:50:13 -0400")) == datetime(
        2026, 4, 12, 1, 50, 13, tzinfo=UTC
    )
    assert normalize.last_reboot(node("2026-04-11T21:50:13Z")) == datetime(2026, 4, 11, 21, 50, 13, tzinfo=UTC)
    for junk in ("[no results]", "TSE-Error: boom", "", "yesterday", None):
        assert normalize.last_reboot(node(junk)) is None
    assert normalize.last_reboot({"id": "1", "lastReboot": None}) is None
    assert normalize.nat_ip({"discover": {"natIpAddress": "203.0.113.9"}}) == "203.0.113.9"
    assert normalize.nat_ip({"discover": {"natIpAddress": "0.0.0.0"}}) is None
    assert normalize.nat_ip({"discover": None}) is None
