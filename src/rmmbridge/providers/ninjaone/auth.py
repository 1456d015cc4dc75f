"""The one token path of a NinjaOne integration (reference/ninjaone.md §2.5, §2.6, §10.10).

Every access token — first fetch, refresh ahead of expiry, the retry after a 401 — comes from
:meth:`TokenSource.token`, under the integration's credential lock (a database row lock shared by
every ``serve`` process and worker). Inside the lock the stored credentials are re-read first: when
another process already refreshed, its token is used and no second refresh races the first on a
rotating refresh token. A response without ``refresh_token`` keeps the stored one. A refused
refresh (400 ``invalid_token``/``invalid_grant``) raises :class:`ProviderReauthRequired`; a 5xx or
a timeout is retriable and never terminal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx

from rmmbridge.kit.http import RetryPolicy, with_retry
from rmmbridge.providers.base import (
    CredentialSession,
    ProviderAuthError,
    ProviderConfigError,
    ProviderContext,
    ProviderReauthRequired,
    ProviderRetriableError,
)

from .config import NinjaOneConfig

ACCESS = "oauth_access_token"
EXPIRES = "oauth_expires_at"  # epoch seconds, as text
REFRESH = "oauth_refresh_token"
TOKEN_PATH = "/ws/oauth/token"  # noqa: S105 - a path
MIN_AHEAD_S = 300.0
TOKEN_RETRY = RetryPolicy(attempts=3, base_delay_s=1.0, max_delay_s=8.0, max_retry_after_s=120.0)
REAUTH_MESSAGE = (
    "NinjaOne refused the stored refresh token (it was revoked, expired or already used); "
    "reconnect with NinjaOne to authorize rmmbridge again"
)
NO_REFRESH_MESSAGE = (
    "NinjaOne returned no refresh token: enable the Refresh Token grant type on the NinjaOne app and "
    "include offline_access, then connect again"
)


def refresh_ahead_s(lifetime_s: float) -> float:
    """Refresh when less than max(300 s, 10 % of the lifetime) remains (§2.5)."""
    return max(MIN_AHEAD_S, 0.1 * lifetime_s)


class _MemoryCredentials:
    """Stand-in store when the provider runs outside the service (contract harnesses)."""

    def __init__(self, ctx: ProviderContext, values: dict[str, str]) -> None:
        self.ctx, self.values = ctx, values

    async def read(self) -> dict[str, str]:
        return dict(self.values)

    async def write(self, values: dict[str, str]) -> None:
        self.values.update(values)
        await self.ctx.save_secrets(values)


class TokenSource:
    def __init__(self, cfg: NinjaOneConfig, ctx: ProviderContext, http: httpx.AsyncClient) -> None:
        self.cfg, self.ctx, self.http = cfg, ctx, http
        self._cached: tuple[str, float] | None = None  # (access token, expires at)
        self._local = asyncio.Lock()  # one refresher per provider instance; the row lock does the rest
        self._memory: dict[str, str] = {}
        self.refreshes = 0  # token requests this instance made (tests count them)

    def now(self) -> float:
        return self.ctx.now().timestamp()

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[CredentialSession]:
        if self.ctx.credential_lock is None:
            yield _MemoryCredentials(self.ctx, self._memory)
            return
        async with self.ctx.credential_lock() as store:
            yield store

    def _fresh(self, token: str | None, expires_at: float, lifetime: float = 3600.0) -> bool:
        return bool(token) and expires_at - self.now() > refresh_ahead_s(lifetime)

    async def token(self, *, force: bool = False, stale: str | None = None) -> str:
        """A valid access token. ``force``: the API answered 401 to ``stale``; get another one."""
        if not force and self._cached and self._fresh(*self._cached):
            return self._cached[0]
        async with self._local:
            if not force and self._cached and self._fresh(*self._cached):
                return self._cached[0]
            async with self._locked() as store:
                stored = await store.read()
                access, expires = stored.get(ACCESS), _float(stored.get(EXPIRES))
                # Re-read before refresh: another process may have refreshed while we waited.
                # ``force`` without ``stale`` (the connection test) always asks the token endpoint.
                reuse = stale is not None or not force
                usable = reuse and access and access != stale and self._fresh(access, expires)
                if not usable:
                    access, expires, refresh = await self._request_token(stored)
                    values = {ACCESS: access, EXPIRES: repr(expires)}
                    if refresh:
                        values[REFRESH] = refresh  # none returned: the stored one is kept as it is
                    await store.write(values)
            assert access is not None
            self._cached = (access, expires)
            return access

    async def _request_token(self, stored: dict[str, str]) -> tuple[str, float, str | None]:
        secret = self.cfg.client_secret.get_secret_value()
        if self.cfg.auth_mode == "client_credentials":
            form = {
                "grant_type": "client_credentials",
                "client_id": self.cfg.client_id,
                "client_secret": secret,
                "scope": " ".join(self.cfg.scopes()),
            }
        else:
            refresh = stored.get(REFRESH)
            if not refresh:
                raise ProviderReauthRequired(
                    "Not authorized yet: use 'Connect with NinjaOne' to sign in and grant rmmbridge access"
                )
            form = {
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "client_id": self.cfg.client_id,
                "client_secret": secret,
            }
        body = await self.post_token(form)
        return _parse_token(body, self.now(), require_refresh=False)

    async def post_token(self, form: dict[str, str]) -> dict[str, Any]:
        """POST the token endpoint (form-encoded, credentials in the body); classify every refusal."""
        self.refreshes += 1
        url = self.cfg.base_url + TOKEN_PATH
        try:
            response = await with_retry(lambda: self.http.post(url, data=form), TOKEN_RETRY, sleep=self.ctx.sleep)
        except httpx.HTTPError as exc:
            raise ProviderRetriableError(
                f"NinjaOne's token endpoint at {self.cfg.host} is unreachable", cause=type(exc).__name__
            ) from exc
        data = _json(response)
        status = response.status_code
        if status == 200 and isinstance(data, dict) and data.get("access_token"):
            return data
        error = str(data.get("error") or data.get("resultCode") or "") if isinstance(data, dict) else ""
        if status == 404 and "not exist" in error.lower():
            raise ProviderConfigError(
                f"this client app does not exist on {self.cfg.host}; choose the region where it was created",
                cause=error,
            )
        if status >= 500 or status == 429:
            raise ProviderRetriableError(
                f"NinjaOne's token endpoint answered {status}; retrying later", cause=error or None
            )
        if error == "invalid_scope":
            raise ProviderConfigError(
                f"the NinjaOne app lacks a scope rmmbridge asked for ({form.get('scope', '')}); allow these "
                "scopes on the app (Administration → Apps → API)",
                cause=error,
            )
        if form.get("grant_type") == "refresh_token" and error in ("invalid_token", "invalid_grant"):
            raise ProviderReauthRequired(REAUTH_MESSAGE, cause=error)
        if error in ("unauthorized_client", "unsupported_grant_type"):
            raise ProviderConfigError(
                f"the NinjaOne app does not allow the {form.get('grant_type')} grant; use an 'API Services' app for "
                "client credentials or a 'Web' app for sign-in",
                cause=error,
            )
        raise ProviderAuthError(
            f"NinjaOne refused the client id or secret ({status} {error or 'error'})", cause=error or None
        )


def _parse_token(body: dict[str, Any], now: float, *, require_refresh: bool) -> tuple[str, float, str | None]:
    try:
        lifetime = float(body.get("expires_in") or 3600)  # read, never hard-coded
    except (TypeError, ValueError):
        lifetime = 3600.0
    refresh = body.get("refresh_token") or None
    if require_refresh and not refresh:
        raise ProviderConfigError(NO_REFRESH_MESSAGE)
    return str(body["access_token"]), now + lifetime, refresh


def parse_code_exchange(body: dict[str, Any], now: float) -> dict[str, str]:
    """The authorization-code answer as stored credentials; a missing refresh token fails (§2.4 step 4)."""
    access, expires, refresh = _parse_token(body, now, require_refresh=True)
    assert refresh is not None
    return {ACCESS: access, EXPIRES: repr(expires), REFRESH: refresh}


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _float(raw: str | None) -> float:
    try:
        return float(raw) if raw else 0.0
    except ValueError:
        return 0.0


def expires_at_of(stored: dict[str, str]) -> datetime | None:
    from datetime import UTC

    value = _float(stored.get(EXPIRES))
    return datetime.fromtimestamp(value, tz=UTC) if value else None
