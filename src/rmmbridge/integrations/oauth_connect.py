"""Authorization-code sign-in with an RMM ("Connect with NinjaOne"): start and callback.

Start: 32 random bytes of ``state`` (base64url) and a PKCE verifier; one row with the state's
SHA-256, the tenant, the integration, the initiating user, the instance and the exact redirect URI,
valid for 10 minutes; the verifier in the secret store. Callback: the row found by digest, refused
when unknown, expired, used, or started by another user or tenant; marked used in the accepting
transaction; only then is the code exchanged. The query string, the code and tokens are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.deployment import public_url
from rmmbridge.errors import AppError, CapabilityNotSupported, Forbidden, ValidationFailed
from rmmbridge.providers.base import ProviderError
from rmmbridge.state import AppState
from rmmbridge.storage.models import OAuthAuthorization, RmmIntegration
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

from . import service
from .factory import build_provider, credential_prefix

STATE_TTL = timedelta(minutes=10)
CALLBACK_PATH = "/integrations/{provider}/callback"


class OAuthRefused(AppError):
    status_code = 400
    type = "oauth-refused"
    title = "Sign-in was not completed"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _verifier_name(row_id: uuid.UUID, integration_id: uuid.UUID) -> str:
    return f"integration/{integration_id}/oauth/{row_id}/verifier"


async def redirect_uri(state: AppState, session: AsyncSession, provider: str) -> str:
    return (await public_url.current(session, state.settings)).base + CALLBACK_PATH.format(provider=provider)


async def start(state: AppState, session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID) -> str:
    """The RMM's authorize URL for this integration (the browser is redirected there)."""
    ctx.require(Permission.settings_update)
    row = await service.get_integration(session, ctx, integration_id)
    provider = await build_provider(state, session, row, persist_in=session)
    try:
        if not callable(getattr(provider, "authorize_url", None)):
            raise CapabilityNotSupported(f"{provider.display_name} has no sign-in with authorization code")
        if row.auth_mode != "authorization_code":
            raise ValidationFailed("switch the sign-in method to authorization code and save before connecting")
        raw_state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        uri = await redirect_uri(state, session, row.provider)
        attempt = OAuthAuthorization(
            tenant_id=ctx.tenant_id,
            integration_id=row.id,
            user_id=ctx.user_id,
            state_digest=_digest(raw_state),
            instance_url=row.instance_url or "",
            redirect_uri=uri,
            expires_at=state.clock() + STATE_TTL,
        )
        session.add(attempt)
        await session.flush()
        await state.secrets.put(session, ctx.tenant_id, _verifier_name(attempt.id, row.id), verifier)
        return provider.authorize_url(uri, raw_state, challenge)  # type: ignore[attr-defined,no-any-return]
    finally:
        await provider.aclose()


@dataclass
class Finished:
    integration: RmmIntegration
    ok: bool
    message: str


async def finish(
    state: AppState, session: AsyncSession, ctx: TenantContext, raw_state: str, code: str | None, error: str | None
) -> Finished:
    """Accept one callback: state checks first, then the code exchange, then a connection test."""
    if not raw_state:
        raise OAuthRefused("the sign-in answer carries no state; start again from the integration's page")
    attempt = await session.scalar(
        select(OAuthAuthorization).where(OAuthAuthorization.state_digest == _digest(raw_state)).with_for_update()
    )
    if attempt is None:
        raise OAuthRefused("unknown sign-in attempt; start again from the integration's page")
    if attempt.tenant_id != ctx.tenant_id or (attempt.user_id is not None and attempt.user_id != ctx.user_id):
        raise Forbidden("this sign-in was started by another user; start it again yourself")
    if attempt.used_at is not None:
        raise OAuthRefused("this sign-in answer was already used; start again from the integration's page")
    if attempt.expires_at < state.clock():
        raise OAuthRefused("the sign-in took longer than 10 minutes; start again")
    attempt.used_at = state.clock()  # accepted once, in this transaction
    verifier = await state.secrets.get(session, ctx.tenant_id, _verifier_name(attempt.id, attempt.integration_id))
    await state.secrets.delete_prefix(session, ctx.tenant_id, f"integration/{attempt.integration_id}/oauth/")
    row = await service.get_integration(session, ctx, attempt.integration_id)
    if error:
        await session.flush()
        reason = "access was denied" if error == "access_denied" else f"the RMM answered {error[:60]}"
        return Finished(row, False, f"Not connected: {reason}.")
    if not code:
        raise OAuthRefused("the sign-in answer carries no code")
    if (row.instance_url or "") != attempt.instance_url:
        raise OAuthRefused("the integration's region changed during sign-in; start again")
    provider = await build_provider(state, session, row, persist_in=session)
    try:
        try:
            values = await provider.exchange_code(code, attempt.redirect_uri, verifier)  # type: ignore[attr-defined]
        except ProviderError as exc:
            await session.flush()
            return Finished(row, False, f"Not connected: {exc.message}")
    finally:
        await provider.aclose()
    prefix = credential_prefix(row.id)
    for name, value in values.items():
        await state.secrets.put(session, ctx.tenant_id, prefix + name, value)
    await session.flush()
    result = await service.test_connection(state, session, ctx, row.id, None)
    name = state.registry.get(row.provider).display_name
    message = f"Connected with {name}." if result.ok else "Signed in, but the connection test failed; see below."
    return Finished(row, result.ok, message)
