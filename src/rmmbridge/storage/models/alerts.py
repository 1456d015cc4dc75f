"""Alerts raised by RMMs against assets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, tenant_col, updated_col


class RmmAlert(Base):
    __tablename__ = "rmm_alerts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "integration_id"],
            ["rmm_integrations.tenant_id", "rmm_integrations.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["tenant_id", "asset_id"], ["assets.tenant_id", "assets.id"]),
        UniqueConstraint("tenant_id", "integration_id", "external_alert_id"),
        Index("ix_rmm_alerts_tenant_status", "tenant_id", "status"),
        Index("ix_rmm_alerts_tenant_asset", "tenant_id", "asset_id"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    integration_id: Mapped[uuid.UUID]
    external_alert_id: Mapped[str] = mapped_column(String(255))
    external_device_id: Mapped[str | None] = mapped_column(String(255))
    asset_id: Mapped[uuid.UUID | None]
    severity: Mapped[str] = mapped_column(String(20))  # info | warning | error | critical
    status: Mapped[str] = mapped_column(String(20))  # active | resolved
    alert_type: Mapped[str | None] = mapped_column(String(60))
    message: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))  # webhook | poll
    occurrences: Mapped[int] = mapped_column(default=1)
    raised_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime] = created_col()
    last_seen_at: Mapped[datetime] = created_col()
    webhook_seen: Mapped[bool] = mapped_column(default=False)
    # Ever listed by an alert poll: only such alerts may be resolved by a poll that no longer lists
    # them, for providers declaring ``alert_poll_resolves = "poll_seen"``.
    poll_seen: Mapped[bool] = mapped_column(default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = updated_col()
    # Two-way actions (alerts/actions.py): acknowledge is local; resolve and snooze are also sent
    # to the RMM, and ``remote_state`` says whether the RMM agreed (synced) or refused (failed,
    # with ``remote_error``) so local and remote are never silently different.
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(320))
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    snoozed_until: Mapped[datetime | None]
    remote_action: Mapped[str | None] = mapped_column(String(20))  # resolve | snooze
    remote_state: Mapped[str | None] = mapped_column(String(20))  # pending | synced | failed
    remote_error: Mapped[str | None] = mapped_column(Text)


class AlertEntry(Base):
    """One line of an alert's timeline: raised, redelivered, acknowledged, resolved, … with its
    source (webhook, poll, user, rmm), who (a user's e-mail for user actions) and, for webhook
    deliveries, the payload received with secrets removed."""

    __tablename__ = "rmm_alert_entries"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "alert_id"], ["rmm_alerts.tenant_id", "rmm_alerts.id"], ondelete="CASCADE"),
        Index("ix_rmm_alert_entries_alert", "tenant_id", "alert_id", "at"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    alert_id: Mapped[uuid.UUID]
    at: Mapped[datetime] = created_col()
    kind: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(20))  # webhook | poll | user | rmm
    actor: Mapped[str | None] = mapped_column(String(320))
    detail: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text)
