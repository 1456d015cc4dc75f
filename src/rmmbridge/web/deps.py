"""Request dependencies: the per-request transaction and authentication.

The database session dependency runs with ``scope="function"``: its commit happens after the
endpoint returns but *before* the response is sent, so a client never sees success for a
transaction that then failed to commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import Forbidden, RateLimited, Unauthorized
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.tenancy.auth import SessionAuth, context_from_api_token, context_from_session_cookie
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

from .throttles import source_address, throttles_of

SESSION_COOKIE = "rmmbridge_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
audit = structlog.get_logger("rmmbridge.audit")


def app_state(request: Request) -> AppState:
    return request.app.state.rmm  # type: ignore[no-any-return]


async def _db(request: Request) -> AsyncIterator[AsyncSession]:
    read_only = request.method in SAFE_METHODS
    async with unit_of_work(app_state(request).sessionmaker, read_only=read_only) as session:
        yield session


get_db = Depends(_db, scope="function")
DB = Annotated[AsyncSession, get_db]
State = Annotated[AppState, Depends(app_state)]


async def session_auth(request: Request, db: AsyncSession) -> SessionAuth | None:
    cached = getattr(request.state, "session_auth", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    auth = await context_from_session_cookie(db, raw)
    request.state.session_auth = auth
    return auth


async def _api_context(request: Request, db: DB) -> TenantContext:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        # Token guessing: an address presenting unknown tokens backs off, before any lookup.
        guessing, address = throttles_of(app_state(request)).token_address, source_address(request)
        if (wait := guessing.wait(address)) is not None:
            audit.warning("api_token_throttled", address=address, retry_after_s=round(wait, 1))
            raise RateLimited("too many invalid API tokens from this address", retry_after_s=wait)
        ctx = await context_from_api_token(db, value.strip())
        if ctx is None:
            backoff = guessing.failed(address)
            audit.warning("api_token_rejected", address=address, failures=guessing.failures(address), backoff_s=backoff)
            raise Unauthorized("the API token is invalid or revoked")
        return ctx
    # The UI's own scripts call the API with the session cookie; unsafe methods then need the
    # CSRF header, exactly as forms need the CSRF field.
    auth = await session_auth(request, db)
    if auth is None:
        raise Unauthorized("send 'Authorization: Bearer <API token>'")
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != auth.csrf_token:
        raise Forbidden("missing or wrong CSRF token")
    return auth.ctx


ApiContext = Annotated[TenantContext, Depends(_api_context)]


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, TenantContext]]:
    """Dependency: the caller's context, after checking it holds ``permission``."""

    async def _dep(ctx: ApiContext) -> TenantContext:
        ctx.require(permission)
        return ctx

    return _dep
