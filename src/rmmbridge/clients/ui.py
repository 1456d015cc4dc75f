"""UI: the Clients page."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from rmmbridge.errors import AppError
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.pagination import PageParams, paginate
from rmmbridge.web.deps import DB
from rmmbridge.web.ui.deps import Form, UiAuth, ui_ctx
from rmmbridge.web.ui.render import redirect, render

from . import repository, service
from .schemas import ClientCreate, ClientUpdate

router = APIRouter(include_in_schema=False)


@router.get("/clients")
async def clients_page(
    request: Request,
    db: DB,
    auth: UiAuth,
    q: str = "",
    archived: bool = False,
    page: int = 1,
    error: str = "",
) -> Response:
    ctx = ui_ctx(auth, Permission.clients_read)
    params = PageParams(page=max(1, page), page_size=50)
    rows, total = await paginate(db, repository.list_query(ctx, q=q or None, include_archived=archived), params)
    return render(
        request,
        "clients.html",
        clients=[service.to_out(c, n) for c, n in rows],
        total=total,
        q=q,
        archived=archived,
        page=params.page,
        pages=max(1, -(-total // params.page_size)),
        error=error,
        can_write=ctx.can(Permission.clients_write),
    )


@router.post("/clients")
async def create_client(request: Request, db: DB, auth: UiAuth, form: Form) -> Response:
    ctx = ui_ctx(auth, Permission.clients_write)
    try:
        await service.create_client(db, ctx, ClientCreate(name=str(form.get("name", ""))))
    except (AppError, ValidationError) as exc:
        msg = exc.detail if isinstance(exc, AppError) else "Enter a client name (1-200 characters)."
        return redirect("/clients", error=msg)
    return redirect("/clients")


@router.post("/clients/{client_id}")
async def update_client(request: Request, db: DB, auth: UiAuth, form: Form, client_id: uuid.UUID) -> Response:
    ctx = ui_ctx(auth, Permission.clients_write)
    action = form.get("action")
    try:
        if action == "archive":
            data = ClientUpdate(archived=True)
        elif action == "restore":
            data = ClientUpdate(archived=False)
        else:
            data = ClientUpdate(name=str(form.get("name", "")))
        await service.update_client(db, ctx, client_id, data)
    except (AppError, ValidationError) as exc:
        msg = exc.detail if isinstance(exc, AppError) else "Enter a client name (1-200 characters)."
        return redirect("/clients", error=msg)
    return redirect("/clients")
