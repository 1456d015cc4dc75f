"""Domain events, written to ``event_outbox`` in the same transaction as the change they describe."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Text, cast, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.ids import uuid7
from rmmbridge.storage.models import EventOutbox
from rmmbridge.storage.models.base import table_of


def event_row(
    tenant_id: uuid.UUID, event_type: str, entity_type: str, entity_id: Any, payload: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "id": uuid7(),
        "event_type": event_type,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "payload": payload,
        "created_at": now,
    }


def _tx_id(session: AsyncSession) -> Any:
    """SQL for the writing transaction's number (see ``EventOutbox.tx_id``)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(cast(func.pg_current_xact_id(), Text), BigInteger)
    # SQLite: writers hold the write lock from BEGIN IMMEDIATE to COMMIT, so numbers taken
    # inside a transaction follow commit order.
    table = table_of(EventOutbox)
    return select(func.coalesce(func.max(table.c.tx_id), 0) + 1).scalar_subquery()


async def write_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(table_of(EventOutbox)).values(tx_id=_tx_id(session)), rows)


async def emit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    event_type: str,
    entity_type: str,
    entity_id: Any,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    await write_events(session, [event_row(tenant_id, event_type, entity_type, entity_id, payload, now)])
