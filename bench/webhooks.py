"""Webhook receiver benchmark: sustained requests/s and latency percentiles.

    python -m bench.webhooks --db postgres --json [--provider tacticalrmm] [--seconds 20]

The service runs in its own processes (uvicorn, ``--workers`` of them, the direct runner executing the
coalesced device refreshes against the provider's simulator), seeded with a synced fleet; a
separate load generator keeps ``--concurrency`` deliveries in flight for ``--seconds`` and
reports requests/s and p50/p95/p99 latency over the accepted deliveries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
from typing import Any

from . import common
from .loadgen import post_load
from .support import free_port, seed_tenant_with_fleet, wait_healthy, wait_runs_idle

SECRET_KEY = "q2Yk3VdC5xq9o7kq2l7yQn4uM3Gq4m0y3cR9rA0d1xI="


def payload_factory(provider: str, devices: list[dict[str, str]]) -> Any:
    rng = random.Random(7)
    counter = {"n": 0}

    def pick() -> dict[str, str]:
        # The first pass visits every device once (the warm-up), then devices are drawn at random.
        n = counter["n"]
        return devices[n - 1] if n <= len(devices) else rng.choice(devices)

    def tactical() -> dict[str, Any]:
        counter["n"] += 1
        device = pick()
        resolve = counter["n"] % 5 == 0
        alert_id = counter["n"] - 1 if resolve else counter["n"]  # resolves follow their trigger
        return {"agent_id": device["external_id"], "agent_pk": device.get("external_ref"), "alert_id": alert_id,
                "event": "resolved" if resolve else "trigger", "severity": rng.choice(["info", "warning", "error"]),
                "alert_type": "check", "message": f"Disk space check failed ({counter['n']})",
                "alert_time": "2026-11-23 12:00:00.000000+00:00", "hostname": device.get("name", "")}

    def tiny() -> dict[str, Any]:
        counter["n"] += 1
        device = pick()
        return {"id": f"a{counter['n']}", "device": device["external_id"], "severity": "warning",
                "resolved": counter["n"] % 5 == 0}

    return tactical if provider == "tacticalrmm" else tiny


def _tree_cpu_seconds(root: int) -> float:
    """User+system CPU of a process and its children (the uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [root]
    while pids:
        pid = pids.pop()
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                pids.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _machine_busy() -> tuple[float, float, float]:
    """(busy, steal, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    idle, steal = values[3] + values[4], values[7] if len(values) > 7 else 0
    return sum(values) - idle - steal, steal, sum(values)


async def load(url: str, header: str, secret: str, make: Any, seconds: float, concurrency: int,
               total: int | None = None) -> dict[str, Any]:
    result = await post_load(url, make, {header: secret}, seconds, concurrency, total)
    return result.summary()


async def main(db_kind: str, provider: str, seconds: float, concurrency: int, agents: int,
               workers: int) -> dict[str, Any]:
    db = await common.fresh_database(db_kind)
    server = None
    try:
        seeded = await seed_tenant_with_fleet(db, provider, agents, SECRET_KEY)
        port = free_port()
        env = {**os.environ, "RMMBRIDGE_DATABASE_URL": db.url, "RMMBRIDGE_SECRET_KEY": SECRET_KEY,
               "RMMBRIDGE_SCHEDULER_ENABLED": "false", "RMMBRIDGE_LOG_LEVEL": "WARNING"}
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.support", "serve", "--port", str(port), "--provider", provider,
             "--agents", str(agents), "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=tempfile.TemporaryFile(),  # a pipe nobody reads would fill
        )
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base)
        make = payload_factory(provider, seeded["devices"])
        # Warm-up: every device gets a first alert (and so a refresh); the measured window is the
        # steady state, in which refreshes are debounced per device.
        await load(f"{base}/api/webhooks/{provider}", seeded["header"], seeded["secret"], make, 120, concurrency,
                   total=len(seeded["devices"]))
        await wait_runs_idle(db)
        cpu_before, machine_before = _tree_cpu_seconds(server.pid), _machine_busy()
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        result = await load(f"{base}/api/webhooks/{provider}", seeded["header"], seeded["secret"], make, seconds,
                            concurrency)
        # Server CPU per delivery: the figure that says what the receiver costs, whatever the
        # machine's noise does to requests/s.
        requests = max(1, result["requests"])
        result["server_cpu_ms_per_request"] = round((_tree_cpu_seconds(server.pid) - cpu_before) * 1000 / requests, 2)
        own = resource.getrusage(resource.RUSAGE_SELF)
        own_s = own.ru_utime + own.ru_stime - own_before.ru_utime - own_before.ru_stime
        result["loadgen_cpu_ms_per_request"] = round(own_s * 1000 / requests, 2)
        # How busy the whole machine was (server, database, load generator, anything else): a
        # window near 100% says the figure is CPU-bound on this shared box.
        busy, steal, total = (a - b for a, b in zip(_machine_busy(), machine_before, strict=True))
        result["machine_busy_pct"] = round(100 * busy / max(1, total), 1)
        result["machine_steal_pct"] = round(100 * steal / max(1, total), 1)  # taken by the host
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        await common.dispose(db)
    return {"db": db_kind, "provider": provider, "workers": workers, "concurrency": concurrency, **result}


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--provider", default="tacticalrmm")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (one per core)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main(args.db, args.provider, args.seconds, args.concurrency, args.agents, args.workers))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    cli()
