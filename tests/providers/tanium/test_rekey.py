"""Re-keyed Tanium endpoints (merges, re-registrations) keep their asset.

Every device sync first asks ``endpointIdChanges`` after the stored watermark: a re-keyed endpoint
(chains included) keeps its asset, history and admin edits; when the new EID was ingested first,
the older asset takes the id over and the duplicate retires. Over HTTP against the simulator, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from rmmbridge.storage.models import AssetHistory, SyncCursor
from tests.conftest import assets_by_device, map_all, run_sync

from .test_sync_flow import connect


async def _ready(http, state, transport, tenant):
    setup = await connect(http, transport, tenant, endpoints=40)
    assert (await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=tenant.headers())).json()["ok"]
    await run_sync(http, state, setup, "scopes")
    gid = setup.fleet.customer_group_ids[0]
    await map_all(http, setup, only={gid})
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded" and run["counters"]["rekeyed"] == 0, run
    return setup, gid


async def _history(db, asset_id) -> list[str]:
    return list((await db.scalars(select(AssetHistory.action).where(AssetHistory.asset_id == asset_id))).all())


async def test_a_rekeyed_endpoint_keeps_its_asset_and_edits(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup, gid = await _ready(http, state, transport, tenant)
    before = await assets_by_device(db, setup)
    eid = setup.fleet.group_members(gid)[0]
    asset = before[eid]
    r = await http.patch(f"/api/v1/assets/{asset.id}", json={"name": "Front desk PC"}, headers=tenant.headers())
    assert r.status_code == 200, r.text
    now = datetime.now(UTC)
    middle = setup.fleet.rekey_endpoint(eid, at=now)
    final = setup.fleet.rekey_endpoint(middle, at=now + timedelta(seconds=1))  # a chain: eid → middle → final
    await _sleep_past(now + timedelta(seconds=1))
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    assert run["counters"]["rekeyed"] == 2 and run["counters"]["merged"] == 0
    assert run["counters"]["created"] == 0 and run["counters"].get("missing", 0) == 0, run
    after = await assets_by_device(db, setup, refresh=True)
    assert set(after) == set(before) - {eid} | {final}
    kept = after[final]
    assert kept.id == asset.id and kept.name == "Front desk PC" and kept.missing_since is None
    assert (await _history(db, asset.id)).count("rekeyed") == 2
    cursor = await db.scalar(
        select(SyncCursor.value).where(
            SyncCursor.integration_id == uuid.UUID(setup.integration_id), SyncCursor.stream == "device_id_changes"
        )
    )
    assert cursor and datetime.fromisoformat(cursor) >= now - timedelta(seconds=1)
    # The next sync asks after the watermark: nothing to apply again.
    run = await run_sync(http, state, setup, "devices")
    assert run["counters"]["rekeyed"] == 0 and run["counters"]["created"] == 0, run


async def test_a_change_seen_after_the_new_id_merges_the_duplicate(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup, gid = await _ready(http, state, transport, tenant)
    eid = setup.fleet.group_members(gid)[1]
    original = (await assets_by_device(db, setup))[eid]
    # Re-registered, but Tanium reports the change only later (its timestamp is an hour ahead).
    later = datetime.now(UTC) + timedelta(hours=1)
    new = setup.fleet.rekey_endpoint(eid, at=later)
    run = await run_sync(http, state, setup, "devices")
    # Same hardware (system UUID, serial): correlation attaches the new id to the same asset at
    # once (a reinstall), so no duplicate asset is created and nothing goes missing.
    assert run["counters"]["created"] == 0 and run["counters"]["missing"] == 0, run
    crosswalk = await _crosswalk(db, setup)
    assert crosswalk[new] == crosswalk[eid] == original.id
    # Two hours on, the change is reported: the id moves, the second crosswalk row is dropped.
    setup.sim.clock_offset = timedelta(hours=2)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    assert run["counters"]["rekeyed"] == 1 and run["counters"]["merged"] == 0, run
    crosswalk = await _crosswalk(db, setup)
    assert crosswalk[new] == original.id and eid not in crosswalk
    await db.refresh(original)
    assert original.missing_since is None and original.status == "active"
    assert {"rekeyed", "attached"} <= set(await _history(db, original.id))


async def _crosswalk(db: Any, setup: Any) -> dict[str, uuid.UUID]:
    from rmmbridge.storage.models import ExternalEntityMapping as M

    rows = await db.execute(
        select(M.external_id, M.local_id).where(
            M.tenant_id == setup.tenant.tenant_id, M.integration_id == uuid.UUID(setup.integration_id)
        )
    )
    return dict(rows.all())


async def _sleep_past(when: datetime) -> None:
    import asyncio

    delay = (when - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay + 0.05)
