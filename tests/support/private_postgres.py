"""A private PostgreSQL cluster for tests that stop or restart the server.

The shared server on 127.0.0.1:5432 serves every other test and engineer on the machine, so a
test that must restart PostgreSQL gets a throw-away cluster of its own: ``initdb`` into a temporary
directory, trust authentication, listening on 127.0.0.1 on a free port (its socket in the same
directory). As root, the server binaries refuse to run, so they run as the ``postgres`` account
through ``runuser``. Durability is off (``fsync``, ``full_page_writes``): a crash loses nothing a
test needs, and a restart still goes through the server's real shutdown and start.

Use the ``private_postgres`` fixture, or :func:`private_postgres_cluster` as an async context
manager. Missing binaries skip the test, except under ``CI=true``, where they fail it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from rmmbridge.storage import migrate
from rmmbridge.storage.db import create_engine
from tests.support.live_server import free_port

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_VERSIONS_ROOT = Path("/usr/lib/postgresql")  # Debian's layout: /usr/lib/postgresql/<version>/bin
SERVER_USER = "postgres"  # the account the server runs as when the tests run as root


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (initdb, pg_ctl) are not installed, or no account can run them."""


def server_bindir() -> Path:
    """The newest installed server's bin directory (``RMMBRIDGE_TEST_PG_BINDIR`` overrides)."""
    override = os.environ.get("RMMBRIDGE_TEST_PG_BINDIR")
    candidates = [Path(override)] if override else []
    if PG_VERSIONS_ROOT.is_dir():
        versions = [p for p in PG_VERSIONS_ROOT.iterdir() if re.fullmatch(r"\d+", p.name)]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: int(p.name), reverse=True)]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise PostgresUnavailable(f"no PostgreSQL server binaries (initdb, pg_ctl) under {PG_VERSIONS_ROOT} or on PATH")


def _as_server_user() -> tuple[list[str], int | None]:
    """The command prefix that runs the server binaries, and the uid to own its directory."""
    if os.geteuid() != 0:
        return [], None
    runuser = shutil.which("runuser")
    try:
        account = pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root and there is no {SERVER_USER!r} account to run the server"
        ) from None
    if runuser is None:
        raise PostgresUnavailable("running as root and runuser is missing")
    return [runuser, "-u", SERVER_USER, "--"], account.pw_uid


@dataclass
class PrivatePostgres:
    """One private cluster: start, stop, restart, create databases. Superuser ``postgres``, trust auth."""

    bindir: Path
    root: Path
    port: int
    prefix: list[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, tool: str, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [*self.prefix, str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,  # the server account cannot read the test's working directory
        )
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")

    def initdb(self) -> None:
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.root}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c full_page_writes=off",
                "-c shared_buffers=16MB",
                "-c max_connections=60",
            ]
        )
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` as an operator's ``systemctl restart postgresql`` does: clients are disconnected."""
        self._pg("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop")

    def restart(self, down_s: float = 1.0) -> float:
        """Stop (fast), stay down ``down_s``, start again; the seconds the server was unreachable."""
        began = time.monotonic()
        self.stop("fast")
        time.sleep(down_s)
        self.start()
        return time.monotonic() - began

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    async def create_database(self, name: str | None = None, *, migrated: bool = True) -> str:
        """A new database (migrated to head by default); its SQLAlchemy URL."""
        import asyncpg

        name = name or f"rmmbridge_p_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(self.dsn(), timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        url = self.url(name)
        if migrated:
            engine = create_engine(url)
            try:
                await migrate.upgrade(engine)
            finally:
                await engine.dispose()
        return url

    def destroy(self) -> None:
        if self.running():
            try:
                self.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def start_private_postgres() -> PrivatePostgres:
    """initdb and start a cluster (PostgresUnavailable when the binaries or an account are missing)."""
    bindir = server_bindir()
    prefix, uid = _as_server_user()
    # Under /tmp, not pytest's tmp_path: that is private to the test's user, and the server's
    # account must reach its data directory and socket.
    root = Path(tempfile.mkdtemp(prefix="rmmbridge-pg-"))
    os.chmod(root, 0o700)
    if uid is not None:
        os.chown(root, uid, -1)
    cluster = PrivatePostgres(bindir, root, free_port(), prefix)
    try:
        cluster.initdb()
        for attempt in range(3):  # the free port may be taken between choosing and binding it
            try:
                cluster.start()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                cluster.port = free_port()
    except BaseException:
        cluster.destroy()
        raise
    return cluster


@asynccontextmanager
async def private_postgres_cluster() -> AsyncIterator[PrivatePostgres]:
    """A running private cluster, removed afterwards; skips (fails under CI) when unavailable."""
    try:
        cluster = start_private_postgres()
    except PostgresUnavailable as exc:
        if IN_CI:
            pytest.fail(f"a private PostgreSQL cluster is required in CI: {exc}")
        pytest.skip(f"no private PostgreSQL cluster: {exc}")
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest_asyncio.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    async with private_postgres_cluster() as cluster:
        yield cluster
