"""Retention: the append-only logs do not grow forever.

Accepted webhook deliveries leave the delivery log after ``RMMBRIDGE_WEBHOOK_LOG_DAYS`` (a busy
RMM sends millions a month; rejected ones are already capped per integration and stay for the
admin), events leave the ``/api/v1/events`` feed after ``RMMBRIDGE_EVENT_RETENTION_DAYS``. The
scheduler tick (in-process leader, or Temporal's schedule) calls :func:`prune_expired`; it deletes
in bounded batches, each its own short transaction, so it never holds locks for long.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from rmmbridge.kit.time import utcnow
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import EventDelivery, EventOutbox, WebhookDelivery

BATCH = 5000
MAX_BATCHES = 20  # per call and table: a backlog drains over a few ticks


async def _prune(state: AppState, model: Any, *conditions: Any) -> int:
    removed = 0
    for _ in range(MAX_BATCHES):
        async with unit_of_work(state.sessionmaker) as session:
            doomed = select(model.id).where(*conditions).limit(BATCH).scalar_subquery()
            result = await session.execute(delete(model).where(model.id.in_(doomed)))
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        removed += count
        if count < BATCH:
            break
    return removed


async def prune_expired(state: AppState, now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    settings = state.settings
    return {
        "webhook_deliveries": await _prune(
            state,
            WebhookDelivery,
            WebhookDelivery.accepted.is_(True),
            WebhookDelivery.received_at < now - timedelta(days=settings.webhook_log_days),
        ),
        "event_deliveries": await _prune(
            state, EventDelivery, EventDelivery.created_at < now - timedelta(days=settings.delivery_log_days)
        ),
        "events": await _prune(
            state, EventOutbox, EventOutbox.created_at < now - timedelta(days=settings.event_retention_days)
        ),
    }
