"""Event delivery benchmark: webhooks to a loopback receiver and NATS JetStream publishing.

    python -m bench.delivery --events 50000 --db postgres --json [--rate 200] [--seconds 15]

For each path, two measurements on a fresh database:

* throughput: ``--events`` events committed to the outbox up front, then the delivery loop of one
  rmmbridge process drains them (fan-out, signing, POST to a receiver in its own process; or
  publish to JetStream and wait for every ack): ``events_per_s``;
* lag: events committed at ``--rate`` per second for ``--seconds`` while the loop runs, and the
  time from each event's commit to its arrival at the receiver (or a NATS subscriber):
  ``p99_lag_ms``.

``peak_rss_mb`` is the benchmark process's (which runs the delivery loop) high-water mark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx

from rmmbridge.app import build_state
from rmmbridge.config import Settings
from rmmbridge.delivery import subscriptions
from rmmbridge.delivery.nats_publisher import NatsPublisher
from rmmbridge.delivery.worker import DeliveryWorker
from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.db import unit_of_work
from rmmbridge.tenancy import service as tenancy
from rmmbridge.tenancy.auth import system_context

from . import common
from .support import free_port

SECRET_KEY = "q2Yk3VdC5xq9o7kq2l7yQn4uM3Gq4m0y3cR9rA0d1xI="
NATS_URL = os.environ.get("RMMBRIDGE_BENCH_NATS", "nats://127.0.0.1:4222")


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1)


async def emit(state: Any, tenant_id: uuid.UUID, n: int, per_tx: int = 2000) -> None:
    for start in range(0, n, per_tx):
        rows = [
            event_row(tenant_id, "asset.updated", "asset", uuid.uuid4(), {"changed": ["os_version"], "n": i}, utcnow())
            for i in range(start, min(n, start + per_tx))
        ]
        async with unit_of_work(state.sessionmaker) as session:
            await write_events(session, rows)


async def paced(state: Any, tenant_id: uuid.UUID, rate: float, seconds: float) -> int:
    """Commit events at ``rate`` per second (ten per tick), each tick its own transaction."""
    sent, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        rows = [
            event_row(tenant_id, "asset.updated", "asset", uuid.uuid4(), {"changed": ["name"]}, utcnow())
            for _ in range(10)
        ]
        async with unit_of_work(state.sessionmaker) as session:
            await write_events(session, rows)
        sent += 10
        await asyncio.sleep(max(0.0, started + sent / rate - time.perf_counter()))
    return sent


async def webhooks(state: Any, tenant_id: uuid.UUID, events: int, rate: float, seconds: float) -> dict[str, Any]:
    port = free_port()
    receiver = subprocess.Popen([sys.executable, "-m", "bench.delivery_receiver", str(port)], stdout=subprocess.PIPE)
    assert receiver.stdout is not None and receiver.stdout.readline().strip() == b"ready"
    stats_url = f"http://127.0.0.1:{port}"
    try:
        async with unit_of_work(state.sessionmaker) as session:
            ctx = system_context(tenant_id, "bench")
            await subscriptions.create(state, session, ctx, name="bench", url=f"{stats_url}/hook")
        async with httpx.AsyncClient(base_url=stats_url) as control:

            async def stats(lags: bool = False) -> dict[str, Any]:
                # Counts only while polling: the lag list is fetched once, when the phase is over.
                return (await control.get("/stats?lags=1" if lags else "/stats")).json()  # type: ignore[no-any-return]

            await emit(state, tenant_id, events)
            worker = DeliveryWorker(state, nats_url="")
            started, cpu, receiver_cpu = time.perf_counter(), _cpu_s(), common.process_cpu_s(receiver.pid)
            worker.start()  # the loop a serve process runs (fan-out and senders side by side)
            while (await stats())["unique"] < events:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            cpu, receiver_cpu = _cpu_s() - cpu, common.process_cpu_s(receiver.pid) - receiver_cpu
            load = common.loadavg()
            got = await stats()
            await control.post("/reset")
            sent = await paced(state, tenant_id, rate, seconds)
            deadline = time.monotonic() + 60
            while (await stats())["unique"] < sent and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            lag = await stats(lags=True)
            await worker.stop()
        return {
            "events": events,
            "events_per_s": round(events / elapsed, 1),
            # CPU per event of the delivering process and of the receiver: steadier than the rate on
            # a shared machine (the load average says how shared it was).
            "cpu_ms_per_event": round(cpu / events * 1000, 3),
            "receiver_cpu_ms_per_event": round(receiver_cpu / events * 1000, 3),
            "loadavg": round(load, 1),
            "duplicates": got["count"] - got["unique"],
            "paced_rate": rate,
            "paced_events": sent,
            "paced_received": lag["unique"],
            "p99_lag_ms": p99(lag["lags_ms"]),
            "peak_rss_mb": common.peak_rss_mb(),
        }
    finally:
        receiver.terminate()
        receiver.wait(10)


async def nats_publishing(state: Any, tenant_id: uuid.UUID, rate: float, seconds: float) -> dict[str, Any]:
    import nats

    tag = uuid.uuid4().hex[:8]
    stream, prefix = f"BENCH{tag}", f"rmmbench{tag}"
    publisher = NatsPublisher(state, NATS_URL, stream=stream, prefix=prefix, cursor=f"nats-bench-{tag}")
    await publisher.connect()
    nc = await nats.connect(NATS_URL)
    lags: list[float] = []

    async def on_message(msg: Any) -> None:
        stamp = json.loads(msg.data)["timestamp"]
        lags.append((time.time() - _epoch(stamp)) * 1000)

    try:
        published, started, cpu = 0, time.perf_counter(), _cpu_s()
        while n := await publisher.publish_once():
            published += n
        elapsed, cpu, load = time.perf_counter() - started, _cpu_s() - cpu, common.loadavg()
        await nc.subscribe(f"{prefix}.>", cb=on_message)
        stop = asyncio.Event()

        async def loop() -> None:
            while not stop.is_set():
                if not await publisher.publish_once():
                    await asyncio.sleep(0.2)

        task = asyncio.create_task(loop())
        sent = await paced(state, tenant_id, rate, seconds)
        deadline = time.monotonic() + 60
        while len(lags) < sent and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await task
        return {
            "events": published,
            "events_per_s": round(published / elapsed, 1),
            "cpu_ms_per_event": round(cpu / max(1, published) * 1000, 3),
            "loadavg": round(load, 1),
            "paced_rate": rate,
            "paced_events": sent,
            "paced_received": len(lags),
            "p99_lag_ms": p99(lags),
            "peak_rss_mb": common.peak_rss_mb(),
        }
    finally:
        await publisher._js.delete_stream(stream)
        await publisher.close()
        await nc.close()


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s of the lag measurement")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the lag measurement")
    parser.add_argument("--skip-nats", action="store_true")
    parser.add_argument("--skip-webhooks", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    db = await common.fresh_database(args.db)
    state = build_state(Settings(database_url=db.url, secret_key=SECRET_KEY, base_url="http://127.0.0.1:8000"))
    try:
        async with unit_of_work(state.sessionmaker) as session:
            tenant = await tenancy.create_tenant(session, f"bench-{uuid.uuid4().hex[:6]}")
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        result: dict[str, Any] = {"db": args.db, "loop": loop, "loadavg_at_start": round(common.loadavg(), 1)}
        if not args.skip_webhooks:
            result["webhooks"] = await webhooks(state, tenant.id, args.events, args.rate, args.seconds)
        if not args.skip_nats:
            if args.skip_webhooks:
                await emit(state, tenant.id, args.events)
            result["nats"] = await nats_publishing(state, tenant.id, args.rate, args.seconds)
        result["peak_rss_mb"] = common.peak_rss_mb()
    finally:
        await state.engine.dispose()
        await common.dispose(db)
    print(json.dumps(result, indent=None if args.json else 2))


def event_loop_factory() -> Any:
    """The loop ``rmmbridge serve`` runs its delivery loop on: uvicorn's ``loop="auto"`` picks
    uvloop when installed (``uvicorn[standard]`` installs it), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(main())
