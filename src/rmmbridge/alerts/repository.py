"""Alert queries, scoped by tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, and_, select

from rmmbridge.storage.models import AlertEntry, Asset, Client, RmmAlert, RmmIntegration
from rmmbridge.tenancy.context import TenantContext


@dataclass(frozen=True)
class AlertFilters:
    status: str | None = None
    severity: str | None = None
    integration_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    alert_type: str | None = None
    source: str | None = None  # webhook | poll


def list_query(ctx: TenantContext, f: AlertFilters) -> Select:  # type: ignore[type-arg]
    query = (
        select(
            RmmAlert,
            RmmIntegration.provider,
            Asset.name,
            Asset.client_id,
            Client.name,
            RmmIntegration.webhook_configured_at,
        )
        .join(
            RmmIntegration,
            and_(RmmIntegration.tenant_id == RmmAlert.tenant_id, RmmIntegration.id == RmmAlert.integration_id),
        )
        .outerjoin(Asset, and_(Asset.tenant_id == RmmAlert.tenant_id, Asset.id == RmmAlert.asset_id))
        .outerjoin(Client, and_(Client.tenant_id == Asset.tenant_id, Client.id == Asset.client_id))
        .where(RmmAlert.tenant_id == ctx.tenant_id)
    )
    if f.status:
        query = query.where(RmmAlert.status == f.status)
    if f.severity:
        query = query.where(RmmAlert.severity == f.severity)
    if f.integration_id:
        query = query.where(RmmAlert.integration_id == f.integration_id)
    if f.asset_id:
        query = query.where(RmmAlert.asset_id == f.asset_id)
    if f.client_id:
        query = query.where(Asset.client_id == f.client_id)
    if f.alert_type:
        query = query.where(RmmAlert.alert_type == f.alert_type)
    if f.source:
        query = query.where(RmmAlert.source == f.source)
    return query.order_by(RmmAlert.status, RmmAlert.last_seen_at.desc(), RmmAlert.id)


def timeline_query(ctx: TenantContext, alert_id: uuid.UUID) -> Select:  # type: ignore[type-arg]
    return (
        select(AlertEntry)
        .where(AlertEntry.tenant_id == ctx.tenant_id, AlertEntry.alert_id == alert_id)
        .order_by(AlertEntry.at, AlertEntry.id)
    )
