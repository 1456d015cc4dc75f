"""Alert read models shared by the API and the UI."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from rmmbridge.kit.time import ensure_utc
from rmmbridge.storage.models import RmmAlert

from .schemas import AlertOut


def alert_out(
    alert: RmmAlert,
    provider: str | None,
    asset_name: str | None,
    client_id: uuid.UUID | None,
    client_name: str | None,
    webhook_configured_at: datetime | None = None,
) -> AlertOut:
    out = AlertOut.model_validate(alert)
    out.provider, out.asset_name, out.client_id, out.client_name = provider, asset_name, client_id, client_name
    raised = alert.raised_at or alert.first_seen_at
    # The same rule as ingestion.alerts.missed_by_webhook: only after a webhook existed.
    out.missed_by_webhook = bool(
        alert.source == "poll"
        and not alert.webhook_seen
        and webhook_configured_at is not None
        and raised is not None
        and ensure_utc(raised) >= ensure_utc(webhook_configured_at)
    )
    return out


def from_row(row: Any) -> AlertOut:
    return alert_out(*row)
