"""Outbound event delivery: webhook subscriptions, their delivery log, alert routing rules and
the cursors of the consumers of the outbox (the webhook dispatcher, the NATS publisher)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, tenant_col, updated_col


class EventSubscription(Base):
    """A destination for events. The signing secrets live in the secret store
    (``event_subscription/<id>/current`` and ``.../previous`` during a rotation's overlap)."""

    __tablename__ = "event_subscriptions"

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    format: Mapped[str] = mapped_column(String(20), default="standard")  # standard | slack | teams
    event_types: Mapped[list[str]] = mapped_column(default=list)  # empty: every type
    client_ids: Mapped[list[str]] = mapped_column(default=list)  # empty: every client
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    disabled_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]  # first failure since the last success
    last_success_at: Mapped[datetime | None]
    previous_secret_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()


class EventDelivery(Base):
    """One event to one subscription: its state, attempts and last outcome (the delivery log)."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "subscription_id"],
            ["event_subscriptions.tenant_id", "event_subscriptions.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "subscription_id", "event_id"),
        Index("ix_event_deliveries_due", "status", "next_attempt_at"),
        Index("ix_event_deliveries_tenant_sub_created", "tenant_id", "subscription_id", "created_at"),
        Index("ix_event_deliveries_sub_entity", "tenant_id", "subscription_id", "entity_id"),
        Index("ix_event_deliveries_created", "created_at"),  # retention
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    subscription_id: Mapped[uuid.UUID]
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the standard envelope
    # pending | delivering | succeeded | failed (gave up, or 410) | grouped (re-trigger within the window)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_latency_ms: Mapped[int | None]
    response_excerpt: Mapped[str | None] = mapped_column(String(1000))
    last_error: Mapped[str | None] = mapped_column(String(500))
    route_id: Mapped[uuid.UUID | None]  # the alert routing rule that chose this subscription
    event_created_at: Mapped[datetime]
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()
    delivered_at: Mapped[datetime | None]


class AlertRoute(Base):
    """An alert routing rule: ordered by ``position``; the first matches win (``stop_after_match``)."""

    __tablename__ = "alert_routes"
    __table_args__ = (Index("ix_alert_routes_tenant_position", "tenant_id", "position"),)

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    severities: Mapped[list[str]] = mapped_column(default=list)
    alert_types: Mapped[list[str]] = mapped_column(default=list)
    client_ids: Mapped[list[str]] = mapped_column(default=list)
    device_name_pattern: Mapped[str | None] = mapped_column(String(200))
    # {} (any time) or {"timezone", "days": [0..6], "start": "HH:MM", "end": "HH:MM", "inside": bool}
    business_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    subscription_ids: Mapped[list[str]] = mapped_column(default=list)
    stop_after_match: Mapped[bool] = mapped_column(default=True)
    group_window_s: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()


class DeliveryCursor(Base):
    """How far a service-wide consumer has read the outbox (its position in the feed order).

    Not tenant-scoped: one dispatcher and one NATS publisher serve every tenant. Advanced with a
    compare-and-set, so two processes reading the same position cannot both act on it.
    """

    __tablename__ = "delivery_cursors"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    tx_id: Mapped[int] = mapped_column(BigInteger, default=0)
    event_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[datetime] = updated_col()
