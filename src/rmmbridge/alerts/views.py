"""Alert read models shared by the API and the UI."""

from __future__ import annotations

import uuid
from typing import Any

from rmmbridge.storage.models import RmmAlert

from .schemas import AlertOut


def alert_out(
    alert: RmmAlert, provider: str | None, asset_name: str | None, client_id: uuid.UUID | None, client_name: str | None
) -> AlertOut:
    out = AlertOut.model_validate(alert)
    out.provider, out.asset_name, out.client_id, out.client_name = provider, asset_name, client_id, client_name
    return out


def from_row(row: Any) -> AlertOut:
    return alert_out(*row)
