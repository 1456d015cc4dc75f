"""Typed records for assets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rmmbridge.kit.text import NO_NUL

AssetType = Literal["workstation", "server"]


class DeviceHealthOut(BaseModel):
    """Health as the RMM judges it, kept current by the liveness pass; null: the RMM does not say."""

    checks_failing: int | None = None
    checks_warning: int | None = None
    needs_reboot: bool | None = None
    patches_pending: bool | None = None
    maintenance_mode: bool | None = None
    pending_actions: int | None = None


class AssetSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    asset_type: str
    client_id: uuid.UUID | None
    client_name: str | None = None
    serial_number: str | None
    status: str
    agent_status: str = Field(
        description="online | offline | overdue | unknown; when status_stale, the last observed status"
    )
    status_observed_at: datetime | None = Field(
        default=None, description="when the status was last read from the RMM (its last liveness pass or sync)"
    )
    status_stale: bool = Field(
        default=False, description="rmmbridge has not been able to check the status for 3 liveness intervals"
    )
    health: DeviceHealthOut = Field(default_factory=DeviceHealthOut)
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


class SourceOut(BaseModel):
    """One RMM device feeding the asset, with its own status (the asset shows the best of them)."""

    mapping_id: uuid.UUID
    integration_id: uuid.UUID
    integration_name: str
    provider: str
    external_id: str
    origin_asset_id: uuid.UUID
    name: str | None = None
    serial_number: str | None = None
    last_seen_at: datetime | None = None
    status: str
    missing_since: datetime | None = None
    attached_at: datetime
    attached_by: str


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
    sources: list[SourceOut] = Field(default_factory=list)


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
            raise ValueError("enter a name (spaces alone are not a name)")
        return v.strip() if v else v


class SoftwareOut(BaseModel):
    """One installed version: side-by-side versions of a product are separate entries with one ``software_id``."""

    software_id: uuid.UUID = Field(description="The product (catalog entry: name + publisher)")
    name: str
    publisher: str
    version: str | None = Field(description="null when the RMM reported no version")
    install_date: datetime | None
    size_bytes: int | None
    is_current: bool
    first_seen_at: datetime
    last_seen_at: datetime
    uninstalled_at: datetime | None


class StatusCounts(BaseModel):
    online: int = 0
    offline: int = 0
    overdue: int = 0
    unknown: int = 0
    stale: int = 0
    total: int = 0


class HealthCounts(BaseModel):
    needs_reboot: int = 0
    failing_checks: int = 0
    warning_checks: int = 0
    patches_pending: int = 0
    maintenance_mode: int = 0
    pending_actions: int = 0


class ClientStatusCounts(StatusCounts):
    client_id: uuid.UUID | None
    client_name: str | None = None


class AssetsSummary(BaseModel):
    """Fleet status and health counts (the dashboard's), with the same rule as lists and filters."""

    counts: StatusCounts
    health: HealthCounts
    clients: list[ClientStatusCounts]
    data_as_of: datetime | None = Field(
        description="the oldest last successful status check of the active integrations in scope"
    )
    now: datetime


class SoftwareCountsOut(BaseModel):
    installations: int = Field(description="Installed versions now (side-by-side versions count apart)")
    products: int = Field(description="Distinct products (catalog entries) installed now")
    uninstalled: int = Field(description="Versions seen before and uninstalled since")


# --------------------------------------------------------------------------- saved views of the list

# The list's column keys (``assets/columns.py`` holds their labels and CSV values; a test keeps both equal).
ColumnKey = Literal["name", "client", "type", "agent", "last_seen", "health", "os", "user", "ip", "status", "serial",
                    "provider", "rmm_device_id", "id"]  # fmt: skip
# A view's name: no control characters and not blank (its spaces are collapsed when stored).
VIEW_NAME = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"


class ViewFilters(BaseModel):
    """The assets list's filters a view keeps: ``GET /assets``'s query parameters."""

    model_config = ConfigDict(extra="forbid")
    client_id: uuid.UUID | None = None
    provider: str | None = Field(default=None, max_length=40, pattern=NO_NUL)
    integration_id: uuid.UUID | None = None
    asset_type: AssetType | None = None
    agent_status: Literal["online", "offline", "overdue", "unknown", "stale"] | None = None
    status: Literal["active", "inactive", "retired"] | None = None
    q: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    needs_reboot: bool | None = None
    failing_checks: bool | None = None
    patches_pending: bool | None = None
    maintenance_mode: bool | None = None
    sort: Literal["name", "type", "status", "last_seen", "client", "updated"] | None = None
    order: Literal["asc", "desc"] | None = None

    def params(self) -> dict[str, str]:
        """As the list's query string has them (ids and flags as text; unset ones left out)."""
        out: dict[str, str] = {}
        for key, value in self.model_dump(exclude_none=True).items():
            out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return out


class SavedViewIn(BaseModel):
    """A named view of the assets list: its filters and the columns it shows (the name column is
    always included; omitted: the default columns)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=VIEW_NAME)
    filters: ViewFilters = Field(default_factory=ViewFilters)
    columns: list[ColumnKey] | None = Field(default=None, max_length=30)
    overwrite: bool = Field(default=False, description="replace your view of the same name instead of a 409")


class SavedViewPatch(BaseModel):
    """Rename a view and/or overwrite its filters or columns; what is omitted stays."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=VIEW_NAME)
    filters: ViewFilters | None = None
    columns: list[ColumnKey] | None = Field(default=None, max_length=30)


class SavedViewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    filters: dict[str, str]
    columns: list[str]
    created_at: datetime
    updated_at: datetime
