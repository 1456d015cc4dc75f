"""The auth layer: turns a credential (session cookie, API token) into a ``TenantContext``.

This module is the only place that issues contexts; background jobs ask it for a system context
for one tenant (:func:`system_context`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.crypto import token_digest
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.models import ApiToken, User, UserSession

from .context import TenantContext, _issue
from .permissions import Role
from .service import touch_token


@dataclass(frozen=True)
class SessionAuth:
    ctx: TenantContext
    csrf_token: str


async def context_from_api_token(session: AsyncSession, raw: str) -> TenantContext | None:
    row = await session.scalar(select(ApiToken).where(ApiToken.token_digest == token_digest(raw)))
    if row is None or row.revoked_at is not None:
        return None
    user = await session.get(User, (row.tenant_id, row.user_id))
    if user is None or not user.is_active:
        return None
    await touch_token(session, row)
    return _issue(user.tenant_id, Role(user.role), f"token:{row.id}", user.id, user.email)


async def context_from_session_cookie(session: AsyncSession, raw: str) -> SessionAuth | None:
    row = await session.scalar(select(UserSession).where(UserSession.token_digest == token_digest(raw)))
    if row is None or row.expires_at <= utcnow():
        return None
    user = await session.get(User, (row.tenant_id, row.user_id))
    if user is None or not user.is_active:
        return None
    ctx = _issue(user.tenant_id, Role(user.role), f"user:{user.id}", user.id, user.email)
    return SessionAuth(ctx=ctx, csrf_token=row.csrf_token)


def system_context(tenant_id: uuid.UUID, what: str) -> TenantContext:
    """Context for work the service does on a tenant's behalf (scheduled syncs, webhooks)."""
    return _issue(tenant_id, Role.admin, f"system:{what}")


def user_context(user: User) -> TenantContext:
    return _issue(user.tenant_id, Role(user.role), f"user:{user.id}", user.id, user.email)
