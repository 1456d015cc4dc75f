"""Tanium end to end through the REST API, on SQLite and PostgreSQL: configure, test, computer groups,
mapping, devices (fields, overlapping groups, status), single-endpoint refresh, software, an incomplete
listing that marks nothing missing, and the Asset API fallback."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rmmbridge.assets.status import compute_status
from rmmbridge.kit.time import ensure_utc
from rmmbridge.providers.tanium import normalize
from rmmbridge.providers.tanium.normalize import owner_group
from rmmbridge.simulators.tanium import (
    ALL_COMPUTERS_ID,
    DEFAULT_TOKEN,
    TaniumFleet,
    TaniumSimulator,
    create_app,
    generate_fleet,
    installed_applications,
)
from rmmbridge.storage.db import unit_of_work
from rmmbridge.sync.runner import runner_of
from rmmbridge.sync.service import request_sync
from tests.conftest import assets_by_device, map_all, run_sync

BUILTIN = {ALL_COMPUTERS_ID, "2", "3", "4"}


@dataclass
class Setup:
    tenant: Any
    integration_id: str
    fleet: TaniumFleet
    sim: TaniumSimulator
    host: str


async def connect(
    http: Any, transport: Any, tenant: Any, *, endpoints: int = 90, token_days: float = 7.0, **values: Any
) -> Setup:
    fleet = generate_fleet(seed=23, groups=3, endpoints=endpoints, now=datetime.now(UTC))
    app = create_app(fleet, token_expires_in_days=token_days)  # real-time clock from the fleet's "now"
    customer = f"t{uuid.uuid4().hex[:8]}"
    host = f"{customer}-api.cloud.tanium.com"
    transport.add(host, app)
    h = tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": "tanium"}, headers=h)
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    r = await http.put(
        f"/api/v1/integrations/{iid}/credentials",
        headers=h,
        # The Console URL as pasted from a browser: rewritten to the -api host.
        json={
            "instance_url": f"https://{customer}.cloud.tanium.com/#/home",
            "values": {"api_token": DEFAULT_TOKEN, **values},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["instance_url"] == f"https://{host}"
    return Setup(tenant, iid, fleet, app.state.sim, host)


def customer_groups(fleet: TaniumFleet) -> set[str]:
    return {g for g in fleet.groups if g not in BUILTIN}


def expected_owners(fleet: TaniumFleet, mapped: set[str]) -> dict[str, str]:
    return {eid: owner for eid, ep in fleet.endpoints.items() if (owner := owner_group(ep.groups, mapped)) is not None}


async def test_end_to_end(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(http, transport, tenant, offline_after_minutes=20, overdue_after_minutes=12 * 60)
    fleet, h = setup.fleet, tenant.headers()
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=h)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["ok"], result
    assert [c["name"] for c in result["checks"]] == [
        "Host reachable",
        "Gateway answers GraphQL",
        "API token valid",
        "Can read computer groups",
        "Can read endpoints",
        "Optional Tanium content",
        "Token expiry",
    ]
    integ = result["integration"]
    assert integ["state"] == "connected" and integ["credentials"]["api_token"].endswith(DEFAULT_TOKEN[-4:])
    assert DEFAULT_TOKEN not in json.dumps(integ)
    assert "alert_webhook" not in integ["capabilities"] and "alert_polling" not in integ["capabilities"]
    provider_info = (await http.get("/api/v1/providers", headers=h)).json()
    tanium = next(p for p in (provider_info["items"] if isinstance(provider_info, dict) else provider_info)
                  if p["key"] == "tanium")  # fmt: skip
    assert tanium["scope_label"] == "Computer group" and tanium["has_webhook"] is False

    # Computer groups → mappings (with their endpoint counts); map the customer groups, not the built-in ones.
    run = await run_sync(http, state, setup, "scopes")
    assert run["status"] == "succeeded" and run["counters"]["created"] == len(fleet.groups), run
    items = (await http.get(f"/api/v1/integrations/{setup.integration_id}/mappings", headers=h)).json()["items"]
    assert {m["external_org_id"]: m["device_count"] for m in items} == {
        g: len(fleet.group_members(g)) for g in fleet.groups
    }
    assert {m["scope_kind"] for m in items} == {"computer_group"}
    mapped = customer_groups(fleet)
    clients = await map_all(http, setup, only=mapped)

    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded" and run["complete_snapshot"] is True, run
    owners = expected_owners(fleet, mapped)
    assert run["counters"]["created"] == len(owners), run
    assets = await assets_by_device(db, setup, refresh=True)
    assert set(assets) == set(owners)

    # Fields of one Windows workstation.
    ws = next(
        ep for eid, ep in fleet.endpoints.items()
        if eid in owners and ep.role == "win_ws" and ep.serial_number.startswith("5CG")
        and ep.last_logged_in_user and ep.memory_total.endswith(" MB")
    )  # fmt: skip
    out = (await http.get(f"/api/v1/assets/{assets[ws.eid].id}", headers=h)).json()
    assert (out["name"], out["asset_type"], out["serial_number"]) == (ws.name, "workstation", ws.serial_number)
    assert out["details"]["manufacturer"] == ws.manufacturer and out["details"]["model"] == ws.model
    assert out["details"]["os_name"] == ws.os.name and out["details"]["platform"] == "windows"
    assert out["details"]["current_user"] == ws.last_logged_in_user
    assert out["details"]["cpu_threads"] == ws.logical_processors and out["details"]["cpu_cores"] is None
    assert out["details"]["ram_bytes"] == int(ws.memory_total.split()[0]) * 2**20
    assert out["client_id"] == clients[owners[ws.eid]] and out["rmm_organization_id"] == owners[ws.eid]
    assert (out["offline_after_s"], out["overdue_after_s"]) == (20 * 60, 12 * 3600)
    mapping = next(m for m in out["mappings"] if m["integration_id"] == setup.integration_id)
    assert mapping["external_ref"] == ws.computer_id and mapping["realm_id"] == owners[ws.eid]
    servers = [eid for eid in owners if fleet.endpoints[eid].role == "win_srv"]
    assert servers and all(assets[eid].asset_type == "server" for eid in servers)
    tricky = [eid for eid in owners if fleet.endpoints[eid].name in ("STUDIOS-01", "BIOS-LAB", "IOS-BUILD")]
    assert all(assets[eid].asset_type == "workstation" for eid in tricky)

    # Status from eidLastSeen with the configured thresholds (never "everything online").
    now = datetime.now(UTC)
    statuses: dict[str, str] = {}
    for eid, asset in assets.items():
        ep = fleet.endpoints[eid]
        seen = fleet.eid_last_seen(ep, now)
        if seen is None:
            continue  # no eidLastSeen at all: see the report (the framework says "offline", §5 "unknown")
        age = now - seen
        if any(abs(age - t) < timedelta(minutes=1) for t in (timedelta(minutes=20), timedelta(hours=12))):
            continue  # too close to a threshold to compare reliably
        live = compute_status(
            ensure_utc(asset.last_seen_at), ensure_utc(asset.offline_at), ensure_utc(asset.overdue_at), now
        )
        expected = fleet.expected_status(ep, now, timedelta(minutes=20), timedelta(hours=12))
        assert live == expected, (ep.name, seen, live, expected)
        statuses[eid] = live
    assert {"online", "offline", "overdue"} <= set(statuses.values())

    # Overlapping groups: every endpoint belongs to one owner; a re-sync in which Tanium answers the groups
    # in another order keeps every client.
    overlapping = [eid for eid in fleet.overlapping_endpoints() if eid in owners]
    assert overlapping
    before = {eid: (a.id, a.client_id) for eid, a in assets.items()}
    fleet.groups = dict(reversed(list(fleet.groups.items())))
    assert (await run_sync(http, state, setup, "scopes"))["status"] == "succeeded"
    for _ in range(2):
        run = await run_sync(http, state, setup, "devices")
        assert run["status"] == "succeeded" and run["counters"]["created"] == 0, run
        after = {eid: (a.id, a.client_id) for eid, a in (await assets_by_device(db, setup, refresh=True)).items()}
        assert after == before

    # Single-endpoint refresh gives the same owner.
    eid = overlapping[0]
    r = await http.post(f"/api/v1/assets/{assets[eid].id}/refresh", headers=h)
    assert r.status_code == 202, r.text
    await runner_of(state).wait(uuid.UUID(r.json()["run"]["id"]), timeout=60)
    refreshed = (await http.get(f"/api/v1/assets/{assets[eid].id}", headers=h)).json()
    assert refreshed["rmm_organization_id"] == owners[eid] and refreshed["client_id"] == clients[owners[eid]]

    # Software: one walk; endpoints outside the mapped groups are counted as unknown.
    run = await run_sync(http, state, setup, "software")
    assert run["status"] == "succeeded", run
    assert run["counters"]["devices"] == len(owners)
    assert run["counters"]["devices_unknown"] == len(fleet.endpoints) - len(owners)
    target = next(eid for eid in owners if fleet.endpoints[eid].app_count > 20)
    sw = (await http.get(f"/api/v1/assets/{assets[target].id}/software?page_size=500", headers=h)).json()
    expected_apps = {normalize.clean(a.name) for a in installed_applications(fleet.endpoints[target]) if a.name}
    assert {item["name"] for item in sw["items"]} == expected_apps


async def test_incomplete_listing_marks_nothing_missing(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(http, transport, tenant, page_size=10)
    fleet = setup.fleet
    assert (await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=tenant.headers())).json()["ok"]
    await run_sync(http, state, setup, "scopes")
    gid = fleet.customer_group_ids[0]
    await map_all(http, setup, only={gid})
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    members = fleet.group_members(gid)
    assert len(members) > 20  # several pages
    victim = members[3]
    fleet.age_out(victim)

    setup.sim.modes.walk_fault = "short_listing"
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] in ("failed", "partial") and run["complete_snapshot"] is False, run
    assert "incomplete" in json.dumps(run["errors"]), run
    assets = await assets_by_device(db, setup, refresh=True)
    assert all(a.missing_since is None and a.status == "active" for a in assets.values())

    setup.sim.modes.walk_fault = None
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded" and run["counters"]["missing"] == 1, run
    assets = await assets_by_device(db, setup, refresh=True)
    assert assets[victim].missing_since is not None
    assert all(a.missing_since is None for eid, a in assets.items() if eid != victim)


def _age_group_out(setup: Setup, gid: str, when: datetime) -> list[str]:
    members = setup.fleet.group_members(gid)
    for eid in members:
        setup.fleet.age_out(eid, last_seen=when)
    return members


async def _prepare_fallback(http: Any, state: Any, transport: Any, tenant: Any) -> tuple[Setup, str, dict[str, str]]:
    setup = await connect(http, transport, tenant, asset_api_fallback=True)
    result = (await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=tenant.headers())).json()
    assert result["ok"] and result["checks"][-1]["name"] == "Asset API", result
    await run_sync(http, state, setup, "scopes")
    gid = setup.fleet.customer_group_ids[1]
    # Long silent before they age out of the Gateway (what really precedes aging out).
    for eid in setup.fleet.group_members(gid):
        setup.fleet.set_last_seen(eid, datetime.now(UTC) - timedelta(days=40))
    clients = await map_all(http, setup, only={gid, setup.fleet.customer_group_ids[0]})
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    return setup, gid, clients


async def test_asset_fallback_keeps_aged_out_endpoints(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup, gid, clients = await _prepare_fallback(http, state, transport, tenant)
    before = await assets_by_device(db, setup, refresh=True)
    assert {str(before[eid].client_id) for eid in setup.fleet.group_members(gid)} <= set(clients.values())
    aged_at = datetime.now(UTC) - timedelta(days=39)
    members = _age_group_out(setup, gid, aged_at)
    assert members and not setup.fleet.group_members(gid)
    for _ in range(2):  # more than one complete snapshot: still present
        run = await run_sync(http, state, setup, "devices")
        assert run["status"] == "succeeded" and run["complete_snapshot"] is True, run
        assert run["counters"]["missing"] == 0 and run["counters"]["created"] == 0, run
    assets = await assets_by_device(db, setup, refresh=True)
    for eid in members:
        asset = assets[eid]
        assert asset.id == before[eid].id and asset.client_id == before[eid].client_id  # owner kept
        assert asset.missing_since is None and asset.status == "active"
        assert ensure_utc(asset.last_seen_at) == aged_at.replace(microsecond=0)  # newer than the Gateway's
        live = compute_status(
            ensure_utc(asset.last_seen_at),
            ensure_utc(asset.offline_at),
            ensure_utc(asset.overdue_at),
            datetime.now(UTC),
        )
        assert live == "overdue"
    legacy = {ep.name for ep in setup.fleet.asset_only}
    assert not legacy & {a.name for a in assets.values()}  # Asset-only rows never become assets

    # An endpoint that is gone from Tanium altogether (no Asset row either) is missing after all.
    gone = members[0]
    setup.fleet.assets.pop(setup.fleet.aged_out[gone].asset_id)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded" and run["counters"]["missing"] == 1, run


async def test_refresh_of_an_unknown_endpoint(http, state, transport, tenant) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(http, transport, tenant, endpoints=30)
    assert (await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=tenant.headers())).json()["ok"]
    await run_sync(http, state, setup, "scopes")
    await map_all(http, setup, only=customer_groups(setup.fleet))
    async with unit_of_work(state.sessionmaker) as session:
        started = await request_sync(
            state, session, tenant.admin_ctx, uuid.UUID(setup.integration_id), "agent", "api", {"external_id": "999999"}
        )
        run_id = started.run.id
    await runner_of(state).wait(run_id, timeout=60)
    run = (await http.get(f"/api/v1/sync-runs/{run_id}", headers=tenant.headers())).json()
    assert run["status"] == "succeeded" and run["counters"] == {"processed": 1, "not_found": 1}, run


async def test_asset_fallback_leaves_unreported_fields_alone(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    """Asset rows carry only their view's attributes (§7.2): a key the row leaves out is "no
    change", so a stored serial number, RAM, CPU or disk list is not wiped by a sparser view."""
    from sqlalchemy import select

    from rmmbridge.storage.models import ServerAsset, WorkstationAsset

    setup, gid, _ = await _prepare_fallback(http, state, transport, tenant)
    members = _age_group_out(setup, gid, datetime.now(UTC) - timedelta(days=39))
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run

    async def details(asset_id: Any) -> dict[str, Any]:
        for table in (WorkstationAsset, ServerAsset):
            row = await db.scalar(select(table).where(table.asset_id == asset_id).execution_options(populate_existing=True))
            if row is not None:
                return {"ram": row.ram_bytes, "cpu": row.cpu_model, "volumes": row.volumes}
        raise AssertionError(f"no extension row for {asset_id}")

    before = await assets_by_device(db, setup, refresh=True)
    stored = {eid: (before[eid].serial_number, await details(before[eid].id)) for eid in members}
    names = {eid: before[eid].name for eid in members}
    assert any(serial and d["ram"] and d["cpu"] and d["volumes"] for serial, d in stored.values())
    setup.sim.modes.asset_omit_keys = ("serial_number", "ram", "cpu_name", "ci_logical_disk")
    for eid in members:  # something the sparser view still reports changes
        setup.fleet.aged_out[eid].name += "-R"
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded" and run["counters"]["updated"] >= len(members), run
    after = await assets_by_device(db, setup, refresh=True)
    for eid in members:
        serial, old = stored[eid]
        now = await details(after[eid].id)
        assert after[eid].serial_number == serial
        assert (now["ram"], now["cpu"], now["volumes"]) == (old["ram"], old["cpu"], old["volumes"])
        assert after[eid].name == names[eid] + "-R"  # what the row does carry is written
