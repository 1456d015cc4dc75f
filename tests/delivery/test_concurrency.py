"""Several processes delivering at once, and a process killed in the middle of a batch.

Real OS processes against the same database (the suite's SQLite file or PostgreSQL database),
sending to a real receiver on loopback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select

from rmmbridge.storage.models import EventDelivery

from .support import drain, emit_events

ROOT = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.delivery.worker_proc", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # log lines (structlog writes to stdout) come before it
        if line.strip() == b"ready":
            # Keep reading its output so a chatty process never blocks on a full pipe.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc
    raise AssertionError(f"worker exited with {proc.wait()}")


async def statuses(db, sub_id: str) -> dict[str, int]:
    rows = await db.execute(
        select(EventDelivery.status, func.count())
        .where(EventDelivery.subscription_id == uuid.UUID(sub_id))
        .group_by(EventDelivery.status)
    )
    return dict(rows.all())


async def wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


async def subscribe(http, tenant, url: str) -> str:
    r = await http.post("/api/v1/webhook-subscriptions", json={"name": "p", "url": url}, headers=tenant.headers())
    assert r.status_code == 201, r.text
    return r.json()["subscription"]["id"]


async def test_two_processes_never_send_an_attempt_twice(http, state, tenant, receiver, database_url, db):
    sub_id = await subscribe(http, tenant, receiver.url)
    ids = await emit_events(state, tenant.tenant_id, 600)
    procs = [spawn("webhooks", database_url, "60", "120") for _ in range(2)]
    try:
        await wait_for(lambda: _all_succeeded(db, sub_id, 600), 90)
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
    seen = receiver.ids()
    assert sorted(seen) == sorted(ids)
    assert max(seen.values()) == 1, [i for i, n in seen.items() if n > 1][:5]


async def _all_succeeded(db, sub_id: str, n: int) -> bool:
    return (await statuses(db, sub_id)).get("succeeded", 0) == n


async def test_a_kill_9_mid_batch_loses_nothing(http, state, tenant, receiver, database_url, db, worker):
    receiver.delay_s = 0.05  # a batch takes a while: the kill lands in the middle of one
    sub_id = await subscribe(http, tenant, receiver.url)
    ids = await emit_events(state, tenant.tenant_id, 400)
    proc = spawn("webhooks", database_url, "60", "2")
    try:
        deadline = time.monotonic() + 60
        while len(receiver.received) < 100 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    in_flight = (await statuses(db, sub_id)).get("delivering", 0)
    assert in_flight > 0  # killed with a batch claimed: those attempts must not be lost
    await asyncio.sleep(2.5)  # the dead process's lease runs out
    for _ in range(20):
        await drain(worker)
        if await _all_succeeded(db, sub_id, 400):
            break
    assert await _all_succeeded(db, sub_id, 400)
    seen = receiver.ids()
    assert sorted(seen) == sorted(ids)  # every event arrived
    # Only the attempts the killed process had in flight may have arrived twice (at-least-once).
    assert sum(n - 1 for n in seen.values()) <= in_flight
