"""Software catalog and per-asset installations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, tenant_col


class SoftwareCatalog(Base):
    __tablename__ = "software_catalog"
    __table_args__ = (UniqueConstraint("tenant_id", "normalized_name", "publisher"),)

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    name: Mapped[str] = mapped_column(String(500))
    normalized_name: Mapped[str] = mapped_column(String(500))
    # NOT NULL with '' default: NULLs are distinct in UNIQUE, which would let duplicates in.
    publisher: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_at: Mapped[datetime] = created_col()


class AssetSoftware(Base):
    __tablename__ = "asset_software"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "asset_id"], ["assets.tenant_id", "assets.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "software_id"], ["software_catalog.tenant_id", "software_catalog.id"]),
        Index("ix_asset_software_tenant_software", "tenant_id", "software_id"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    asset_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    software_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[str | None] = mapped_column(String(200))
    install_date: Mapped[datetime | None]
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    is_current: Mapped[bool] = mapped_column(default=True)
    first_seen_at: Mapped[datetime] = created_col()
    last_seen_at: Mapped[datetime] = created_col()
    uninstalled_at: Mapped[datetime | None]
