"""Contract harness for the NinjaOne provider, against the NinjaOne simulator over HTTP."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from rmmbridge.kit.http import RoutedTransport
from rmmbridge.providers.base import Provider, WebhookRequest
from rmmbridge.providers.ninjaone import NinjaOneConfig, NinjaOneProvider
from rmmbridge.simulators.ninjaone import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, create_app, generate_fleet

from . import harnesses


def ninja_config(host: str, **extra: object) -> NinjaOneConfig:
    values: dict[str, object] = {
        "region": "custom",
        "instance_url": f"https://{host}",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        **extra,
    }
    return NinjaOneConfig.model_validate(values)


@harnesses.register("ninjaone")
async def ninjaone(transport: RoutedTransport) -> harnesses.Harness:
    fleet = generate_fleet(seed=21, orgs=3, devices=70, now=datetime.now(UTC))
    app = create_app(fleet)
    host = f"sim-{uuid.uuid4().hex[:8]}-eu.ninjarmm.com"
    transport.add(host, app)
    ctx, saved = harnesses.provider_context(transport)
    ctx.sleep = _no_sleep
    provider = NinjaOneProvider(ninja_config(host, page_size=10), ctx)

    async def bad() -> Provider:
        bctx, _ = harnesses.provider_context(transport)
        return NinjaOneProvider(
            NinjaOneConfig(
                region="custom",
                instance_url=f"https://{host}",
                client_id=DEFAULT_CLIENT_ID,
                client_secret="wrong-secret-000",
            ),
            bctx,
        )

    expected: dict[str, set[str]] = {str(o): set() for o in fleet.organizations}
    for d in fleet.devices.values():
        if d["approvalStatus"] == "APPROVED":
            expected[str(d["organizationId"])].add(str(d["id"]))

    def break_listing() -> None:
        from rmmbridge.simulators.faults import Fault

        app.state.sim.faults.add(
            Fault("status", path_contains="/devices-detailed", query_contains="after=", status=500)
        )

    trigger = {
        "id": 177210,
        "activityTime": 1742391675.556,
        "deviceId": 7,
        "activityType": "CONDITION",
        "statusCode": "TRIGGERED",
        "status": "Triggered",
        "type": "Condition",
        "seriesUid": "e6b0b0bd-0000-4000-8000-71c08983cbd5",
        "sourceConfigUid": "205b85b2-0000-4000-8000-1",
    }
    return harnesses.Harness(
        provider=provider,
        expected_scopes={str(o) for o in fleet.organizations},
        expected_devices=expected,
        unknown_device=("999999", None),
        break_listing=break_listing,
        bad_credentials=bad,
        webhook_ok=WebhookRequest({"content-type": "application/json"}, json.dumps(trigger).encode()),
        webhook_bad=[
            WebhookRequest({}, b"not json"),
            WebhookRequest({}, b"[]"),
            WebhookRequest({}, json.dumps({**trigger, "statusCode": "NODE_CREATED"}).encode()),
        ],
        saved_secrets=saved,
    )


async def _no_sleep(_seconds: float) -> None:
    return None
