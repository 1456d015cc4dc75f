"""A liveness pass against a full device sync over the same Tactical fleet (issue #11's cost rule).

    python -m bench.liveness_vs_sync --agents 20000 --db sqlite

The simulator runs in its own process on loopback (as in ``bench.sync``). Steps: a full device sync
(timed), a first pass (writes every liveness row), then every online agent checks in and 1 % of
them stop (10 minutes without a check-in), and the measured pass. Prints one JSON object:
``full_sync_s``, ``first_pass_s``, ``pass_s``, ``ratio`` = pass_s / full_sync_s and the runs'
counters (requests, rows, rows_written, status_changed). The target is ratio <= 0.2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any

import httpx

from rmmbridge.config import Settings
from rmmbridge.simulators.tacticalrmm import DEFAULT_API_KEY
from rmmbridge.sync.runner import runner_of

from . import common
from .support import free_port, registry
from .sync import SECRET_KEY, _connected_tenant, _run, _wait_port


async def _stop_one_percent(base: str, agents: int) -> None:
    async with httpx.AsyncClient(base_url=base, headers={"X-API-KEY": DEFAULT_API_KEY}, timeout=600) as sim:
        await sim.post("/_sim/settings", json={"live_agents": True})
        await sim.post("/_sim/heartbeat")  # every online agent's last_seen moves, as between two real passes
        now = datetime.fromisoformat((await sim.get("/_sim/state")).json()["now"].replace("Z", "+00:00"))
        pks = {r["agent_id"]: r["id"] for r in (await sim.get("/agents/", params={"detail": "false"})).json()}
        online = [r["agent_id"] for r in (await sim.get("/agents/")).json() if r["status"] == "online"]
        for agent_id in online[: agents // 100]:
            body = {"last_seen": (now - timedelta(minutes=10)).isoformat(), "live": False}
            await sim.post(f"/_sim/agents/{pks[agent_id]}", json=body)


async def main(agents: int, db_kind: str) -> dict[str, Any]:
    from rmmbridge.app import build_state

    port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "bench.support", "simulate", "--port", str(port),
                            "--provider", "tacticalrmm", "--agents", str(agents)],
                           env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=tempfile.TemporaryFile())
    db = await common.fresh_database(db_kind)
    state = build_state(Settings(database_url=db.url, secret_key=SECRET_KEY, scheduler_enabled=False,
                                 allow_insecure_provider_urls=True), registry=registry())
    timings: dict[str, float] = {}
    results: dict[str, dict[str, Any]] = {}
    try:
        await _wait_port(port)
        ctx, integration_id = await _connected_tenant(state, "tacticalrmm", agents, port)
        for name, kind in (("full_sync", "devices"), ("first_pass", "liveness"), ("pass", "liveness")):
            if name == "pass":
                await _stop_one_percent(f"http://127.0.0.1:{port}", agents)
            started = time.perf_counter()
            results[name] = await _run(state, ctx, integration_id, kind)
            timings[name] = time.perf_counter() - started
            assert results[name]["status"] == "succeeded", results[name]
    finally:
        sim.terminate()
        sim.wait(10)
        await runner_of(state).stop()
        await state.engine.dispose()
        await common.dispose(db)
    return {
        "agents": agents,
        "db": db_kind,
        "full_sync_s": round(timings["full_sync"], 2),
        "first_pass_s": round(timings["first_pass"], 2),
        "pass_s": round(timings["pass"], 2),
        "ratio": round(timings["pass"] / timings["full_sync"], 3),
        "pass_counters": results["pass"]["counters"],
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=20000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.agents, args.db))))


if __name__ == "__main__":
    cli()
