"""The standard event envelope (what a ``standard`` subscription receives and NATS carries)."""

from __future__ import annotations

from typing import Any

from rmmbridge.events.catalogue import CATALOGUE_VERSION
from rmmbridge.storage.models import EventOutbox


def envelope(event: EventOutbox, asset: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(event.id),
        "type": event.event_type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "version": CATALOGUE_VERSION,
        "tenant_id": str(event.tenant_id),
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "data": event.payload or {},
    }
    if asset is not None:
        body["asset"] = asset
    return body
