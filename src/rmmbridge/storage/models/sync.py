"""Sync runs and the scheduler's lease rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, tenant_col

ACTIVE_RUN_STATUSES = ("queued", "running")


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "integration_id"],
            ["rmm_integrations.tenant_id", "rmm_integrations.id"],
            ondelete="CASCADE",
        ),
        # Single flight, enforced by the database: at most one queued/running run per kind and
        # target (the device, for single-device refreshes; '' for whole-integration runs).
        Index(
            "uq_sync_runs_one_active",
            "tenant_id",
            "integration_id",
            "kind",
            "target",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        Index("ix_sync_runs_tenant_integration_created", "tenant_id", "integration_id", "created_at"),
        Index("ix_sync_runs_recent_target", "tenant_id", "integration_id", "kind", "target", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    integration_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(20))  # scopes | devices | alerts | software | agent | liveness
    trigger: Mapped[str] = mapped_column(String(20))  # manual | schedule | webhook | api | cli
    target: Mapped[str] = mapped_column(String(255), default="", server_default="")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    counters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"pages": n, "total": m, ...}
    errors: Mapped[list[Any]] = mapped_column(default=list)
    complete_snapshot: Mapped[bool] = mapped_column(default=False)
    owner: Mapped[str | None] = mapped_column(String(200))  # process (direct) or worker (temporal) running it
    heartbeat_at: Mapped[datetime | None]
    # Ownership (sync/ownership.py): the fencing token, incremented by every claim, is checked in the
    # WHERE clause of each write of the run's state, so an owner that lost the run cannot write over
    # its successor; the lease is renewed by the owner's heartbeat while the work progresses.
    attempt: Mapped[int] = mapped_column(default=0, server_default="0")
    lease_expires_at: Mapped[datetime | None]
    # One entry per attempt: {"attempt", "owner", "started_at", "ended_at", "cause", "counters"}.
    attempts: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = created_col()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class SchedulerLease(Base):
    """One row per named lease; a scheduler holds it while ``expires_at`` is in the future.

    Not tenant-scoped: the scheduler is a service-wide singleton across web processes.
    """

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class ScheduleState(Base):
    """When each (integration, kind) schedule last fired and is next due."""

    __tablename__ = "schedule_states"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "integration_id"],
            ["rmm_integrations.tenant_id", "rmm_integrations.id"],
            ondelete="CASCADE",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    integration_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_fired_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime] = created_col()
