"""Server commands: serve, worker, db upgrade."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

import typer

from rmmbridge.config import Settings

from .common import console, err_console, fail, settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


async def _prepare_database(s: Settings, migrate: bool) -> None:
    from rmmbridge.storage import migrate as migrations
    from rmmbridge.storage.db import create_engine

    engine = create_engine(s.database_url)
    try:
        try:
            is_pending = await migrations.pending(engine)
        except OSError as exc:
            fail(f"cannot reach the database ({engine.url.render_as_string(hide_password=True)}): {exc}")
        if is_pending:
            # SQLite is single-node and embedded: upgrading in place is what a user wants. On
            # PostgreSQL several processes share the schema, so an upgrade must be deliberate.
            if s.is_sqlite or migrate:
                await migrations.upgrade(engine)
                console.print("[dim]database schema upgraded[/]")
            else:
                fail(
                    "the PostgreSQL schema has pending migrations; run `rmmbridge db upgrade` or "
                    "start with `rmmbridge serve --migrate`"
                )
    finally:
        await engine.dispose()


def serve(
    host: str = typer.Option(None, help="bind address (default RMMBRIDGE_HOST)"),
    port: int = typer.Option(None, help="port (default RMMBRIDGE_PORT)"),
    migrate: bool = typer.Option(False, "--migrate", help="apply pending migrations on PostgreSQL"),
) -> None:
    """Run the web service (UI, REST API, webhooks; with the direct orchestrator also the jobs)."""
    import uvicorn

    from rmmbridge.app import create_app
    from rmmbridge.kit.crypto import MasterKeyError
    from rmmbridge.kit.heap import settle_heap
    from rmmbridge.kit.logging import configure_logging
    from rmmbridge.web.serving import uvicorn_config

    from .common import KEY_FIX, check_port

    s = settings()
    check_port(host or s.host, port or s.port)
    configure_logging(s.log_level, s.log_format)
    asyncio.run(_prepare_database(s, migrate))
    try:
        app = create_app(s)
    except MasterKeyError as exc:
        fail(f"the master key is not usable: it {exc}. {KEY_FIX[0].upper()}{KEY_FIX[1:]}", 2)
    console.print(f"rmmbridge listening on http://{host or s.host}:{port or s.port} (data: {s.data_dir})",
                  highlight=False)  # fmt: skip
    settle_heap()  # the app is built: what exists now lives as long as the process
    try:
        uvicorn.Server(uvicorn_config(app, s, host=host, port=port)).run()
    except KeyboardInterrupt:  # as uvicorn.run: Ctrl-C is how an operator stops it
        pass


def worker() -> None:
    """Run a Temporal worker: sync workflows, their activities and the scheduler tick
    (RMMBRIDGE_ORCHESTRATOR=temporal)."""
    from rmmbridge.config import Orchestrator
    from rmmbridge.kit.heap import settle_heap
    from rmmbridge.kit.logging import configure_logging

    s = settings()
    if s.orchestrator != Orchestrator.temporal:
        fail("the worker runs Temporal workflows: set RMMBRIDGE_ORCHESTRATOR=temporal (the direct orchestrator "
             "runs jobs inside `rmmbridge serve`)")
    configure_logging(s.log_level, s.log_format)
    asyncio.run(_prepare_database(s, migrate=False))
    from rmmbridge.sync.temporal.worker import run_worker

    settle_heap()
    console.print(f"rmmbridge worker on {s.temporal_address} ({s.temporal_namespace}), queue {s.temporal_task_queue}",
                  highlight=False)
    try:
        asyncio.run(run_worker(s))
    except RuntimeError as exc:  # the SDK's connection errors
        err_console.print(f"[bold red]error:[/] cannot reach Temporal at {s.temporal_address}: {exc}",
                          highlight=False, soft_wrap=True)
        _exit_now(1)
    _exit_now(0)


def _exit_now(code: int) -> NoReturn:
    """Leave without interpreter finalization. The Temporal SDK's native (Rust) threads outlive
    the event loop; when one of them calls back into Python while the interpreter finalizes, the
    process aborts (``PyGILState_Release … must be current``, exit -6) instead of exiting with
    ``code``. Everything worth keeping is written by now: flush it and exit."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    from rmmbridge.storage import migrate as migrations
    from rmmbridge.storage.db import create_engine

    async def _do() -> str | None:
        engine = create_engine(settings().database_url)
        try:
            await migrations.upgrade(engine)
            return await migrations.current_revision(engine)
        finally:
            await engine.dispose()

    console.print(f"database at revision {asyncio.run(_do())}")


@db_app.command("rotate-master-key")
def db_rotate_master_key(
    new_key_file: Path = typer.Option(..., "--new-key-file", exists=True, dir_okay=False,
                                      help="file holding the new key (e.g. `openssl rand -base64 32 > new.key`)"),
) -> None:
    """Re-seal every stored secret under a new master key (stop every serve and worker first).

    The current key is the configured one (RMMBRIDGE_SECRET_KEY or RMMBRIDGE_SECRET_KEY_FILE). One
    transaction: on any failure nothing changes. Afterwards configure the new key, then start again.
    """
    from rmmbridge.app import load_master_key
    from rmmbridge.kit.crypto import DecryptionError, MasterKeyError, Sealer, decode_key
    from rmmbridge.secrets.rotation import reseal_all
    from rmmbridge.storage.db import create_engine, create_sessionmaker, unit_of_work

    s = settings()
    try:
        new_key = decode_key(new_key_file.read_text())
        old_key = load_master_key(s)
    except MasterKeyError as exc:
        fail(f"master key: {exc}")
    if new_key == old_key:
        fail("the new key is the current key; generate a new one with `openssl rand -base64 32`")

    async def _do() -> tuple[int, int]:
        engine = create_engine(s.database_url)
        try:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                done = await reseal_all(session, Sealer(old_key), Sealer(new_key))
            return done.secrets, done.webhook_digests
        finally:
            await engine.dispose()

    try:
        count, digests = asyncio.run(_do())
    except DecryptionError:
        fail("the configured master key does not open the stored secrets; nothing was changed")
    console.print(f"re-sealed {count} secrets and {digests} webhook secret digests under the new key; "
                  "now configure the new key and start rmmbridge again", highlight=False)
