"""Tests of the Tactical RMM provider; small helpers shared by its test modules."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from rmmbridge.kit.http import HttpClientFactory, RoutedTransport
from rmmbridge.providers.base import ProviderContext
from rmmbridge.providers.tacticalrmm import TacticalConfig, TacticalProvider

NOW = datetime(2025, 11, 22, 10, 58, 3, 407861, tzinfo=UTC)


class Clock:
    """A controllable clock shared by a simulator and the provider under test."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport: records every request, and enforces the request's read timeout.

    ``httpx.ASGITransport`` ignores timeouts; this applies ``extensions["timeout"]["read"]`` to the
    in-process call so the provider's timeout handling can be exercised against the simulator.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []
        self.timeouts: list[tuple[str, str, float | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        read = (request.extensions.get("timeout") or {}).get("read")
        self.timeouts.append((request.method, request.url.path, read))
        try:
            return await asyncio.wait_for(self.inner.handle_async_request(request), read)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out", request=request) from None

    def paths(self, method: str | None = None) -> list[str]:
        return [r.url.path for r in self.requests if method is None or r.method == method]


@dataclass
class Made:
    provider: TacticalProvider
    transport: RecordingTransport
    saved: dict[str, str] = field(default_factory=dict)
    sleeps: list[float] = field(default_factory=list)


def make_provider(
    app: Any,
    *,
    host: str | None = None,
    clock: Callable[[], datetime] | None = None,
    path: str = "",
    scheme: str = "https",
    transport: httpx.AsyncBaseTransport | None = None,
    **config: Any,
) -> Made:
    """A provider talking to ``app`` (a simulator) over httpx, with recorded sleeps and secrets."""
    host = host or f"api-{uuid.uuid4().hex[:8]}.example.com"
    recording = RecordingTransport(transport or RoutedTransport({host: app}))
    saved: dict[str, str] = {}
    sleeps: list[float] = []

    async def save(values: dict[str, str]) -> None:
        saved.update(values)

    ctx = ProviderContext(
        integration_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        settings={},
        http=HttpClientFactory(recording),
        now=clock or (lambda: datetime.now(UTC)),
        save_secrets=save,
    )
    values: dict[str, Any] = {"instance_url": f"{scheme}://{host}{path}"}
    values.update(config)
    if "api_key" not in values and values.get("auth_mode", "api_key") == "api_key":
        from rmmbridge.simulators.tacticalrmm import DEFAULT_API_KEY

        values["api_key"] = DEFAULT_API_KEY
    provider = TacticalProvider(TacticalConfig(**values), ctx)

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    provider.client.sleep = fake_sleep
    return Made(provider, recording, saved, sleeps)
