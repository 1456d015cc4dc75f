"""Cross-RMM identity: the sources of an asset, the evidence index, merge candidates, tenant policy.

An asset can be fed by several RMM devices (sources). The crosswalk (``external_entity_mappings``)
still maps (integration, external id) → asset; ``asset_sources`` adds, per crosswalk row, what the
pipeline needs to combine sources and to take one apart again (unmerge): the source's own field
values, its liveness and the asset it was first created as.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, tenant_col, updated_col


class AssetSource(Base):
    """One RMM device feeding an asset; keyed by its crosswalk row (``mapping_id``)."""

    __tablename__ = "asset_sources"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "mapping_id"],
            ["external_entity_mappings.tenant_id", "external_entity_mappings.id"],
            ondelete="CASCADE",
        ),
        Index("ix_asset_sources_tenant_asset", "tenant_id", "asset_id"),
        Index("ix_asset_sources_tenant_integration", "tenant_id", "integration_id"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    mapping_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    asset_id: Mapped[uuid.UUID]
    integration_id: Mapped[uuid.UUID]
    provider: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(255))
    # The asset this source was created as (unmerge restores it there) and the client it maps to.
    origin_asset_id: Mapped[uuid.UUID]
    client_id: Mapped[uuid.UUID | None]
    # The source's own values (asset core + extension fields, JSON): precedence and unmerge read them.
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_seen_at: Mapped[datetime | None]
    # Set when a complete snapshot of its integration no longer lists it; the asset is missing only
    # when every source is.
    missing_since: Mapped[datetime | None]
    attached_at: Mapped[datetime] = created_col()
    attached_by: Mapped[str] = mapped_column(String(100), default="sync")
    updated_at: Mapped[datetime] = updated_col()


class IdentityEvidenceRow(Base):
    """The evidence index: one row per (source, key). Correlation matches a page's keys against it.

    Keyed by (tenant, source, kind, value) — no surrogate id, no asset index — so a page's insert
    maintains two indexes, not five (it is the pipeline's widest insert: ~4 rows per device).
    """

    __tablename__ = "identity_evidence"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "mapping_id"],
            ["external_entity_mappings.tenant_id", "external_entity_mappings.id"],
            ondelete="CASCADE",
        ),
        # Correlation looks a page's values up whatever their kind (value IN (...)).
        Index("ix_identity_evidence_lookup", "tenant_id", "value"),
        # No (tenant, asset) index: an asset's keys are read through its sources (correlation.py).
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    mapping_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # uuid | serial | mac | host | osid
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    asset_id: Mapped[uuid.UUID]
    integration_id: Mapped[uuid.UUID]
    client_id: Mapped[uuid.UUID | None]
    vendor: Mapped[str] = mapped_column(String(40), default="")  # serial keys: the vendor token


class MergeCandidate(Base):
    """Two assets that may be one machine. ``asset_a < asset_b`` (one row per pair).

    status: open | merged | never (an admin said never, or unmerged them) | dismissed.
    """

    __tablename__ = "merge_candidates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "asset_a", "asset_b"),
        Index("ix_merge_candidates_tenant_status", "tenant_id", "status", "client_id"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    asset_a: Mapped[uuid.UUID]
    asset_b: Mapped[uuid.UUID]
    client_id: Mapped[uuid.UUID | None]
    score: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[list[Any]] = mapped_column(default=list)  # [{kind, value}]
    status: Mapped[str] = mapped_column(String(20), default="open")
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()


class IdentityPolicy(Base):
    """Per-tenant correlation policy (defaults in identity/policy.py when the row is absent)."""

    __tablename__ = "identity_policies"

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    # auto: strong matches attach automatically; review: every match becomes a candidate.
    mode: Mapped[str] = mapped_column(String(10), default="auto")
    # A value seen on more than this many assets of the tenant is junk.
    junk_threshold: Mapped[int] = mapped_column(default=3)
    # field group → [provider, ...] (first wins; unknown providers fall back to the most recent).
    precedence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = updated_col()
