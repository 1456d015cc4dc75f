"""Tenants, users, UI sessions and API tokens. Services only flush; the caller commits."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from rmmbridge.kit.crypto import random_token, token_digest
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.models import ApiToken, Tenant, User, UserSession

from .passwords import check_password_policy, hash_password_async, verify_password_async
from .permissions import Role, parse_role
from .schemas import ApiTokenOut, IssuedToken

EMAIL_RE = re.compile(r"^[^@ \t\n\r\f\v]+@[^@ \t\n\r\f\v]+\.[^@ \t\n\r\f\v]+$")  # = schemas.EMAIL_PATTERN
API_TOKEN_PREFIX = "rmb_"  # noqa: S105 - a prefix, not a secret
# Recording last use on every request would be a write per API call; minute precision is enough.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if not EMAIL_RE.match(value) or len(value) > 320:
        raise ValidationFailed(f"'{email}' is not a valid email address", errors=[{"field": "email"}])
    return value


async def create_tenant(session: AsyncSession, name: str) -> Tenant:
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise ValidationFailed("tenant name must be 1-200 characters", errors=[{"field": "name"}])
    if await session.scalar(select(Tenant.id).where(func.lower(Tenant.name) == clean.lower())):
        raise Conflict(f"a tenant named '{clean}' already exists")
    tenant = Tenant(name=clean)
    session.add(tenant)
    await _flush_unique(session, f"a tenant named '{clean}' already exists")
    return tenant


async def find_tenant(session: AsyncSession, ref: str) -> Tenant:
    """A tenant by id or by (case-insensitive) name."""
    try:
        tid = uuid.UUID(ref)
        tenant = await session.get(Tenant, tid)
    except ValueError:
        tenant = await session.scalar(select(Tenant).where(func.lower(Tenant.name) == ref.strip().lower()))
    if tenant is None:
        raise NotFound(f"no tenant '{ref}'")
    return tenant


async def any_user_exists(session: AsyncSession) -> bool:
    return (await session.scalar(select(User.id).limit(1))) is not None


async def create_user(session: AsyncSession, tenant_id: uuid.UUID, email: str, password: str, role: str | Role) -> User:
    clean_email = normalize_email(email)
    try:
        parsed_role = parse_role(role) if isinstance(role, str) else role
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "role"}]) from None
    if reason := check_password_policy(password):
        raise ValidationFailed(reason, errors=[{"field": "password"}])
    if await session.scalar(select(User.id).where(User.email == clean_email)):
        raise Conflict(f"a user with email {clean_email} already exists")
    user = User(
        tenant_id=tenant_id,
        email=clean_email,
        password_hash=await hash_password_async(password),
        role=parsed_role.value,
    )
    session.add(user)
    await _flush_unique(session, f"a user with email {clean_email} already exists")
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User:
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email.strip()}")
    return user


async def check_password(session: AsyncSession, email: str, password: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The (tenant id, user id) whose e-mail and password these are; ``Unauthorized`` otherwise.

    Writes nothing: run it in a read-only unit of work, so that on SQLite no write lock is held
    while argon2 works (tens of milliseconds per guess, which would queue every writer).
    """
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = await verify_password_async(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise Unauthorized("wrong email or password")
    return user.tenant_id, user.id


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    """Check and record a sign-in in one session (tools and the demo; the UI splits the two)."""
    return await record_sign_in(session, await check_password(session, email, password))


async def record_sign_in(session: AsyncSession, ids: tuple[uuid.UUID, uuid.UUID]) -> User:
    user = await session.get(User, ids)
    if user is None or not user.is_active:  # deleted or deactivated since the check
        raise Unauthorized("wrong email or password")
    user.last_login_at = utcnow()
    return user


@dataclass(frozen=True)
class NewSession:
    cookie_value: str
    csrf_token: str


async def start_session(session: AsyncSession, user: User, max_age_s: int) -> NewSession:
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    session.add(
        UserSession(
            tenant_id=user.tenant_id,
            user_id=user.id,
            token_digest=token_digest(raw),
            csrf_token=csrf,
            expires_at=utcnow() + timedelta(seconds=max_age_s),
        )
    )
    await session.flush()
    return NewSession(cookie_value=raw, csrf_token=csrf)


async def end_session(session: AsyncSession, cookie_value: str) -> None:
    row = await session.scalar(select(UserSession).where(UserSession.token_digest == token_digest(cookie_value)))
    if row is not None:
        await session.delete(row)
        await session.flush()


async def issue_api_token(session: AsyncSession, user: User, name: str) -> IssuedToken:
    clean = name.strip()
    if not clean or len(clean) > 100:
        raise ValidationFailed("token name must be 1-100 characters", errors=[{"field": "name"}])
    raw = random_token(API_TOKEN_PREFIX)
    row = ApiToken(
        tenant_id=user.tenant_id, user_id=user.id, name=clean, token_digest=token_digest(raw), last4=raw[-4:]
    )
    session.add(row)
    await session.flush()
    return IssuedToken(token=raw, info=ApiTokenOut.model_validate(row))


async def revoke_api_token(session: AsyncSession, tenant_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken:
    row = await session.get(ApiToken, (tenant_id, token_id))
    if row is None:
        raise NotFound(f"no API token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
    return row


async def revoke_api_token_by_value(session: AsyncSession, raw: str) -> ApiToken:
    row = await session.scalar(select(ApiToken).where(ApiToken.token_digest == token_digest(raw.strip())))
    if row is None:
        raise NotFound("no such API token")
    return await revoke_api_token(session, row.tenant_id, row.id)


async def touch_token(session: AsyncSession, row: ApiToken) -> None:
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        await session.execute(
            update(ApiToken).where(ApiToken.tenant_id == row.tenant_id, ApiToken.id == row.id).values(last_used_at=now)
        )


async def _flush_unique(session: AsyncSession, message: str) -> None:
    """Flush, turning a unique-key race (two creates at once) into a 409 instead of a 500."""
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(message) from None
