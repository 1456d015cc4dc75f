"""``rmmbridge identity …``: the merge review queue, merge/unmerge, never-merge, coverage, policy."""

from __future__ import annotations

import uuid
from typing import Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.identity import coverage as coverage_mod
from rmmbridge.identity import service
from rmmbridge.identity.policy import load_policy, save_policy
from rmmbridge.state import AppState
from rmmbridge.tenancy.context import TenantContext

from .common import console, emit_json, fail, run
from .context import JsonOpt, TenantOpt, with_tenant

identity_app = typer.Typer(
    help="One asset per machine: merge candidates, merge/unmerge, coverage.", no_args_is_help=True
)


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"'{value}' is not {what}")


@identity_app.command("candidates")
def candidates(
    status: str = typer.Option("open", "--status", help="open | merged | never | dismissed"),
    client: str = typer.Option(None, "--client", help="client id"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Merge candidates with both assets side by side."""
    if status not in ("open", "merged", "never", "dismissed"):
        fail("--status is open, merged, never or dismissed")
    client_id = _uuid(client, "a client id") if client else None

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        return await service.list_candidates(db, ctx, status=status, client_id=client_id)

    items = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json({"items": items})
        return
    table = Table("id", "score", "reason", "asset a", "asset b", "evidence", title=f"{len(items)} {status} candidates")
    for c in items:
        ev = ", ".join(f"{e['kind']}={e['value']}" for e in c["evidence"])
        a, b = c["asset_a"], c["asset_b"]
        table.add_row(c["id"], str(c["score"]), c["reason"], f"{a.get('name')} ({a.get('provider')})",
                      f"{b.get('name')} ({b.get('provider')})", ev)
    console.print(table)


@identity_app.command("decide")
def decide(candidate_id: str, action: str = typer.Argument(..., help="merge | never | dismiss"),
           tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Merge a candidate, mark it never-merge (remembered), or dismiss it."""
    if action not in ("merge", "never", "dismiss"):
        fail("the action is merge, never or dismiss")
    cid = _uuid(candidate_id, "a candidate id")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        return await service.decide_candidate(db, ctx, cid, action, state.clock())

    out = run(lambda: with_tenant(tenant, _do))
    emit_json(out) if json_out else console.print(out)


@identity_app.command("merge")
def merge(keep: str, other: str, tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Merge asset OTHER into asset KEEP."""
    k, o = _uuid(keep, "an asset id"), _uuid(other, "an asset id")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        return await service.merge(db, ctx, k, o, state.clock())

    out = run(lambda: with_tenant(tenant, _do))
    emit_json(out) if json_out else console.print(out)


@identity_app.command("unmerge")
def unmerge(asset_id: str, mapping_id: str, tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Take source MAPPING_ID off ASSET_ID (restored as the asset it came from, or a new one)."""
    a, m = _uuid(asset_id, "an asset id"), _uuid(mapping_id, "a source (mapping) id")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        return await service.unmerge(db, ctx, a, m, state.clock())

    out = run(lambda: with_tenant(tenant, _do))
    emit_json(out) if json_out else console.print(out)


@identity_app.command("never-merge")
def never_merge(asset_a: str, asset_b: str, tenant: str = TenantOpt) -> None:
    """Never propose or merge these two assets again."""
    a, b = _uuid(asset_a, "an asset id"), _uuid(asset_b, "an asset id")
    if a == b:
        fail("two different assets are needed")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> None:
        await service.never_merge(db, ctx, a, b, state.clock())

    run(lambda: with_tenant(tenant, _do))
    console.print("never merge: remembered")


@identity_app.command("bulk-accept")
def bulk_accept(client: str, min_score: int = typer.Option(0, "--min-score", min=0, max=100),
                tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Merge every open candidate of CLIENT (best first)."""
    cid = _uuid(client, "a client id")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        return await service.bulk_accept(db, ctx, cid, state.clock(), min_score)

    out = run(lambda: with_tenant(tenant, _do))
    emit_json(out) if json_out else console.print(out)


@identity_app.command("sources")
def sources(asset_id: str, tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """The RMM devices feeding an asset, each with its own status."""
    aid = _uuid(asset_id, "an asset id")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        await service._asset(db, ctx, aid)
        return [s.as_dict() for s in (await service.sources_of(db, ctx, [aid], state.clock()))[aid]]

    items = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json({"items": items})
        return
    table = Table("source", "integration", "device", "name", "status", "last seen", title="sources")
    for s in items:
        table.add_row(s["mapping_id"], s["integration_name"], s["external_id"], s["name"] or "", s["status"],
                      s["last_seen_at"] or "")
    console.print(table)


@identity_app.command("coverage")
def coverage(
    client: str = typer.Option(None, "--client", help="client id"),
    kind: str = typer.Option(None, "--kind", help="gap | duplicate"),
    csv_out: bool = typer.Option(False, "--csv", help="CSV on stdout"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Machines seen by one integration and not another of the same client; stale duplicates."""
    if kind is not None and kind not in coverage_mod.KINDS:
        fail("--kind is gap or duplicate")
    cid = _uuid(client, "a client id") if client else None

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        return await coverage_mod.coverage(db, ctx, client_id=cid, kind=kind)

    report = run(lambda: with_tenant(tenant, _do))
    if csv_out:
        typer.echo(coverage_mod.to_csv(report.rows), nl=False)
        return
    if json_out:
        emit_json({"items": [r.as_dict() for r in report.rows], "clients": report.clients, "totals": report.totals()})
        return
    table = Table("kind", "client", "asset", "seen by", "missing from", title=f"coverage: {report.totals()}")
    for r in report.rows:
        table.add_row(r.kind, r.client_name, r.asset_name, ", ".join(r.seen_by), ", ".join(r.missing_from))
    console.print(table)


@identity_app.command("policy")
def policy(
    mode: str = typer.Option(None, "--mode", help="auto (merge strong matches) | review (propose everything)"),
    junk_threshold: int = typer.Option(None, "--junk-threshold", min=1, help="a value on more assets is junk"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Show or change the tenant's correlation policy."""
    if mode is not None and mode not in ("auto", "review"):
        fail("--mode is auto or review")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        if mode is None and junk_threshold is None:
            return (await load_policy(db, ctx.tenant_id)).as_dict()
        return (await save_policy(db, ctx.tenant_id, mode, junk_threshold)).as_dict()

    out = run(lambda: with_tenant(tenant, _do))
    emit_json(out) if json_out else console.print(out)
