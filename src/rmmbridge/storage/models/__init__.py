"""Every ORM model, imported here so the metadata (and Alembic) sees the whole schema."""

from .alerts import AlertEntry, RmmAlert
from .assets import Asset, AssetHistory, ServerAsset, WorkstationAsset
from .audit import AuditEntry
from .base import Base
from .clients import Client
from .delivery import AlertRoute, DeliveryCursor, EventDelivery, EventSubscription
from .deployment import DeploymentSetting
from .events import EventOutbox
from .identity import AssetSource, IdentityEvidenceRow, IdentityPolicy, MergeCandidate
from .integrations import (
    ExternalEntityMapping,
    RmmIntegration,
    RmmOrganizationMapping,
    SyncCursor,
    WebhookDelivery,
)
from .liveness import AssetLiveness
from .oauth import OAuthAuthorization
from .saved_views import SavedView
from .secrets import TenantSecret
from .software import AssetSoftware, AssetSoftwareInventory, SoftwareCatalog
from .sync import SchedulerLease, ScheduleState, SyncRun
from .tenancy import ApiToken, Tenant, User, UserSession

__all__ = [
    "AlertEntry",
    "AlertRoute",
    "ApiToken",
    "Asset",
    "AssetHistory",
    "AssetLiveness",
    "AssetSoftware",
    "AssetSoftwareInventory",
    "AssetSource",
    "AuditEntry",
    "Base",
    "Client",
    "DeliveryCursor",
    "DeploymentSetting",
    "EventDelivery",
    "EventOutbox",
    "EventSubscription",
    "ExternalEntityMapping",
    "IdentityEvidenceRow",
    "IdentityPolicy",
    "MergeCandidate",
    "OAuthAuthorization",
    "RmmAlert",
    "RmmIntegration",
    "RmmOrganizationMapping",
    "SavedView",
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
