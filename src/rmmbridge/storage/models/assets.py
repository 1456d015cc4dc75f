"""Assets, their workstation/server extensions, and the change history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, tenant_col, updated_col


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
        Index("ix_assets_tenant_integration", "tenant_id", "rmm_integration_id"),
        Index("ix_assets_tenant_client", "tenant_id", "client_id"),
        Index("ix_assets_tenant_name", "tenant_id", "name"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = id_col()
    client_id: Mapped[uuid.UUID | None]
    asset_type: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(255))
    serial_number: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="active")
    location: Mapped[str | None] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)

    # RMM link: which integration feeds the asset and where the device lives remotely.
    rmm_provider: Mapped[str | None] = mapped_column(String(40))
    rmm_integration_id: Mapped[uuid.UUID | None]
    rmm_device_id: Mapped[str | None] = mapped_column(String(255))
    rmm_organization_id: Mapped[str | None] = mapped_column(String(255))
    rmm_site_id: Mapped[str | None] = mapped_column(String(255))
    rmm_site_name: Mapped[str | None] = mapped_column(String(255))

    # Status inputs: agent_status is a cache; the truth is computed from these at read time.
    agent_status: Mapped[str] = mapped_column(String(20), default="unknown")
    last_seen_at: Mapped[datetime | None]
    offline_after_s: Mapped[int | None]
    overdue_after_s: Mapped[int | None]
    # last_seen_at + the thresholds, precomputed so status is one portable SQL CASE at read time.
    offline_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
    last_rmm_sync_at: Mapped[datetime | None]
    missing_since: Mapped[datetime | None]
    missing_snapshots: Mapped[int] = mapped_column(default=0)

    # Fields an admin edited by hand; syncs never overwrite them.
    overrides: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()


class _ExtensionColumns:
    """Columns shared by the 1:1 workstation and server extensions."""

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    asset_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    manufacturer: Mapped[str | None] = mapped_column(String(255))
    model: Mapped[str | None] = mapped_column(String(255))
    hardware_uuid: Mapped[str | None] = mapped_column(String(64))
    os_name: Mapped[str | None] = mapped_column(String(255))
    os_version: Mapped[str | None] = mapped_column(String(100))
    platform: Mapped[str | None] = mapped_column(String(30))
    architecture: Mapped[str | None] = mapped_column(String(20))
    cpu_model: Mapped[str | None] = mapped_column(String(255))
    cpu_cores: Mapped[int | None]
    cpu_threads: Mapped[int | None]
    ram_bytes: Mapped[int | None] = mapped_column(BigInteger)
    volumes: Mapped[list[Any]] = mapped_column(default=list)
    physical_disks: Mapped[list[Any]] = mapped_column(default=list)
    gpu: Mapped[str | None] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(255))
    agent_version: Mapped[str | None] = mapped_column(String(50))
    current_user: Mapped[str | None] = mapped_column(String(255))
    last_user: Mapped[str | None] = mapped_column(String(255))
    boot_time: Mapped[datetime | None]
    lan_ips: Mapped[list[str]] = mapped_column(default=list)
    primary_ip: Mapped[str | None] = mapped_column(String(64))
    wan_ip: Mapped[str | None] = mapped_column(String(64))
    mac_addresses: Mapped[list[str]] = mapped_column(default=list)
    needs_reboot: Mapped[bool | None]
    patches_last_installed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = updated_col()


class WorkstationAsset(_ExtensionColumns, Base):
    __tablename__ = "workstation_assets"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "asset_id"], ["assets.tenant_id", "assets.id"], ondelete="CASCADE"),
    )


class ServerAsset(_ExtensionColumns, Base):
    __tablename__ = "server_assets"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "asset_id"], ["assets.tenant_id", "assets.id"], ondelete="CASCADE"),
    )


class AssetHistory(Base):
    """Who or what changed an asset: ``actor`` is ``user:<id>``, ``sync:<run id>`` or ``webhook``."""

    __tablename__ = "asset_history"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "asset_id"], ["assets.tenant_id", "assets.id"], ondelete="CASCADE"),
        Index("ix_asset_history_tenant_asset_at", "tenant_id", "asset_id", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    asset_id: Mapped[uuid.UUID]
    action: Mapped[str] = mapped_column(String(20))  # created|updated|missing|retired|revived|edited
    actor: Mapped[str] = mapped_column(String(100))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # field -> [old, new]
    created_at: Mapped[datetime] = created_col()
