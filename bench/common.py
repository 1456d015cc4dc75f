"""Benchmark plumbing: a fresh migrated database, a tenant with an integration, peak RSS."""

from __future__ import annotations

import os
import resource
import tempfile
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from rmmbridge.clients.schemas import ClientCreate
from rmmbridge.clients.service import create_client
from rmmbridge.integrations.schemas import IntegrationCreate
from rmmbridge.integrations.service import create_integration
from rmmbridge.kit import offload
from rmmbridge.kit.heap import settle_heap
from rmmbridge.providers.registry import builtin_registry
from rmmbridge.storage import migrate
from rmmbridge.storage.db import create_engine, create_sessionmaker, unit_of_work
from rmmbridge.tenancy import service as tenancy
from rmmbridge.tenancy.auth import system_context
from rmmbridge.tenancy.context import TenantContext

PG_ADMIN = os.environ.get("RMMBRIDGE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) another process has used so far (Linux ``/proc``): the
    simulator's own serving CPU, which shares this machine with the client being measured."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_cpu_s() -> float:
    """CPU seconds rmmbridge has used so far: this process and its page-decoding workers
    (``kit.offload``; a worker's CPU is counted while it lives, and the pool lives for the run)."""
    return time.process_time() + sum(process_cpu_s(pid) for pid in offload.worker_pids())


async def database_cpu_s(engine: AsyncEngine) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process working for ``engine``'s database: its
    backends, and the server's own background processes (WAL writer, checkpointer: they write
    what the backends wrote). Other databases' backends on the same server are left out. Empty
    when the server is not on this machine (its processes are not in our ``/proc``)."""
    async with engine.connect() as connection:
        pids = (await connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL"
        ))).scalars().all()  # fmt: skip
    out: dict[int, float] = {}
    for pid in pids:
        try:
            out[pid] = process_cpu_s(pid)
        except OSError:  # exited since, or not on this machine
            continue
    return out


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float | None:
    """CPU the processes of ``after`` used since ``before`` (one born in between: all of its own).
    A backend that exited in between took its CPU with it: a lower bound when connections come
    and go. ``None`` when nothing was measured."""
    if not after:
        return None
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def loadavg() -> float:
    """The 1-minute load average when a figure was taken (this machine is shared)."""
    return os.getloadavg()[0]


@dataclass
class BenchDb:
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    drop: str | None = None


async def fresh_database(kind: str) -> BenchDb:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
        drop = None
    else:
        import asyncpg

        name = f"rmmbridge_bench_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
        drop = name
    engine = create_engine(url)
    await migrate.upgrade(engine)
    settle_heap()  # as `rmmbridge serve` and `worker` do once started: what exists now stays
    return BenchDb(url, engine, create_sessionmaker(engine), drop)


async def dispose(db: BenchDb) -> None:
    await db.engine.dispose()
    if db.drop:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{db.drop}" WITH (FORCE)')
        await conn.close()


@dataclass
class Tenant:
    ctx: TenantContext
    integration_id: uuid.UUID
    realm_clients: dict[str, uuid.UUID]


async def new_tenant(db: BenchDb, scopes: int, provider: str = "tacticalrmm") -> Tenant:
    registry = builtin_registry()
    if provider not in registry:
        from tests.support.tinyrmm import TinyProvider

        registry.register(TinyProvider)
        provider = "tinyrmm"
    async with unit_of_work(db.sessionmaker) as s:
        tenant = await tenancy.create_tenant(s, f"bench-{uuid.uuid4().hex[:8]}")
        ctx = system_context(tenant.id, "bench")
        integ = await create_integration(s, ctx, registry, IntegrationCreate(provider=provider))
        clients = {}
        for i in range(scopes):
            clients[f"client-{i}"] = (await create_client(s, ctx, ClientCreate(name=f"Client {i}"))).id
    return Tenant(ctx, integ.id, clients)


async def second_integration(db: BenchDb, t: Tenant, provider: str = "tanium") -> uuid.UUID:
    """Another integration of the tenant (``--overlap``: two RMMs over one fleet)."""
    registry = builtin_registry()
    async with unit_of_work(db.sessionmaker) as s:
        integ = await create_integration(s, t.ctx, registry, IntegrationCreate(provider=provider))
    return integ.id
