"""HTTP client for one Tactical RMM server: one URL builder, one auth header, strict classification.

- Every URL is ``base + "/path/"`` (the stored base keeps any reverse-proxy prefix, §1.2), always
  with the trailing slash; redirects are never followed (§1.4).
- Exactly one auth header: ``X-API-KEY`` or ``Authorization: Token`` (§2.1).
- Responses are classified by status *and* content type: HTML where JSON is expected is a
  misconfiguration (dashboard host, Beta API off, wrong path, host not allowed), never "no data".
- 429, 5xx, timeouts and connection resets are retried with backoff honouring ``Retry-After``, then
  reported as :class:`ProviderRetriableError`; 401 is :class:`ProviderAuthError` (never retried,
  except the single Knox re-sign-in of a non-TOTP user, §2.7).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from rmmbridge.kit.http import RetryPolicy, retry_after_seconds, with_retry
from rmmbridge.kit.http_failures import describe_failure
from rmmbridge.kit.time import parse_iso
from rmmbridge.providers.base import (
    ProviderAuthError,
    ProviderConfigError,
    ProviderContext,
    ProviderError,
    ProviderReauthRequired,
    ProviderRetriableError,
    ProviderTotpRequired,
)

from .config import TacticalConfig

# §1.4: connect 10 s; read 60 s for Beta pages, 180 s for PATCH /alerts/ and GET /software/.
BETA_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=30.0)
HEAVY_TIMEOUT = httpx.Timeout(connect=10.0, read=180.0, write=30.0, pool=30.0)
AUTH_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=30.0)

KNOX_TTL = timedelta(hours=5)
KNOX_MIN_REFRESH = timedelta(seconds=600)

REAUTH_MESSAGE = "Tactical sign-in required"

log = structlog.get_logger(__name__)


# Role flag → what rmmbridge needs it for (§2.8).
PERMISSIONS: dict[str, str] = {
    "can_list_clients": "listing Tactical clients (organisation mapping)",
    "can_list_sites": "listing sites (placing devices under their client)",
    "can_list_agents": "device sync",
    "can_list_alerts": "alert polling",
    "can_list_software": "software inventory",
}

AUTH_DETAILS = {
    "Invalid token.": "Tactical does not recognise this API key.",
    "The token has expired.": (
        "This Tactical API key has expired; create a new key in Tactical (Settings → Global Settings → API Keys)."
    ),
    "User inactive or deleted.": "The Tactical user that owns this API key is disabled.",
    "Authentication credentials were not provided.": "Tactical received no credentials; enter the API key.",
}
KNOX_INVALID = "The Knox token is no longer valid; sign in again."


class TacticalConfigError(ProviderConfigError):
    """A misconfiguration, with ``kind`` saying which one (used to name the failed check)."""

    def __init__(
        self, message: str, *, kind: str, fix: str | None = None, cause: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, cause=cause)
        self.kind = kind
        self.fix = fix
        # The HTTP status behind it, where one was answered: a caller that knows an endpoint may be
        # missing on older servers (404/405) tells that apart from the other refusals.
        self.status = status


def is_html(response: httpx.Response, body: bytes | None = None) -> bool:
    content_type = response.headers.get("content-type", "").lower()
    if "text/html" in content_type:
        return True
    if body is None:
        return False
    return body.lstrip()[:1] == b"<"


def html_title(body: bytes) -> str:
    text = body[:4000].decode("utf-8", "replace")
    start = text.lower().find("<title>")
    end = text.lower().find("</title>")
    return text[start + 7 : end].strip() if 0 <= start < end else ""


class TacticalClient:
    """Requests to one Tactical server for one provider instance (never shared across tenants)."""

    def __init__(self, config: TacticalConfig, ctx: ProviderContext) -> None:
        self.config = config
        self.ctx = ctx
        self.base = config.instance_url
        split = urlsplit(self.base)
        self.host = split.netloc
        self.retry_policy = RetryPolicy()
        self.sleep: Callable[[float], Awaitable[None]] = ctx.sleep
        self.beta_timeout = BETA_TIMEOUT
        self.heavy_timeout = HEAVY_TIMEOUT
        self.auth_timeout = AUTH_TIMEOUT
        self._http: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(config.concurrency)
        self._login_lock = asyncio.Lock()
        self._token: str | None = config.token.get_secret_value() if config.token else None
        self._token_expiry: datetime | None = parse_iso(config.token_expiry)
        self._token_generation = 0
        self._expiry_persisted = False
        self._login_failure: ProviderError | None = None
        self.totp_user: bool | None = None

    # ------------------------------------------------------------------ basics

    @property
    def knox(self) -> bool:
        return self.config.auth_mode == "password"

    @property
    def token_expiry(self) -> datetime | None:
        return self._token_expiry

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def url(self, path: str) -> str:
        """The one URL builder: ``base + "/path/"`` (§1.2 rule 5)."""
        if not path.startswith("/") or not path.endswith("/"):
            raise ValueError(f"Tactical paths start and end with '/': {path!r}")
        return self.base + path

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = self.ctx.http(
                headers={"Accept": "application/json", "Accept-Encoding": "gzip"}, timeout=self.beta_timeout
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def unreachable(self, exc: httpx.TransportError, action: str | None = None) -> ProviderRetriableError:
        """A transport failure, saying "Cannot reach" only when no connection could be made."""
        return ProviderRetriableError(
            describe_failure(exc, self.host, action=action).message(), cause=f"{type(exc).__name__}: {exc}"
        )

    # ------------------------------------------------------------------ auth

    def _auth_headers(self) -> dict[str, str]:
        if self.knox:
            return {"Authorization": f"Token {self._token}"} if self._token else {}
        assert self.config.api_key is not None
        return {"X-API-KEY": self.config.api_key.get_secret_value()}

    async def _ensure_token(self) -> None:
        if self.knox and not self._token:
            async with self._login_lock:
                if self._login_failure is not None:
                    raise self._login_failure  # one failed sign-in per instance: never loop on it
                if not self._token:
                    try:
                        await self.login(interactive=False)
                    except ProviderError as exc:
                        self._login_failure = exc
                        raise

    async def login(self, totp_code: str | None = None, *, interactive: bool) -> None:
        """Knox sign-in (§2.4): ``checkcreds``; for TOTP users then ``/v2/login/`` with the code.

        Never calls ``/v2/login/`` for a user whose checkcreds said ``"totp": false`` (it would be a
        500 upstream). Without a code, a TOTP user raises :class:`ProviderTotpRequired` when an admin
        is at the keyboard (``interactive``) and :class:`ProviderReauthRequired` otherwise.
        """
        assert self.config.username and self.config.password is not None
        creds = {"username": self.config.username, "password": self.config.password.get_secret_value()}
        body = await self._auth_post("/v2/checkcreds/", creds)
        if isinstance(body, dict) and body.get("totp") is False and isinstance(body.get("token"), str):
            self.totp_user = False
            await self._store_token(body["token"], body.get("expiry"))
            return
        if not (isinstance(body, dict) and body.get("totp") is True):
            raise TacticalConfigError(
                f"Unexpected response from {self.url('/v2/checkcreds/')}; is this a Tactical RMM API?",
                kind="unexpected",
            )
        self.totp_user = True
        if not totp_code:
            if interactive:
                raise ProviderTotpRequired(
                    f"Tactical asks for a one-time code for {self.config.username}; "
                    "enter the current code from the authenticator app."
                )
            raise ProviderReauthRequired(
                f"{REAUTH_MESSAGE}: {self.config.username} signs in with a one-time code, so rmmbridge cannot "
                "sign in again by itself. An admin must test the connection with a current code."
            )
        # The code travels as a string: an integer would lose its leading zeros (§2.4).
        body = await self._auth_post("/v2/login/", {**creds, "twofactor": str(totp_code).strip()})
        if not (isinstance(body, dict) and isinstance(body.get("token"), str)):
            raise TacticalConfigError(
                f"Unexpected response from {self.url('/v2/login/')}; is this a Tactical RMM API?", kind="unexpected"
            )
        await self._store_token(body["token"], body.get("expiry"))

    async def _auth_post(self, path: str, body: dict[str, str]) -> Any:
        """One sign-in call: no retries (throttled endpoints; never loop on re-authentication)."""
        url = self.url(path)
        try:
            response = await self.http.post(url, json=body, timeout=self.auth_timeout)
        except httpx.TransportError as exc:
            raise self.unreachable(exc, "sign-in") from exc
        if response.status_code == 429:
            wait = retry_after_seconds(response)
            raise ProviderRetriableError(
                f"Tactical is limiting sign-in attempts; try again in {int(wait or 60)} s.", retry_after=wait
            )
        if response.status_code == 400 and not is_html(response, response.content):
            detail = _json_or_none(response)
            if detail == "Bad credentials" and path == "/v2/login/":
                raise ProviderTotpRequired(
                    "Tactical did not accept the one-time code (wrong or expired); enter the current code."
                )
            if detail == "Bad credentials" or (isinstance(detail, dict) and "non_field_errors" in detail):
                raise ProviderAuthError(
                    f"Tactical refused the user name or password for {self.config.username} (or this user may not "
                    "sign in with a password, e.g. an SSO user or one blocked from dashboard login)."
                )
            raise ProviderAuthError(f"Tactical refused the sign-in: {_short(detail)}")
        self._raise_for_status("POST", path, response, response.content)
        return decode_json(response, url)

    async def _store_token(self, token: str, expiry: Any) -> None:
        self._token = token
        self._token_expiry = parse_iso(expiry) if isinstance(expiry, str) else None
        self._token_generation += 1
        self._login_failure = None
        self._expiry_persisted = False  # the first use slides it to now + 5 h: recorded then
        await self._save({"token": token, "token_expiry": self._token_expiry.isoformat() if self._token_expiry else ""})

    async def _save(self, values: dict[str, str]) -> None:
        """Persist renewed credentials through ``ctx.save_secrets`` (the framework decides the transaction)."""
        await self.ctx.save_secrets(values)

    async def _reauthenticate(self, generation: int, detail: str | None) -> None:
        """A 401 in Knox mode: sign in again once (non-TOTP) or flag "sign-in required" (TOTP)."""
        async with self._login_lock:
            if self._token_generation != generation and self._token:
                return  # another request already signed in again
            self._token = None
            if self._login_failure is not None:
                raise self._login_failure
            try:
                if self.totp_user:
                    raise ProviderReauthRequired(
                        f"{REAUTH_MESSAGE}: the Tactical session of {self.config.username} ended and this account "
                        "uses a one-time code. An admin must test the connection with a current code."
                    )
                await self.login(interactive=False)
            except ProviderError as exc:
                self._login_failure = exc
                raise

    async def _token_used(self) -> None:
        """Knox slides the expiry to now + 5 h on use (written when it moves > 10 min): record it."""
        if not self.knox or self._expiry_persisted:
            return
        await self.persist_expiry()

    async def persist_expiry(self) -> datetime | None:
        if not self._token:
            return None
        estimate = self.ctx.now() + KNOX_TTL - KNOX_MIN_REFRESH
        if self._token_expiry is None or estimate - self._token_expiry > KNOX_MIN_REFRESH:
            self._token_expiry = estimate
            await self._save({"token": self._token, "token_expiry": estimate.isoformat()})
        self._expiry_persisted = True
        return self._token_expiry

    def auth_error(self, response: httpx.Response) -> ProviderAuthError:
        body = _json_or_none(response)
        detail = body.get("detail") if isinstance(body, dict) else None
        if self.knox and detail == "Invalid token.":
            return ProviderAuthError(KNOX_INVALID, cause=detail)
        if self.knox and detail == "Authentication credentials were not provided.":
            return ProviderAuthError("Tactical received no credentials; sign in again.", cause=detail)
        if self.knox and detail == "User inactive or deleted.":
            return ProviderAuthError(f"The Tactical user {self.config.username} is disabled.", cause=detail)
        message = AUTH_DETAILS.get(detail or "")
        if message is None:
            message = f"Tactical refused the credentials: {detail or f'HTTP {response.status_code}'}"
        return ProviderAuthError(message, cause=detail)

    def permission_error(self, perm: str | None, feature: str | None, url: str) -> TacticalConfigError:
        who = f"The Tactical user {self.config.username}" if self.knox else "The Tactical user behind this API key"
        if perm:
            feature = feature or PERMISSIONS.get(perm, "this feature")
            message = f"{who} lacks the permission '{perm}' needed for {feature}."
        else:
            message = f"{who} lacks a permission needed for {url}."
        return TacticalConfigError(
            message,
            kind="permission",
            fix="Give the user's role the listed permission in Tactical (Settings → Permissions Manager).",
        )

    # ------------------------------------------------------------------ classification

    def _raise_for_status(
        self,
        method: str,
        path: str,
        response: httpx.Response,
        body: bytes | None,
        *,
        perm: str | None = None,
        feature: str | None = None,
        ok_404: bool = False,
    ) -> None:
        """Raise the right :class:`ProviderError` unless ``response`` is a usable JSON answer."""
        status = response.status_code
        url = self.url(path) if path.startswith("/") else path
        html = is_html(response, body)
        if 200 <= status < 300:
            if html:
                raise self.dashboard_error()
            return
        if status in (301, 302, 303, 307, 308):
            location = response.headers.get("location", "")
            if self.base.startswith("http://") and location.startswith("https://"):
                raise TacticalConfigError(
                    f"Tactical redirects {url} to https://; use https:// in the address.",
                    kind="redirect",
                    fix="Change the address to start with https://.",
                )
            raise TacticalConfigError(
                f"Tactical redirected {method} {url} to {location or '(no location)'}; rmmbridge does not follow "
                "redirects. Check the address (the API host, with no path after the host name).",
                kind="redirect",
                fix="Enter the exact Tactical API address.",
            )
        if status == 401:
            raise self.auth_error(response)
        if status == 400 and html:
            raise self.host_error()
        if status == 403:
            raise self.permission_error(perm, feature, url)
        if status == 404:
            if html:
                if path.startswith("/beta/"):
                    raise self.beta_error()
                missing = self.no_api_error()
                missing.status = 404
                raise missing
            if ok_404:
                return
            raise TacticalConfigError(
                f"Tactical answered 404 for {url}: {_short(_json_or_none(response))}", kind="unexpected", status=404
            )
        if status == 405 and html:
            dashboard = self.dashboard_error()
            dashboard.status = 405
            raise dashboard
        if status == 429:
            wait = retry_after_seconds(response)
            raise ProviderRetriableError(
                f"Tactical asked rmmbridge to slow down (HTTP 429) for {url}; retry in {int(wait or 60)} s.",
                retry_after=wait,
            )
        if status >= 500:
            title = html_title(body or b"") if html else ""
            raise ProviderRetriableError(
                f"Tactical answered HTTP {status} for {method} {url}" + (f" ({title})" if title else "") + ".",
                retry_after=retry_after_seconds(response),
                cause=f"HTTP {status}",
            )
        raise TacticalConfigError(
            f"Tactical refused {method} {url} (HTTP {status}): {_short(_json_or_none(response))}",
            kind="unexpected",
            status=status,
        )

    def dashboard_error(self) -> TacticalConfigError:
        return TacticalConfigError(
            f"{self.base} is the Tactical web dashboard, not its API. Use the API address — normally the same "
            "domain with `api.` instead of `rmm.` (e.g. https://api.example.com).",
            kind="dashboard",
            fix="Change the address to the Tactical API host (usually https://api.<your domain>).",
        )

    def host_error(self) -> TacticalConfigError:
        host = urlsplit(self.base).hostname or self.host
        return TacticalConfigError(
            f"Tactical rejected the host name {host}. Use the exact API host name Tactical was installed with.",
            kind="host",
            fix="Address Tactical by the API host name it was installed with, not by IP address or an alias.",
        )

    def no_api_error(self) -> TacticalConfigError:
        return TacticalConfigError(
            f"No Tactical API was found under {self.base}. Remove any path after the host name.",
            kind="no_api",
            fix="Enter only https://<api host> (plus a reverse-proxy prefix if you really use one).",
        )

    def beta_error(self) -> TacticalConfigError:
        return TacticalConfigError(
            "Tactical's Beta API is switched off on this server. Add `BETA_API_ENABLED = True` to the Tactical "
            "API's `local_settings.py` and restart the Tactical API service (`rmm.service`), then test again.",
            kind="beta_disabled",
            fix="Enable the Beta API on the Tactical server.",
        )

    def unexpected(self, url: str) -> TacticalConfigError:
        return TacticalConfigError(
            f"Unexpected response from {url}; is this a Tactical RMM API?",
            kind="unexpected",
            fix="Check that the address is the Tactical RMM API host.",
        )

    # ------------------------------------------------------------------ requests

    async def raw(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        timeout: httpx.Timeout | None = None,
        authenticated: bool = True,
        stream: bool = False,
    ) -> httpx.Response:
        """Send with retries (429/5xx/timeouts/resets) and return the last response, unclassified."""
        url = self.url(path)
        if authenticated:
            await self._ensure_token()
        headers = self._auth_headers() if authenticated else {}
        request = self.http.build_request(
            method, url, params=params, json=json_body, headers=headers, timeout=timeout or self.beta_timeout
        )

        async def send() -> httpx.Response:
            # A slot is a request the *server* is working on: it is free again once the response
            # has started, so the next request is already being served while this body is read
            # (a multi-megabyte page takes a while to read on a busy client).
            async with self._slots:
                response = await self.http.send(request, stream=True)
            if not stream:
                try:
                    await response.aread()  # a read that breaks off is retried like any transport error
                except BaseException:
                    await response.aclose()
                    raise
            return response

        try:
            return await with_retry(send, self.retry_policy, sleep=self.sleep)
        except httpx.TransportError as exc:
            raise self.unreachable(exc, f"{method} {path}") from exc

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        timeout: httpx.Timeout | None = None,
        perm: str | None = None,
        feature: str | None = None,
        ok_404: bool = False,
    ) -> httpx.Response:
        """An authenticated request, classified; a Knox 401 gets one re-sign-in (non-TOTP only)."""
        for attempt in (1, 2):
            generation = self._token_generation
            response = await self.raw(method, path, params=params, json_body=json_body, timeout=timeout)
            if response.status_code == 401 and self.knox and attempt == 1:
                await self._reauthenticate(generation, _detail(response))
                continue
            self._raise_for_status(method, path, response, response.content, perm=perm, feature=feature, ok_404=ok_404)
            await self._token_used()
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_json(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        response = await self.request("GET", path, **kwargs)
        return response.status_code, decode_json(response, str(response.request.url))

    async def patch_json(self, path: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        response = await self.request("PATCH", path, json_body=body, **kwargs)
        return response.status_code, decode_json(response, str(response.request.url))

    @asynccontextmanager
    async def stream(
        self,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        timeout: httpx.Timeout | None = None,
        perm: str | None = None,
        feature: str | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """A classified, authenticated streaming GET; the body is left unread for the caller."""
        response: httpx.Response | None = None
        for attempt in (1, 2):
            generation = self._token_generation
            response = await self.raw("GET", path, params=params, timeout=timeout or self.heavy_timeout, stream=True)
            if response.status_code == 401 and self.knox and attempt == 1:
                await response.aclose()
                await self._reauthenticate(generation, None)
                continue
            break
        assert response is not None
        try:
            if not (200 <= response.status_code < 300) or is_html(response):
                body = await response.aread()
                self._raise_for_status("GET", path, response, body, perm=perm, feature=feature)
            await self._token_used()
            yield response
        finally:
            await response.aclose()

    async def logout(self) -> None:
        """``POST /logout/`` revokes the Knox token (§2.5); best effort."""
        if not self.knox or not self._token:
            return
        try:
            response = await self.http.post(
                self.url("/logout/"), headers=self._auth_headers(), timeout=self.auth_timeout
            )
        except httpx.TransportError as exc:
            raise self.unreachable(exc, "sign-out") from exc
        if response.status_code not in (200, 204, 401):
            self._raise_for_status("POST", "/logout/", response, response.content)
        self._token = None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _detail(response: httpx.Response) -> str | None:
    body = _json_or_none(response)
    return body.get("detail") if isinstance(body, dict) else None


def decode_json(response: httpx.Response, url: str | None = None, content: bytes | None = None) -> Any:
    """The JSON body (or ``content``, the body as trimmed by the caller); a truncated or malformed
    one is retriable (a proxy cut it, or a fault)."""
    url = url or str(response.request.url)
    try:
        return json.loads(response.content if content is None else content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise malformed_json(url, exc) from exc


def malformed_json(url: str, exc: BaseException | str) -> ProviderRetriableError:
    """What a body ``json.loads`` rejected (``exc``, or its :func:`json_fault` when it was raised in
    another process) is: retriable (a proxy cut it, or a fault)."""
    cause = exc if isinstance(exc, str) else json_fault(exc)
    return ProviderRetriableError(f"Tactical sent an incomplete or malformed JSON body for {url}.", cause=cause)


def json_fault(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "BETA_TIMEOUT",
    "HEAVY_TIMEOUT",
    "PERMISSIONS",
    "REAUTH_MESSAGE",
    "ProviderError",
    "TacticalClient",
    "TacticalConfigError",
]
