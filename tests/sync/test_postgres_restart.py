"""A real PostgreSQL restart in the middle of a device sync run by real ``rmmbridge serve`` processes
(issue #15). One test, in two acts, to keep its wall time down (process start-ups dominate). The server is a private cluster (tests/support/private_postgres.py), never the shared
one. The run ends — failed with its cause, or carried through — instead of staying ``running``,
``/healthz`` recovers, a new request completes with every device once; and an owner frozen across
a restart (SIGSTOP: a hung process, a paused VM) has its late writes refused once its run was
taken over. Before #15 the run stayed ``running`` for ~3.5 minutes because the write that fails
it failed itself."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import httpx
from sqlalchemy import func, select

from rmmbridge.app import build_state
from rmmbridge.config import Settings
from rmmbridge.storage.db import connection_lost, unit_of_work
from rmmbridge.storage.models import Asset
from tests.conftest import TEST_SECRET_KEY
from tests.support.live_server import free_port
from tests.support.private_postgres import PrivatePostgres, private_postgres  # noqa: F401 (a fixture)
from tests.support.run_processes import AGENTS, exit_seconds, process_env, run_row, seed, slow_tactical, spawn, until

LEASE_S = 5.0
ENDED = ("succeeded", "partial", "failed")
# The documented window for a dead or cut-off run to end (the lease, the retried failure write),
# generous for a loaded machine.
RECOVERY_WINDOW_S = 60.0


async def _healthy(base: str) -> bool:
    try:
        async with httpx.AsyncClient() as c:
            return (await c.get(f"{base}/healthz", timeout=2)).status_code == 200
    except httpx.HTTPError:
        return False


async def _assets(sessionmaker, tenant_id: uuid.UUID, integration_id: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(rows, distinct RMM device ids) of the integration's assets."""
    async with unit_of_work(sessionmaker, read_only=True) as s:
        rows, devices = (
            await s.execute(
                select(func.count(), func.count(func.distinct(Asset.rmm_device_id))).where(
                    Asset.tenant_id == tenant_id, Asset.rmm_integration_id == uuid.UUID(integration_id)
                )
            )
        ).one()
    return int(rows), int(devices)


async def test_a_postgres_restart_mid_run_ends_the_run_and_the_next_one_completes(
    private_postgres: PrivatePostgres,  # noqa: F811
    tmp_path,
):
    pg = private_postgres
    url = await pg.create_database()
    state = build_state(Settings(database_url=url, secret_key=TEST_SECRET_KEY))  # type: ignore[call-arg]
    server = slow_tactical()
    procs = []
    with server:
        try:
            env = process_env(url, RMMBRIDGE_RUN_LEASE_S=str(LEASE_S), RMMBRIDGE_GRACEFUL_SHUTDOWN_S="4")
            # Two processes, started while the test seeds (their start-up is most of this test's
            # time): A runs the syncs, B takes over from a frozen A in the second half.
            bases = []
            for name in ("a", "b"):
                port = free_port()
                procs.append(spawn(["serve", "--port", str(port)], env, tmp_path / f"serve-{name}.log"))
                bases.append(f"http://127.0.0.1:{port}")
            a = procs[0]
            base_a, base_b = bases
            seeded = await seed(url, server.url)
            tid, h, iid = seeded.tenant.tenant_id, seeded.tenant.headers(), seeded.integration_id

            async def request(base: str) -> dict:  # type: ignore[type-arg]
                async with httpx.AsyncClient(timeout=15) as c:
                    r = await c.post(f"{base}/api/v1/integrations/{iid}/sync/devices", headers=h)
                assert r.status_code == 202, r.text
                return r.json()  # type: ignore[no-any-return]

            def paging(run_id: uuid.UUID):  # type: ignore[no-untyped-def]
                async def check() -> bool:
                    row = await run_row(state.sessionmaker, tid, run_id)
                    return row.status == "running" and (row.progress or {}).get("pages", 0) >= 1

                return check

            def ended(run_id: uuid.UUID):  # type: ignore[no-untyped-def]
                async def check():  # type: ignore[no-untyped-def]
                    row = await run_row(state.sessionmaker, tid, run_id)
                    return row if row.status in ENDED else None

                return check

            await until(lambda: _healthy(base_a), 60)
            await until(lambda: _healthy(base_b), 60)

            # 1. PostgreSQL restarts while A is in the middle of the run.
            run_id = uuid.UUID((await request(base_a))["run"]["id"])
            await until(paging(run_id), 30)
            began = time.monotonic()
            down_s = await asyncio.to_thread(pg.restart, 1.0)
            cut = await until(ended(run_id), RECOVERY_WINDOW_S, every=0.25)
            ended_s = time.monotonic() - began
            if cut.status == "failed":  # with its cause (else the run rode through the restart)
                cause = cut.errors[-1]["error"] if cut.errors else ""
                assert "connection to the database was lost" in cause or "lease" in cause, cut.errors
            assert all(attempt["ended_at"] for attempt in cut.attempts), cut.attempts
            assert cut.lease_expires_at is None
            await until(lambda: _healthy(base_a), 30)
            healthy_s = time.monotonic() - began

            print(
                f"\nrestart: down {down_s:.1f} s; run {run_id} {cut.status} {ended_s:.1f} s after the stop; "
                f"/healthz 200 after {healthy_s:.1f} s; cause: {(cut.errors or [{}])[-1].get('error', '-')}"
            )

            # 2. A new request starts a new run (A's pool reconnects: it writes pages again). A then
            # freezes mid-run (SIGSTOP) and PostgreSQL restarts meanwhile. Its lease runs out, a
            # request on B fails the run and starts another, which completes with every device,
            # each once; A, thawed, finds its connections gone and its run taken: its writes are
            # refused, nothing of it lands.
            fresh = await request(base_a)
            assert fresh["joined"] is False and fresh["run"]["id"] != str(run_id)
            frozen_id = uuid.UUID(fresh["run"]["id"])
            await until(paging(frozen_id), 30)
            a.send_signal(signal.SIGSTOP)
            frozen_at = time.monotonic()

            async def taken_over() -> str | None:
                body = await request(base_b)
                return None if body["joined"] else body["run"]["id"]

            successor = uuid.UUID(await until(taken_over, RECOVERY_WINDOW_S, every=0.5))
            taken_s = time.monotonic() - frozen_at
            await asyncio.to_thread(pg.restart, 1.0)
            a.send_signal(signal.SIGCONT)
            log_a = tmp_path / "serve-a.log"

            async def refused() -> bool:
                text = log_a.read_text(errors="replace")
                return "sync_write_refused" in text and str(frozen_id) in text

            await until(refused, 30)
            late = await run_row(state.sessionmaker, tid, frozen_id)
            assert late.status == "failed" and "stopped renewing its lease" in late.errors[-1]["error"]
            done = await until(ended(successor), 90)
            assert done.status == "succeeded", done.errors
            assert done.counters["processed"] == AGENTS
            late = await run_row(state.sessionmaker, tid, frozen_id)
            assert late.status == "failed" and "stopped renewing its lease" in late.errors[-1]["error"]
            assert await _assets(state.sessionmaker, tid, iid) == (AGENTS, AGENTS)
            await until(lambda: _healthy(base_a), 30)
            await until(lambda: _healthy(base_b), 30)
            print(f"frozen owner: run taken over {taken_s:.1f} s after SIGSTOP (lease {LEASE_S:.0f} s)")

            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                exit_seconds(proc, 30)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGCONT)
                    proc.kill()
                    proc.wait(10)
            await state.engine.dispose()


def test_a_lost_connection_is_told_from_a_refused_statement():
    """What a restart raises (seen in this test's logs) versus what a live server refuses."""
    from asyncpg import exceptions as pg
    from sqlalchemy.exc import DBAPIError

    def wrapped(cause: BaseException) -> DBAPIError:
        try:
            raise RuntimeError(str(cause)) from cause  # SQLAlchemy's adapter error, the driver's as cause
        except RuntimeError as adapter:
            return DBAPIError("SELECT 1", None, adapter)

    assert connection_lost(ConnectionRefusedError(111, "Connection refused"))  # the pool's connect
    assert connection_lost(wrapped(pg.CannotConnectNowError("the database system is shutting down")))
    assert connection_lost(wrapped(pg.AdminShutdownError("terminating connection due to administrator command")))
    assert connection_lost(wrapped(pg.ConnectionDoesNotExistError("connection was closed in the middle of operation")))
    # The rollback after a cut COPY: the connection is mid-protocol; the cut is what it was handling.
    lost = wrapped(pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"))
    busy = wrapped(pg.InterfaceError("cannot perform operation: another operation is in progress"))
    busy.__context__ = lost
    assert connection_lost(busy)
    assert not connection_lost(wrapped(pg.InterfaceError("cannot perform operation: another operation is in progress")))
    assert not connection_lost(wrapped(pg.QueryCanceledError("canceling statement due to statement timeout")))
    assert not connection_lost(wrapped(pg.UniqueViolationError("duplicate key value")))
    assert not connection_lost(ValueError("a defect"))
