"""``rmmbridge sync run …`` and ``rmmbridge runs …``."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import SyncRun
from rmmbridge.sync import runs
from rmmbridge.sync.schemas import SyncRunOut, SyncStarted
from rmmbridge.sync.service import request_sync
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.web.api.pagination import MAX_PAGE_SIZE, Page, PageParams, make_page, paginate

from .common import console, emit_json, fail, page_title, require_data, run, settings
from .context import JsonOpt, PageOpt, TenantOpt, resolve_integration, resolve_tenant, with_tenant
from .tables import Col, WideOpt, print_table

sync_app = typer.Typer(help="Run syncs.", no_args_is_help=True)
runs_app = typer.Typer(help="Sync run history.", no_args_is_help=True)
EXIT = {"succeeded": 0, "failed": 1, "partial": 2}


@sync_app.command("run")
def sync_run(
    integration: str,
    kind: str = typer.Argument(..., help="scopes | devices | alerts | software | liveness"),
    wait: bool = typer.Option(False, "--wait", help="run it here and show progress; exit code = outcome"),
    incremental: bool = typer.Option(False, "--incremental", help="devices: only devices seen since last time"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Start a sync. Without --wait it is queued for the running service; with --wait it runs here.

    Exit codes with --wait: 0 succeeded, 2 partial, 1 failed.
    """
    if kind not in ("scopes", "devices", "alerts", "software", "liveness"):
        fail(f"unknown sync kind '{kind}'; choose scopes, devices, alerts, software or liveness")
    params = {"incremental": True} if incremental else {}
    if not wait:

        async def _queue(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
            row = await resolve_integration(db, ctx, integration)
            await _require_mapped(state, db, ctx, row, kind)
            started = await request_sync(state, db, ctx, row.id, kind, "cli", params, submit=False)
            return SyncStarted(run=SyncRunOut.model_validate(started.run), joined=started.joined)

        queued = run(lambda: with_tenant(tenant, _queue))
        if json_out:
            emit_json(queued)
        else:
            console.print(
                f"{'joined running' if queued.joined else 'queued'} run {queued.run.id}; "
                f"follow it with `rmmbridge runs show {queued.run.id}`",
                highlight=False,
            )
        return
    final = run(lambda: _run_and_wait(integration, kind, params, tenant, not json_out))
    if json_out:
        emit_json(final)
    else:
        done = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in final.counters.items() if v) or "nothing to do"
        console.print(f"run {final.id} {final.status}: {done}", highlight=False)
        for err in final.errors[:5]:
            console.print(
                f"  [red]{err.get('scope', '')} {err.get('external_id', '')} {err.get('error')}[/]", highlight=False
            )
    raise typer.Exit(EXIT.get(final.status, 1))


async def _require_mapped(state: AppState, db: AsyncSession, ctx: TenantContext, row: Any, kind: str) -> None:
    """A device sync with nothing mapped would "succeed" having done nothing: say what to do
    instead, as the UI does (its Sync devices button is disabled with the same hint)."""
    if kind != "devices":
        return
    from rmmbridge.errors import WrongState
    from rmmbridge.integrations import repository

    if not await repository.syncable_mappings(db, ctx, row.id):
        cls = state.registry.get(row.provider) if row.provider in state.registry else None
        scope = (cls.scope_label if cls else "organization").lower()
        raise WrongState(
            f"no {scope} of “{row.name}” is mapped to a PSA client with auto-sync on, so there are no devices to "
            f"sync. Map at least one first: `rmmbridge mappings list {row.id}` then `rmmbridge mappings set "
            f"{row.id} <{scope}> --client <client>` (run `rmmbridge sync run {row.id} scopes` if the list is empty)"
        )


async def _run_and_wait(
    integration: str, kind: str, params: dict[str, Any], tenant: str | None, show: bool
) -> SyncRunOut:
    from rmmbridge.app import build_state
    from rmmbridge.storage import migrate
    from rmmbridge.sync.runner import runner_of
    from rmmbridge.tenancy.auth import system_context

    s = settings()
    require_data(s)
    state = build_state(s)
    try:
        if state.settings.is_sqlite:
            await migrate.upgrade(state.engine)
        async with unit_of_work(state.sessionmaker) as db:
            t = await resolve_tenant(db, tenant)
            ctx = system_context(t.id, "cli")
            row = await resolve_integration(db, ctx, integration)
            await _require_mapped(state, db, ctx, row, kind)
            started = await request_sync(state, db, ctx, row.id, kind, "cli", params, submit=False)
            run_id = started.run.id
        # Run it here. If another process already runs it, the atomic claim makes this a no-op and
        # we simply follow its progress.
        await runner_of(state).submit(t.id, run_id)
        waiter = asyncio.create_task(runner_of(state).wait(run_id))
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not show,
            transient=False,
        ) as bar:
            task = bar.add_task(f"{kind} sync", total=None, detail="queued")
            while True:
                async with unit_of_work(state.sessionmaker, read_only=True) as db:
                    current = await runs.get_run(db, ctx, run_id)
                progress, counters = current.progress or {}, current.counters or {}
                total = progress.get("devices_expected") or None
                done = progress.get("devices_done") or counters.get("processed") or 0
                bar.update(
                    task,
                    total=total,
                    completed=done,
                    detail=f"{current.status} · pages {progress.get('pages', 0)} · "
                    f"created {counters.get('created', 0)} updated {counters.get('updated', 0)}",
                )
                if current.status in EXIT:
                    if total is None:
                        bar.update(task, total=max(done, 1), completed=max(done, 1))
                    break
                await asyncio.sleep(0.3)
        await waiter
        return SyncRunOut.model_validate(current)
    finally:
        # Interrupted (Ctrl-C): hand the run back at once, queued for the server to resume.
        await runner_of(state).stop(grace_s=2.0)
        await state.engine.dispose()


@runs_app.command("list")
def runs_list(
    integration: str = typer.Option(None, "--integration"),
    kind: str = typer.Option(None, "--kind"),
    status: str = typer.Option(None, "--status"),
    limit: int = typer.Option(20, "--limit", min=1, max=MAX_PAGE_SIZE, help="runs per page"),
    page: int = PageOpt,
    wide: bool = WideOpt,
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Recent sync runs, newest first."""
    params = PageParams(page=page, page_size=limit)

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Page[SyncRunOut]:
        query = select(SyncRun).where(SyncRun.tenant_id == ctx.tenant_id)
        if integration:
            query = query.where(SyncRun.integration_id == (await resolve_integration(db, ctx, integration)).id)
        if kind:
            query = query.where(SyncRun.kind == kind)
        if status:
            query = query.where(SyncRun.status == status)
        rows, total = await paginate(db, query.order_by(SyncRun.created_at.desc(), SyncRun.id.desc()), params)
        return make_page([SyncRunOut.model_validate(r[0]) for r in rows], total, params)

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    cols = [Col("id", ident=True), Col("kind"), Col("trigger", drop=3), Col("status"), Col("started", drop=2),
            Col("processed", drop=4, justify="right"), Col("created", drop=5, justify="right"),
            Col("updated", drop=6, justify="right"), Col("errors", drop=1, justify="right")]  # fmt: skip
    print_table(cols, [
        [str(r.id), r.kind, r.trigger, r.status, r.created_at.isoformat(timespec="seconds"),
         str(r.counters.get("processed", "")), str(r.counters.get("created", "")), str(r.counters.get("updated", "")),
         str(len(r.errors))]
        for r in out.items
    ], title=page_title(out, "runs"), wide=wide)  # fmt: skip


@runs_app.command("show")
def runs_show(run_id: str, tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """One run with counters, progress and errors."""
    try:
        rid = uuid.UUID(run_id)
    except ValueError:
        fail(f"'{run_id}' is not a run id")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        return SyncRunOut.model_validate(await runs.get_run(db, ctx, rid))

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    console.print(f"run {out.id} · {out.kind} · {out.status} · trigger {out.trigger}", highlight=False)
    if out.started_at:
        ended = f" → {out.finished_at.isoformat(timespec='seconds')}" if out.finished_at else " (running)"
        console.print(f"time: {out.started_at.isoformat(timespec='seconds')}{ended}", highlight=False)
    for title, values in (("counters", out.counters), ("progress", out.progress)):
        shown = {k: v for k, v in (values or {}).items() if v not in (None, "", [], {})}
        if shown:
            console.print(f"{title}:", highlight=False)
            for key, value in shown.items():
                console.print(f"  {key.replace('_', ' ')}: {_plain_value(value)}", highlight=False)
    if out.errors:
        console.print(f"errors ({len(out.errors)}):", highlight=False)
    for err in out.errors:
        if isinstance(err, dict):
            where = " ".join(str(err[k]) for k in ("scope", "external_id") if err.get(k))
            text = err.get("error") or err.get("message") or ", ".join(f"{k}: {v}" for k, v in err.items())
            console.print(f"  {where + ': ' if where else ''}{text}", highlight=False)
        else:
            console.print(f"  {err}", highlight=False)


def _plain_value(value: Any) -> str:
    """A counter or progress value as a person reads it (no Python reprs)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')} {_plain_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)
