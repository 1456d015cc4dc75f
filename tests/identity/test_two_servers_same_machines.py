"""Two servers of one RMM reporting the very same machines (issue #19, default ``auto`` policy), over
HTTP against two TinyRMM test servers on SQLite and PostgreSQL: one asset per machine, and every
asset records BOTH integrations' devices as its sources — in ``asset_sources`` and in the API's
``sources[]`` — after the first sync, after re-syncs of either, and when a machine leaves one
integration while the other still sees it (the asset stays, only that source goes missing)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import select

from rmmbridge.storage.models import Asset, AssetSource
from tests.conftest import connect_tiny, map_all, run_sync

MACHINES = 30


async def _map_like(http: Any, setup: Any, clients: dict[str, str]) -> None:
    """Map the second server's organizations to the clients the first one's were mapped to."""
    h = setup.tenant.headers()
    items = (await http.get(f"/api/v1/integrations/{setup.integration_id}/mappings", headers=h)).json()["items"]
    assert {m["external_org_id"] for m in items} == set(clients)
    for m in items:
        r = await http.patch(
            f"/api/v1/integrations/{setup.integration_id}/mappings/{m['id']}",
            headers=h,
            json={"client_id": clients[m["external_org_id"]]},
        )
        assert r.status_code == 200, r.text


async def _sync(http: Any, state: Any, setup: Any) -> dict[str, Any]:
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded" and run["complete_snapshot"], run
    return run


async def _sources(db: Any, tenant: Any) -> dict[uuid.UUID, dict[uuid.UUID, tuple[str, bool]]]:
    """asset → {integration → (external id, missing)} from ``asset_sources``."""
    s = AssetSource
    rows = await db.execute(
        select(s.asset_id, s.integration_id, s.external_id, s.missing_since).where(s.tenant_id == tenant.tenant_id)
    )
    out: dict[uuid.UUID, dict[uuid.UUID, tuple[str, bool]]] = {}
    for asset_id, integration_id, ext, missing in rows:
        per = out.setdefault(asset_id, {})
        assert integration_id not in per, (asset_id, integration_id, ext)  # one device per server
        per[integration_id] = (ext, missing is not None)
    return out


async def _live(db: Any, tenant: Any) -> list[uuid.UUID]:
    rows = await db.scalars(
        select(Asset.id).where(
            Asset.tenant_id == tenant.tenant_id, Asset.status == "active", Asset.missing_since.is_(None)
        )
    )
    return list(rows.all())


def _check_both(sources: dict[uuid.UUID, dict[uuid.UUID, tuple[str, bool]]], one: uuid.UUID, two: uuid.UUID) -> None:
    assert len(sources) == MACHINES, f"{len(sources)} assets have sources"
    for asset_id, per in sources.items():
        assert set(per) == {one, two}, (asset_id, per)
        assert per[one][0] == per[two][0]  # the same device id on both servers: the same machine
        assert not per[one][1] and not per[two][1], (asset_id, per)


async def test_every_asset_keeps_a_source_per_server(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    eu = await connect_tiny(http, transport, tenant)
    us = await connect_tiny(http, transport, tenant)  # the same 30 machines (same serials)
    h = tenant.headers()
    r = await http.get("/api/v1/identity/policy", headers=h)
    assert r.status_code == 200 and r.json()["mode"] == "auto", r.text  # the default policy
    await run_sync(http, state, eu, "scopes")
    clients = await map_all(http, eu)
    await run_sync(http, state, us, "scopes")
    await _map_like(http, us, clients)
    one, two = uuid.UUID(eu.integration_id), uuid.UUID(us.integration_id)

    first = await _sync(http, state, eu)
    assert first["counters"]["created"] == MACHINES, first
    second = await _sync(http, state, us)
    assert second["counters"]["created"] == 0, second
    assert len(await _live(db, tenant)) == MACHINES
    _check_both(await _sources(db, tenant), one, two)

    # The API shows both sources of every asset, one per integration.
    by_asset = await _sources(db, tenant)
    for asset_id in list(by_asset)[:5]:
        out = (await http.get(f"/api/v1/assets/{asset_id}", headers=h)).json()
        assert sorted(s["integration_id"] for s in out["sources"]) == sorted([str(one), str(two)]), out["sources"]
        assert all(s["status"] != "missing" for s in out["sources"])

    # Re-syncing either server (unchanged, then changed data) keeps both sources of every asset.
    for setup in (eu, us):
        run = await _sync(http, state, setup)
        assert run["counters"]["created"] == 0 and run["counters"]["updated"] == 0, run
        _check_both(await _sources(db, tenant), one, two)
    us.fleet.devices["dev-00004"].ram_gb = 64  # a change on the second server only
    eu.fleet.devices["dev-00005"].hostname = "HOST-RENAMED"
    for setup in (us, eu):
        run = await _sync(http, state, setup)
        assert run["counters"]["created"] == 0 and run["counters"]["updated"] >= 1, run
        _check_both(await _sources(db, tenant), one, two)
    assert len(await _live(db, tenant)) == MACHINES

    # A machine leaving the second server keeps its asset: the first one still sees it.
    leaving = "dev-00007"
    del us.fleet.devices[leaving]
    await _sync(http, state, us)
    sources = await _sources(db, tenant)
    asset_id = next(a for a, per in sources.items() if per[one][0] == leaving)
    assert sources[asset_id] == {one: (leaving, False), two: (leaving, True)}
    assert len(await _live(db, tenant)) == MACHINES
    row = await db.get(Asset, (tenant.tenant_id, asset_id))
    await db.refresh(row)
    assert row.status == "active" and row.missing_since is None
    out = (await http.get(f"/api/v1/assets/{asset_id}", headers=h)).json()
    assert {s["integration_id"]: s["status"] == "missing" for s in out["sources"]} == {str(one): False, str(two): True}
    # The first server's re-sync changes nothing about that; the others keep both sources.
    await _sync(http, state, eu)
    sources = await _sources(db, tenant)
    assert sources[asset_id] == {one: (leaving, False), two: (leaving, True)}
    rest = {a: per for a, per in sources.items() if a != asset_id}
    assert len(rest) == MACHINES - 1 and all(set(per) == {one, two} for per in rest.values())
    assert len(await _live(db, tenant)) == MACHINES


async def test_both_servers_syncing_at_once_still_share_assets(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    """Both servers' first syncs run at the same time: pages of the two runs interleave, and every
    machine still ends as one asset with a source per server (PostgreSQL made 60 assets before)."""
    eu = await connect_tiny(http, transport, tenant)
    us = await connect_tiny(http, transport, tenant)
    await run_sync(http, state, eu, "scopes")
    clients = await map_all(http, eu)
    await run_sync(http, state, us, "scopes")
    await _map_like(http, us, clients)
    for fleet in (eu.fleet, us.fleet):
        fleet.delay_s = 0.02  # pages arrive slowly on both: the two runs' pages interleave
    runs = await asyncio.gather(*(run_sync(http, state, s, "devices") for s in (eu, us)))
    assert all(r["status"] == "succeeded" for r in runs), runs
    assert sum(r["counters"]["created"] for r in runs) == MACHINES, [r["counters"] for r in runs]
    assert len(await _live(db, tenant)) == MACHINES
    _check_both(await _sources(db, tenant), uuid.UUID(eu.integration_id), uuid.UUID(us.integration_id))
