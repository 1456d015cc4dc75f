"""Per-device liveness: what moves between device syncs, kept narrow so a pass every minute does not
rewrite the wide ``assets`` rows."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, tenant_col


class AssetLiveness(Base):
    """One row per RMM-linked asset: the status inputs, the RMM's own verdict and device health.

    Written set-based by the liveness pass (one upsert per page), the device pipeline and the
    single-device refresh; ``assets/status.py`` is the only reader that turns it into a status.
    """

    __tablename__ = "asset_liveness"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "asset_id"], ["assets.tenant_id", "assets.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "integration_id"],
            ["rmm_integrations.tenant_id", "rmm_integrations.id"],
            ondelete="CASCADE",
        ),
        Index("ix_asset_liveness_tenant_integration", "tenant_id", "integration_id"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    asset_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    integration_id: Mapped[uuid.UUID]
    # Status inputs: the agent's last check-in and its own thresholds, with the two cut-off
    # instants precomputed so status is one portable SQL CASE (assets/status.py).
    last_seen_at: Mapped[datetime | None]
    offline_after_s: Mapped[int | None]
    overdue_after_s: Mapped[int | None]
    offline_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
    # The RMM's own verdict when it gives one, and when these values were last read from the RMM.
    rmm_status: Mapped[str | None] = mapped_column(String(20))
    observed_at: Mapped[datetime | None]
    # This row's own freshness (observed_at + 3 liveness intervals), for devices refreshed on
    # their own; the integration's ``status_fresh_until`` covers every device of a whole pass.
    fresh_until: Mapped[datetime | None]
    # The status last computed (change detection: history and asset.status_changed only on change).
    status: Mapped[str] = mapped_column(String(20), default="unknown")
    status_changed_at: Mapped[datetime | None]
    # Health as the RMM judges it; NULL = this RMM does not say.
    checks_failing: Mapped[int | None]
    checks_warning: Mapped[int | None]
    needs_reboot: Mapped[bool | None]
    patches_pending: Mapped[bool | None]
    maintenance_mode: Mapped[bool | None]
    pending_actions: Mapped[int | None]
    current_user: Mapped[str | None] = mapped_column(String(255))
    boot_time: Mapped[datetime | None]
