"""/healthz latency while concurrent clients guess passwords (issue #14 item 10: argon2 runs in
worker threads, so guessers must not stall the event loop).

    PYTHONPATH=src python -m bench.login_guessers --guessers 10 --seconds 8

Runs the app under ``serve``'s uvicorn configuration on a loopback port with a fresh SQLite
database and the guessing throttles' allowances raised (so every guess really is verified), then
reports /healthz median and worst latency alone and with the guessers running.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from rmmbridge.app import create_app
from rmmbridge.config import Settings
from rmmbridge.storage import migrate
from rmmbridge.storage.db import create_engine, create_sessionmaker, unit_of_work
from rmmbridge.tenancy import service as tenancy
from rmmbridge.web.serving import uvicorn_config
from tests.conftest import TEST_SECRET_KEY
from tests.support.live_server import free_port


async def _prepare(url: str) -> None:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    async with unit_of_work(create_sessionmaker(engine)) as db:
        tenant = await tenancy.create_tenant(db, "bench")
        await tenancy.create_user(db, tenant.id, "admin@bench.example", "correct horse battery", "admin")
    await engine.dispose()


async def _healthz(client: httpx.AsyncClient, seconds: float) -> list[float]:
    samples, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        (await client.get("/healthz")).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.02)
    return samples


async def _guess(base: str, stop: asyncio.Event, counter: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while not stop.is_set():
            page = await client.get("/login")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            r = await client.post("/login", data={"email": "admin@bench.example", "password": "wrong guess!",
                                                  "csrf_token": token})  # fmt: skip
            counter[0] += r.status_code == 401


async def measure(base: str, guessers: int, seconds: float) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        alone = await _healthz(client, seconds / 2)
        stop, counter = asyncio.Event(), [0]
        tasks = [asyncio.create_task(_guess(base, stop, counter)) for _ in range(guessers)]
        await asyncio.sleep(0.5)
        loaded = await _healthz(client, seconds)
        stop.set()
        await asyncio.gather(*tasks)
    return {
        "alone_median_ms": round(statistics.median(alone), 1),
        "alone_worst_ms": round(max(alone), 1),
        "guessed_median_ms": round(statistics.median(loaded), 1),
        "guessed_worst_ms": round(max(loaded), 1),
        "wrong_passwords_verified": counter[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guessers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(_prepare(url))
        settings = Settings(database_url=url, secret_key=TEST_SECRET_KEY, secret_key_file=Path(tmp) / "k",
                            scheduler_enabled=False, auth_failures_per_account=1_000_000,
                            auth_failures_per_address=1_000_000, log_level="WARNING")  # fmt: skip
        port = free_port()
        config = uvicorn_config(create_app(settings, start_background=False), settings, host="127.0.0.1", port=port)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            result = asyncio.run(measure(f"http://127.0.0.1:{port}", args.guessers, args.seconds))
        finally:
            server.should_exit = True
            thread.join(10)
    print(result)


if __name__ == "__main__":
    main()
