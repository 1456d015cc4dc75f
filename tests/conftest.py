"""Test fixtures: every storage-touching test runs on SQLite *and* PostgreSQL.

The schema is always built by the Alembic migrations. PostgreSQL is the machine's server on
127.0.0.1:5432 (trust auth); each test session creates its own database and drops it afterwards.
With ``CI=true`` an unreachable PostgreSQL fails the run instead of skipping its half.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import pytest_asyncio
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.app import create_app
from rmmbridge.config import Settings
from rmmbridge.kit.http import RoutedTransport
from rmmbridge.providers.registry import ProviderRegistry, builtin_registry
from rmmbridge.state import AppState
from rmmbridge.storage import migrate
from rmmbridge.storage.db import create_engine, unit_of_work
from rmmbridge.storage.models import Asset, RmmIntegration
from rmmbridge.tenancy import service as tenancy
from rmmbridge.tenancy.auth import user_context
from rmmbridge.tenancy.context import TenantContext
from tests.support.tinypull import TinyPullProvider
from tests.support.tinyrmm import TinyFleet, TinyProvider, make_fleet, tiny_app

PG_ADMIN_DSN = os.environ.get("RMMBRIDGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TEST_SECRET_KEY = "q2Yk3VdC5xq9o7kq2l7yQn4uM3Gq4m0y3cR9rA0d1xI="
IN_CI = os.environ.get("CI", "").lower() == "true"


async def _pg_create_database() -> str:
    import asyncpg

    name = f"rmmbridge_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def _pg_drop_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def fresh_database(kind: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A new, migrated database of ``kind`` (sqlite | postgres); fails in CI, else skips, when
    PostgreSQL is unreachable."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'rmmbridge.db'}"
    else:
        try:
            url = await _pg_create_database()
        except (TimeoutError, OSError, Exception) as exc:
            if IN_CI:
                pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_DSN}: {exc}")
            pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_DSN}: {exc}")
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    return url


async def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        await _pg_drop_database(url)


@pytest.fixture(autouse=True)
def _logging_configuration_is_per_test():  # type: ignore[no-untyped-def]
    """A test that runs a CLI command in-process configures logging for the whole process (the
    CLI's level, WARNING by default): later tests' ``capture_logs`` would see no INFO events.
    Each test starts from, and leaves, the configuration it found."""
    config, root_level = structlog.get_config(), logging.getLogger().level
    yield
    structlog.configure(**config)
    logging.getLogger().setLevel(root_level)


@pytest_asyncio.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    url = await fresh_database(request.param, tmp_path_factory)
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
def settings_factory(database_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    var = tmp_path_factory.mktemp("var")

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": database_url,
            "secret_key": TEST_SECRET_KEY,
            "secret_key_file": Path(var) / "secret.key",
            "base_url": "http://testserver",
            "scheduler_enabled": False,
            # Every test client is 127.0.0.1: the suite's deliberate failures (and the fuzzer's) must
            # not add up to a backoff. Tests of the throttles set the default back on their throttle.
            "auth_failures_per_address": 100_000,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def transport() -> RoutedTransport:
    """Routes simulator hosts to in-process ASGI apps; tests add their simulators to it."""
    return RoutedTransport()


def build_test_registry() -> ProviderRegistry:
    registry = builtin_registry()
    registry.register(TinyProvider)
    registry.register(TinyPullProvider)
    return registry


@pytest_asyncio.fixture(scope="session")
async def app(settings_factory, transport):  # type: ignore[no-untyped-def]
    application = create_app(
        settings_factory(), start_background=False, registry=build_test_registry(), http_transport=transport
    )
    yield application
    runner = application.state.rmm.extras.get("runner")
    if runner is not None:
        await runner.stop()
    await application.state.rmm.engine.dispose()


@pytest.fixture(scope="session")
def state(app) -> AppState:  # type: ignore[no-untyped-def]
    return app.state.rmm  # type: ignore[no-any-return]


@pytest.fixture
def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


@pytest_asyncio.fixture
async def http(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@dataclass
class TenantFixture:
    """A tenant with one user per role and an API token for each."""

    tenant_id: uuid.UUID
    name: str
    tokens: dict[str, str]
    emails: dict[str, str]
    password: str
    admin_ctx: TenantContext

    def headers(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


async def make_tenant(state: AppState, label: str = "t") -> TenantFixture:
    suffix = uuid.uuid4().hex[:8]
    password = "correct horse battery"
    tokens: dict[str, str] = {}
    emails: dict[str, str] = {}
    async with unit_of_work(state.sessionmaker) as db:
        tenant = await tenancy.create_tenant(db, f"{label}-{suffix}")
        admin_ctx = None
        for role in ("admin", "technician", "viewer"):
            email = f"{role}-{suffix}@{label}.example"
            user = await tenancy.create_user(db, tenant.id, email, password, role)
            tokens[role] = (await tenancy.issue_api_token(db, user, f"{role} token")).token
            emails[role] = email
            if role == "admin":
                admin_ctx = user_context(user)
    assert admin_ctx is not None
    return TenantFixture(tenant.id, tenant.name, tokens, emails, password, admin_ctx)


async def stop_scheduling(state: AppState, tenant_id: uuid.UUID) -> None:
    """A finished test's integrations leave the scheduler. The session's database outlives each
    test, and a later test's scheduler tick (``fire_due``) runs every active integration's due
    syncs: late in the suite each tick of ``test_liveness`` ran the earlier tests' syncs too
    (237 s for a test that takes 11 s alone)."""
    async with unit_of_work(state.sessionmaker) as db:
        await db.execute(update(RmmIntegration).where(RmmIntegration.tenant_id == tenant_id).values(is_active=False))


@pytest_asyncio.fixture
async def tenant(state: AppState) -> AsyncIterator[TenantFixture]:
    made = await make_tenant(state, "a")
    yield made
    await stop_scheduling(state, made.tenant_id)


@pytest_asyncio.fixture
async def other_tenant(state: AppState) -> AsyncIterator[TenantFixture]:
    made = await make_tenant(state, "b")
    yield made
    await stop_scheduling(state, made.tenant_id)


@pytest_asyncio.fixture
async def db(state: AppState) -> AsyncIterator[AsyncSession]:
    """A session for assertions: autocommit, so it always sees the latest data and never holds
    a lock or a snapshot while the app under test works."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    engine = state.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with async_sessionmaker(engine, expire_on_commit=False, autoflush=True)() as session:
        yield session


@dataclass
class TinySetup:
    fleet: TinyFleet
    host: str
    integration_id: str
    tenant: TenantFixture


async def connect_tiny(
    http: httpx.AsyncClient,
    transport: RoutedTransport,
    tenant: TenantFixture,
    fleet: TinyFleet | None = None,
    provider: str = "tinyrmm",
    **settings: object,
) -> TinySetup:
    """A TinyRMM of its own, configured and tested through the REST API."""
    fleet = fleet or make_fleet()
    host = f"tiny-{uuid.uuid4().hex[:8]}.example"
    transport.add(host, tiny_app(fleet))
    h = tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": provider, "settings": settings}, headers=h)
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    r = await http.put(
        f"/api/v1/integrations/{iid}/credentials",
        headers=h,
        json={"instance_url": f"https://{host}", "values": {"api_key": fleet.api_key}},
    )
    assert r.status_code == 200, r.text
    r = await http.post(f"/api/v1/integrations/{iid}/test", headers=h)
    assert r.status_code == 200 and r.json()["ok"], r.text
    return TinySetup(fleet, host, iid, tenant)


@pytest_asyncio.fixture
async def tiny(http, transport, tenant) -> TinySetup:  # type: ignore[no-untyped-def]
    return await connect_tiny(http, transport, tenant)


async def run_sync(
    http: httpx.AsyncClient, state: AppState, setup: TinySetup, kind: str, body: dict[str, object] | None = None
) -> dict[str, object]:
    """Start a sync through the API, wait for the in-process runner, return the finished run."""
    from rmmbridge.sync.runner import runner_of

    h = setup.tenant.headers()
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/sync/{kind}", headers=h, json=body)
    assert r.status_code == 202, r.text
    run_id = r.json()["run"]["id"]
    await runner_of(state).wait(uuid.UUID(run_id), timeout=120)
    r = await http.get(f"/api/v1/sync-runs/{run_id}", headers=h)
    return r.json()  # type: ignore[no-any-return]


class IntegrationSetup(Protocol):
    """What the helpers below need of a test's connected integration (TinySetup or a provider's Setup)."""

    @property
    def tenant(self) -> Any: ...
    @property
    def integration_id(self) -> str: ...


async def map_all(
    http: httpx.AsyncClient, setup: IntegrationSetup, only: Collection[str] | None = None
) -> dict[str, str]:
    """Create a PSA client for every organization (or only those in ``only``) and map it; returns org id → client id."""
    h = setup.tenant.headers()
    mappings = (await http.get(f"/api/v1/integrations/{setup.integration_id}/mappings", headers=h)).json()["items"]
    out = {}
    for m in mappings:
        if only is not None and m["external_org_id"] not in only:
            continue
        r = await http.post(f"/api/v1/integrations/{setup.integration_id}/mappings/{m['id']}/create-client", headers=h)
        assert r.status_code == 200, r.text
        out[m["external_org_id"]] = r.json()["client_id"]
    return out


async def assets_by_device(db: AsyncSession, setup: IntegrationSetup, *, refresh: bool = False) -> dict[str, Asset]:
    """The integration's assets by RMM device id (each re-read from the database when ``refresh``)."""
    rows = (
        await db.scalars(
            select(Asset).where(
                Asset.tenant_id == setup.tenant.tenant_id, Asset.rmm_integration_id == uuid.UUID(setup.integration_id)
            )
        )
    ).all()
    if refresh:
        for row in rows:
            await db.refresh(row)
    return {a.rmm_device_id: a for a in rows}
