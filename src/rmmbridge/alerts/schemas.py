"""Typed records for alerts and webhook deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    integration_id: uuid.UUID
    provider: str | None = None
    external_alert_id: str
    external_device_id: str | None
    asset_id: uuid.UUID | None
    asset_name: str | None = None
    client_id: uuid.UUID | None = None
    client_name: str | None = None
    severity: str
    status: str
    alert_type: str | None
    message: str | None
    source: str
    occurrences: int
    webhook_seen: bool
    raised_at: datetime | None
    resolved_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    attributes: dict[str, Any]


class WebhookAccepted(BaseModel):
    status: str = "accepted"
    alert_id: uuid.UUID  # rmmbridge's alert
    external_alert_id: str  # the RMM's own id of it (Tactical's alert id), to match the two up
    outcome: str
    refresh_run_id: uuid.UUID | None = None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    accepted: bool
    reason: str | None
    payload_excerpt: str | None
    received_at: datetime
