"""Typed records for assets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rmmbridge.kit.text import NO_NUL

AssetType = Literal["workstation", "server"]


class AssetSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    asset_type: str
    client_id: uuid.UUID | None
    client_name: str | None = None
    serial_number: str | None
    status: str
    agent_status: str
    rmm_provider: str | None
    rmm_integration_id: uuid.UUID | None
    rmm_device_id: str | None
    rmm_organization_id: str | None
    last_seen_at: datetime | None
    missing_since: datetime | None
    os_name: str | None = None
    current_user: str | None = None
    primary_ip: str | None = None
    updated_at: datetime


class AssetDetails(BaseModel):
    manufacturer: str | None = None
    model: str | None = None
    hardware_uuid: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    platform: str | None = None
    architecture: str | None = None
    cpu_model: str | None = None
    cpu_cores: int | None = None
    cpu_threads: int | None = None
    ram_bytes: int | None = None
    volumes: list[dict[str, Any]] = Field(default_factory=list)
    physical_disks: list[str] = Field(default_factory=list)
    gpu: str | None = None
    domain: str | None = None
    agent_version: str | None = None
    current_user: str | None = None
    last_user: str | None = None
    boot_time: datetime | None = None
    uptime_seconds: int | None = None
    lan_ips: list[str] = Field(default_factory=list)
    primary_ip: str | None = None
    wan_ip: str | None = None
    mac_addresses: list[str] = Field(default_factory=list)
    needs_reboot: bool | None = None
    patches_last_installed_at: datetime | None = None


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    action: str
    actor: str
    changes: dict[str, Any]
    created_at: datetime


class ExternalMappingOut(BaseModel):
    integration_id: uuid.UUID
    provider: str | None
    entity_type: str
    external_id: str
    external_ref: str | None
    realm_id: str | None
    site_id: str | None


class AlertBrief(BaseModel):
    id: uuid.UUID
    severity: str
    status: str
    alert_type: str | None
    message: str | None
    raised_at: datetime | None
    last_seen_at: datetime


class AssetOut(AssetSummary):
    location: str | None = None
    notes: str | None = None
    overrides: list[str] = Field(default_factory=list)
    rmm_site_id: str | None = None
    rmm_site_name: str | None = None
    offline_after_s: int | None = None
    overdue_after_s: int | None = None
    last_rmm_sync_at: datetime | None = None
    data_as_of: datetime | None = None
    created_at: datetime
    details: AssetDetails
    mappings: list[ExternalMappingOut] = Field(default_factory=list)
    recent_alerts: list[AlertBrief] = Field(default_factory=list)
    history: list[HistoryOut] = Field(default_factory=list)


class AssetUpdate(BaseModel):
    """Hand edits. ``name``, ``asset_type`` and ``client_id`` become overrides a sync won't undo;
    list a field in ``clear_overrides`` to let the RMM's value win again."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=255, pattern=NO_NUL)
    asset_type: AssetType | None = None
    client_id: uuid.UUID | None = None
    location: str | None = Field(default=None, max_length=255, pattern=NO_NUL)
    notes: str | None = Field(default=None, max_length=10_000, pattern=NO_NUL)
    status: Literal["active", "inactive", "retired"] | None = None
    clear_overrides: list[Literal["name", "asset_type", "client_id"]] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("name must not be blank")
        return v.strip() if v else v


class SoftwareOut(BaseModel):
    software_id: uuid.UUID
    name: str
    publisher: str
    version: str | None
    install_date: datetime | None
    size_bytes: int | None
    is_current: bool
    first_seen_at: datetime
    last_seen_at: datetime
    uninstalled_at: datetime | None
