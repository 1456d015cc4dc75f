"""PSA clients (the MSP's customer companies)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, updated_col


class Client(Base):
    __tablename__ = "clients"
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = id_col()
    name: Mapped[str] = mapped_column(String(200))
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()


# Names are unique among a tenant's live clients, case-insensitively; archived names can be reused.
Index(
    "uq_clients_tenant_lower_name_live",
    Client.tenant_id,
    func.lower(Client.name),
    unique=True,
    sqlite_where=Client.archived_at.is_(None),
    postgresql_where=Client.archived_at.is_(None),
)
