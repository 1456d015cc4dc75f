"""Retention: accepted webhook deliveries and events age out; rejected deliveries and fresh rows
stay; the webhook counts shown to the admin cover the log's window."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, insert, select

from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import EventOutbox, WebhookDelivery
from rmmbridge.sync.retention import prune_expired


async def test_expired_log_rows_are_pruned(http, state, tiny, db):
    now = utcnow()
    iid = uuid.UUID(tiny.integration_id)
    tid = tiny.tenant.tenant_id

    def delivery(accepted: bool, age: timedelta) -> dict:
        return {
            "tenant_id": tid,
            "id": uuid7(),
            "integration_id": iid,
            "accepted": accepted,
            "reason": "created" if accepted else "body is not JSON",
            "payload_excerpt": None,
            "received_at": now - age,
        }

    old, fresh = timedelta(days=8), timedelta(days=1)
    async with unit_of_work(state.sessionmaker) as s:
        await s.execute(
            insert(WebhookDelivery),
            [delivery(True, old) for _ in range(7)]
            + [delivery(True, fresh) for _ in range(3)]
            + [delivery(False, old), delivery(False, fresh)],
        )
        await write_events(s, [event_row(tid, "test.old", "test", "x", {}, now - timedelta(days=31)) for _ in range(4)])
        await write_events(s, [event_row(tid, "test.new", "test", "y", {}, now - timedelta(days=2))])
    info = (await http.get(f"/api/v1/integrations/{tiny.integration_id}/webhook", headers=tiny.tenant.headers())).json()
    assert (info["deliveries_accepted"], info["deliveries_rejected"]) == (3, 2)  # the window, all rejections

    pruned = await prune_expired(state, now)
    assert pruned["webhook_deliveries"] >= 7 and pruned["events"] >= 4
    left = dict(
        (
            await db.execute(
                select(WebhookDelivery.accepted, func.count())
                .where(WebhookDelivery.integration_id == iid)
                .group_by(WebhookDelivery.accepted)
            )
        ).all()
    )
    assert left == {True: 3, False: 2}
    types = (await db.scalars(select(EventOutbox.event_type).where(EventOutbox.tenant_id == tid))).all()
    assert "test.old" not in types and "test.new" in types
    assert (await prune_expired(state, now)) == {"webhook_deliveries": 0, "event_deliveries": 0, "events": 0}
