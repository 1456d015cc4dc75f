"""Shared CLI plumbing: settings, a database session per command, one-line errors, JSON output."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.config import ConfigError, Settings, load_settings
from rmmbridge.errors import AppError
from rmmbridge.web.api.pagination import Page

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def note(message: str) -> None:
    """A remark for the operator on stderr (stdout stays clean for --json and pasting)."""
    err_console.print(f"[yellow]note:[/] {message}", highlight=False, soft_wrap=True)


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        fail(str(exc), 2)


KEY_FIX = (
    "use the key this database was created with: RMMBRIDGE_SECRET_KEY, or RMMBRIDGE_SECRET_KEY_FILE "
    "(default: the data directory's secret.key; `rmmbridge config` shows where it is looked for)"
)


def run(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine, turning application errors into a one-line message and exit code 1."""
    from rmmbridge.kit.crypto import DecryptionError, MasterKeyError

    try:
        return asyncio.run(fn())  # type: ignore[arg-type]
    except AppError as exc:
        fail(exc.detail)
    except ConfigError as exc:
        fail(str(exc), 2)
    except MasterKeyError as exc:
        fail(f"the master key is not usable: it {exc}. Fix RMMBRIDGE_SECRET_KEY, or unset it to use the key "
             "file (RMMBRIDGE_SECRET_KEY_FILE)", 2)  # fmt: skip
    except DecryptionError:
        fail(f"stored secrets do not open with this master key; {KEY_FIX}", 2)
    except OSError as exc:  # a data directory that cannot be read or written
        fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), 2)


def require_data(s: Settings, *, create: bool = False) -> None:
    """Refuse, in one line saying where it looked, to work on a database or key that is not there.

    Only commands that set up a deployment (``serve``, ``db upgrade``, ``tenant create``) may create
    them: anything else would silently start an empty database, or a key that cannot open the
    secrets already stored.
    """
    if create:
        return
    where = f"the data directory is {s.data_dir} (RMMBRIDGE_DATA_DIR; `rmmbridge config` shows it)"
    path = s.sqlite_path
    if path is not None and not path.exists():
        fail(f"no rmmbridge database at {path}; {where}. Point RMMBRIDGE_DATA_DIR (or RMMBRIDGE_DATABASE_URL) at "
             "the service's data, or start one with `rmmbridge serve` or `rmmbridge tenant create`", 2)  # fmt: skip
    if s.secret_key is None and not s.secret_key_file.exists():
        fail(f"no master key file at {s.secret_key_file}; {where}. Set RMMBRIDGE_SECRET_KEY or "
             "RMMBRIDGE_SECRET_KEY_FILE to the service's key (a new key could not open its stored secrets)",
             2)  # fmt: skip


async def with_db(
    fn: Callable[[AsyncSession], Awaitable[T]], *, migrate: bool = True, create: bool = False
) -> T:
    """One transaction against the configured database (migrating SQLite; creating it only when
    ``create``: see :func:`require_data`)."""
    from rmmbridge.app import build_state
    from rmmbridge.storage import migrate as migrations
    from rmmbridge.storage.db import unit_of_work

    s = settings()
    require_data(s, create=create)
    state = build_state(s)
    try:
        if migrate and state.settings.is_sqlite:
            await migrations.upgrade(state.engine)
        elif await migrations.pending(state.engine):
            fail("the database schema is not up to date; run `rmmbridge db upgrade` first")
        async with unit_of_work(state.sessionmaker) as session:
            return await fn(session)
    finally:
        await state.engine.dispose()


def read_secret(prompt: str, from_stdin: bool) -> str:
    """Secrets come from a prompt or stdin, never from argv (argv shows up in `ps` and history)."""
    if from_stdin:
        value = sys.stdin.readline().rstrip("\n")
    else:
        value = typer.prompt(prompt, hide_input=True, confirmation_prompt=False, err=True)  # stdout stays clean
    if not value:
        fail(f"{prompt.lower()} must not be empty")
    return value


def page_title(page: Page[Any], noun: str) -> str:
    """A list table's title: the total, and which page when there are several."""
    more = f" · page {page.page} of {page.pages} (--page)" if page.pages > 1 else ""
    return f"{page.total} {noun}{more}"


def emit_json(data: Any) -> None:
    """``data`` as the REST API shows it: one resource as the bare object, a list as its endpoint
    does (the page envelope where the REST API paginates), so one ``jq`` filter serves both."""
    def _default(o: Any) -> Any:
        if isinstance(o, BaseModel):
            return o.model_dump(mode="json")
        return str(o)

    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    elif isinstance(data, list):
        data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
    sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")


def check_port(host: str, port: int, how: str = "--port or RMMBRIDGE_PORT") -> None:
    """Fail in one line when ``host:port`` cannot be bound, *before* saying "listening on …".

    (Bound and released at once; uvicorn binds again right after, so a race is possible but the
    everyday case — another rmmbridge or simulator already on the port — is reported clearly.)
    """
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail(f"port {port} on {host} is already in use (another rmmbridge or simulator?): stop it, or "
                     f"choose another port with {how}")  # fmt: skip
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
