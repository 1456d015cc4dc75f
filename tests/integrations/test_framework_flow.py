"""The framework end to end with TinyRMM: configure, test, scopes, mapping, devices."""

from __future__ import annotations

from sqlalchemy import func, select

from rmmbridge.storage.models import Asset, ExternalEntityMapping
from tests.conftest import map_all, run_sync


async def test_connect_map_and_sync(http, state, tiny, db):
    h = tiny.tenant.headers()
    integ = (await http.get(f"/api/v1/integrations/{tiny.integration_id}", headers=h)).json()
    assert integ["state"] == "connected" and integ["is_active"]
    assert integ["credentials"]["api_key"].endswith(tiny.fleet.api_key[-4:])
    assert tiny.fleet.api_key not in str(integ)

    run = await run_sync(http, state, tiny, "scopes")
    assert run["status"] == "succeeded" and run["counters"]["created"] == 3
    clients = await map_all(http, tiny)
    assert len(clients) == 3

    run = await run_sync(http, state, tiny, "devices")
    assert run["status"] == "succeeded", run
    assert run["counters"]["created"] == 30 and run["complete_snapshot"] is True
    count = await db.scalar(select(func.count()).select_from(Asset).where(Asset.tenant_id == tiny.tenant.tenant_id))
    assert count == 30
    mappings = await db.scalar(
        select(func.count())
        .select_from(ExternalEntityMapping)
        .where(ExternalEntityMapping.tenant_id == tiny.tenant.tenant_id)
    )
    assert mappings == 30
