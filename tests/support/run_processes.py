"""Real ``rmmbridge serve`` / ``rmmbridge worker`` processes over a slow Tactical simulator on a port,
for the run lifecycle tests (stop, kill, hand-over). Kept lean: a small fleet served a page a second.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from rmmbridge.app import create_app
from rmmbridge.config import Settings
from rmmbridge.simulators.faults import Fault, FaultPlan
from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS, generate_fleet
from rmmbridge.simulators.tacticalrmm import create_app as simulator_app
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import SyncRun
from tests.conftest import TEST_SECRET_KEY, TenantFixture, make_tenant, map_all
from tests.support.live_server import SimulatorServer

AGENTS = 36  # 3 clients × 12 agents, 4 a page: 9 pages, one request at a time
PAGE_SIZE = 4
PAGE_SECONDS = 1.0
NO_SCHEDULES = {s: {"enabled": False} for s in ("devices", "alerts", "software", "liveness")}


def slow_tactical() -> SimulatorServer:
    """A Tactical simulator whose agent pages take ``PAGE_SECONDS`` each (started by the caller)."""
    fleet = generate_fleet(seed=15, clients=3, agents=AGENTS, sites_per_client=1, now=datetime.now(UTC))
    faults = FaultPlan()
    faults.add(Fault(kind="slow", path_contains="agent", delay_s=PAGE_SECONDS))
    return SimulatorServer(simulator_app(fleet, allowed_hosts=None, faults=faults))


@dataclass
class Seeded:
    tenant: TenantFixture
    integration_id: str


async def seed(database_url: str, simulator_url: str) -> Seeded:
    """A tenant and a tested Tactical integration with every client mapped, schedules off (nothing
    but the test's own requests starts runs)."""
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        scheduler_enabled=False,
        allow_insecure_provider_urls=True,
        base_url="http://testserver",
    )
    app = create_app(settings, start_background=False)
    state = app.state.rmm
    try:
        tenant = await make_tenant(state, "life")
        h = tenant.headers()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            r = await http.post(
                "/api/v1/integrations",
                headers=h,
                json={"provider": "tacticalrmm", "settings": {"page_size": PAGE_SIZE, "schedules": NO_SCHEDULES}},
            )
            assert r.status_code == 201, r.text
            iid = r.json()["id"]
            r = await http.put(
                f"/api/v1/integrations/{iid}/credentials",
                headers=h,
                json={
                    "instance_url": simulator_url,
                    "auth_mode": "api_key",
                    "values": {"api_key": DEFAULT_CREDENTIALS.api_key, "allow_insecure_url": True},
                },
            )
            assert r.status_code == 200, r.text
            r = await http.post(f"/api/v1/integrations/{iid}/test", headers=h)
            assert r.status_code == 200 and r.json()["ok"], r.text
            r = await http.post(f"/api/v1/integrations/{iid}/sync/scopes", headers=h)
            from rmmbridge.sync.runner import runner_of

            await runner_of(state).wait(uuid.UUID(r.json()["run"]["id"]), timeout=60)
            seeded = Seeded(tenant, iid)
            await map_all(http, seeded)
        return seeded
    finally:
        from rmmbridge.sync.runner import runner_of

        await runner_of(state).stop()
        await state.engine.dispose()


def process_env(database_url: str, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RMMBRIDGE_")}
    return base | {
        "RMMBRIDGE_DATABASE_URL": database_url,
        "RMMBRIDGE_SECRET_KEY": TEST_SECRET_KEY,
        "RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS": "true",
        "RMMBRIDGE_LOG_LEVEL": "INFO",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    } | extra


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen([sys.executable, "-m", "rmmbridge", *args], env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)


def exit_seconds(proc: subprocess.Popen[bytes], timeout: float) -> float:
    """Seconds until ``proc`` exits (AssertionError past ``timeout``)."""
    began = time.monotonic()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the process did not exit within {timeout} s") from None
    return time.monotonic() - began


async def until(check: Callable[[], Awaitable[Any]], timeout: float, every: float = 0.25) -> Any:
    """The first truthy result of ``check`` (AssertionError past ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(every)
    raise AssertionError(f"not reached within {timeout} s")


async def run_row(sessionmaker: Any, tenant_id: uuid.UUID, run_id: uuid.UUID) -> SyncRun:
    async with unit_of_work(sessionmaker, read_only=True) as s:
        row = await s.get(SyncRun, (tenant_id, run_id))
        assert row is not None
        return row
