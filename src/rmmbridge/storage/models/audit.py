"""The tenant's audit trail of administrative changes (users, roles, API tokens)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, tenant_col


class AuditEntry(Base):
    """One administrative change: who (``actor``: ``user:<id>``, ``token:<id>``, ``system:cli``),
    what (``action``, e.g. ``user.role_changed``), on what (``target_*``) and the details.

    Append-only and kept (a record, not a log): the Users page shows the latest entries."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_at", "tenant_id", "at"),)

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    at: Mapped[datetime] = created_col()
    actor: Mapped[str] = mapped_column(String(80))
    actor_email: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[uuid.UUID | None]
    target_label: Mapped[str | None] = mapped_column(String(320))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
