"""Typed records for alerts and webhook deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rmmbridge.kit.numbers import json_int


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
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    snoozed_until: datetime | None = None
    remote_action: str | None = None
    remote_state: str | None = None  # pending | synced | failed (the RMM's answer to resolve/snooze)
    remote_error: str | None = None
    # Raised after the integration's webhook was configured, found by polling, never delivered.
    missed_by_webhook: bool = False


class AlertEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    kind: str  # raised | redelivered | updated | reopened | acknowledged | resolved | snoozed | …
    source: str  # webhook | poll | user | rmm
    actor: str | None
    detail: str | None
    payload: str | None  # as received, secrets removed


class SnoozeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(ge=1, le=365)


class BulkActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["acknowledge", "resolve", "retry"]
    alert_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)
    days: json_int(1, 365) | None = None  # type: ignore[valid-type]  # ignored: only snooze has days


class BulkSnoozeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["snooze"]
    alert_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)
    days: json_int(1, 365)  # type: ignore[valid-type]


# One variant per action, so the document says snooze needs ``days`` (no schema-valid 422).
BulkIn = Annotated[BulkActionIn | BulkSnoozeIn, Field(discriminator="action")]


class ActionResultOut(BaseModel):
    alert_id: uuid.UUID
    status: str
    remote_state: str | None
    remote_error: str | None


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
