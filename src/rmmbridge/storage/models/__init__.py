"""Every ORM model, imported here so the metadata (and Alembic) sees the whole schema."""

from .alerts import RmmAlert
from .assets import Asset, AssetHistory, ServerAsset, WorkstationAsset
from .audit import AuditEntry
from .base import Base
from .clients import Client
from .deployment import DeploymentSetting
from .events import EventOutbox
from .integrations import (
    ExternalEntityMapping,
    RmmIntegration,
    RmmOrganizationMapping,
    SyncCursor,
    WebhookDelivery,
)
from .liveness import AssetLiveness
from .secrets import TenantSecret
from .software import AssetSoftware, AssetSoftwareInventory, SoftwareCatalog
from .sync import SchedulerLease, ScheduleState, SyncRun
from .tenancy import ApiToken, Tenant, User, UserSession

__all__ = [
    "ApiToken",
    "Asset",
    "AssetHistory",
    "AssetLiveness",
    "AssetSoftware",
    "AssetSoftwareInventory",
    "AuditEntry",
    "Base",
    "Client",
    "DeploymentSetting",
    "EventOutbox",
    "ExternalEntityMapping",
    "RmmAlert",
    "RmmIntegration",
    "RmmOrganizationMapping",
    "ScheduleState",
    "SchedulerLease",
    "ServerAsset",
    "SoftwareCatalog",
    "SyncCursor",
    "SyncRun",
    "Tenant",
    "TenantSecret",
    "User",
    "UserSession",
    "WebhookDelivery",
    "WorkstationAsset",
]
