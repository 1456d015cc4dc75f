"""UI: the merge review queue, unmerge from an asset's sources panel, and the coverage report."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rmmbridge.clients import repository as clients_repo
from rmmbridge.errors import AppError
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.deps import DB, State
from rmmbridge.web.ui.deps import Form, UiAuth, ui_ctx
from rmmbridge.web.ui.render import redirect, render

from . import coverage as coverage_mod
from . import service

router = APIRouter(include_in_schema=False)


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@router.get("/identity/review")
async def review_page(
    request: Request, db: DB, auth: UiAuth, client_id: str = "", status: str = "open", ok: str = "", error: str = ""
) -> Response:
    ctx = ui_ctx(auth, Permission.assets_read)
    status = status if status in ("open", "merged", "never", "dismissed") else "open"
    client = _uuid(client_id) if client_id else None
    items = await service.list_candidates(db, ctx, status=status, client_id=client)
    ids = {uuid.UUID(c["client_id"]) for c in items if c["client_id"]}
    names = await clients_repo.names_by_id(db, ctx, list(ids))
    per_client: dict[str, int] = {}
    for c in items:
        if c["client_id"]:
            per_client[c["client_id"]] = per_client.get(c["client_id"], 0) + 1
    return render(
        request,
        "identity_review.html",
        items=items,
        status=status,
        client_id=str(client) if client else "",
        client_names={str(k): v for k, v in names.items()},
        per_client=per_client,
        can_write=ctx.can(Permission.assets_write),
        ok=ok,
        error=error,
    )


@router.post("/identity/review/{candidate_id}/{action}")
async def decide(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, candidate_id: uuid.UUID, action: str
) -> Response:
    ctx = ui_ctx(auth, Permission.assets_write)
    if action not in ("merge", "never", "dismiss"):
        return redirect("/identity/review", error="Unknown action.")
    try:
        out = await service.decide_candidate(db, ctx, candidate_id, action, state.clock())
    except AppError as exc:
        await db.rollback()
        return redirect("/identity/review", error=exc.detail)
    message = {"merge": "Merged.", "never": "These two will never be merged.", "dismiss": "Dismissed."}[action]
    if action == "merge":
        return redirect(f"/assets/{out['asset_id']}", ok=message)
    return redirect("/identity/review", ok=message)


@router.post("/identity/review/bulk-accept")
async def bulk(request: Request, state: State, db: DB, auth: UiAuth, form: Form) -> Response:
    ctx = ui_ctx(auth, Permission.assets_write)
    client = _uuid(form.get("client_id", ""))
    if client is None:
        return redirect("/identity/review", error="Choose a client.")
    try:
        out = await service.bulk_accept(db, ctx, client, state.clock())
    except AppError as exc:
        await db.rollback()
        return redirect("/identity/review", error=exc.detail)
    return redirect("/identity/review", ok=f"Merged {out['merged']} pair(s).")


@router.post("/identity/unmerge")
async def unmerge(request: Request, state: State, db: DB, auth: UiAuth, form: Form) -> Response:
    ctx = ui_ctx(auth, Permission.assets_write)
    asset_id, mapping_id = _uuid(form.get("asset_id", "")), _uuid(form.get("mapping_id", ""))
    if asset_id is None or mapping_id is None:
        return redirect("/identity/review", error="Choose a source to unmerge.")
    try:
        out = await service.unmerge(db, ctx, asset_id, mapping_id, state.clock())
    except AppError as exc:
        await db.rollback()
        return redirect(f"/assets/{asset_id}", error=exc.detail)
    return redirect(f"/assets/{asset_id}", ok=f"Unmerged: the source now feeds asset {out['restored']}.")


@router.get("/identity/coverage")
async def coverage_page(request: Request, db: DB, auth: UiAuth, client_id: str = "", kind: str = "") -> Response:
    ctx = ui_ctx(auth, Permission.assets_read)
    client = _uuid(client_id) if client_id else None
    report = await coverage_mod.coverage(db, ctx, client_id=client, kind=kind if kind in coverage_mod.KINDS else None)
    return render(
        request,
        "identity_coverage.html",
        report=report,
        totals=report.totals(),
        client_id=str(client) if client else "",
        kind=kind if kind in coverage_mod.KINDS else "",
    )


@router.get("/identity/coverage.csv")
async def coverage_csv(db: DB, auth: UiAuth, client_id: str = "", kind: str = "") -> Response:
    ctx = ui_ctx(auth, Permission.assets_read)
    client = _uuid(client_id) if client_id else None
    report = await coverage_mod.coverage(db, ctx, client_id=client, kind=kind if kind in coverage_mod.KINDS else None)
    return Response(
        coverage_mod.to_csv(report.rows),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="coverage.csv"'},
    )
