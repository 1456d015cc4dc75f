"""Software inventory benchmark: the streamed ``GET /software/`` from the simulator on a real loopback port,
ingested into a fresh database, then ingested again unchanged.

    python -m bench.software --provider tacticalrmm --agents 5000 --db postgres --json

Prints one JSON object: agents, installations (installed versions stored; side-by-side versions count
apart), first_s (first inventory: every installation written), unchanged_s (the same inventory again:
every list skipped by its digest, no installation row written), rows_written_again (must be 0) and
peak_rss_mb (the stream is parsed one agent at a time, so memory does not grow with the fleet).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from sqlalchemy import func, select

from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import AssetSoftware

from . import common
from .support import free_port
from .sync import _connected_tenant, _run, _wait_port, bench_state, start_simulator, stop_bench


async def _fingerprint(state: Any) -> tuple[int, Any]:
    """(rows, newest last_seen_at): an unchanged inventory must leave both as they were."""
    async with unit_of_work(state.sessionmaker, read_only=True) as s:
        rows, newest = (await s.execute(select(func.count(), func.max(AssetSoftware.last_seen_at)))).one()
    return int(rows), newest


async def main(provider: str, agents: int, db_kind: str) -> dict[str, Any]:
    port = free_port()
    sim = start_simulator(port, provider, agents)
    db = await common.fresh_database(db_kind)
    state = bench_state(db.url)
    try:
        await _wait_port(port)
        ctx, integration_id = await _connected_tenant(state, provider, agents, port)
        devices = await _run(state, ctx, integration_id, "devices")
        assert devices["status"] == "succeeded", devices
        started = time.perf_counter()
        first = await _run(state, ctx, integration_id, "software")
        first_s = time.perf_counter() - started
        assert first["status"] == "succeeded", first
        before = await _fingerprint(state)
        started = time.perf_counter()
        again = await _run(state, ctx, integration_id, "software")
        unchanged_s = time.perf_counter() - started
        assert again["status"] == "succeeded", again
        after = await _fingerprint(state)
        rss = common.peak_rss_mb()
    finally:
        await stop_bench(sim, state, db)
    c1, c2 = first["counters"], again["counters"]
    return {
        "provider": provider, "agents": agents, "db": db_kind,
        "devices_with_inventory": c1["devices"], "installations": c1["installations"], "stored_rows": before[0],
        "first_s": round(first_s, 3), "unchanged_s": round(unchanged_s, 3),
        "devices_unchanged": c2.get("devices_unchanged"),
        # Rows added or stamped by the second pass (0 when unchanged lists are skipped).
        "rows_written_again": (after[0] - before[0]) + (c2["installations"] if after[1] != before[1] else 0),
        "peak_rss_mb": rss,
    }  # fmt: skip


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", default="tacticalrmm")
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main(args.provider, args.agents, args.db))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    cli()
