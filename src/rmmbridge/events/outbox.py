"""Domain events, written to ``event_outbox`` in the same transaction as the change they describe."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Text, cast, func, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.ids import uuid7
from rmmbridge.storage.copy import copy_insert
from rmmbridge.storage.db import is_postgres
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


# The oldest transaction that may still add events to *this* database: the smallest in-progress
# xid of the statement's snapshot that is not known to belong to a backend of another database,
# else the snapshot's xmax. ``pg_snapshot_xmin`` alone is cluster-wide, so an idle transaction in
# any other database on the server held the feed back for as long as it lasted.
#
# Why no event can appear below it later: an xid below the horizon that is not in the snapshot
# has ended (its events are visible, or it aborted); one in the snapshot is skipped only when
# pg_locks, read after the snapshot, shows it still held by a backend connected to another
# database — a backend never changes database, and another database cannot write this table.
# An xid that ended in between, a prepared transaction (no backend) or a backend without a
# database count as ours: the feed waits one poll, it never skips.
_FEED_HORIZON = """(
SELECT coalesce(
  (SELECT min(x) FROM pg_snapshot_xip(s) AS x
    WHERE NOT EXISTS (
      SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted
         AND l.transactionid = xid(x)
         AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))),
  pg_snapshot_xmax(s))::text::bigint
FROM pg_current_snapshot() AS s)"""


def feed_horizon() -> ColumnElement[int]:
    """PostgreSQL: events whose ``tx_id`` is below this are final (use in the same statement as
    the read, so both see one snapshot). See ``_FEED_HORIZON``."""
    return literal_column(_FEED_HORIZON, BigInteger)


COPY_FROM = 50  # rows from which a PostgreSQL batch goes by COPY (a sync page's events)


async def write_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if len(rows) >= COPY_FROM and is_postgres(session):
        tx_id = (await session.execute(select(_tx_id(session)))).scalar_one()
        await copy_insert(session, table_of(EventOutbox), [{**row, "tx_id": tx_id} for row in rows])
        return
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


async def needs_attention(session: AsyncSession, integration: Any, state: str, message: str | None) -> None:
    """``integration.needs_attention``: an integration just entered a state an admin must fix."""
    from rmmbridge.events.catalogue import INTEGRATION_NEEDS_ATTENTION
    from rmmbridge.kit.time import utcnow

    payload = {"integration_id": str(integration.id), "state": state, "message": (message or "")[:500] or None}
    await emit(
        session, integration.tenant_id, INTEGRATION_NEEDS_ATTENTION, "integration", integration.id, payload, utcnow()
    )
