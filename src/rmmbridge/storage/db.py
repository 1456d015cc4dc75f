"""Engines, sessions and the unit of work.

The boundary owns the transaction: a request dependency or a job opens a
:func:`unit_of_work`, services and repositories only ``flush()``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def _create_private(path: Path) -> None:
    """Create the SQLite file 0600 (like the key file) before SQLite creates it umask-wide; its
    -wal and -shm files take the database file's mode."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    # Statement parameters carry session/CSRF tokens and password hashes: never in logs or errors.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            _create_private(Path(parsed.database))
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Autocommit at the driver level; the "begin" listener below issues BEGIN itself.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            options = conn.get_execution_options()
            if options.get("isolation_level") == "AUTOCOMMIT":
                return
            # Writers take the write lock up front (BEGIN IMMEDIATE) so two writers queue on
            # busy_timeout instead of failing when a reader upgrades to a writer; read-only units
            # of work use a deferred BEGIN so they never block writers.
            conn.exec_driver_sql("BEGIN" if options.get(READ_ONLY_OPTION) else "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


AFTER_COMMIT = "after_commit"
READ_ONLY_OPTION = "rmmbridge_read_only"


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession], *, read_only: bool = False
) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on any exception.

    Callbacks registered with :func:`after_commit` run once the commit succeeded (background work
    is sent only for data that exists). ``read_only`` only changes how SQLite begins.
    """
    async with sessionmaker() as session:
        if read_only:
            await session.connection(execution_options={READ_ONLY_OPTION: True})
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        for callback in session.info.pop(AFTER_COMMIT, []):
            await callback()


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` says the database went away (restarted, failed over, unreachable) rather
    than refused a statement: the transaction was rolled back or never began, so the unit of work
    may be retried on a new connection (the pool pre-pings, so the next checkout opens one).

    A PostgreSQL restart surfaces as any of: a refused or reset socket on connect (raised as is by
    the pool), asyncpg's ``CannotConnectNowError``/``AdminShutdownError`` (the server is shutting
    down or starting) or ``ConnectionDoesNotExistError`` (the connection was closed mid-statement),
    wrapped by SQLAlchemy in ``DBAPIError``. So does an error raised *while handling* one: the
    rollback of a unit of work whose COPY the restart cut finds the connection mid-protocol
    ("another operation is in progress"), with the disconnect as its ``__context__``.
    """
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (ConnectionError, TimeoutError)) or _driver_disconnect(error)


def _driver_disconnect(error: BaseException | None) -> bool:
    try:
        from asyncpg import exceptions as pg
    except ImportError:  # SQLite-only install
        return False
    # Not all of class 57 (operator intervention): a statement timeout is a query cancelled.
    shutdown = (pg.AdminShutdownError, pg.CrashShutdownError, pg.CannotConnectNowError)
    pending, seen = [error], 0
    while pending and seen < 12:  # SQLAlchemy's error wraps the driver's; a handler's has it as context
        error = pending.pop()
        if error is None:
            continue
        if isinstance(error, exc.DBAPIError):
            pending += [error.__context__, error.orig]
            continue
        seen += 1
        if isinstance(error, (pg.PostgresConnectionError, *shutdown, ConnectionError)):
            return True
        if isinstance(error, pg.InterfaceError) and "closed" in str(error):  # "connection is closed"
            return True
        pending += [error.__context__, error.__cause__]
    return False


def dialect_insert(session: AsyncSession) -> Any:
    """``insert`` of the session's dialect, which has ``on_conflict_do_*`` on both backends."""
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
