"""``temporal`` mode: the delivery loop runs as activities of the event-delivery workflow."""

from __future__ import annotations

import asyncio
import time

from standardwebhooks import Webhook

from rmmbridge.delivery.temporal import ensure_delivery_workflow, workflow_id
from tests.conftest import make_tenant
from tests.delivery.support import Receiver, emit_events


async def test_the_workflow_delivers_events(temporal):
    queue = temporal.state.settings.temporal_task_queue
    tenant = await make_tenant(temporal.state, "tq")
    with Receiver() as receiver:
        r = await temporal.http.post(
            "/api/v1/webhook-subscriptions", json={"name": "t", "url": receiver.url}, headers=tenant.headers()
        )
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        await ensure_delivery_workflow(temporal.client, queue)
        await ensure_delivery_workflow(temporal.client, queue)  # every worker calls it: one workflow
        try:
            ids = await emit_events(temporal.state, tenant.tenant_id, 5)
            deadline = time.monotonic() + 60
            while len(receiver.received) < 5 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert sorted(receiver.ids()) == sorted(ids)
            assert all(Webhook(secret).verify(x.body, x.headers) for x in receiver.received)
        finally:
            await temporal.client.get_workflow_handle(workflow_id(queue)).terminate("test over")
