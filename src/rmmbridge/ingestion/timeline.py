"""An alert's timeline (``rmm_alert_entries``): raised, redelivered, acknowledged, resolved, … with
the source (webhook, poll, user, rmm), who, and the payload received (secrets removed)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.text import clean
from rmmbridge.storage.models import AlertEntry
from rmmbridge.storage.models.base import table_of

MAX_PAYLOAD = 8000
REDACTED = "[removed]"
# Keys whose values are credentials wherever they appear in a payload.
_SECRET_KEY = re.compile(r"secret|token|password|passwd|api[-_]?key|authorization|signature|credential", re.I)
# Values that look like rmmbridge webhook secrets or bearer tokens, whatever their key.
_SECRET_VALUE = re.compile(r"(whs_[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,})")

_KINDS = {
    "created": "raised",
    "resolved": "resolved",
    "reopened": "reopened",
    "updated": "updated",
    "duplicate": "redelivered",
}


def kind_of(outcome: str, status: str) -> str:
    if outcome == "created" and status == "resolved":
        return "resolved"
    return _KINDS.get(outcome, outcome)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


def redact(body: bytes | str | None) -> str | None:
    """The payload as shown on the alert page: secret-looking keys and values removed, bounded."""
    if body is None:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed = json.loads(text)
    except ValueError:
        out = _SECRET_VALUE.sub(REDACTED, text)
    else:
        out = json.dumps(_scrub(parsed), indent=2, ensure_ascii=False, default=str)
    return clean(out[:MAX_PAYLOAD])  # type: ignore[no-any-return]


def entry(
    tenant_id: uuid.UUID,
    alert_id: uuid.UUID,
    kind: str,
    source: str,
    at: datetime,
    *,
    actor: str | None = None,
    detail: str | None = None,
    payload: str | None = None,
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "id": uuid7(),
        "alert_id": alert_id,
        "at": at,
        "kind": kind,
        "source": source,
        "actor": actor,
        "detail": clean(detail[:2000]) if detail else None,
        "payload": payload,
    }


async def add_entries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(table_of(AlertEntry)), rows)
