"""REST: ``/api/v1/users``, ``/api/v1/me``, ``/api/v1/api-tokens`` and ``/api/v1/audit-log``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from rmmbridge.kit.text import NO_NUL
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.docs import error_responses
from rmmbridge.web.api.pagination import Page, Paging, make_page, paginate
from rmmbridge.web.deps import DB, ApiContext, require

from . import users
from .schemas import (
    AuditEntryOut,
    IssuedToken,
    OwnPasswordChange,
    PasswordReset,
    TokenCreate,
    TokenListItem,
    UserCreate,
    UserOut,
    UserUpdate,
)

router = APIRouter(tags=["users"], responses=error_responses(401, 403))
Manager = Annotated[TenantContext, Depends(require(Permission.users_manage))]


def _token_item(row: users.TokenRow) -> TokenListItem:
    return TokenListItem(**row.token.model_dump(), owner_id=row.owner_id, owner_email=row.owner_email)


@router.get("/users", response_model=Page[UserOut], summary="List the tenant's users (admins)")
async def list_users(
    db: DB,
    ctx: Manager,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=320, pattern=NO_NUL, description="e-mail contains")] = None,
) -> Page[UserOut]:
    rows, total = await paginate(db, users.users_query(ctx, q), paging)
    return make_page([users.user_out(u) for (u,) in rows], total, paging)


@router.post("/users", response_model=UserOut, status_code=201, responses=error_responses(409, 422))
async def create_user(db: DB, ctx: Manager, body: UserCreate) -> UserOut:
    """Add a user with an initial password (they change it under Settings → My account)."""
    return users.user_out(await users.add_user(db, ctx, body.email, body.password, body.role.value))


@router.patch("/users/{user_id}", response_model=UserOut, responses=error_responses(404, 409, 422))
async def update_user(db: DB, ctx: Manager, user_id: uuid.UUID, body: UserUpdate) -> UserOut:
    """Change the role or disable/enable. The last active admin can be neither demoted nor disabled (409)."""
    user = await users.get_user(db, ctx, user_id)
    if body.role is not None:
        user = await users.set_role(db, ctx, user_id, body.role.value)
    if body.is_active is not None:
        user = await users.set_active(db, ctx, user_id, body.is_active)
    return users.user_out(user)


@router.post("/users/{user_id}/password", response_model=UserOut, responses=error_responses(404, 422))
async def reset_password(db: DB, ctx: Manager, user_id: uuid.UUID, body: PasswordReset) -> UserOut:
    """Set a user's password (their UI sessions end; their API tokens keep working)."""
    return users.user_out(await users.reset_password(db, ctx, user_id, body.password))


@router.get("/me", response_model=UserOut, responses=error_responses(404))
async def me(db: DB, ctx: ApiContext) -> UserOut:
    """The user the token acts as."""
    from rmmbridge.errors import NotFound

    if ctx.user_id is None:
        raise NotFound("this credential belongs to no user")
    return users.user_out(await users.get_user(db, ctx, ctx.user_id))


@router.post("/me/password", response_model=UserOut, responses=error_responses(422))
async def change_password(db: DB, ctx: ApiContext, body: OwnPasswordChange) -> UserOut:
    """Change your own password (the current one is required); your UI sessions end."""
    return users.user_out(await users.change_own_password(db, ctx, body.current_password, body.new_password))


@router.get("/api-tokens", response_model=Page[TokenListItem], summary="API tokens (admins: all of the tenant's)")
async def list_tokens(db: DB, ctx: ApiContext, paging: Paging, include_revoked: bool = False) -> Page[TokenListItem]:
    rows, total = await paginate(db, users.tokens_query(ctx, include_revoked=include_revoked), paging)
    return make_page([_token_item(users.token_row(t, email)) for t, email in rows], total, paging)


@router.post("/api-tokens", response_model=IssuedToken, status_code=201, responses=error_responses(422))
async def create_token(db: DB, ctx: ApiContext, body: TokenCreate) -> IssuedToken:
    """A new token acting as you; its value is in this answer only."""
    return await users.create_token(db, ctx, body.name)


@router.delete("/api-tokens/{token_id}", response_model=TokenListItem, responses=error_responses(404))
async def revoke_token(db: DB, ctx: ApiContext, token_id: uuid.UUID) -> TokenListItem:
    """Revoke a token (admins: any of the tenant's; others: their own). Revoking twice is harmless."""
    return _token_item(await users.revoke_token(db, ctx, token_id))


@router.get("/audit-log", response_model=Page[AuditEntryOut], summary="Administrative changes, newest first")
async def audit_log(db: DB, ctx: Manager, paging: Paging) -> Page[AuditEntryOut]:
    rows, total = await paginate(db, users.audit_query(ctx), paging)
    return make_page([AuditEntryOut.model_validate(a) for (a,) in rows], total, paging)
