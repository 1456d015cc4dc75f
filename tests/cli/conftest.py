"""The CLI as operators run it: a separate process against the session's test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from sqlalchemy import delete

from rmmbridge.app import create_app
from rmmbridge.config import Settings
from rmmbridge.deployment.public_url import NAME
from rmmbridge.simulators.tacticalrmm import create_app as simulator_app
from rmmbridge.simulators.tacticalrmm import generate_fleet
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import DeploymentSetting
from tests.conftest import TEST_SECRET_KEY
from tests.support.live_server import SimulatorServer

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(database_url: str, tmp_path) -> Cli:  # type: ignore[no-untyped-def]
    """``cli(*args, stdin="", env={...})``; the environment is a clean operator shell (no RMMBRIDGE_*
    beyond the database and key) plus ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("RMMBRIDGE_")}
    base |= {"RMMBRIDGE_DATABASE_URL": database_url, "RMMBRIDGE_SECRET_KEY": TEST_SECRET_KEY,
             "RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS": "true", "NO_COLOR": "1", "COLUMNS": "200"}  # fmt: skip

    def run(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "rmmbridge", *args], input=stdin, env=base | (env or {}),
                              capture_output=True, text=True, timeout=180, cwd=tmp_path)  # fmt: skip

    return run


@pytest.fixture(scope="module")
def tactical_simulator():  # type: ignore[no-untyped-def]
    """A Tactical simulator on a real loopback port, closing kept-alive connections like uWSGI (every
    CLI step must survive it): ``(server, fleet)``."""
    fleet = generate_fleet(seed=5, clients=3, agents=40, sites_per_client=2, now=datetime.now(UTC))
    with SimulatorServer(simulator_app(fleet, allowed_hosts=None)) as server:
        yield server, fleet


@pytest_asyncio.fixture
async def no_stored_url(state) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]
    """The stored public URL is deployment-wide: start and end a test without one."""

    async def clear() -> None:
        async with unit_of_work(state.sessionmaker) as db:
            await db.execute(delete(DeploymentSetting).where(DeploymentSetting.name == NAME))

    await clear()
    yield
    await clear()


async def start_service(settings: Settings) -> None:
    """What `rmmbridge serve` does when it starts (its lifespan), without serving."""
    app = create_app(settings, start_background=False)
    async with app.router.lifespan_context(app):
        pass


def add_tactical(cli: Cli, tenant, url: str = "https://rmm.example.com", api_key: str = "k" * 32) -> str:  # type: ignore[no-untyped-def]
    """A configured (not yet tested) Tactical integration of ``tenant``, added through the CLI; its id."""
    added = cli("integrations", "add", "tacticalrmm", "--url", url, "--allow-insecure-url", "--auth-mode", "api_key",
                "--secrets-stdin", "--json", "--tenant", tenant.name, stdin=json.dumps({"api_key": api_key}))  # fmt: skip
    assert added.returncode == 0, added.stderr
    return str(json.loads(added.stdout)["id"])
