"""``rmmbridge serve`` (direct runner) as a real process during a device sync: SIGTERM → it exits
within its graceful-shutdown window and hands the run back, the next start resumes it as attempt 2;
SIGKILL → the run's lease runs out and the next request starts a new run (today: SIGTERM hung or
failed the run as "interrupted", and a killed run blocked requests for ~3.5 minutes)."""

from __future__ import annotations

import signal
import time
import uuid

import httpx

from rmmbridge.app import build_state
from rmmbridge.config import Settings
from tests.conftest import TEST_SECRET_KEY, drop_database, fresh_database
from tests.support.live_server import free_port
from tests.support.run_processes import AGENTS, exit_seconds, process_env, run_row, seed, slow_tactical, spawn, until

GRACE_S = 4.0
LEASE_S = 3.0


async def test_serve_hands_its_run_back_on_sigterm_and_a_killed_owner_is_replaced(
    database_url, tmp_path, tmp_path_factory
):  # type: ignore[no-untyped-def]
    # A database of its own: a real `serve` leads the scheduler, which would otherwise fire every
    # schedule and claim every queued run the rest of the session left behind, ahead of this one.
    database_url = await fresh_database("sqlite" if database_url.startswith("sqlite") else "postgres", tmp_path_factory)
    state = build_state(Settings(database_url=database_url, secret_key=TEST_SECRET_KEY))  # type: ignore[call-arg]
    server = slow_tactical()
    with server:
        seeded = await seed(database_url, server.url)
        tid, h = seeded.tenant.tenant_id, seeded.tenant.headers()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = process_env(
            database_url,
            RMMBRIDGE_GRACEFUL_SHUTDOWN_S=str(GRACE_S),
            RMMBRIDGE_RUN_LEASE_S=str(LEASE_S),
        )
        sync_url = f"{base}/api/v1/integrations/{seeded.integration_id}/sync/devices"
        procs = []

        def serve(n: int):  # type: ignore[no-untyped-def]
            proc = spawn(["serve", "--port", str(port)], env, tmp_path / f"serve-{n}.log")
            procs.append(proc)
            return proc

        async def healthy() -> bool:
            try:
                async with httpx.AsyncClient() as c:
                    return (await c.get(f"{base}/healthz", timeout=2)).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            first = serve(1)
            await until(healthy, 60)
            async with httpx.AsyncClient(timeout=10) as c:
                r = await c.post(sync_url, headers=h)
            assert r.status_code == 202, r.text
            run_id = uuid.UUID(r.json()["run"]["id"])

            async def paging() -> bool:
                row = await run_row(state.sessionmaker, tid, run_id)
                return row.status == "running" and (row.progress or {}).get("pages", 0) >= 1

            await until(paging, 30)
            first.send_signal(signal.SIGTERM)
            took = exit_seconds(first, 30)
            assert took < GRACE_S + 2.0, f"serve took {took:.1f} s to stop"
            row = await run_row(state.sessionmaker, tid, run_id)
            assert row.status == "queued", (row.status, row.errors)
            assert row.attempts[0]["cause"].startswith("handed back") and row.attempts[0]["ended_at"]

            # The next start resumes it (its scheduler claims queued runs): attempt 2, same record.
            second = serve(2)

            async def finished() -> object:
                row = await run_row(state.sessionmaker, tid, run_id)
                return row if row.status in ("succeeded", "partial", "failed") else None

            done = await until(finished, 90)
            assert done.status == "succeeded", done.errors
            assert done.attempt == 2 and [a["attempt"] for a in done.attempts] == [1, 2]
            assert done.counters["processed"] == AGENTS

            # SIGKILL mid-run: nothing is handed back; the lease runs out and a request after it
            # starts a new run instead of joining the dead one.
            async with httpx.AsyncClient(timeout=10) as c:
                r = await c.post(sync_url, headers=h)
            killed_id = uuid.UUID(r.json()["run"]["id"])
            run_id = killed_id
            await until(paging, 30)
            second.send_signal(signal.SIGKILL)
            second.wait(10)
            killed_at = time.monotonic()
            third = serve(3)
            await until(healthy, 60)

            async def replaced() -> str | None:
                async with httpx.AsyncClient(timeout=10) as c:
                    body = (await c.post(sync_url, headers=h)).json()
                return None if body["joined"] else body["run"]["id"]

            new_id = await until(replaced, 60, every=0.5)
            recovered = time.monotonic() - killed_at
            assert new_id != str(killed_id)
            assert recovered < LEASE_S + 30, recovered  # the lease, plus this process's start-up
            dead = await run_row(state.sessionmaker, tid, killed_id)
            assert dead.status == "failed" and "stopped renewing its lease" in dead.errors[-1]["error"]
            third.send_signal(signal.SIGTERM)
            exit_seconds(third, 30)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
            await state.engine.dispose()
            await drop_database(database_url)

