"""Contract harness for the Tanium provider, against the Tanium simulator over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from rmmbridge.kit.http import RoutedTransport
from rmmbridge.providers.base import Provider
from rmmbridge.providers.tanium import TaniumConfig, TaniumProvider
from rmmbridge.simulators.tanium import ALL_COMPUTERS_ID, DEFAULT_TOKEN, create_app, generate_fleet

from . import harnesses

BUILTIN_GROUPS = {ALL_COMPUTERS_ID, "2", "3", "4"}  # All Computers / Windows / Linux / Mac


@harnesses.register("tanium")
async def tanium(transport: RoutedTransport) -> harnesses.Harness:
    fleet = generate_fleet(seed=13, groups=3, endpoints=60, now=datetime.now(UTC))
    app = create_app(fleet)
    host = f"t{uuid.uuid4().hex[:8]}-api.cloud.tanium.com"
    transport.add(host, app)
    # The customer groups (and their "- Servers" subgroups and the manual group) are mapped, as an admin
    # would; they overlap, so each endpoint is listed by its owning group only (lowest id wins).
    mapped = [g for g in fleet.groups if g not in BUILTIN_GROUPS]
    ctx, saved = harnesses.provider_context(transport, {"mapped_scope_ids": mapped})
    # A small page size so listings span several pages.
    provider = TaniumProvider(TaniumConfig(instance_url=f"https://{host}", api_token=DEFAULT_TOKEN, page_size=7), ctx)
    provider.http.sleep = _no_sleep

    async def bad() -> Provider:
        bctx, _ = harnesses.provider_context(transport)
        return TaniumProvider(TaniumConfig(instance_url=f"https://{host}", api_token="token-" + "0" * 32), bctx)

    expected: dict[str, set[str]] = {g: set() for g in sorted(mapped, key=int)}
    for eid, ep in fleet.endpoints.items():
        owners = sorted(ep.groups & set(mapped), key=int)
        if owners:
            expected[owners[0]].add(eid)

    def break_listing() -> None:
        # Every page that continues a walk claims to be the last one: a short listing.
        app.state.sim.modes.walk_fault = "short_listing"

    return harnesses.Harness(
        provider=provider,
        expected_scopes=set(fleet.groups),
        expected_devices=expected,
        unknown_device=("999999", None),
        break_listing=break_listing,
        bad_credentials=bad,
        saved_secrets=saved,
    )


async def _no_sleep(_seconds: float) -> None:
    return None
