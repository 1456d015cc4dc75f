"""UI: Settings → Users, Settings → API tokens and Settings → My account.

Every form posts, then redirects (post/redirect/get): a reload never repeats a change. A form
whose input is refused is shown again (422) with the error beside its field and what was typed.
A new token's value reaches the page once through ``web/ui/once.py``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import AppError
from rmmbridge.kit.crypto import token_digest
from rmmbridge.tenancy.auth import SessionAuth
from rmmbridge.tenancy.permissions import Permission, Role
from rmmbridge.web.api.pagination import PageParams, paginate
from rmmbridge.web.deps import DB, SESSION_COOKIE, State
from rmmbridge.web.ui import once
from rmmbridge.web.ui.deps import Form, UiAuth, ui_ctx
from rmmbridge.web.ui.render import redirect, render

from . import users

router = APIRouter(include_in_schema=False)
USERS = "/settings/users"
TOKENS = "/settings/api-tokens"
ACCOUNT = "/settings/account"
AUDIT_ROWS = 20
ROLES = [r.value for r in Role]


def _field_errors(exc: AppError, default_field: str) -> dict[str, str]:
    """``{field: message}`` from an application error, in words fit for the page."""
    out = {str(e.get("field") or default_field): str(e.get("message") or exc.detail) for e in exc.errors}
    return out or {default_field: exc.detail}


# --------------------------------------------------------------------------- users


async def _users_page(
    request: Request,
    db: AsyncSession,
    auth: SessionAuth,
    *,
    ok: str = "",
    error: str = "",
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    row_errors: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = auth.ctx
    rows, _ = await paginate(db, users.users_query(ctx), PageParams(page=1, page_size=500))
    entries, _ = await paginate(db, users.audit_query(ctx), PageParams(page=1, page_size=AUDIT_ROWS))
    return render(
        request,
        "users.html",
        status_code=status_code,
        users=[u for (u,) in rows],
        audit=[a for (a,) in entries],
        roles=ROLES,
        me=ctx.user_id,
        admins=await users.active_admins(db, ctx),
        form=form or {"role": "viewer"},
        errors=errors or {},
        row_errors=row_errors or {},
        settings_tab="users",
        ok=ok,
        error=error,
    )


@router.get(USERS)
async def users_page(request: Request, db: DB, auth: UiAuth, ok: str = "", error: str = "") -> Response:
    ui_ctx(auth, Permission.users_manage)
    return await _users_page(request, db, auth, ok=ok, error=error)


@router.post(USERS)
async def add_user(request: Request, db: DB, auth: UiAuth, form: Form) -> Response:
    ctx = ui_ctx(auth, Permission.users_manage)
    typed = {k: str(form.get(k) or "") for k in ("email", "role", "password")}
    try:
        user = await users.add_user(db, ctx, typed["email"], typed["password"], typed["role"] or "viewer")
    except AppError as exc:
        await db.rollback()
        errors = _field_errors(exc, "email")
        return await _users_page(
            request, db, auth, error=f"User not added: {exc.detail}", form=typed, errors=errors, status_code=422
        )
    return redirect(USERS, ok=f"Added {user.email} as {user.role}. Give them their password over a safe channel.")


async def _user_change(request: Request, db: AsyncSession, auth: SessionAuth, user_id: uuid.UUID, change: Any,
                       field: str, done: str) -> Response:  # fmt: skip
    try:
        user = await change()
    except AppError as exc:
        await db.rollback()
        return await _users_page(
            request, db, auth, error=exc.detail, row_errors={str(user_id): {field: exc.detail}},
            status_code=exc.status_code,
        )  # fmt: skip
    return redirect(USERS, ok=done.format(email=user.email, role=user.role))


@router.post(USERS + "/{user_id}/role")
async def set_role(request: Request, db: DB, auth: UiAuth, form: Form, user_id: uuid.UUID) -> Response:
    ctx = ui_ctx(auth, Permission.users_manage)
    role = str(form.get("role") or "")
    return await _user_change(
        request, db, auth, user_id, lambda: users.set_role(db, ctx, user_id, role), "role", "{email} is now {role}."
    )


@router.post(USERS + "/{user_id}/active")
async def set_active(request: Request, db: DB, auth: UiAuth, form: Form, user_id: uuid.UUID) -> Response:
    ctx = ui_ctx(auth, Permission.users_manage)
    active = form.get("active") in ("true", "1", "on")
    done = "{email} can sign in again." if active else "{email} is disabled: their sessions and API tokens stopped."
    return await _user_change(
        request, db, auth, user_id, lambda: users.set_active(db, ctx, user_id, active), "active", done
    )


@router.post(USERS + "/{user_id}/password")
async def reset_password(request: Request, db: DB, auth: UiAuth, form: Form, user_id: uuid.UUID) -> Response:
    ctx = ui_ctx(auth, Permission.users_manage)
    password = str(form.get("password") or "")
    return await _user_change(
        request, db, auth, user_id, lambda: users.reset_password(db, ctx, user_id, password), "password",
        "Password of {email} set; their sessions ended. Give it to them over a safe channel.",
    )  # fmt: skip


# --------------------------------------------------------------------------- API tokens


async def _tokens_page(
    request: Request,
    state: Any,
    db: AsyncSession,
    auth: SessionAuth,
    *,
    ok: str = "",
    error: str = "",
    name: str = "",
    name_error: str | None = None,
    status_code: int = 200,
) -> Response:
    ctx = auth.ctx
    rows, _ = await paginate(db, users.tokens_query(ctx), PageParams(page=1, page_size=500))
    created = once.take(request, state, auth, TOKENS)
    response = render(
        request,
        "api_tokens.html",
        status_code=status_code,
        tokens=[users.token_row(t, email) for t, email in rows],
        all_users=ctx.can(Permission.users_manage),
        created=created,
        name=name,
        name_error=name_error,
        settings_tab="tokens",
        ok=ok,
        error=error,
    )
    return once.forget(response, TOKENS) if created else response


@router.get(TOKENS)
async def tokens_page(request: Request, state: State, db: DB, auth: UiAuth, ok: str = "", error: str = "") -> Response:
    return await _tokens_page(request, state, db, auth, ok=ok, error=error)


@router.post(TOKENS)
async def create_token(request: Request, state: State, db: DB, auth: UiAuth, form: Form) -> Response:
    name = str(form.get("name") or "")
    try:
        issued = await users.create_token(db, auth.ctx, name)
    except AppError as exc:
        await db.rollback()
        return await _tokens_page(
            request, state, db, auth, error=f"Token not created: {exc.detail}", name=name,
            name_error=_field_errors(exc, "name").get("name", exc.detail), status_code=422,
        )  # fmt: skip
    response = redirect(TOKENS, ok=f"Token “{issued.info.name}” created. Copy it now: it is shown once.")
    return once.put(response, state, auth, TOKENS, issued.token)


@router.post(TOKENS + "/{token_id}/revoke")
async def revoke_token(request: Request, db: DB, auth: UiAuth, form: Form, token_id: uuid.UUID) -> Response:
    try:
        row = await users.revoke_token(db, auth.ctx, token_id)
    except AppError as exc:
        return redirect(TOKENS, error=exc.detail)
    return redirect(TOKENS, ok=f"Token “{row.token.name}” of {row.owner_email} revoked: it no longer works.")


# --------------------------------------------------------------------------- my account


@router.get(ACCOUNT)
async def account_page(request: Request, db: DB, auth: UiAuth, ok: str = "") -> Response:
    user = await users.get_user(db, auth.ctx, auth.ctx.user_id) if auth.ctx.user_id else None
    return render(request, "account.html", account=user, errors={}, settings_tab="account", ok=ok, error="")


@router.post(ACCOUNT + "/password")
async def change_password(request: Request, db: DB, auth: UiAuth, form: Form) -> Response:
    current, new, again = (str(form.get(k) or "") for k in ("current_password", "password", "password2"))
    try:
        if new != again:
            raise AppError("the two new passwords differ", errors=[{"field": "password2", "message": "does not match"}])
        keep = request.cookies.get(SESSION_COOKIE)
        await users.change_own_password(db, auth.ctx, current, new, keep_session=token_digest(keep) if keep else None)
    except AppError as exc:
        await db.rollback()
        user = await users.get_user(db, auth.ctx, auth.ctx.user_id) if auth.ctx.user_id else None
        return render(
            request, "account.html", status_code=422, account=user, errors=_field_errors(exc, "password"),
            settings_tab="account", ok="", error=f"Password not changed: {exc.detail}",
        )  # fmt: skip
    return redirect(ACCOUNT, ok="Password changed. Your other sessions were signed out.")
