"""Software catalog, per-asset installations (one row per installed version) and each asset's inventory state."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, tenant_col


class SoftwareCatalog(Base):
    """A product: name + publisher. Versions live on the installations, so side-by-side versions share it."""

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
    """One installed version of a product on an asset: side-by-side versions are separate rows.

    ``last_seen_at`` is written when the row changes (installed, attributes changed, uninstalled: then it is
    the last inventory that still listed it); while the row is current, "last seen" is its asset's
    ``AssetSoftwareInventory.seen_at``, so an unchanged inventory rewrites none of these rows.
    """

    __tablename__ = "asset_software"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "asset_id"], ["assets.tenant_id", "assets.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "software_id"], ["software_catalog.tenant_id", "software_catalog.id"]),
        Index("ix_asset_software_tenant_software", "tenant_id", "software_id"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    asset_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    software_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Part of the key, so NOT NULL: '' = "the RMM reported no version" (a NULL would never conflict).
    version: Mapped[str] = mapped_column(String(200), primary_key=True, default="", server_default="")
    install_date: Mapped[datetime | None]
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    is_current: Mapped[bool] = mapped_column(default=True)
    first_seen_at: Mapped[datetime] = created_col()
    last_seen_at: Mapped[datetime] = created_col()
    uninstalled_at: Mapped[datetime | None]


class AssetSoftwareInventory(Base):
    """The last software list an asset's RMM reported, as a digest: an unchanged list costs no row writes."""

    __tablename__ = "asset_software_inventories"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "asset_id"], ["assets.tenant_id", "assets.id"], ondelete="CASCADE"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    asset_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    installations: Mapped[int] = mapped_column(Integer)
    seen_at: Mapped[datetime] = created_col()  # the last inventory that listed this asset
    changed_at: Mapped[datetime] = created_col()  # the last inventory that differed from the one before
