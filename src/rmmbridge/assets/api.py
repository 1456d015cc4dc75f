"""REST: ``/api/v1/assets``."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select

from rmmbridge.errors import ValidationFailed
from rmmbridge.kit.text import NO_NUL
from rmmbridge.providers.base import Capability
from rmmbridge.storage.models import ExternalEntityMapping
from rmmbridge.sync.schemas import SyncRunOut, SyncStarted
from rmmbridge.sync.service import request_sync
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.docs import error_responses
from rmmbridge.web.api.pagination import Page, Paging, make_page, paginate
from rmmbridge.web.deps import DB, State, require

from . import repository, saved_views, service, views
from .schemas import (
    AssetOut,
    AssetsSummary,
    AssetSummary,
    AssetUpdate,
    SavedViewIn,
    SavedViewOut,
    SavedViewPatch,
    SoftwareCountsOut,
    SoftwareOut,
)
from .software import software_out

router = APIRouter(prefix="/assets", tags=["assets"], responses=error_responses(401, 403))
Reader = Annotated[TenantContext, Depends(require(Permission.assets_read))]
Writer = Annotated[TenantContext, Depends(require(Permission.assets_write))]


@router.get("", response_model=Page[AssetSummary], summary="List assets")
async def list_assets(
    state: State,
    db: DB,
    ctx: Reader,
    paging: Paging,
    client_id: uuid.UUID | None = None,
    provider: Annotated[str | None, Query(max_length=40, pattern=NO_NUL)] = None,
    integration_id: uuid.UUID | None = None,
    asset_type: Literal["workstation", "server"] | None = None,
    agent_status: Annotated[
        Literal["online", "offline", "overdue", "unknown", "stale"] | None,
        Query(description="stale: not checked for 3 liveness intervals (then not counted as anything else)"),
    ] = None,
    status: Literal["active", "inactive", "retired"] | None = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="name, serial, IP or user contains")
    ] = None,
    sort: Literal["name", "type", "status", "last_seen", "client", "updated"] = "name",
    order: Literal["asc", "desc"] = "asc",
    needs_reboot: bool | None = None,
    failing_checks: Annotated[bool | None, Query(description="at least one failing check")] = None,
    patches_pending: bool | None = None,
    maintenance_mode: bool | None = None,
) -> Page[AssetSummary]:
    """Agent status is the RMM's rule applied to the last-seen the liveness pass keeps fresh."""
    filters = repository.AssetFilters(
        client_id,
        provider,
        integration_id,
        asset_type,
        agent_status,
        status,
        q,
        sort=sort,
        descending=order == "desc",
        needs_reboot=needs_reboot,
        failing_checks=failing_checks,
        patches_pending=patches_pending,
        maintenance_mode=maintenance_mode,
    )
    rows, total = await paginate(db, repository.list_query(ctx, filters, state.clock()), paging)
    return make_page([views.summary(*row) for row in rows], total, paging)


# Its own path, not /assets/summary: under /assets/ it would shadow (and be shadowed by) the
# /assets/{asset_id} routes for every other method.
fleet_router = APIRouter(prefix="/fleet", tags=["assets"], responses=error_responses(401, 403))


@fleet_router.get("/summary", response_model=AssetsSummary, summary="Fleet status and health counts")
async def assets_summary(
    state: State,
    db: DB,
    ctx: Reader,
    client_id: uuid.UUID | None = None,
    integration_id: uuid.UUID | None = None,
) -> AssetsSummary:
    """Counts per status (stale its own bucket) in total and per client, health counts, and when
    the statuses were last checked (``data_as_of``)."""
    filters = repository.AssetFilters(client_id=client_id, integration_id=integration_id)
    return await views.fleet_summary(db, ctx, filters, state.clock())


@router.get("/{asset_id}", response_model=AssetOut, responses=error_responses(404))
async def get_asset(state: State, db: DB, ctx: Reader, asset_id: uuid.UUID) -> AssetOut:
    """The asset with its extension (hardware, OS, vitals), mappings, recent alerts and history."""
    return await views.asset_out(db, ctx, await service.get_asset(db, ctx, asset_id), state.clock())


@router.patch("/{asset_id}", response_model=AssetOut, responses=error_responses(404, 422))
async def update_asset(db: DB, ctx: Writer, asset_id: uuid.UUID, body: AssetUpdate) -> AssetOut:
    """Edit by hand; edited name, type and client are kept over later syncs (overrides)."""
    asset = await service.edit_asset(db, ctx, asset_id, body)
    return await views.asset_out(db, ctx, asset)


@router.post(
    "/{asset_id}/refresh", response_model=SyncStarted, status_code=202, responses=error_responses(404, 409, 422)
)
async def refresh_asset(state: State, db: DB, ctx: Writer, asset_id: uuid.UUID) -> SyncStarted:
    """Fetch this device from its RMM now (single-device refresh)."""
    asset = await service.get_asset(db, ctx, asset_id)
    if asset.rmm_integration_id is None or asset.rmm_device_id is None:
        raise ValidationFailed("this asset is not linked to an RMM")
    from rmmbridge.integrations.service import get_integration, require_capability

    integration = await get_integration(db, ctx, asset.rmm_integration_id)
    require_capability(state.registry, integration, Capability.device_refresh)
    ref = await db.scalar(
        select(ExternalEntityMapping.external_ref).where(
            ExternalEntityMapping.tenant_id == ctx.tenant_id,
            ExternalEntityMapping.local_id == asset.id,
            ExternalEntityMapping.integration_id == integration.id,
        )
    )
    started = await request_sync(
        state, db, ctx, integration.id, "agent", "manual", {"external_id": asset.rmm_device_id, "external_ref": ref}
    )
    return SyncStarted(run=SyncRunOut.model_validate(started.run), joined=started.joined)


@router.get("/{asset_id}/software", response_model=Page[SoftwareOut], responses=error_responses(404))
async def asset_software(
    db: DB,
    ctx: Reader,
    asset_id: uuid.UUID,
    paging: Paging,
    current: Annotated[bool | None, Query(description="true: installed now; false: uninstalled")] = None,
    software_id: Annotated[uuid.UUID | None, Query(description="only the versions of this product")] = None,
) -> Page[SoftwareOut]:
    """One entry per installed version, the versions of a product next to each other."""
    await service.get_asset(db, ctx, asset_id)
    rows, total = await paginate(db, repository.software_query(ctx, asset_id, current, software_id), paging)
    return make_page([software_out(row) for row in rows], total, paging)


@router.get("/{asset_id}/software/counts", response_model=SoftwareCountsOut, responses=error_responses(404))
async def asset_software_counts(db: DB, ctx: Reader, asset_id: uuid.UUID) -> SoftwareCountsOut:
    """How many versions and products are installed now, and how many versions were uninstalled."""
    await service.get_asset(db, ctx, asset_id)
    counts = await repository.software_counts(db, ctx, asset_id)
    return SoftwareCountsOut(
        installations=counts.installations, products=counts.products, uninstalled=counts.uninstalled
    )


# --------------------------------------------------------------------------- saved views (per user)

views_router = APIRouter(prefix="/asset-views", tags=["assets"], responses=error_responses(401, 403))


@views_router.get("", response_model=list[SavedViewOut], summary="Your saved views of the assets list")
async def list_views(db: DB, ctx: Reader) -> list[SavedViewOut]:
    """Only the caller's own views (each user has their own), ordered by name."""
    return [SavedViewOut.model_validate(v) for v in await saved_views.list_views(db, ctx)]


@views_router.post(
    "",
    response_model=SavedViewOut,
    status_code=201,
    summary="Save a view",
    responses={
        200: {"model": SavedViewOut, "description": "Your view of that name, overwritten"},
        **error_responses(409, 422),
    },
)
async def create_view(db: DB, ctx: Reader, body: SavedViewIn, response: Response) -> SavedViewOut:
    """409 when you already have a view of that name (unless ``overwrite``); 422 names an unknown
    column or filter, or a value out of range. With ``overwrite`` replacing a view: 200."""
    row, created = await saved_views.create_view(
        db, ctx, body.name, body.filters.params(), body.columns, overwrite=body.overwrite
    )
    if not created:
        response.status_code = 200
    return SavedViewOut.model_validate(row)


@views_router.get("/{view_id}", response_model=SavedViewOut, responses=error_responses(404))
async def get_view(db: DB, ctx: Reader, view_id: uuid.UUID) -> SavedViewOut:
    return SavedViewOut.model_validate(await saved_views.get_view(db, ctx, view_id))


@views_router.patch("/{view_id}", response_model=SavedViewOut, responses=error_responses(404, 409, 422))
async def update_view(db: DB, ctx: Reader, view_id: uuid.UUID, body: SavedViewPatch) -> SavedViewOut:
    """Rename, or overwrite the filters or columns."""
    row = await saved_views.update_view(
        db, ctx, view_id, name=body.name, filters=body.filters.params() if body.filters else None,
        columns=body.columns,
    )
    return SavedViewOut.model_validate(row)


@views_router.delete("/{view_id}", status_code=204, responses=error_responses(404))
async def delete_view(db: DB, ctx: Reader, view_id: uuid.UUID) -> Response:
    await saved_views.delete_view(db, ctx, view_id)
    return Response(status_code=204)
