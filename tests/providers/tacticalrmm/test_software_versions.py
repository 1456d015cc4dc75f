"""Side-by-side software versions (issue #12, item 2), Tactical end to end on SQLite and PostgreSQL.

An agent with two versions of one product keeps both through sync, re-sync (nothing rewritten) and the
removal of one version (only that one uninstalled; back again when it reappears). Counts in the API and on
the asset page equal the simulator's distinct (name, version) pairs, repeated rows collapsed.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from rmmbridge.simulators.tacticalrmm.agent_data import software_items
from rmmbridge.storage.models import AssetSoftware, AssetSoftwareInventory
from tests.conftest import assets_by_device, map_all, run_sync

from .test_sync_flow import Setup, check_connection, connect

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def listed(setup: Setup, agent: Any) -> list[dict[str, Any]]:
    return software_items(setup.fleet, agent)


def pairs(items: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """What the RMM lists, as distinct (name, version): repeated rows count once."""
    return {(" ".join(i["name"].split()).lower(), i["version"]) for i in items}


def side_by_side(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Names listed with more than one version → their versions."""
    by_name = Counter(name for name, _ in pairs(items))
    return {n: sorted(v for m, v in pairs(items) if m == n) for n, c in by_name.items() if c > 1}


async def software(http: httpx.AsyncClient, setup: Setup, asset_id: uuid.UUID, **params: Any) -> dict[str, Any]:
    r = await http.get(
        f"/api/v1/assets/{asset_id}/software",
        params={"page_size": 500, **params},
        headers=setup.tenant.headers("viewer"),
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def counts(http: httpx.AsyncClient, setup: Setup, asset_id: uuid.UUID) -> dict[str, int]:
    r = await http.get(f"/api/v1/assets/{asset_id}/software/counts", headers=setup.tenant.headers("viewer"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def stored_rows(db: Any, asset_id: uuid.UUID) -> dict[tuple[uuid.UUID, str], tuple[Any, ...]]:
    rows = (await db.scalars(select(AssetSoftware).where(AssetSoftware.asset_id == asset_id))).all()
    return {
        (r.software_id, r.version): (
            r.install_date, r.size_bytes, r.is_current, r.first_seen_at, r.last_seen_at, r.uninstalled_at
        )
        for r in rows
    }  # fmt: skip


async def control(setup: Setup, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    """The simulator's own control API, over HTTP."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=setup.app), base_url=f"https://{setup.host}") as sim:
        return await sim.request(method, path, json=body)


async def synced(http: Any, state: Any, transport: Any, tenant: Any) -> tuple[Setup, dict[str, Any]]:
    setup = await connect(http, transport, tenant)
    assert (await check_connection(http, setup))["ok"]
    await run_sync(http, state, setup, "scopes")
    await map_all(http, setup)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    return setup, await run_sync(http, state, setup, "software")


async def test_side_by_side_versions_survive_sync_resync_and_removal(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup, run = await synced(http, state, transport, tenant)
    fleet = setup.fleet
    assert run["status"] == "succeeded", run
    with_inventory = [a for a in fleet.agents.values() if a.software_id is not None]
    assert run["counters"]["installations"] == sum(len(pairs(listed(setup, a))) for a in with_inventory)
    assert run["counters"]["installed"] == run["counters"]["installations"]
    assets = await assets_by_device(db, setup)

    # The fixture agent: one product listed with two versions under the same name.
    agent = next(a for a in with_inventory if side_by_side(listed(setup, a)))
    asset_id = assets[agent.agent_id].id
    name, versions = next(iter(side_by_side(listed(setup, agent)).items()))
    sw = await software(http, setup, asset_id)
    mine = [i for i in sw["items"] if " ".join(i["name"].split()).lower() == name]
    assert sorted(i["version"] for i in mine) == versions and len(versions) == 2
    assert len({i["software_id"] for i in mine}) == 1  # one product, two installations
    assert all(i["is_current"] and i["uninstalled_at"] is None for i in mine)
    # The versions of a product are listed next to each other.
    positions = [n for n, i in enumerate(sw["items"]) if i["software_id"] == mine[0]["software_id"]]
    assert positions == list(range(positions[0], positions[0] + 2))
    expected = pairs(listed(setup, agent))
    assert sw["total"] == len(expected) == (await counts(http, setup, asset_id))["installations"]
    only = await software(http, setup, asset_id, software_id=mine[0]["software_id"])
    assert sorted(i["version"] for i in only["items"]) == versions

    # Re-sync, nothing changed: no installation row is rewritten; "last seen" still moves.
    before = await stored_rows(db, asset_id)
    seen_before = await db.scalar(
        select(AssetSoftwareInventory.seen_at).where(AssetSoftwareInventory.asset_id == asset_id)
    )
    run = await run_sync(http, state, setup, "software")
    assert run["status"] == "succeeded", run
    c = run["counters"]
    assert c["devices_unchanged"] == c["devices"] == len(with_inventory), c
    assert c["installed"] == c["updated"] == c["uninstalled"] == c["catalog_new"] == 0, c
    assert await stored_rows(db, asset_id) == before
    sw = await software(http, setup, asset_id)
    mine = [i for i in sw["items"] if " ".join(i["name"].split()).lower() == name]
    assert len(mine) == 2 and all(when(i["last_seen_at"]) > seen_before for i in mine)

    # One version is uninstalled on the agent: only it becomes uninstalled, the other stays current.
    removed_item = next(i for i in listed(setup, agent) if " ".join(i["name"].split()).lower() == name)
    kept_version = next(v for v in versions if v != removed_item["version"])
    r = await control(setup, "DELETE", f"/_sim/agents/{agent.pk}/software",
                      {"name": removed_item["name"], "version": removed_item["version"]})  # fmt: skip
    assert r.status_code == 200, r.text
    seen_last = await db.scalar(
        select(AssetSoftwareInventory.seen_at).where(AssetSoftwareInventory.asset_id == asset_id)
    )
    run = await run_sync(http, state, setup, "software")
    c = run["counters"]
    assert c["uninstalled"] == 1 and c["installed"] == c["updated"] == 0, c
    assert c["devices_unchanged"] == c["devices"] - 1, c
    sw = await software(http, setup, asset_id)
    mine = {i["version"]: i for i in sw["items"] if " ".join(i["name"].split()).lower() == name}
    gone, kept = mine[removed_item["version"]], mine[kept_version]
    assert not gone["is_current"] and gone["uninstalled_at"] is not None
    assert when(gone["last_seen_at"]) == seen_last  # the last inventory that listed it
    assert kept["is_current"] and kept["uninstalled_at"] is None
    assert kept["first_seen_at"] == gone["first_seen_at"]
    now_current = await software(http, setup, asset_id, current="true")
    assert now_current["total"] == len(expected) - 1
    assert {"installations": len(expected) - 1, "uninstalled": 1} == {
        k: v for k, v in (await counts(http, setup, asset_id)).items() if k != "products"
    }
    # Every other row of the agent was left alone.
    removed_key = (uuid.UUID(gone["software_id"]), removed_item["version"])
    after = await stored_rows(db, asset_id)
    assert {k: v for k, v in after.items() if k != removed_key} == {k: v for k, v in before.items() if k != removed_key}

    # It is reinstalled: the same row is current again, first seen kept.
    r = await control(setup, "POST", f"/_sim/agents/{agent.pk}/software",
                      {"name": removed_item["name"], "version": removed_item["version"]})  # fmt: skip
    assert r.status_code == 200, r.text
    run = await run_sync(http, state, setup, "software")
    assert run["counters"]["installed"] == 1 and run["counters"]["uninstalled"] == 0, run
    sw = await software(http, setup, asset_id)
    back = next(
        i for i in sw["items"]
        if " ".join(i["name"].split()).lower() == name and i["version"] == removed_item["version"]
    )  # fmt: skip
    assert back["is_current"] and back["uninstalled_at"] is None and back["first_seen_at"] == gone["first_seen_at"]
    assert (await counts(http, setup, asset_id))["installations"] == len(expected)

    # The simulator's control API refuses what the agent never had.
    r = await control(setup, "DELETE", f"/_sim/agents/{agent.pk}/software", {"name": "Nope", "version": "1"})
    assert r.status_code == 404


async def test_counts_equal_the_distinct_name_version_pairs(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup, run = await synced(http, state, transport, tenant)
    assert run["status"] == "succeeded", run
    assets = await assets_by_device(db, setup)
    with_inventory = [a for a in setup.fleet.agents.values() if a.software_id is not None]
    # A sample that holds side-by-side versions, repeated rows and plain lists.
    with_versions = [a for a in with_inventory if side_by_side(listed(setup, a))][:4]
    repeated = [a for a in with_inventory if len(pairs(listed(setup, a))) < len(listed(setup, a))][:3]
    plain = [a for a in with_inventory if a not in with_versions and a not in repeated][:3]
    assert with_versions and repeated and plain
    for agent in with_versions + repeated + plain:
        items = listed(setup, agent)
        asset_id = assets[agent.agent_id].id
        sw = await software(http, setup, asset_id, current="true")
        assert sw["total"] == len(pairs(items)), agent.hostname
        assert {(" ".join(i["name"].split()).lower(), i["version"] or "") for i in sw["items"]} == pairs(items)
        got = await counts(http, setup, asset_id)
        assert got["installations"] == len(pairs(items))
        assert got["products"] == len({name for name, _ in pairs(items)})

    # The asset page groups a product's versions and counts installations and products.
    agent = with_versions[0]
    page = await http.get("/login")
    match = CSRF_RE.search(page.text)
    assert match
    r = await http.post(
        "/login",
        data={"email": setup.tenant.emails["viewer"], "password": setup.tenant.password, "csrf_token": match.group(1)},
    )
    assert r.status_code in (200, 303), r.text
    html = (await http.get(f"/assets/{assets[agent.agent_id].id}")).text
    section = html[html.index('id="software"') : html.index("</section>", html.index('id="software"'))]
    items = listed(setup, agent)
    products = len({name for name, _ in pairs(items)})
    assert f"({len(pairs(items))} installed · {products} products)" in section
    versions = next(iter(side_by_side(items).values()))
    group = next(
        body for body in section.split("<tbody")[1:] if f">{versions[0]}<" in body and "2 versions" in body
    )  # fmt: skip
    assert all(f">{v}<" in group for v in versions)
