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


def run(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine, turning application errors into a one-line message and exit code 1."""
    try:
        return asyncio.run(fn())  # type: ignore[arg-type]
    except AppError as exc:
        fail(exc.detail)
    except ConfigError as exc:
        fail(str(exc), 2)


async def with_db(fn: Callable[[AsyncSession], Awaitable[T]], *, migrate: bool = True) -> T:
    """One transaction against the configured database (migrating SQLite on first use)."""
    from rmmbridge.app import build_state
    from rmmbridge.storage import migrate as migrations
    from rmmbridge.storage.db import unit_of_work

    state = build_state(settings())
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
