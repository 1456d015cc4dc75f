"""HTTP to one NinjaOne instance (reference/ninjaone.md §2.8, §8): bearer tokens from the one token
path, one refresh-and-replay on 401, 429/503 honouring both ``Retry-After`` forms (capped at 120 s),
exponential backoff with jitter otherwise, and a non-JSON body on an API path treated as throttling
(retried, never parsed as data)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx

from rmmbridge.kit.http import retry_after_seconds
from rmmbridge.providers.base import (
    ProviderAuthError,
    ProviderConfigError,
    ProviderContext,
    ProviderError,
    ProviderRetriableError,
)

from .auth import TokenSource
from .config import NinjaOneConfig

API_PREFIX = "/v2"
MAX_ATTEMPTS = 5
MAX_RETRY_AFTER_S = 120.0
TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=30.0)
RETRIED_STATUSES = (429, 500, 502, 503, 504)


class NinjaAppError(ProviderError):
    """An application-level 4xx (``resultCode``/``errorMessage``), e.g. an expired query cursor."""

    def __init__(self, message: str, status: int, code: str | None) -> None:
        super().__init__(message, cause=code)
        self.status, self.code = status, code


class NinjaClient:
    def __init__(self, cfg: NinjaOneConfig, ctx: ProviderContext) -> None:
        self.cfg, self.ctx = cfg, ctx
        self.http = ctx.http(cfg.base_url, timeout=TIMEOUT)
        self.tokens = TokenSource(cfg, ctx, self.http)
        self.requests = 0

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        ok_404: bool = False,
        attempts: int = MAX_ATTEMPTS,
    ) -> tuple[int, Any]:
        """``(status, parsed JSON or None)``; raises a classified :class:`ProviderError` otherwise."""
        url = API_PREFIX + path
        token = await self.tokens.token()
        replayed = False
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                # A whole-request deadline on top of httpx's per-phase timeouts: a server that stalls
                # (or dribbles bytes, which resets every read timeout) is still given up on.
                response = await asyncio.wait_for(
                    self.http.request(
                        method, url, params=params, json=json, headers={"Authorization": f"Bearer {token}"}
                    ),
                    timeout=self.cfg.request_timeout_s,
                )
            except (httpx.TimeoutException, TimeoutError) as exc:
                if attempt >= attempts:
                    raise ProviderRetriableError(
                        f"NinjaOne ({self.cfg.host}) timed out on {path}", cause=type(exc).__name__
                    ) from exc
                await self.ctx.sleep(_backoff(attempt))
                continue
            except httpx.HTTPError as exc:
                if attempt >= attempts:
                    raise ProviderRetriableError(
                        f"NinjaOne ({self.cfg.host}) is unreachable", cause=type(exc).__name__
                    ) from exc
                await self.ctx.sleep(_backoff(attempt))
                continue
            status = response.status_code
            if status == 401:
                if replayed:
                    raise ProviderAuthError("NinjaOne rejected a freshly issued access token (401 twice)")
                token = await self.tokens.token(force=True, stale=token)  # refresh once, replay once
                replayed = True
                continue
            if status in RETRIED_STATUSES:
                wait = retry_after_seconds(response)
                if attempt >= attempts or (wait is not None and wait > MAX_RETRY_AFTER_S):
                    raise ProviderRetriableError(
                        f"NinjaOne answered {status} on {path} {attempt} times; the run stops and nothing is "
                        "marked missing",
                        retry_after=wait,
                        cause=str(status),
                    )
                await self.ctx.sleep(min(wait, MAX_RETRY_AFTER_S) if wait is not None else _backoff(attempt))
                continue
            if status in (200, 201) and not _is_json(response):
                # An HTML "slow down" page with 200 (§8): throttled or degraded, never data.
                if method in ("GET", "PUT", "DELETE") and attempt < attempts:
                    await self.ctx.sleep(_backoff(attempt))
                    continue
                raise ProviderRetriableError(f"NinjaOne sent a non-JSON answer for {path}", cause="non-JSON body")
            if status == 204:
                return status, None
            if status == 404 and ok_404:
                return status, None
            data = _parse(response)
            if 200 <= status < 300:
                if data is _BAD:
                    if method == "GET" and attempt < attempts:
                        await self.ctx.sleep(_backoff(attempt))
                        continue
                    raise ProviderRetriableError(f"NinjaOne sent malformed JSON for {path}", cause="malformed JSON")
                return status, data
            raise _classify(status, data, path)


class _Bad:
    pass


_BAD = _Bad()


def _parse(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return _BAD


def _is_json(response: httpx.Response) -> bool:
    ctype = response.headers.get("content-type", "")
    if "json" not in ctype:
        return False
    return not response.content.lstrip()[:1] == b"<"


def _backoff(attempt: int) -> float:
    return random.uniform(0, min(16.0, 2.0 ** (attempt - 1)))  # full jitter: 1, 2, 4, 8, 16 s caps


def _classify(status: int, data: Any, path: str) -> ProviderError:
    body = data if isinstance(data, dict) else {}
    code = str(body.get("resultCode") or body.get("error") or body.get("errorCode") or "") or None
    message = str(body.get("errorMessage") or body.get("error_description") or body.get("message") or "")
    if status == 400 and code in ("missing_header", "invalid_header"):
        return ProviderAuthError(f"NinjaOne did not accept the Authorization header ({code})", cause=code)
    if status == 403:
        if code == "user_context_required":
            return ProviderConfigError(
                "NinjaOne requires a signed-in user for this operation: switch the integration to "
                "'Connect with NinjaOne' (authorization code) or configure the webhook in NinjaOne by hand",
                cause=code,
            )
        return ProviderConfigError(
            f"NinjaOne refused {path} (403{': ' + message if message else ''}); allow the monitoring and "
            "management scopes on the client app",
            cause=code,
        )
    return NinjaAppError(f"NinjaOne answered {status} on {path}{': ' + message if message else ''}", status, code)


async def gather_limited(*aws: Any) -> list[Any]:
    return list(await asyncio.gather(*aws))
