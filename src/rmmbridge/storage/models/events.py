"""The transactional outbox: domain events written in the same transaction as the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col


class EventOutbox(Base):
    __tablename__ = "event_outbox"
    __table_args__ = (
        Index("ix_event_outbox_tenant_tx_id", "tenant_id", "tx_id", "id"),
        Index("ix_event_outbox_tx", "tx_id"),  # SQLite numbers transactions with max(tx_id) + 1
        Index("ix_event_outbox_created", "created_at"),  # retention (sync/retention.py)
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = id_col()
    event_type: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = created_col()
    # The writing transaction, so followers of the feed never skip a late commit (events/api.py):
    # PostgreSQL's transaction id; on SQLite, whose writers take turns, a counter taken under
    # the write lock. Set by ``events.outbox.write_events``.
    tx_id: Mapped[int] = mapped_column(BigInteger)
