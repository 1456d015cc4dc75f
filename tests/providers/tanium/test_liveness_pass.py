"""A Tanium liveness pass through the real runner, on SQLite and PostgreSQL: after a device sync,
one endpoint stops checking in, one comes back and one is new (all through the simulator's control
API); one pass changes exactly those statuses, writes history and events only for them, and the
new endpoint becomes an asset under its owning group's client."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import AssetHistory, AssetLiveness, EventOutbox
from rmmbridge.sync.runner import runner_of
from rmmbridge.sync.service import request_sync
from tests.conftest import map_all, run_sync

from .test_sync_flow import connect, customer_groups, expected_owners


async def _statuses(http: Any, setup: Any) -> dict[str, dict[str, Any]]:
    r = await http.get(
        "/api/v1/assets",
        params={"integration_id": setup.integration_id, "page_size": 200},
        headers=setup.tenant.headers(),
    )
    assert r.status_code == 200, r.text
    return {a["rmm_device_id"]: a for a in r.json()["items"]}


async def _counts(db: Any, tenant_id: uuid.UUID) -> tuple[int, int]:
    history = await db.scalar(select(func.count()).select_from(AssetHistory).where(AssetHistory.tenant_id == tenant_id))
    changed = await db.scalar(
        select(func.count())
        .select_from(EventOutbox)
        .where(EventOutbox.tenant_id == tenant_id, EventOutbox.event_type == "asset.status_changed")
    )
    return int(history or 0), int(changed or 0)


async def _observations(db: Any, tenant_id: uuid.UUID) -> dict[uuid.UUID, tuple[Any, Any]]:
    rows = await db.execute(
        select(AssetLiveness.asset_id, AssetLiveness.current_user, AssetLiveness.boot_time).where(
            AssetLiveness.tenant_id == tenant_id
        )
    )
    return {asset_id: (user, boot) for asset_id, user, boot in rows}


async def test_a_pass_moves_status_and_finds_new_endpoints(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(http, transport, tenant, endpoints=60)
    fleet, sim = setup.fleet, setup.sim
    assert (await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=tenant.headers())).json()["ok"]
    await run_sync(http, state, setup, "scopes")
    groups = customer_groups(fleet)
    clients = await map_all(http, setup, only=groups)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    before = await _statuses(http, setup)
    owners = expected_owners(fleet, groups)
    assert set(before) == set(owners)

    online = [eid for eid in owners if before[eid]["agent_status"] == "online"]
    away = [eid for eid in owners if before[eid]["agent_status"] in ("offline", "overdue")]
    gone, back = online[0], away[0]
    group = sorted(groups, key=int)[0]
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{setup.host}") as control:
        r = await control.post(
            f"/_sim/endpoints/{gone}", json={"last_seen": (sim.now() - timedelta(hours=2)).isoformat()}
        )
        assert r.json()["status"] == "offline"
        assert (await control.post(f"/_sim/endpoints/{back}", json={"online": True})).json()["status"] == "online"
        new = (await control.post("/_sim/endpoints", json={"groups": [group], "name": "NEW-WS-1"})).json()
    history0, changed0 = await _counts(db, tenant.tenant_id)
    observed0 = await _observations(db, tenant.tenant_id)
    assert any(user or boot for user, boot in observed0.values())  # the device sync stored some

    async with unit_of_work(state.sessionmaker) as session:
        started = await request_sync(
            state, session, tenant.admin_ctx, uuid.UUID(setup.integration_id), "liveness", "api"
        )
    await runner_of(state).wait(started.run.id, timeout=60)
    run = (await http.get(f"/api/v1/sync-runs/{started.run.id}", headers=tenant.headers())).json()
    assert run["status"] == "succeeded", run
    counters = run["counters"]
    assert counters["new_devices"] == 1 and counters["failed"] == 0
    assert counters["rows"] == len(owners) + 1  # every endpoint of the mapped groups, once

    after = await _statuses(http, setup)
    assert after[gone]["agent_status"] == "offline" and after[back]["agent_status"] == "online"
    assert after[new["id"]]["name"] == "NEW-WS-1" and after[new["id"]]["client_id"] == clients[group]
    assert after[new["id"]]["rmm_organization_id"] == group
    moved = {eid for eid in before if after[eid]["agent_status"] != before[eid]["agent_status"]}
    assert {gone, back} <= moved
    # History and events only for the devices whose status changed (and the new asset's creation).
    history1, changed1 = await _counts(db, tenant.tenant_id)
    assert changed1 - changed0 == counters["status_changed"] == len(moved)
    assert history1 - history0 == len(moved) + 1
    # Absent is not empty: the pass carries no user, boot time or health; the sync's values stay.
    observed1 = await _observations(db, tenant.tenant_id)
    assert {k: v for k, v in observed1.items() if k in observed0} == observed0
