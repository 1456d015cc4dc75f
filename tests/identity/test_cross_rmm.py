"""One asset per machine, end to end through the REST API on SQLite and PostgreSQL, over HTTP against
the Tactical and Tanium simulators sharing a fleet (``--shared-fleet``): exact asset count, every
overlap attached, no junk merges, candidates only for the weak cases, reinstalls keep history,
unmerge restores, never-merge survives re-syncs, a machine leaving one RMM keeps its asset, and
the result does not depend on which integration syncs first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from rmmbridge.identity import coverage as coverage_mod
from rmmbridge.simulators import tacticalrmm as tactical_sim
from rmmbridge.simulators import tanium as tanium_sim
from rmmbridge.simulators.shared_fleet import Manifest, expected_assets, weak_pairs
from rmmbridge.simulators.tacticalrmm.shared import apply_shared_fleet as share_tactical
from rmmbridge.simulators.tacticalrmm.shared import reinstall_agent
from rmmbridge.simulators.tanium.shared import apply_shared_fleet as share_tanium
from rmmbridge.storage.models import Asset, AssetHistory, EventOutbox, ExternalEntityMapping
from rmmbridge.tenancy.auth import system_context
from tests.conftest import run_sync
from tests.events.payloads import check_outbox

SEED, OVERLAP = 7, 0.6


@dataclass
class Side:
    tenant: Any
    integration_id: str
    provider: str
    fleet: Any
    manifest: Manifest


async def _integration(http: Any, tenant: Any, provider: str, url: str, values: dict[str, str]) -> str:
    h = tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": provider}, headers=h)
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    r = await http.put(
        f"/api/v1/integrations/{iid}/credentials", headers=h, json={"instance_url": url, "values": values}
    )
    assert r.status_code == 200, r.text
    r = await http.post(f"/api/v1/integrations/{iid}/test", headers=h)
    assert r.status_code == 200 and r.json()["ok"], r.text
    return iid  # type: ignore[no-any-return]


async def connect_tactical(http: Any, transport: Any, tenant: Any) -> Side:
    fleet = tactical_sim.generate_fleet(seed=41, clients=2, agents=40, sites_per_client=2, now=datetime.now(UTC))
    manifest = share_tactical(fleet, SEED, OVERLAP)
    host = f"tac-{uuid.uuid4().hex[:8]}.example.com"
    transport.add(host, tactical_sim.create_app(fleet, login_rate_per_minute=1000))
    iid = await _integration(
        http, tenant, "tacticalrmm", f"https://{host}", {"api_key": tactical_sim.DEFAULT_CREDENTIALS.api_key}
    )
    return Side(tenant, iid, "tacticalrmm", fleet, manifest)


async def connect_tanium(http: Any, transport: Any, tenant: Any) -> Side:
    fleet = tanium_sim.generate_fleet(seed=23, groups=2, endpoints=30, now=datetime.now(UTC))
    manifest = share_tanium(fleet, SEED, OVERLAP)
    customer = f"t{uuid.uuid4().hex[:8]}"
    host = f"{customer}-api.cloud.tanium.com"
    transport.add(host, tanium_sim.create_app(fleet))
    iid = await _integration(http, tenant, "tanium", f"https://{host}", {"api_token": tanium_sim.DEFAULT_TOKEN})
    return Side(tenant, iid, "tanium", fleet, manifest)


async def map_to(http: Any, state: Any, side: Side, client_id: str, only: set[str] | None = None) -> None:
    """Every scope of the integration (or only ``only``) → one PSA client."""
    h = side.tenant.headers()
    run = await run_sync(http, state, side, "scopes")
    assert run["status"] == "succeeded", run
    items = (await http.get(f"/api/v1/integrations/{side.integration_id}/mappings", headers=h)).json()["items"]
    for m in items:
        if only is not None and m["external_org_id"] not in only:
            continue
        r = await http.patch(
            f"/api/v1/integrations/{side.integration_id}/mappings/{m['id']}", headers=h, json={"client_id": client_id}
        )
        assert r.status_code == 200, r.text


async def setup_both(http: Any, state: Any, transport: Any, tenant: Any) -> tuple[Side, Side, str]:
    h = tenant.headers()
    r = await http.post("/api/v1/clients", headers=h, json={"name": f"Acme {uuid.uuid4().hex[:6]}"})
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    tac = await connect_tactical(http, transport, tenant)
    tan = await connect_tanium(http, transport, tenant)
    await map_to(http, state, tac, client_id)
    await map_to(http, state, tan, client_id, only={tanium_sim.ALL_COMPUTERS_ID})
    return tac, tan, client_id


async def sync(http: Any, state: Any, side: Side) -> dict[str, Any]:
    run = await run_sync(http, state, side, "devices")
    assert run["status"] == "succeeded" and run["complete_snapshot"], run
    return run


async def asset_of(db: Any, side: Side) -> dict[str, uuid.UUID]:
    """The integration's devices → their asset (the crosswalk)."""
    m = ExternalEntityMapping
    rows = await db.execute(
        select(m.external_id, m.local_id).where(
            m.tenant_id == side.tenant.tenant_id,
            m.integration_id == uuid.UUID(side.integration_id),
            m.entity_type == "device",
        )
    )
    return dict(rows.all())


async def live_assets(db: Any, tenant: Any) -> list[Asset]:
    rows = await db.scalars(select(Asset).where(Asset.tenant_id == tenant.tenant_id, Asset.status != "retired"))
    return list(rows.all())


async def candidates(http: Any, tenant: Any, status: str = "open") -> list[dict[str, Any]]:
    r = await http.get(f"/api/v1/identity/candidates?status={status}", headers=tenant.headers())
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def pairs(tac: Side, tan: Side, kind: str = "strong") -> list[tuple[str, str, Any]]:
    """(tactical device, tanium device, machine) for machines both simulators report."""
    by_key = {m.key: eid for eid, m in tan.manifest.machines.items()}
    out = []
    for agent_id, m in tac.manifest.machines.items():
        if m.key in by_key and m.key.startswith("shared:") and (m.weak == (kind == "weak")):
            out.append((agent_id, by_key[m.key], m))
    return out


def _explain(tac: Side, tan: Side, tac_a: dict[str, uuid.UUID], tan_a: dict[str, uuid.UUID]) -> str:
    """Machines whose devices did not land on one asset (the assertion message)."""
    by_machine: dict[str, set[uuid.UUID]] = {}
    for side, found in ((tac, tac_a), (tan, tan_a)):
        for dev, m in side.manifest.machines.items():
            if dev in found and not (m.weak and side.provider == "tacticalrmm"):
                by_machine.setdefault(m.key, set()).add(found[dev])
    split = {k: v for k, v in by_machine.items() if len(v) > 1}
    return f"split machines: {split}; tactical={len(tac_a)} tanium={len(tan_a)}"


async def test_shared_fleet_one_asset_per_machine(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    tac, tan, client_id = await setup_both(http, state, transport, tenant)
    await sync(http, state, tac)
    await sync(http, state, tan)
    expected = expected_assets(("tacticalrmm", tac.manifest), ("tanium", tan.manifest))
    assets = await live_assets(db, tenant)
    tac_assets, tan_assets = await asset_of(db, tac), await asset_of(db, tan)
    assert len(assets) == expected, _explain(tac, tan, tac_assets, tan_assets)

    # Every overlap attached: the two devices of a shared machine are one asset with two sources.
    strong = pairs(tac, tan)
    assert len(strong) >= 10
    for agent_id, eid, _m in strong:
        assert tac_assets[agent_id] == tan_assets[eid], (agent_id, eid)
    # The asset shows both sources, each with its own status; precedence: Tactical names it.
    agent_id, eid, machine = next(p for p in strong if p[2].renamed)
    out = (await http.get(f"/api/v1/assets/{tac_assets[agent_id]}", headers=tenant.headers())).json()
    assert {s["provider"] for s in out["sources"]} == {"tacticalrmm", "tanium"}
    assert all(s["status"] in ("online", "offline", "overdue", "unknown") for s in out["sources"])
    assert out["name"] == machine.hostname  # the Tanium side still has "-OLD"
    assert any(h["action"] == "attached" for h in out["history"])

    # Stale duplicates (an old install's agent still listed) are the same machine.
    dupes: dict[str, set[uuid.UUID]] = {}
    for agent, m in tac.manifest.machines.items():
        if m.stale_duplicate:
            dupes.setdefault(m.key, set()).add(tac_assets[agent])
    assert dupes and all(len(ids) == 1 for ids in dupes.values())

    # No junk merges: template clones (junk serial, template UUID) stay separate machines.
    clones = [tac_assets[a] for a, m in tac.manifest.machines.items() if m.key.startswith("tacticalrmm-clone")]
    clones += [tan_assets[e] for e, m in tan.manifest.machines.items() if m.key.startswith("tanium-clone")]
    assert len(clones) == 6 and len(set(clones)) == 6

    # Candidates for the weak cases only: exactly one per weak machine, between its two devices.
    weak = pairs(tac, tan, "weak")
    assert weak and len(weak_pairs(("tacticalrmm", tac.manifest), ("tanium", tan.manifest))) == len(weak)
    open_ = await candidates(http, tenant)
    assert len(open_) == len(weak), open_
    want = {frozenset((str(tac_assets[a]), str(tan_assets[e]))) for a, e, _ in weak}
    assert {frozenset((c["asset_a"]["id"], c["asset_b"]["id"])) for c in open_} == want
    assert all(0 < c["score"] < 100 and {e["kind"] for e in c["evidence"]} <= {"mac", "host"} for c in open_)

    # A re-sync of unchanged data changes nothing.
    run = await sync(http, state, tac)
    assert run["counters"]["created"] == 0 and run["counters"]["updated"] == 0, run
    assert len(await live_assets(db, tenant)) == expected

    # Coverage: Tanium-only and Tactical-only machines of the client, as JSON and CSV.
    r = await http.get(f"/api/v1/identity/coverage?client_id={client_id}", headers=tenant.headers())
    assert r.status_code == 200, r.text
    cov = r.json()
    gaps = [row for row in cov["items"] if row["kind"] == "gap"]
    both = {str(tac_assets[a]) for a, _e, _m in strong}
    assert gaps and not {g["asset_id"] for g in gaps} & both
    assert cov["clients"][client_id]["machines"] == expected
    events = (
        await db.execute(
            select(EventOutbox.event_type, EventOutbox.payload).where(EventOutbox.tenant_id == tenant.tenant_id)
        )
    ).all()
    kinds = [e for e, _ in events]
    assert kinds.count("asset.source_attached") >= len(strong) and "asset.merge_proposed" in kinds
    changed = [p for e, p in events if e == "coverage.changed"]
    assert changed and changed[-1]["gaps"] == len(gaps)
    # The event's counts (counted in the database) are the full report's numbers.
    ctx = system_context(tenant.tenant_id, "test")
    full = await coverage_mod.coverage(db, ctx)
    counts, totals = await coverage_mod.coverage_counts(db, ctx)
    assert totals == full.totals() and totals["duplicates"] and totals["gaps"]
    assert counts == {
        cid: {"gaps": sum(c["gaps"].values()), "duplicates": c["duplicates"], "by_pair": c["gaps"]}
        for cid, c in sorted(full.clients.items())
        if c["gaps"] or c["duplicates"]
    }
    assert changed[-1]["clients"] == counts
    r = await http.get(f"/api/v1/identity/coverage?client_id={client_id}&format=csv", headers=tenant.headers())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert len(r.text.strip().splitlines()) == len(cov["items"]) + 1
    # Every event written matches its catalogue schema.
    seen = await check_outbox(db, tenant.tenant_id)
    assert {"asset.source_attached", "asset.merge_proposed", "coverage.changed"} <= set(seen), seen


async def test_reinstall_unmerge_never_merge_and_leaving(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    tac, tan, _client_id = await setup_both(http, state, transport, tenant)
    h = tenant.headers()
    await sync(http, state, tac)
    await sync(http, state, tan)
    total = len(await live_assets(db, tenant))
    strong = pairs(tac, tan)
    tac_assets = await asset_of(db, tac)

    # Reinstall: a new agent on the same machine → the same asset, history kept, no new asset.
    agent_id, _eid, _machine = strong[0]
    asset_id = tac_assets[agent_id]
    old_pk = tac.fleet.agent_by_agent_id(agent_id).pk
    before = len((await db.scalars(select(AssetHistory).where(AssetHistory.asset_id == asset_id))).all())
    new_agent = reinstall_agent(tac.fleet, old_pk, tac.manifest)
    await sync(http, state, tac)
    tac_assets = await asset_of(db, tac)
    assert tac_assets[new_agent.agent_id] == asset_id
    assert len(await live_assets(db, tenant)) == total
    out = (await http.get(f"/api/v1/assets/{asset_id}", headers=h)).json()
    assert out["status"] == "active"
    assert len(out["history"]) > before or len(out["history"]) == 50
    by_device = {s["external_id"]: s for s in out["sources"]}
    assert by_device[agent_id]["status"] == "missing" and by_device[new_agent.agent_id]["status"] != "missing"

    # A machine leaving one RMM keeps its asset while the other still sees it.
    agent2, eid2, _ = strong[1]
    kept = tac_assets[agent2]
    tan.fleet.remove_endpoint(eid2, keep_asset=False)
    await sync(http, state, tan)
    row = await db.get(Asset, (tenant.tenant_id, kept))
    await db.refresh(row)
    assert row.status == "active" and row.missing_since is None
    out = (await http.get(f"/api/v1/assets/{kept}", headers=h)).json()
    assert {s["provider"]: s["status"] == "missing" for s in out["sources"]} == {"tacticalrmm": False, "tanium": True}

    # Unmerge the Tanium source of a shared asset: two assets, each exactly as its source says.
    agent3, eid3, machine3 = (
        next(p for p in strong[2:] if p[2].renamed) if any(p[2].renamed for p in strong[2:]) else strong[2]
    )
    merged = tac_assets[agent3]
    out = (await http.get(f"/api/v1/assets/{merged}", headers=h)).json()
    tanium_source = next(s for s in out["sources"] if s["provider"] == "tanium")
    r = await http.post(
        "/api/v1/identity/unmerge", headers=h, json={"asset_id": str(merged), "mapping_id": tanium_source["mapping_id"]}
    )
    assert r.status_code == 200, r.text
    restored = r.json()["restored"]
    assert len(await live_assets(db, tenant)) == total + 1
    a = (await http.get(f"/api/v1/assets/{merged}", headers=h)).json()
    b = (await http.get(f"/api/v1/assets/{restored}", headers=h)).json()
    assert [s["provider"] for s in a["sources"]] == ["tacticalrmm"] and [s["provider"] for s in b["sources"]] == [
        "tanium"
    ]
    endpoint = tan.fleet.endpoints[eid3]
    assert b["name"] == endpoint.name and b["serial_number"] == endpoint.serial_number
    assert a["name"] == machine3.hostname
    assert any(x["action"] == "unmerged" for x in a["history"])
    # Never merge survives re-syncs (both RMMs again, even with changed data).
    tan.fleet.endpoints[eid3].name = "renamed-in-tanium"
    await sync(http, state, tac)
    await sync(http, state, tan)
    assert (await asset_of(db, tan))[eid3] == uuid.UUID(restored)
    never = await candidates(http, tenant, "never")
    assert any({c["asset_a"]["id"], c["asset_b"]["id"]} == {str(merged), restored} for c in never)
    r = await http.post("/api/v1/identity/merge", headers=h, json={"keep": str(merged), "other": restored})
    assert r.status_code == 409, r.text

    # Merge a weak candidate from the queue, then unmerge it: the other asset comes back (same id).
    cand = (await candidates(http, tenant))[0]
    r = await http.post(f"/api/v1/identity/candidates/{cand['id']}/merge", headers=h)
    assert r.status_code == 200, r.text
    keep, other = cand["asset_a"]["id"], cand["asset_b"]["id"]
    gone = await db.get(Asset, (tenant.tenant_id, uuid.UUID(other)))
    await db.refresh(gone)
    assert gone.status == "retired"
    out = (await http.get(f"/api/v1/assets/{keep}", headers=h)).json()
    assert len(out["sources"]) == 2
    moved = next(s for s in out["sources"] if s["origin_asset_id"] == other)
    r = await http.post(
        "/api/v1/identity/unmerge", headers=h, json={"asset_id": keep, "mapping_id": moved["mapping_id"]}
    )
    assert r.status_code == 200 and r.json()["restored"] == other, r.text
    await db.refresh(gone)
    assert gone.status == "active"
    back = (await http.get(f"/api/v1/assets/{other}", headers=h)).json()
    assert [s["mapping_id"] for s in back["sources"]] == [moved["mapping_id"]]
    assert {x["action"] for x in back["history"]} >= {"merged", "unmerged"}
    # Bad input: 4xx with a reason.
    r = await http.post("/api/v1/identity/unmerge", headers=h, json={"asset_id": keep, "mapping_id": str(uuid.uuid4())})
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    # Every event written matches its catalogue schema; a merge retires the merged-away asset.
    assert {"asset.merged", "asset.unmerged", "asset.retired"} <= set(await check_outbox(db, tenant.tenant_id))
    retired = (
        await db.execute(
            select(EventOutbox.payload).where(
                EventOutbox.tenant_id == tenant.tenant_id,
                EventOutbox.event_type == "asset.retired",
                EventOutbox.entity_id == other,
            )
        )
    ).scalar_one()
    assert retired == {"merged_into": keep}


async def test_sync_order_does_not_matter(http, state, transport, tenant, other_tenant, db) -> None:  # type: ignore[no-untyped-def]
    first = await setup_both(http, state, transport, tenant)
    second = await setup_both(http, state, transport, other_tenant)
    await sync(http, state, first[0])
    await sync(http, state, first[1])
    await sync(http, state, second[1])  # Tanium first this time
    await sync(http, state, second[0])
    assert len(await live_assets(db, tenant)) == len(await live_assets(db, other_tenant))
    one, two = await candidates(http, tenant), await candidates(http, other_tenant)
    assert len(one) == len(two)

    def partition(
        side_tac: Side, side_tan: Side, tac_a: dict[str, uuid.UUID], tan_a: dict[str, uuid.UUID]
    ) -> set[frozenset[str]]:
        groups: dict[uuid.UUID, set[str]] = {}
        for dev, aid in tac_a.items():
            groups.setdefault(aid, set()).add(
                f"tac:{side_tac.manifest.machines[dev].key}:{dev in side_tac.manifest.machines}"
            )
        for dev, aid in tan_a.items():
            groups.setdefault(aid, set()).add(f"tan:{side_tan.manifest.machines[dev].key}")
        return {frozenset(g) for g in groups.values()}

    p1 = partition(first[0], first[1], await asset_of(db, first[0]), await asset_of(db, first[1]))
    p2 = partition(second[0], second[1], await asset_of(db, second[0]), await asset_of(db, second[1]))
    shared1 = {g for g in p1 if any(":shared:" in x for x in g)}
    shared2 = {g for g in p2 if any(":shared:" in x for x in g)}
    assert shared1 == shared2
