"""Per-tenant RMM integrations, organization mappings, the external-id crosswalk and cursors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, tenant_col, updated_col


class RmmIntegration(Base):
    __tablename__ = "rmm_integrations"
    # Names are unique per tenant (case-insensitively, checked in integrations/service.py): with
    # several integrations of one provider, the name is how people and the CLI tell them apart.
    __table_args__ = (UniqueConstraint("webhook_secret_digest"), UniqueConstraint("tenant_id", "name"))

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = id_col()
    provider: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    instance_url: Mapped[str | None] = mapped_column(String(500))
    auth_mode: Mapped[str | None] = mapped_column(String(40))
    is_active: Mapped[bool] = mapped_column(default=False)
    # connected | needs_attention | needs_reauth | disconnected | not_configured
    state: Mapped[str] = mapped_column(String(30), default="not_configured")
    state_message: Mapped[str | None] = mapped_column(String(1000))
    # Non-secret settings, always merged on update (never replaced wholesale).
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Masked hints for stored credentials, e.g. {"api_key": "••••ABCD"}; the values live in tenant_secrets.
    credential_hints: Mapped[dict[str, Any]] = mapped_column(default=dict)
    webhook_secret_digest: Mapped[str | None] = mapped_column(String(64))
    # When a webhook was first configured (the first secret) or last provisioned: only alerts
    # raised after it can have been "missed by the webhook" (ingestion/alerts.missed_by_webhook).
    webhook_configured_at: Mapped[datetime | None]
    # The last provisioning report and the delivery hints found by the last alert poll.
    webhook_provisioning: Mapped[dict[str, Any]] = mapped_column(default=dict)
    webhook_hints: Mapped[list[Any]] = mapped_column(default=list)
    # The secret replaced by the last rotation, still accepted until ``previous_webhook_secret_until``
    # (providers with ``webhook_secret_overlap_s``: deliveries in flight keep working while the RMM
    # switches to the new secret). Its plaintext stays in the secret store for master-key rotation.
    previous_webhook_secret_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    previous_webhook_secret_until: Mapped[datetime | None]
    connected_at: Mapped[datetime | None]
    disconnected_at: Mapped[datetime | None]
    # When the stored credentials stop working (e.g. a Tanium API token), as the provider last
    # reported it; shown on the integration's card. Not for sliding sessions kept alive.
    credentials_expire_at: Mapped[datetime | None]
    last_test_at: Mapped[datetime | None]
    last_test_result: Mapped[list[Any]] = mapped_column(default=list)
    # Per sync kind: {"devices": {"success_at": iso, "error_at": iso, "error": str}, ...}
    sync_status: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Status freshness: when every device's status was last read from the RMM (the last successful
    # liveness pass, or complete device sync), and until when that counts as fresh (3 liveness
    # intervals later), precomputed so SQL needs no interval arithmetic (assets/status.py).
    status_checked_at: Mapped[datetime | None]
    status_fresh_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()


class RmmOrganizationMapping(Base):
    __tablename__ = "rmm_organization_mappings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "integration_id"],
            ["rmm_integrations.tenant_id", "rmm_integrations.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
        UniqueConstraint("tenant_id", "integration_id", "external_org_id"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    integration_id: Mapped[uuid.UUID]
    external_org_id: Mapped[str] = mapped_column(String(255))
    external_org_name: Mapped[str] = mapped_column(String(255))
    scope_kind: Mapped[str] = mapped_column(String(40), default="organization")
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client_id: Mapped[uuid.UUID | None]
    auto_sync_assets: Mapped[bool] = mapped_column(default=True)
    device_count: Mapped[int | None]
    missing_since: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()


class ExternalEntityMapping(Base):
    """The crosswalk from a remote entity to a local one.

    The key is ``(tenant, integration, entity type, external id)``; realm (RMM client/org) and site
    are attributes, so a device that moves between RMM clients stays one asset.
    ``content_hash`` is the digest of the last ingested normalized snapshot (unchanged → no write);
    ``last_seen_run_id`` marks the run that last saw the entity (deletion detection).
    """

    __tablename__ = "external_entity_mappings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "integration_id"],
            ["rmm_integrations.tenant_id", "rmm_integrations.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "integration_id", "entity_type", "external_id"),
        Index("ix_eem_tenant_local", "tenant_id", "entity_type", "local_id"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    integration_id: Mapped[uuid.UUID]
    entity_type: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(255))
    local_id: Mapped[uuid.UUID]
    external_ref: Mapped[str | None] = mapped_column(String(255))  # e.g. Tactical's integer pk
    realm_id: Mapped[str | None] = mapped_column(String(255))
    site_id: Mapped[str | None] = mapped_column(String(255))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    last_seen_run_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()


class SyncCursor(Base):
    """Incremental cursor per (integration, stream), advanced in the same transaction as its data."""

    __tablename__ = "sync_cursors"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "integration_id"],
            ["rmm_integrations.tenant_id", "rmm_integrations.id"],
            ondelete="CASCADE",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    integration_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(1000))
    updated_at: Mapped[datetime] = updated_col()


class WebhookDelivery(Base):
    """Webhook deliveries kept for the admin: accepted ones counted, rejected ones with the reason."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "integration_id"],
            ["rmm_integrations.tenant_id", "rmm_integrations.id"],
            ondelete="CASCADE",
        ),
        Index("ix_webhook_deliveries_tenant_integration_at", "tenant_id", "integration_id", "received_at"),
        Index("ix_webhook_deliveries_received", "received_at"),  # retention (sync/retention.py)
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    integration_id: Mapped[uuid.UUID]
    accepted: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(String(500))
    payload_excerpt: Mapped[str | None] = mapped_column(String(4000))
    received_at: Mapped[datetime] = created_col()
