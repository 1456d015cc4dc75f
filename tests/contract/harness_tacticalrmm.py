"""Contract harness for the Tactical RMM provider, against the Tactical simulator over HTTP."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from rmmbridge.kit.http import RoutedTransport
from rmmbridge.providers.base import Provider, WebhookRequest
from rmmbridge.providers.tacticalrmm import TacticalConfig, TacticalProvider
from rmmbridge.simulators.faults import Fault
from rmmbridge.simulators.tacticalrmm import DEFAULT_API_KEY, create_app, generate_fleet

from . import harnesses


@harnesses.register("tacticalrmm")
async def tacticalrmm(transport: RoutedTransport) -> harnesses.Harness:
    now = datetime.now(UTC)
    fleet = generate_fleet(seed=11, clients=3, agents=40, sites_per_client=2, now=now)
    app = create_app(fleet)
    host = f"api-{uuid.uuid4().hex[:8]}.example"
    transport.add(host, app)
    ctx, saved = harnesses.provider_context(transport)
    # A small page size so listings span several pages.
    provider = TacticalProvider(
        TacticalConfig(instance_url=f"https://{host}", api_key=DEFAULT_API_KEY, page_size=7), ctx
    )
    provider.client.sleep = _no_sleep

    async def bad() -> Provider:
        bctx, _ = harnesses.provider_context(transport)
        return TacticalProvider(TacticalConfig(instance_url=f"https://{host}", api_key="WRONG" * 6 + "XX"), bctx)

    expected: dict[str, set[str]] = {}
    for agent in fleet.agents.values():
        expected.setdefault(str(fleet.client_id_of(agent)), set()).add(agent.agent_id)

    def break_listing() -> None:
        # Page 2 of every agent listing fails with Tactical's HTML 500, every time (retries included).
        app.faults.add(Fault("status", status=500, path_contains="/beta/v1/agent/", query_contains="page=2"))

    any_agent = next(iter(fleet.agents.values()))
    ok = {
        "event": "trigger",
        "alert_id": "4711",
        "alert_type": "availability",
        "severity": "error",
        "alert_time": "2025-11-22 10:58:03.407861+00:00",
        "agent_id": any_agent.agent_id,
        "agent_pk": str(any_agent.pk),
        "hostname": any_agent.hostname,
        "client_id": "1",
        "site_id": "1",
        "check_id": "None",
        "task_id": "None",
        "message": f"{any_agent.hostname} is overdue.",
    }
    return harnesses.Harness(
        provider=provider,
        expected_scopes={str(c) for c in fleet.clients},
        expected_devices=expected,
        unknown_device=("x" * 40, "999999"),
        break_listing=break_listing,
        bad_credentials=bad,
        webhook_ok=WebhookRequest({}, json.dumps(ok).encode()),
        webhook_bad=[
            WebhookRequest({}, b"not json at all"),
            WebhookRequest({"content-type": "application/json"}, b"[]"),
            WebhookRequest({}, b'{"alert_id": "1", "event": "trigger"}'),
            WebhookRequest({}, b'{"agent_id": "None", "alert_id": "5"}'),
        ],
        saved_secrets=saved,
    )


async def _no_sleep(_seconds: float) -> None:
    return None
