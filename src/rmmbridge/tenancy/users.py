"""Managing a tenant's users and API tokens: list, role, disable/enable, passwords, revoke.

Shared by the REST API, the UI and the CLI. Every change is written to the audit trail
(``audit_log``) in the same transaction, and the tenant always keeps one active admin: the last
one can be neither demoted nor disabled. Services flush; callers commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import Conflict, Forbidden, NotFound, ValidationFailed
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.models import ApiToken, AuditEntry, User, UserSession

from .context import TenantContext
from .passwords import check_password_policy, hash_password_async, verify_password_async
from .permissions import Permission, Role, parse_role
from .schemas import ApiTokenOut, IssuedToken, UserOut
from .service import create_user, issue_api_token

log = structlog.get_logger("rmmbridge.audit")
LAST_ADMIN = "the tenant must keep at least one active admin: make another user admin first"


@dataclass(frozen=True)
class TokenRow:
    """An API token with its owner, as the token lists show it."""

    token: ApiTokenOut
    owner_id: uuid.UUID
    owner_email: str


# --------------------------------------------------------------------------- audit


async def audit(
    session: AsyncSession,
    ctx: TenantContext,
    action: str,
    target_type: str,
    target_id: uuid.UUID | None,
    target_label: str | None,
    **detail: Any,
) -> None:
    session.add(
        AuditEntry(
            tenant_id=ctx.tenant_id,
            actor=ctx.actor,
            actor_email=ctx.email,
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_label=target_label,
            detail=detail,
        )
    )
    log.info(action, tenant_id=str(ctx.tenant_id), actor=ctx.actor, target=target_label, **detail)
    await session.flush()


def audit_query(ctx: TenantContext):  # type: ignore[no-untyped-def]
    return (
        select(AuditEntry)
        .where(AuditEntry.tenant_id == ctx.tenant_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )


# --------------------------------------------------------------------------- users


def users_query(ctx: TenantContext, q: str | None = None):  # type: ignore[no-untyped-def]
    query = select(User).where(User.tenant_id == ctx.tenant_id)
    if q:
        query = query.where(User.email.contains(q.strip().lower(), autoescape=True))
    return query.order_by(User.email)


async def get_user(session: AsyncSession, ctx: TenantContext, user_id: uuid.UUID) -> User:
    user = await session.get(User, (ctx.tenant_id, user_id))
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


async def find_user(session: AsyncSession, ctx: TenantContext, ref: str) -> User:
    """A user of the tenant by id or e-mail address."""
    try:
        return await get_user(session, ctx, uuid.UUID(ref))
    except ValueError:
        pass
    user = await session.scalar(
        select(User).where(User.tenant_id == ctx.tenant_id, User.email == ref.strip().lower())
    )
    if user is None:
        raise NotFound(f"no user '{ref.strip()}' in this tenant")
    return user


async def add_user(session: AsyncSession, ctx: TenantContext, email: str, password: str, role: str) -> User:
    ctx.require(Permission.users_manage)
    user = await create_user(session, ctx.tenant_id, email, password, role)
    await audit(session, ctx, "user.created", "user", user.id, user.email, role=user.role)
    return user


async def _other_active_admins(session: AsyncSession, ctx: TenantContext, user_id: uuid.UUID) -> int:
    # Locked (PostgreSQL): two admins demoting each other at once cannot both succeed. SQLite
    # serialises writers anyway (BEGIN IMMEDIATE).
    rows = await session.scalars(
        select(User.id)
        .where(User.tenant_id == ctx.tenant_id, User.role == Role.admin.value, User.is_active.is_(True))
        .with_for_update()
    )
    return len([r for r in rows if r != user_id])


async def set_role(session: AsyncSession, ctx: TenantContext, user_id: uuid.UUID, role: str) -> User:
    ctx.require(Permission.users_manage)
    try:
        new_role = parse_role(role)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "role", "message": str(exc)}]) from None
    user = await get_user(session, ctx, user_id)
    if user.role == new_role.value:
        return user
    if user.role == Role.admin.value and user.is_active and not await _other_active_admins(session, ctx, user.id):
        raise Conflict(LAST_ADMIN, errors=[{"field": "role", "message": LAST_ADMIN}])
    old = user.role
    user.role = new_role.value
    await audit(session, ctx, "user.role_changed", "user", user.id, user.email, old=old, new=new_role.value)
    return user


async def set_active(session: AsyncSession, ctx: TenantContext, user_id: uuid.UUID, active: bool) -> User:
    """Disable (sign-ins, sessions and API tokens stop working at once) or enable a user."""
    ctx.require(Permission.users_manage)
    user = await get_user(session, ctx, user_id)
    if user.is_active == active:
        return user
    if not active and user.role == Role.admin.value and not await _other_active_admins(session, ctx, user.id):
        raise Conflict(LAST_ADMIN)
    user.is_active = active
    if not active:
        await _end_sessions(session, user)
    await audit(session, ctx, "user.enabled" if active else "user.disabled", "user", user.id, user.email)
    return user


async def reset_password(session: AsyncSession, ctx: TenantContext, user_id: uuid.UUID, password: str) -> User:
    """An admin sets a user's password; the user's sessions end (API tokens stay valid)."""
    ctx.require(Permission.users_manage)
    user = await get_user(session, ctx, user_id)
    await _set_password(session, user, password)
    await audit(session, ctx, "user.password_reset", "user", user.id, user.email)
    return user


async def change_own_password(
    session: AsyncSession, ctx: TenantContext, current: str, new: str, *, keep_session: str | None = None
) -> User:
    """The signed-in user changes their password, proving the current one. Other sessions end."""
    if ctx.user_id is None:
        raise Forbidden("only a user can change their own password")
    user = await get_user(session, ctx, ctx.user_id)
    if not await verify_password_async(user.password_hash, current):
        # 403, not 422: the request is well-formed; the caller failed to prove who they are.
        raise Forbidden(
            "the current password is not correct",
            errors=[{"field": "current_password", "message": "not your current password"}],
        )
    await _set_password(session, user, new, keep_session=keep_session)
    await audit(session, ctx, "user.password_changed", "user", user.id, user.email)
    return user


async def _set_password(session: AsyncSession, user: User, password: str, *, keep_session: str | None = None) -> None:
    if reason := check_password_policy(password):
        raise ValidationFailed(reason, errors=[{"field": "password", "message": reason}])
    user.password_hash = await hash_password_async(password)
    await _end_sessions(session, user, keep=keep_session)


async def _end_sessions(session: AsyncSession, user: User, keep: str | None = None) -> None:
    query = delete(UserSession).where(UserSession.tenant_id == user.tenant_id, UserSession.user_id == user.id)
    if keep is not None:
        query = query.where(UserSession.token_digest != keep)
    await session.execute(query)


def user_out(user: User) -> UserOut:
    return UserOut.model_validate(user)


async def active_admins(session: AsyncSession, ctx: TenantContext) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                User.tenant_id == ctx.tenant_id, User.role == Role.admin.value, User.is_active.is_(True)
            )
        )
        or 0
    )


# --------------------------------------------------------------------------- API tokens


def tokens_query(ctx: TenantContext, *, include_revoked: bool = False):  # type: ignore[no-untyped-def]
    """The tenant's tokens with their owners (an admin sees all; anyone else only their own)."""
    query = (
        select(ApiToken, User.email)
        .join(User, (User.tenant_id == ApiToken.tenant_id) & (User.id == ApiToken.user_id))
        .where(ApiToken.tenant_id == ctx.tenant_id)
    )
    if not ctx.can(Permission.users_manage):
        query = query.where(ApiToken.user_id == ctx.user_id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())


def token_row(token: ApiToken, email: str) -> TokenRow:
    return TokenRow(ApiTokenOut.model_validate(token), token.user_id, email)


async def create_token(session: AsyncSession, ctx: TenantContext, name: str) -> IssuedToken:
    """A token acting as the signed-in user (the value is returned once)."""
    if ctx.user_id is None:
        raise Forbidden("API tokens belong to a user; create one with `rmmbridge token create --email …`")
    user = await get_user(session, ctx, ctx.user_id)
    issued = await issue_api_token(session, user, name)
    await audit(session, ctx, "api_token.created", "api_token", issued.info.id, issued.info.name, owner=user.email)
    return issued


async def revoke_token(session: AsyncSession, ctx: TenantContext, token_id: uuid.UUID) -> TokenRow:
    """Revoke a token: an admin any of the tenant's, anyone else only their own."""
    row = await session.get(ApiToken, (ctx.tenant_id, token_id))
    if row is None or (not ctx.can(Permission.users_manage) and row.user_id != ctx.user_id):
        raise NotFound(f"no API token {token_id}")
    owner = await session.get(User, (row.tenant_id, row.user_id))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await audit(
            session, ctx, "api_token.revoked", "api_token", row.id, row.name, owner=owner.email if owner else None
        )
    return token_row(row, owner.email if owner else "")


async def find_token(session: AsyncSession, ctx: TenantContext, ref: str) -> ApiToken:
    """A token of the tenant by id or unique id prefix (what `token list` shows)."""
    ref = ref.strip().lower()
    try:
        row = await session.get(ApiToken, (ctx.tenant_id, uuid.UUID(ref)))
        if row is not None:
            return row
    except ValueError:
        pass
    if len(ref) < 4:
        raise NotFound(f"no API token '{ref}' (give at least 4 characters of its id)")
    rows = [
        t for t in await session.scalars(select(ApiToken).where(ApiToken.tenant_id == ctx.tenant_id))
        if str(t.id).startswith(ref)
    ]  # fmt: skip
    if len(rows) != 1:
        raise NotFound(f"no API token '{ref}'" if not rows else f"'{ref}' matches {len(rows)} tokens; give more of it")
    return rows[0]


def last_used_label(at: datetime | None) -> str:
    return at.isoformat(timespec="minutes") if at else "never"
