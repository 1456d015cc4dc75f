"""``rmmbridge sync run …`` and ``rmmbridge runs …``."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
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

from .common import console, emit_json, fail, page_title, run, settings
from .context import JsonOpt, PageOpt, TenantOpt, resolve_integration, resolve_tenant, with_tenant

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
        console.print(
            f"run {final.id} {final.status}: " + ", ".join(f"{k} {v}" for k, v in final.counters.items() if v),
            highlight=False,
        )
        for err in final.errors[:5]:
            console.print(
                f"  [red]{err.get('scope', '')} {err.get('external_id', '')} {err.get('error')}[/]", highlight=False
            )
    raise typer.Exit(EXIT.get(final.status, 1))


async def _run_and_wait(
    integration: str, kind: str, params: dict[str, Any], tenant: str | None, show: bool
) -> SyncRunOut:
    from rmmbridge.app import build_state
    from rmmbridge.storage import migrate
    from rmmbridge.sync.runner import runner_of
    from rmmbridge.tenancy.auth import system_context

    state = build_state(settings())
    try:
        if state.settings.is_sqlite:
            await migrate.upgrade(state.engine)
        async with unit_of_work(state.sessionmaker) as db:
            t = await resolve_tenant(db, tenant)
            ctx = system_context(t.id, "cli")
            row = await resolve_integration(db, ctx, integration)
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
    table = Table(
        "id", "kind", "trigger", "status", "created", "processed", "created", "updated", "errors",
        title=page_title(out, "runs"),
    )  # fmt: skip
    for r in out.items:
        c = r.counters
        table.add_row(
            str(r.id),
            r.kind,
            r.trigger,
            r.status,
            r.created_at.isoformat(timespec="seconds"),
            str(c.get("processed", "")),
            str(c.get("created", "")),
            str(c.get("updated", "")),
            str(len(r.errors)),
        )
    console.print(table)


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
    console.print(f"counters: {out.counters}", highlight=False)
    console.print(f"progress: {out.progress}", highlight=False)
    for err in out.errors:
        console.print(f"  error: {err}", highlight=False)
