"""Side-by-side software versions (issue #12, item 2), Tanium end to end on SQLite and PostgreSQL.

``installedApplications`` lists a product installed in two versions as two rows with one name: both are kept
through sync, re-sync (nothing rewritten) and the uninstall of one of them. Counts equal the simulator's
distinct (name, version) pairs.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import select

from rmmbridge.simulators.tanium import installed_applications
from rmmbridge.storage.models import AssetSoftware
from tests.conftest import assets_by_device, map_all, run_sync

from .test_sync_flow import Setup, connect, customer_groups, expected_owners


def pairs(setup: Setup, eid: str) -> set[tuple[str, str]]:
    return {
        (" ".join(a.name.split()).lower(), a.version)
        for a in installed_applications(setup.fleet.endpoints[eid])
        if a.name
    }


def side_by_side(setup: Setup, eid: str) -> dict[str, list[str]]:
    found = pairs(setup, eid)
    by_name = Counter(name for name, _ in found)
    return {n: sorted(v for m, v in found if m == n) for n, c in by_name.items() if c > 1}


async def software(http: httpx.AsyncClient, setup: Setup, asset_id: uuid.UUID, **params: Any) -> dict[str, Any]:
    r = await http.get(
        f"/api/v1/assets/{asset_id}/software", params={"page_size": 500, **params}, headers=setup.tenant.headers()
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_side_by_side_versions_from_installed_applications(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(http, transport, tenant)
    h = tenant.headers()
    assert (await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=h)).json()["ok"]
    await run_sync(http, state, setup, "scopes")
    mapped = customer_groups(setup.fleet)
    await map_all(http, setup, only=mapped)
    assert (await run_sync(http, state, setup, "devices"))["status"] == "succeeded"
    owners = expected_owners(setup.fleet, mapped)
    run = await run_sync(http, state, setup, "software")
    assert run["status"] == "succeeded", run
    assert run["counters"]["installations"] == sum(len(pairs(setup, eid)) for eid in owners)
    assets = await assets_by_device(db, setup)

    # Counts per asset equal the distinct (name, version) pairs, for a sample with and without side-by-side.
    with_versions = [eid for eid in owners if side_by_side(setup, eid)]
    without = [eid for eid in owners if pairs(setup, eid) and not side_by_side(setup, eid)]
    assert len(with_versions) >= 3 and without
    for eid in with_versions[:5] + without[:3]:
        sw = await software(http, setup, assets[eid].id, current="true")
        assert sw["total"] == len(pairs(setup, eid)), eid
        assert {(" ".join(i["name"].split()).lower(), i["version"]) for i in sw["items"]} == pairs(setup, eid)
        r = await http.get(f"/api/v1/assets/{assets[eid].id}/software/counts", headers=h)
        assert r.json()["installations"] == len(pairs(setup, eid))
        assert r.json()["products"] == len({n for n, _ in pairs(setup, eid)})

    # The fixture endpoint: one product in two versions.
    eid = with_versions[0]
    asset_id = assets[eid].id
    name, versions = next(iter(side_by_side(setup, eid).items()))
    mine = [i for i in (await software(http, setup, asset_id))["items"] if i["name"].lower() == name]
    assert sorted(i["version"] for i in mine) == versions and len({i["software_id"] for i in mine}) == 1

    # Re-sync, nothing changed: every list is skipped, no installation row rewritten.
    before = {(r.software_id, r.version): (r.last_seen_at, r.is_current) for r in
              (await db.scalars(select(AssetSoftware).where(AssetSoftware.asset_id == asset_id))).all()}  # fmt: skip
    run = await run_sync(http, state, setup, "software")
    c = run["counters"]
    assert c["devices_unchanged"] == c["devices"] == len(owners) and c["installed"] == c["uninstalled"] == 0, c
    after = {(r.software_id, r.version): (r.last_seen_at, r.is_current) for r in
             (await db.scalars(select(AssetSoftware).where(AssetSoftware.asset_id == asset_id))).all()}  # fmt: skip
    assert after == before

    # One version is uninstalled on the endpoint: only that one is marked uninstalled.
    exact = next(a for a in installed_applications(setup.fleet.endpoints[eid]) if a.name.lower() == name)
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{setup.host}") as sim:
        r = await sim.request(
            "DELETE", f"/_sim/endpoints/{eid}/apps", json={"name": exact.name, "version": exact.version}
        )
        assert r.status_code == 200, r.text
    run = await run_sync(http, state, setup, "software")
    c = run["counters"]
    assert c["uninstalled"] == 1 and c["installed"] == c["updated"] == 0, c
    assert c["devices_unchanged"] == c["devices"] - 1, c
    mine = {i["version"]: i for i in (await software(http, setup, asset_id))["items"] if i["name"].lower() == name}
    assert not mine[exact.version]["is_current"] and mine[exact.version]["uninstalled_at"]
    (other,) = [v for v in versions if v != exact.version]
    assert mine[other]["is_current"] and mine[other]["uninstalled_at"] is None
    assert (await software(http, setup, asset_id, current="true"))["total"] == len(pairs(setup, eid))
