"""UI request dependencies: the signed-in user (or a redirect to the login page) and form CSRF."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from rmmbridge.errors import Unauthorized
from rmmbridge.tenancy.auth import SessionAuth
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.deps import DB, session_auth

from . import csrf


async def _ui_auth(request: Request, db: DB) -> SessionAuth:
    auth = await session_auth(request, db)
    if auth is None:
        raise Unauthorized("sign in to continue")
    return auth


UiAuth = Annotated[SessionAuth, Depends(_ui_auth)]


async def form_data(request: Request, auth: UiAuth) -> dict[str, Any]:
    """The posted form, after its CSRF token was checked."""
    form = await request.form()
    csrf.check(auth, form.get(csrf.FIELD))  # type: ignore[arg-type]
    return {k: v for k, v in form.items() if k != csrf.FIELD}


Form = Annotated[dict[str, Any], Depends(form_data)]


def ui_ctx(auth: SessionAuth, permission: Permission) -> TenantContext:
    auth.ctx.require(permission)
    return auth.ctx
