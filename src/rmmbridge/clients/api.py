"""REST: ``/api/v1/clients``."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from rmmbridge.kit.text import NO_NUL
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.docs import error_responses
from rmmbridge.web.api.pagination import Page, Paging, make_page, paginate
from rmmbridge.web.deps import DB, require

from . import repository, service
from .schemas import ClientCreate, ClientOut, ClientUpdate

router = APIRouter(prefix="/clients", tags=["clients"], responses=error_responses(401, 403))

Reader = Annotated[TenantContext, Depends(require(Permission.clients_read))]
Writer = Annotated[TenantContext, Depends(require(Permission.clients_write))]


@router.get("", response_model=Page[ClientOut], summary="List clients")
async def list_clients(
    db: DB,
    ctx: Reader,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=200, pattern=NO_NUL, description="name contains")] = None,
    include_archived: bool = False,
    sort: Literal["name", "-name", "created", "-created"] = "name",
) -> Page[ClientOut]:
    rows, total = await paginate(
        db, repository.list_query(ctx, q=q, include_archived=include_archived, sort=sort), paging
    )
    return make_page([service.to_out(c, n) for c, n in rows], total, paging)


@router.post("", response_model=ClientOut, status_code=201, responses=error_responses(409, 422))
async def create_client(db: DB, ctx: Writer, body: ClientCreate) -> ClientOut:
    return service.to_out(await service.create_client(db, ctx, body))


@router.get("/{client_id}", response_model=ClientOut, responses=error_responses(404))
async def get_client(db: DB, ctx: Reader, client_id: uuid.UUID) -> ClientOut:
    return service.to_out(await service.get_client(db, ctx, client_id))


@router.patch("/{client_id}", response_model=ClientOut, responses=error_responses(404, 409, 422))
async def update_client(db: DB, ctx: Writer, client_id: uuid.UUID, body: ClientUpdate) -> ClientOut:
    """Rename, archive (``archived: true``) or restore a client."""
    return service.to_out(await service.update_client(db, ctx, client_id, body))
