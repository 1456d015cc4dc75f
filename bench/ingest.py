"""Ingestion benchmark: the shared pipeline against the physical floor and a naive loop.

    python -m bench.ingest --devices 20000 --db postgres --json

Prints one JSON object: devices, ingest_s (first sync through the pipeline), reingest_s (same
snapshots again, nothing changed), limit_s (the same rows — assets, extensions, crosswalk,
history, events, and since live status and cross-RMM identity also each asset's liveness row and
each device's source and identity evidence — written with one bulk insert per table per chunk),
limit_core_s (the first five tables only, the floor as it was before those three), naive_s (a per-device
select-then-insert loop, as existing integrations do), ratio_to_limit, speedup_vs_naive and
peak_rss_mb (peak resident memory after the pipeline phases).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

from sqlalchemy import insert, select

from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.ingestion.devices import (
    ASSETS,
    EXTENSION_FIELDS,
    EXTENSION_TABLES,
    MAPPINGS,
    DeviceIngestor,
    _digest,
    _jsonable,
)
from rmmbridge.ingestion.liveness import recompute_status
from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import DevicePage
from rmmbridge.providers.identity_evidence import evidence_of, keys_of
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.maintenance import GrowthAnalyzer
from rmmbridge.storage.models import AssetHistory

from . import common
from .fleet import pages, shared_pages

CHUNK = 5000


async def pipeline(
    db: common.BenchDb, t: common.Tenant, n: int, scopes: int, source: Any = None, integration_id: Any = None
) -> float:
    integration_id = integration_id or t.integration_id
    ingestor = DeviceIngestor(t.ctx, integration_id, "tacticalrmm", uuid.uuid4(), t.realm_clients, "bench")
    analyzer = GrowthAnalyzer()
    elapsed = 0.0
    # Only the pipeline is timed: generating the snapshots stands in for the provider's work.
    for page in source if source is not None else pages(n, scopes):
        started = time.perf_counter()
        async with unit_of_work(db.sessionmaker) as s:
            outcome = await ingestor.ingest(s, DevicePage(page), utcnow())
            await analyzer.after_page(s, outcome.counters.created)  # as the device sync job does
        elapsed += time.perf_counter() - started
    started = time.perf_counter()
    async with unit_of_work(db.sessionmaker) as s:
        await recompute_status(s, t.ctx, integration_id, utcnow())
    return elapsed + time.perf_counter() - started


async def pipeline_shared(db: common.BenchDb, t: common.Tenant, second: Any, n: int, scopes: int, overlap: float) -> float:
    """Two integrations over one fleet: the second's shared machines are attached by correlation."""
    first = await pipeline(db, t, n, scopes, shared_pages(n, scopes, overlap, 0))
    return first + await pipeline(db, t, n, scopes, shared_pages(n, scopes, overlap, 1), second)


def _rows(t: common.Tenant, snaps: list[Any], now: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"assets": [], "workstation": [], "server": [], "mappings": [],
                                            "history": [], "events": [], "liveness": [], "sources": [],
                                            "evidence": []}
    tid = t.ctx.tenant_id
    for snap in snaps:
        aid = uuid7()
        mid = uuid7()
        client = t.realm_clients[snap.realm_id]
        out["assets"].append({
            "tenant_id": tid, "id": aid, "client_id": client, "asset_type": snap.asset_type, "name": snap.name,
            "serial_number": snap.serial_number, "status": "active", "rmm_provider": "tacticalrmm",
            "rmm_integration_id": t.integration_id, "rmm_device_id": snap.external_id,
            "rmm_organization_id": snap.realm_id, "rmm_site_id": snap.site_id, "rmm_site_name": snap.site_name,
            "agent_status": "online", "last_seen_at": snap.last_seen_at, "offline_after_s": 240,
            "overdue_after_s": 1800, "offline_at": snap.last_seen_at, "overdue_at": snap.last_seen_at,
            "last_rmm_sync_at": now, "missing_snapshots": 0, "overrides": [], "created_at": now, "updated_at": now,
        })
        out[snap.asset_type].append({"tenant_id": tid, "asset_id": aid, "updated_at": now,
                                     **{f: _jsonable(getattr(snap, f)) for f in EXTENSION_FIELDS}})
        out["mappings"].append({
            "tenant_id": tid, "id": mid, "integration_id": t.integration_id, "entity_type": "device",
            "external_id": snap.external_id, "local_id": aid, "external_ref": snap.external_ref,
            "realm_id": snap.realm_id, "site_id": snap.site_id, "content_hash": _digest(snap, client),
            "last_seen_run_id": None, "created_at": now, "updated_at": now,
        })
        out["history"].append({"tenant_id": tid, "id": uuid7(), "asset_id": aid, "action": "created",
                               "actor": "bench", "changes": {}, "created_at": now})
        out["events"].append(event_row(tid, "asset.created", "asset", aid, {"external_id": snap.external_id}, now))
        out["liveness"].append({
            "tenant_id": tid, "asset_id": aid, "integration_id": t.integration_id, "last_seen_at": snap.last_seen_at,
            "offline_after_s": 240, "overdue_after_s": 1800, "offline_at": snap.last_seen_at,
            "overdue_at": snap.last_seen_at, "observed_at": now, "fresh_until": None, "status": "online",
            "status_changed_at": now, "needs_reboot": snap.needs_reboot, "current_user": snap.current_user,
            "boot_time": snap.boot_time,
        })
        keys = keys_of(evidence_of(snap))
        out["sources"].append({
            "tenant_id": tid, "mapping_id": mid, "asset_id": aid, "integration_id": t.integration_id,
            "provider": "tacticalrmm", "external_id": snap.external_id, "origin_asset_id": aid, "client_id": client,
            "fields": {"_keys": _digest(snap, client)}, "last_seen_at": snap.last_seen_at, "missing_since": None,
            "attached_at": now, "attached_by": "bench", "updated_at": now,
        })
        out["evidence"].extend({
            "tenant_id": tid, "mapping_id": mid, "asset_id": aid, "integration_id": t.integration_id,
            "client_id": client, "kind": k.kind, "value": k.value, "vendor": k.vendor,
        } for k in keys)
    return out


CORE_TABLES = ("assets", "workstation", "server", "mappings", "history", "events")


async def limit(
    db: common.BenchDb, t: common.Tenant, n: int, scopes: int, overlap: float | None = None,
    only: tuple[str, ...] | None = None,
) -> float:
    """The physical floor: the same rows, one bulk insert per table per chunk, no reads (``only``:
    just these tables)."""
    from rmmbridge.storage.models import AssetLiveness, AssetSource, EventOutbox, IdentityEvidenceRow

    tables = {"assets": ASSETS, "workstation": EXTENSION_TABLES["workstation"], "server": EXTENSION_TABLES["server"],
              "mappings": MAPPINGS, "history": AssetHistory.__table__, "events": EventOutbox.__table__,
              "liveness": AssetLiveness.__table__, "sources": AssetSource.__table__,
              "evidence": IdentityEvidenceRow.__table__}
    if only is not None:
        tables = {key: table for key, table in tables.items() if key in only}
    analyzer = GrowthAnalyzer()  # the floor gets fresh planner statistics too
    elapsed = 0.0
    chunks: Any = pages(n, scopes, page_size=CHUNK)
    if overlap is not None:  # the same device rows (each integration's), one asset per device row
        chunks = [c for side in (0, 1) for c in shared_pages(n, scopes, overlap, side, page_size=CHUNK)]
    for chunk in chunks:
        rows = _rows(t, chunk, utcnow())  # row building is not timed: the floor is the writing
        started = time.perf_counter()
        async with unit_of_work(db.sessionmaker) as s:
            for key, table in tables.items():
                if rows[key] and key == "events":
                    await write_events(s, rows[key])  # events carry their transaction's number
                elif rows[key]:
                    await s.execute(insert(table), rows[key])
            await analyzer.after_page(s, len(chunk))
        elapsed += time.perf_counter() - started
    return elapsed


async def naive(db: common.BenchDb, t: common.Tenant, n: int, scopes: int) -> float:
    """What existing integrations do: per device, look up the mapping, then insert or update."""
    elapsed = 0.0
    for page in pages(n, scopes):
        started = time.perf_counter()
        async with unit_of_work(db.sessionmaker) as s:
            for snap in page:
                found = await s.scalar(select(MAPPINGS.c.local_id).where(
                    MAPPINGS.c.tenant_id == t.ctx.tenant_id, MAPPINGS.c.integration_id == t.integration_id,
                    MAPPINGS.c.entity_type == "device", MAPPINGS.c.external_id == snap.external_id))
                if found is None:
                    rows = _rows(t, [snap], utcnow())
                    await s.execute(insert(ASSETS).values(rows["assets"][0]))
                    await s.execute(insert(EXTENSION_TABLES[snap.asset_type]).values(rows[snap.asset_type][0]))
                    await s.execute(insert(MAPPINGS).values(rows["mappings"][0]))
                    await s.execute(insert(AssetHistory.__table__).values(rows["history"][0]))
                    await write_events(s, rows["events"][:1])
        elapsed += time.perf_counter() - started
    return elapsed


async def main(
    devices: int, db_kind: str, scopes: int, skip_naive: bool, overlap: float | None = None
) -> dict[str, Any]:
    db = await common.fresh_database(db_kind)
    try:
        t1 = await common.new_tenant(db, scopes)
        if overlap is None:
            ingest_s = await pipeline(db, t1, devices, scopes)
            reingest_s = await pipeline(db, t1, devices, scopes)
        else:
            second = await common.second_integration(db, t1)
            ingest_s = await pipeline_shared(db, t1, second, devices, scopes, overlap)
            reingest_s = await pipeline_shared(db, t1, second, devices, scopes, overlap)
            skip_naive = True
        rss = common.peak_rss_mb()
        t2 = await common.new_tenant(db, scopes)
        limit_s = await limit(db, t2, devices, scopes, overlap)
        t4 = await common.new_tenant(db, scopes)
        limit_core_s = await limit(db, t4, devices, scopes, overlap, only=CORE_TABLES)
        naive_s = None
        if not skip_naive:
            t3 = await common.new_tenant(db, scopes)
            naive_s = await naive(db, t3, devices, scopes)
    finally:
        await common.dispose(db)
    return {
        "devices": devices, "db": db_kind, "scopes": scopes, "overlap": overlap,
        "ingest_s": round(ingest_s, 3), "reingest_s": round(reingest_s, 3), "limit_s": round(limit_s, 3),
        "limit_core_s": round(limit_core_s, 3), "ratio_to_core_limit": round(ingest_s / limit_core_s, 3),
        "naive_s": round(naive_s, 3) if naive_s is not None else None,
        "ratio_to_limit": round(ingest_s / limit_s, 3),
        "speedup_vs_naive": round(naive_s / ingest_s, 2) if naive_s is not None else None,
        "reingest_ratio": round(reingest_s / ingest_s, 3),
        "peak_rss_mb": rss,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=20000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--scopes", type=int, default=20)
    parser.add_argument("--skip-naive", action="store_true", help="skip the (slow) naive loop")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument(
        "--overlap", type=float, default=None,
        help="two integrations, half the devices each, this share of the second's machines also in the first",
    )
    args = parser.parse_args()
    result = asyncio.run(main(args.devices, args.db, args.scopes, args.skip_naive, args.overlap))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    cli()
