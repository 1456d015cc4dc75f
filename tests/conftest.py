"""Test fixtures: every storage-touching test runs on SQLite *and* PostgreSQL.

The schema is always built by the Alembic migrations. PostgreSQL is the machine's server on
127.0.0.1:5432 (trust auth); each test session creates its own database and drops it afterwards.
With ``CI=true`` an unreachable PostgreSQL fails the run instead of skipping its half.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.app import create_app
from rmmbridge.config import Settings
from rmmbridge.storage import migrate
from rmmbridge.storage.db import create_engine, unit_of_work
from rmmbridge.tenancy import service as tenancy
from rmmbridge.tenancy.auth import user_context
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.web.state import AppState

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


@pytest_asyncio.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "rmmbridge.db"
        url = f"sqlite+aiosqlite:///{path}"
        engine = create_engine(url)
        await migrate.upgrade(engine)
        await engine.dispose()
        yield url
        return
    try:
        url = await _pg_create_database()
    except (TimeoutError, OSError, Exception) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_DSN}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_DSN}: {exc}")
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    yield url
    await _pg_drop_database(url)


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
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest_asyncio.fixture(scope="session")
async def app(settings_factory):  # type: ignore[no-untyped-def]
    application = create_app(settings_factory(), start_background=False)
    yield application
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


@pytest_asyncio.fixture
async def tenant(state: AppState) -> TenantFixture:
    return await make_tenant(state, "a")


@pytest_asyncio.fixture
async def other_tenant(state: AppState) -> TenantFixture:
    return await make_tenant(state, "b")


@pytest_asyncio.fixture
async def db(state: AppState) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(state.sessionmaker) as session:
        yield session
