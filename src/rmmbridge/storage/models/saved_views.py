"""Saved views of the assets list: a user's named set of filters and columns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, tenant_col, updated_col


class SavedView(Base):
    """One user's named view (``filters``: the list's query parameters as strings; ``columns``: the
    shown column keys in order). Private to its user: deleted with the user."""

    __tablename__ = "saved_views"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "user_id", "name"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    user_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(100))
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    columns: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()
