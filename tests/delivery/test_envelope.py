"""The NATS publisher's spliced envelope is the standard envelope, key for key."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from rmmbridge.delivery.envelope import envelope, envelope_json
from rmmbridge.storage.models import EventOutbox


def test_spliced_envelope_is_the_envelope():
    data = {"changed": ["name"], "name": 'pc "quoted" \u00e9\n', "n": 3, "nested": {"a": [1, None, True]}}
    event = EventOutbox(
        tenant_id=uuid.uuid4(),
        id=uuid.uuid4(),
        event_type="asset.updated",
        entity_type="asset",
        entity_id='odd "id" \\ \u2028',
        payload=data,
        created_at=datetime(2026, 12, 6, 22, 0, 1, 123456, tzinfo=UTC),
    )
    for stored in (json.dumps(data), json.dumps(data, separators=(",", ":")), json.dumps(data, indent=2)):
        body = envelope_json(
            event.id, event.event_type, event.created_at, event.tenant_id, event.entity_type, event.entity_id, stored
        )
        assert json.loads(body) == envelope(event)
    for empty in (None, "null"):
        event.payload = None  # type: ignore[assignment]
        body = envelope_json(
            event.id, event.event_type, event.created_at, event.tenant_id, event.entity_type, event.entity_id, empty
        )
        assert json.loads(body) == envelope(event)
