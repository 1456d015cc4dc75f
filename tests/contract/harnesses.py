"""Per-provider harnesses for the contract suite: a simulator, a configured provider, expectations.

Every registered provider gets a harness here; the contract suite fails for a registered provider
that has none (see ``test_every_registered_provider_has_a_harness``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rmmbridge.kit.http import HttpClientFactory, RoutedTransport
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import Provider, ProviderContext, WebhookRequest


@dataclass
class Harness:
    provider: Provider
    expected_scopes: set[str]
    expected_devices: dict[str, set[str]]  # scope → external device ids it lists
    unknown_device: tuple[str, str | None]
    break_listing: Callable[[], None]  # make the next listing fail mid-way
    bad_credentials: Callable[[], Awaitable[Provider]]
    webhook_ok: WebhookRequest | None = None
    webhook_bad: list[WebhookRequest] = field(default_factory=list)
    saved_secrets: dict[str, str] = field(default_factory=dict)


def provider_context(transport: RoutedTransport, settings: dict[str, Any] | None = None) -> tuple[ProviderContext, dict[str, str]]:
    saved: dict[str, str] = {}

    async def save(values: dict[str, str]) -> None:
        saved.update(values)

    ctx = ProviderContext(integration_id=uuid.uuid4(), tenant_id=uuid.uuid4(), settings=settings or {},
                          http=HttpClientFactory(transport), now=utcnow, save_secrets=save)
    return ctx, saved


async def tinyrmm(transport: RoutedTransport) -> Harness:
    from tests.support.tinyrmm import TinyConfig, TinyProvider, make_fleet, tiny_app

    fleet = make_fleet(orgs=3, devices=25)
    host = f"tiny-{uuid.uuid4().hex[:8]}.example"
    transport.add(host, tiny_app(fleet))
    ctx, saved = provider_context(transport)
    provider = TinyProvider(TinyConfig(instance_url=f"https://{host}", api_key=fleet.api_key, page_size=4), ctx)

    async def bad() -> Provider:
        bctx, _ = provider_context(transport)
        return TinyProvider(TinyConfig(instance_url=f"https://{host}", api_key="nope-nope-nope"), bctx)

    expected: dict[str, set[str]] = {}
    for d in fleet.devices.values():
        expected.setdefault(d.org, set()).add(d.id)
    return Harness(
        provider=provider, expected_scopes=set(fleet.orgs), expected_devices=expected,
        unknown_device=("dev-99999", None), break_listing=lambda: fleet.fail_pages.add(("org-1", 1)),
        bad_credentials=bad,
        webhook_ok=WebhookRequest({"content-type": "application/json"}, b'{"id": "a1", "device": "dev-00001"}'),
        webhook_bad=[WebhookRequest({}, b"not json"), WebhookRequest({}, b"[]"), WebhookRequest({}, b'{"id": "x"}')],
        saved_secrets=saved,
    )


HARNESSES: dict[str, Callable[[RoutedTransport], Awaitable[Harness]]] = {"tinyrmm": tinyrmm}


def register(key: str) -> Callable[[Callable[[RoutedTransport], Awaitable[Harness]]], Callable[[RoutedTransport], Awaitable[Harness]]]:
    def deco(fn: Callable[[RoutedTransport], Awaitable[Harness]]) -> Callable[[RoutedTransport], Awaitable[Harness]]:
        HARNESSES[key] = fn
        return fn

    return deco
