"""Scheduler tick benchmark: what deciding "what is due" costs with many integrations and a long
run history (a liveness pass every minute leaves 1,440 runs per integration per day).

    python -m bench.schedules --integrations 200 --history 1440 --db postgres --json

Prints one JSON object: integrations, history (finished liveness runs per integration), runs
(total rows in sync_runs), tick_ms_median / tick_ms_max over ``--ticks`` calls of
``sync.scheduler.due_schedules`` (the read phase of every tick, direct and Temporal) with nothing
due, and due (how many were found due: 0 expected, then the integrations' count once time passes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, update

from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.registry import builtin_registry
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration, ScheduleState, SyncRun
from rmmbridge.sync.scheduler import due_schedules

from . import common

ONLY_LIVENESS = {
    "schedules": {
        "liveness": {"enabled": True, "interval_seconds": 60},
        "devices": {"enabled": False},
        "alerts": {"enabled": False},
        "software": {"enabled": False},
    }
}
CHUNK = 5000


async def populate(db: common.BenchDb, integrations: int, history: int) -> list[uuid.UUID]:
    """Active Tactical integrations, each fired a second ago, with ``history`` finished passes."""
    now = utcnow()
    ids = []
    for _ in range(integrations):
        t = await common.new_tenant(db, scopes=1)
        ids.append(t.integration_id)
        async with unit_of_work(db.sessionmaker) as s:
            await s.execute(
                update(RmmIntegration)
                .where(RmmIntegration.tenant_id == t.ctx.tenant_id, RmmIntegration.id == t.integration_id)
                .values(is_active=True, state="connected", settings=ONLY_LIVENESS)
            )
            s.add(
                ScheduleState(
                    tenant_id=t.ctx.tenant_id,
                    integration_id=t.integration_id,
                    kind="liveness",
                    last_fired_at=now - timedelta(seconds=1),
                    next_due_at=now,
                )
            )
            rows: list[dict[str, Any]] = []
            for i in range(history):
                started = now - timedelta(minutes=history - i)
                rows.append(
                    {
                        "tenant_id": t.ctx.tenant_id,
                        "id": uuid7(),
                        "integration_id": t.integration_id,
                        "kind": "liveness",
                        "trigger": "schedule",
                        "target": "",
                        "status": "succeeded",
                        "params": {},
                        "counters": {},
                        "progress": {},
                        "errors": [],
                        "complete_snapshot": False,
                        "created_at": started,
                        "started_at": started,
                        "finished_at": started + timedelta(seconds=2),
                    }
                )
                if len(rows) >= CHUNK:
                    await s.execute(insert(SyncRun), rows)
                    rows = []
            if rows:
                await s.execute(insert(SyncRun), rows)
    if db.url.startswith("postgresql"):
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE sync_runs")
            await conn.commit()
    return ids


async def main(integrations: int, history: int, db_kind: str, ticks: int) -> dict[str, Any]:
    db = await common.fresh_database(db_kind)
    registry = builtin_registry()
    try:
        await populate(db, integrations, history)
        async with unit_of_work(db.sessionmaker) as s:  # populating takes minutes: each just fired
            await s.execute(update(ScheduleState).values(last_fired_at=utcnow()))
        timings = []
        found = 0
        for _ in range(ticks):
            began = time.perf_counter()
            found = len(await due_schedules(db.sessionmaker, registry, utcnow()))
            timings.append((time.perf_counter() - began) * 1000)
        due_later = len(await due_schedules(db.sessionmaker, registry, utcnow() + timedelta(seconds=61)))
    finally:
        await common.dispose(db)
    return {
        "integrations": integrations,
        "history": history,
        "runs": integrations * history,
        "db": db_kind,
        "tick_ms_median": round(statistics.median(timings), 2),
        "tick_ms_max": round(max(timings), 2),
        "due": found,
        "due_61s_later": due_later,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--integrations", type=int, default=200)
    parser.add_argument("--history", type=int, default=1440, help="finished liveness runs per integration")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    result = asyncio.run(main(args.integrations, args.history, args.db, args.ticks))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    cli()
