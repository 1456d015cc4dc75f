"""REST: ``/api/v1/identity`` — the merge review queue, merge/unmerge, sources, policy, coverage."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from rmmbridge.errors import Conflict
from rmmbridge.kit.numbers import json_int
from rmmbridge.kit.text import NO_NUL
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.docs import error_responses
from rmmbridge.web.deps import DB, State, require

from . import coverage as coverage_mod
from . import service
from .policy import FIELD_GROUPS, load_policy, save_policy

router = APIRouter(prefix="/identity", tags=["identity"], responses=error_responses(401, 403))
Reader = Annotated[TenantContext, Depends(require(Permission.assets_read))]
Writer = Annotated[TenantContext, Depends(require(Permission.assets_write))]
Admin = Annotated[TenantContext, Depends(require(Permission.settings_update))]


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep: uuid.UUID = Field(description="the asset that survives")
    other: uuid.UUID = Field(description="the asset merged into it (retired, restorable by unmerge)")


class PairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset_a: uuid.UUID
    asset_b: uuid.UUID


class UnmergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset_id: uuid.UUID
    mapping_id: uuid.UUID = Field(description="the source to take off (its companions from the same merge go with it)")


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: uuid.UUID
    min_score: json_int(0, 100) = 0  # type: ignore[valid-type]  # false is not 0


# The field groups by name, so the document lists them (an unknown group is a 422 by the schema).
Precedence = create_model(  # type: ignore[call-overload]
    "Precedence",
    __config__=ConfigDict(extra="forbid"),
    **{group: (list[Annotated[str, Field(max_length=40, pattern=NO_NUL)]] | None, None) for group in FIELD_GROUPS},
)


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["auto", "review"] | None = None
    junk_threshold: json_int(1, 100_000) | None = None  # type: ignore[valid-type]
    precedence: Precedence | None = None  # type: ignore[valid-type]


@router.get("/candidates", summary="Merge candidates (the review queue)")
async def list_candidates(
    db: DB,
    ctx: Reader,
    status: Literal["open", "merged", "never", "dismissed"] = "open",
    client_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Both assets side by side with the evidence and a score (100 = strong evidence)."""
    items = await service.list_candidates(db, ctx, status=status, client_id=client_id, limit=limit)
    return {"items": items, "total": len(items)}


@router.post(
    "/candidates/{candidate_id}/{action}", summary="Decide a candidate", responses=error_responses(404, 409, 422)
)
async def decide(
    state: State, db: DB, ctx: Writer, candidate_id: uuid.UUID, action: Literal["merge", "never", "dismiss"]
) -> dict[str, Any]:
    """``merge`` (the older asset survives), ``never`` (remembered: never proposed or merged again) or ``dismiss``."""
    return await service.decide_candidate(db, ctx, candidate_id, action, state.clock())


@router.post("/candidates/bulk-accept", summary="Merge every open candidate of a client")
async def bulk_accept(state: State, db: DB, ctx: Writer, body: BulkIn) -> dict[str, Any]:
    return await service.bulk_accept(db, ctx, body.client_id, state.clock(), body.min_score)


@router.post("/merge", summary="Merge two assets", responses=error_responses(404, 409, 422))
async def merge(state: State, db: DB, ctx: Writer, body: MergeIn) -> dict[str, Any]:
    return await service.merge(db, ctx, body.keep, body.other, state.clock())


@router.post("/never-merge", summary="Never merge these two assets", responses=error_responses(404, 409))
async def never_merge(state: State, db: DB, ctx: Writer, body: PairIn) -> dict[str, Any]:
    if body.asset_a == body.asset_b:  # exists (else 404), and is one asset already: 409, not 422
        await service._asset(db, ctx, body.asset_a)
        raise Conflict("asset_a and asset_b name the same asset", errors=[{"field": "asset_b"}])
    await service.never_merge(db, ctx, body.asset_a, body.asset_b, state.clock())
    return {"status": "never"}


@router.post("/unmerge", summary="Take a source off an asset", responses=error_responses(404, 409))
async def unmerge(state: State, db: DB, ctx: Writer, body: UnmergeIn) -> dict[str, Any]:
    """The source goes back to the asset it was created as (restored with its history), or to a
    new asset; both are rebuilt from their sources and never merged again."""
    return await service.unmerge(db, ctx, body.asset_id, body.mapping_id, state.clock())


@router.get("/assets/{asset_id}/sources", summary="The sources of an asset", responses=error_responses(404))
async def sources(state: State, db: DB, ctx: Reader, asset_id: uuid.UUID) -> dict[str, Any]:
    await service._asset(db, ctx, asset_id)
    found = await service.sources_of(db, ctx, [asset_id], state.clock())
    return {"items": [s.as_dict() for s in found.get(asset_id, [])]}


@router.get("/policy", summary="The tenant's correlation policy")
async def get_policy(db: DB, ctx: Reader) -> dict[str, Any]:
    return {**(await load_policy(db, ctx.tenant_id)).as_dict(), "field_groups": service.field_groups()}


@router.put("/policy", summary="Change the correlation policy", responses=error_responses(422))
async def put_policy(db: DB, ctx: Admin, body: PolicyIn) -> dict[str, Any]:
    precedence = None if body.precedence is None else body.precedence.model_dump(exclude_none=True)
    policy = await save_policy(db, ctx.tenant_id, body.mode, body.junk_threshold, precedence)
    return policy.as_dict()


@router.get(
    "/coverage",
    summary="Agent coverage gaps per client",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}}}},
)
async def coverage(
    db: DB,
    ctx: Reader,
    client_id: uuid.UUID | None = None,
    integration_id: Annotated[
        uuid.UUID | None, Query(description="gaps of machines this integration does not see")
    ] = None,
    kind: Literal["gap", "duplicate"] | None = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Machines seen by one integration and not by another mapped to the same client, and stale
    duplicates (two devices of one integration on one machine)."""
    report = await coverage_mod.coverage(db, ctx, client_id=client_id, integration_id=integration_id, kind=kind)
    if format == "csv":
        return Response(
            coverage_mod.to_csv(report.rows),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="coverage.csv"'},
        )
    return {"items": [r.as_dict() for r in report.rows], "clients": report.clients, "totals": report.totals()}
