"""REST: ``/api/v1/events`` — the outbox, for systems that follow changes.

Cursor pagination (the only list that uses it): events are append-only and followers poll for
"what is new since the last one I saw", which a page number cannot express.

The feed is ordered by the writing transaction (``tx_id``), then id, and never skips an event
that commits late: ordered by time, a transaction that stamped its events early but committed
after a follower had read past them would be missed for good. On PostgreSQL the feed shows only
transactions older than every transaction of this database still in progress
(``events.outbox.feed_horizon``), so nothing can later appear behind the cursor; transactions in
other databases on the server do not hold it back. On SQLite writers take turns and ``tx_id``
follows commit order. The price is that a long transaction *here* holds back the feed until it
ends.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, or_, select

from rmmbridge.errors import ValidationFailed
from rmmbridge.events.outbox import feed_horizon
from rmmbridge.kit.text import NO_NUL
from rmmbridge.storage.models import EventOutbox
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.docs import error_responses
from rmmbridge.web.deps import DB, require

router = APIRouter(prefix="/events", tags=["events"], responses=error_responses(401, 403))
Reader = Annotated[TenantContext, Depends(require(Permission.assets_read))]


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    event_type: str
    entity_type: str
    entity_id: str
    payload: dict[str, Any]
    created_at: datetime


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None
    has_more: bool


# The cursor is "<tx_id>-<event id as 32 hex digits>": opaque to followers, but its format is in
# the OpenAPI document, so every string the document allows is a cursor the feed can resume
# from (it may point between events; the feed continues after that position).
CURSOR_PATTERN = r"^[0-9]{1,18}-[0-9a-f]{32}$"


def encode_cursor(tx_id: int, event_id: uuid.UUID) -> str:
    return f"{tx_id}-{event_id.hex}"


def decode_cursor(cursor: str) -> tuple[int, uuid.UUID]:
    try:
        tx, _, eid = cursor.partition("-")
        if not tx.isascii() or not tx.isdigit() or len(tx) > 18:
            raise ValueError(cursor)
        return int(tx), uuid.UUID(hex=eid)
    except ValueError:
        raise ValidationFailed("invalid cursor", errors=[{"field": "cursor"}]) from None


@router.get("", response_model=EventPage, responses=error_responses(422))
async def list_events(
    db: DB,
    ctx: Reader,
    cursor: Annotated[
        str | None, Query(max_length=60, pattern=CURSOR_PATTERN, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    event_type: Annotated[
        str | None, Query(max_length=60, pattern=NO_NUL, description="exact type, e.g. asset.created")
    ] = None,
) -> EventPage:
    query = select(EventOutbox).where(EventOutbox.tenant_id == ctx.tenant_id)
    if event_type:
        query = query.where(EventOutbox.event_type == event_type)
    if cursor:
        tx_id, eid = decode_cursor(cursor)
        query = query.where(or_(EventOutbox.tx_id > tx_id, and_(EventOutbox.tx_id == tx_id, EventOutbox.id > eid)))
    if db.get_bind().dialect.name == "postgresql":
        query = query.where(EventOutbox.tx_id < feed_horizon())
    rows = list(await db.scalars(query.order_by(EventOutbox.tx_id, EventOutbox.id).limit(limit + 1)))
    items = [EventOut.model_validate(r) for r in rows[:limit]]
    has_more = len(rows) > limit
    next_cursor = encode_cursor(rows[len(items) - 1].tx_id, items[-1].id) if items else cursor
    return EventPage(items=items, next_cursor=next_cursor, has_more=has_more)
