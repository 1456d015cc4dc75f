"""Outbound HTTP: one client factory, timeouts, and retry with ``Retry-After``.

Every provider builds its clients through :class:`HttpClientFactory` so timeouts, the transport
(tests and the demo route simulator hosts to in-process ASGI apps) and the user agent are set in
one place. Requests that go to the network take :class:`~rmmbridge.kit.http_transport.OutboundTransport`,
which sends a request lost on a connection the server had closed once more, on a new connection.
Redirects are never followed automatically: an RMM that redirects an API call is misconfigured
(Tactical's trailing-slash 301 turns PATCH into GET).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from rmmbridge import __version__
from rmmbridge.kit.http_transport import OutboundTransport
from rmmbridge.kit.time import utcnow

USER_AGENT = f"rmmbridge/{__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=30.0)


class RoutedTransport(httpx.AsyncBaseTransport):
    """Send requests for some hosts to in-process ASGI apps, the rest to the network."""

    def __init__(self, routes: Mapping[str, Any] | None = None) -> None:
        self._routes: dict[str, httpx.AsyncBaseTransport] = {}
        self._default: httpx.AsyncBaseTransport = OutboundTransport()
        for host, app in (routes or {}).items():
            self.add(host, app)

    def add(self, host: str, app: Any) -> None:
        self._routes[host.lower()] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host.lower()
        port = request.url.port
        transport = self._routes.get(f"{host}:{port}") if port else None
        transport = transport or self._routes.get(host) or self._default
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._default.aclose()


# Told of every response a provider client receives: the sync run's progress signal (a page came
# in), so its owner's heartbeat beats while the work moves (rmmbridge.sync.ownership).
response_observer: ContextVar[Callable[[], None] | None] = ContextVar("rmmbridge_response_observer", default=None)


async def _observe_response(_: httpx.Response) -> None:
    observer = response_observer.get()
    if observer is not None:
        observer()


class HttpClientFactory:
    """``transport``: a shared transport (tests, the demo); without one each client gets its own
    :class:`OutboundTransport`, connecting to private-network addresses only if ``allow_private``."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, *, allow_private: bool = True) -> None:
        self.transport = transport
        self.allow_private = allow_private

    def __call__(
        self,
        base_url: str = "",
        *,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> httpx.AsyncClient:
        merged = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        return httpx.AsyncClient(
            base_url=base_url,
            headers=merged,
            timeout=timeout or DEFAULT_TIMEOUT,
            # Each client owns its pool unless a shared transport was given (tests, the demo).
            transport=self.transport or OutboundTransport(allow_private=self.allow_private),
            follow_redirects=False,
            event_hooks={"response": [_observe_response]},
        )


def retry_after_seconds(response: httpx.Response, default: float | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or HTTP date)."""
    return retry_after_value(response.headers.get("retry-after"), default)


def retry_after_value(value: str | None, default: float | None = None) -> float | None:
    """A ``Retry-After`` header's value as seconds (delta-seconds or HTTP date)."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
        except (TypeError, ValueError):
            return default


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    # A server asking for longer than this is not waited for inside one call: the error goes up
    # with its retry_after so the run (or the scheduler) can come back later.
    max_retry_after_s: float = 60.0

    def backoff(self, attempt: int) -> float:
        delay = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return delay * (0.5 + random.random() / 2)  # jitter: do not stampede a recovering server


class RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


async def with_retry(
    send: Callable[[], Awaitable[httpx.Response]],
    policy: RetryPolicy = RetryPolicy(),
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> httpx.Response:
    """Call ``send`` until it gives a non-retriable answer.

    429 and 502/503/504 (and 500, which RMMs return for transient overload) are retried, waiting
    ``Retry-After`` when given; timeouts and connection errors likewise. The last failure is
    returned (for a status) or raised (for a transport error) for the caller to classify.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            response = await send()
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
            if attempt >= policy.attempts:
                raise
            await sleep(policy.backoff(attempt))
            continue
        if response.status_code not in (429, 500, 502, 503, 504) or attempt >= policy.attempts:
            return response
        wait = retry_after_seconds(response)
        if wait is not None and wait > policy.max_retry_after_s:
            return response
        await response.aclose()
        await sleep(wait if wait is not None else policy.backoff(attempt))
