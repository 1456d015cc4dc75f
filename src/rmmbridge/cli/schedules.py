"""``rmmbridge integrations schedule <integration> [<kind> <interval|on|off>]``.

Its own module (registered on the ``integrations`` group in ``main.py``) so it merges cleanly with
the other integration commands.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import ValidationFailed
from rmmbridge.integrations.settings import format_interval, parse_interval
from rmmbridge.state import AppState
from rmmbridge.sync.schedules import schedule_views, update_schedule
from rmmbridge.sync.schemas import ScheduleOut
from rmmbridge.tenancy.context import TenantContext

from .common import console, emit_json, fail, run
from .context import JsonOpt, TenantOpt, resolve_integration, with_tenant


def schedule(
    integration: str = typer.Argument(..., help="integration id, provider key or name"),
    kind: str = typer.Argument(None, help="liveness | devices | alerts | software; omit to list all"),
    value: str = typer.Argument(None, help="an interval (60s, 5m, 1h, or seconds: 90), on, or off"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Show every schedule of an integration, or change one: ``schedule tacticalrmm liveness 60s``."""
    if kind is not None and value is None:
        fail(f"say what to do with the {kind} schedule: an interval (60s, 5m, 1h), on or off")
    enabled: bool | None = None
    seconds: int | None = None
    if value is not None:
        word = value.strip().lower()
        if word in ("on", "off"):
            enabled = word == "on"
        else:
            try:
                seconds = parse_interval(value)
            except ValidationFailed as exc:
                fail(f"{exc.detail}, or on / off")
            enabled = True  # giving an interval means "run it at this interval"

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        row = await resolve_integration(db, ctx, integration)
        cls = state.registry.get(row.provider)
        if kind is not None:
            row = await update_schedule(db, ctx, cls, row, kind, enabled=enabled, interval_seconds=seconds)
        return row.name, await schedule_views(db, ctx, cls, row, state.clock())

    name, views = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(views)
        return
    if kind is not None:
        changed = next(v for v in views if v.kind == kind)
        state_text = f"every {format_interval(changed.interval_seconds)}" if changed.enabled else "off"
        console.print(f"{name}: {kind} schedule {state_text}", highlight=False)
        return
    _table(name, views)


def _table(name: str, views: list[ScheduleOut]) -> None:
    table = Table("sync", "schedule", "next run", "last run", "took", "result", title=name)
    for v in views:
        last = v.last_run
        when = "running now" if v.running else (str(v.next_run_at.replace(microsecond=0)) if v.next_run_at else "—")
        if v.held_back:
            when += " (held back: last run was slow)"
        result = ""
        if last is not None:
            shown = {k: c for k, c in last.counters.items() if c not in (None, 0, "")}
            result = last.status + (" · " + ", ".join(f"{c} {k}" for k, c in list(shown.items())[:4]) if shown else "")
        table.add_row(
            v.kind,
            f"every {format_interval(v.interval_seconds)}" if v.enabled else "off",
            when,
            str(last.created_at.replace(microsecond=0)) if last else "never",
            f"{last.seconds:.1f} s" if last and last.seconds is not None else "",
            result,
        )
    console.print(table)
