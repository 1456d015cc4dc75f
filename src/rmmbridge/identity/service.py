"""Sources of an asset, the merge review queue (merge, never merge, unmerge, bulk accept).

An asset's values are always its sources' values combined by the tenant's precedence
(:func:`rebuild`), so merge and unmerge only move sources between assets and rebuild both: an
unmerged asset is restored exactly as its sources describe it. Merging keeps the surviving asset;
the other is retired with a ``merged`` history row and restored (same id, same history) when its
sources are unmerged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.assets.status import compute_status, cutoffs
from rmmbridge.errors import Conflict, NotFound, ValidationFailed, WrongState
from rmmbridge.events import catalogue
from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.time import parse_iso
from rmmbridge.storage.db import dialect_insert
from rmmbridge.storage.models import (
    Asset,
    AssetHistory,
    AssetLiveness,
    AssetSource,
    ExternalEntityMapping,
    IdentityEvidenceRow,
    MergeCandidate,
    RmmIntegration,
    ServerAsset,
    WorkstationAsset,
)
from rmmbridge.storage.models.base import table_of
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

from .policy import FIELD_GROUPS, compose, load_policy
from .source_values import as_json, has_values, materialize

CORE = ("name", "asset_type", "serial_number", "client_id", "rmm_organization_id", "rmm_site_id", "rmm_site_name")
CORE_TIMES = ("last_seen_at", "offline_after_s", "overdue_after_s", "offline_at", "overdue_at")
TIMES = ("last_seen_at", "offline_at", "overdue_at", "boot_time", "patches_last_installed_at")
EXTENSIONS = {"workstation": table_of(WorkstationAsset), "server": table_of(ServerAsset)}
EXT_FIELDS = tuple(
    c.name for c in table_of(WorkstationAsset).columns if c.name not in ("tenant_id", "asset_id", "updated_at")
)


@dataclass(frozen=True)
class SourceView:
    mapping_id: uuid.UUID
    integration_id: uuid.UUID
    integration_name: str
    provider: str
    external_id: str
    origin_asset_id: uuid.UUID
    name: str | None
    serial_number: str | None
    last_seen_at: datetime | None
    status: str
    missing_since: datetime | None
    attached_at: datetime
    attached_by: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "mapping_id": str(self.mapping_id),
            "integration_id": str(self.integration_id),
            "integration_name": self.integration_name,
            "provider": self.provider,
            "external_id": self.external_id,
            "origin_asset_id": str(self.origin_asset_id),
            "name": self.name,
            "serial_number": self.serial_number,
            "last_seen_at": self.last_seen_at.isoformat() if self.last_seen_at else None,
            "status": self.status,
            "missing_since": self.missing_since.isoformat() if self.missing_since else None,
            "attached_at": self.attached_at.isoformat(),
            "attached_by": self.attached_by,
        }


def _typed(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in TIMES:
        return parse_iso(value)
    if name == "client_id":
        return uuid.UUID(value)
    return value


async def sources_of(
    session: AsyncSession, ctx: TenantContext, asset_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[SourceView]]:
    """Every source of these assets with its own status (one query)."""
    s, i, a = AssetSource, RmmIntegration, Asset
    lone_cols = ("name", "serial_number", "offline_at", "overdue_at", "offline_after_s")
    rows = await session.execute(
        select(s, i.name, *(getattr(a, c) for c in lone_cols))
        .join(i, (i.tenant_id == s.tenant_id) & (i.id == s.integration_id))
        .join(a, (a.tenant_id == s.tenant_id) & (a.id == s.asset_id))
        .where(s.tenant_id == ctx.tenant_id, s.asset_id.in_(asset_ids))
        .order_by(s.attached_at, s.mapping_id)
    )
    out: dict[uuid.UUID, list[SourceView]] = {a: [] for a in asset_ids}
    for src, integration_name, *asset_values in rows:
        f = src.fields or {}
        if not has_values(f):  # a lone source: its values are its asset's (source_values.py)
            f = {k: as_json(v) for k, v in zip(lone_cols, asset_values, strict=True)}
        offline_at, overdue_at = parse_iso(f.get("offline_at")), parse_iso(f.get("overdue_at"))
        status = (
            "missing"
            if src.missing_since is not None
            else compute_status(
                src.last_seen_at, offline_at, overdue_at, now, thresholds_known=f.get("offline_after_s") is not None
            )
        )
        out[src.asset_id].append(
            SourceView(
                src.mapping_id,
                src.integration_id,
                integration_name,
                src.provider,
                src.external_id,
                src.origin_asset_id,
                f.get("name"),
                f.get("serial_number"),
                src.last_seen_at,
                status,
                src.missing_since,
                src.attached_at,
                src.attached_by,
            )
        )
    return out


async def rebuild(
    session: AsyncSession,
    ctx: TenantContext,
    asset_id: uuid.UUID,
    now: datetime,
    *,
    create: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write an asset's values from its sources (precedence per field group); returns the changes.

    ``create``: the asset does not exist yet; insert it with these base columns.
    """
    policy = await load_policy(session, ctx.tenant_id)
    rows = (
        (
            await session.execute(
                select(AssetSource)
                .where(AssetSource.tenant_id == ctx.tenant_id, AssetSource.asset_id == asset_id)
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    if not rows:
        return {}
    live = [r for r in rows if r.missing_since is None]
    use = live or list(rows)
    values = compose(
        [
            {
                "mapping_id": str(r.mapping_id),
                "provider": r.provider,
                "last_seen_at": r.last_seen_at.isoformat() if r.last_seen_at else None,
                "fields": r.fields or {},
            }
            for r in use
        ],
        policy.precedence,
    )
    order = policy.precedence.get("identity") or []
    primary = min(use, key=lambda r: (order.index(r.provider) if r.provider in order else len(order), r.attached_at))
    typed = {k: _typed(k, v) for k, v in values.items()}
    core = {k: typed.get(k) for k in (*CORE, *CORE_TIMES)}
    core["name"] = (core.get("name") or primary.external_id)[:255]
    core["asset_type"] = core.get("asset_type") or "workstation"
    core.update(
        rmm_provider=primary.provider,
        rmm_integration_id=primary.integration_id,
        rmm_device_id=primary.external_id,
        updated_at=now,
    )
    gone = not live
    asset = await session.get(Asset, (ctx.tenant_id, asset_id))
    changes: dict[str, Any] = {}
    if asset is None:
        if create is None:
            return {}
        asset = Asset(
            tenant_id=ctx.tenant_id,
            id=asset_id,
            status="active",
            overrides=[],
            missing_snapshots=0,
            created_at=now,
            **{**create, **core},
        )
        session.add(asset)
        old_type = None
    else:
        old_type = asset.asset_type
        for k, v in core.items():
            if k in (asset.overrides or []) or k == "updated_at":
                continue
            if getattr(asset, k) != v:
                if k not in CORE_TIMES:
                    changes[k] = [_s(getattr(asset, k)), _s(v)]
                setattr(asset, k, v)
    asset.agent_status = compute_status(
        asset.last_seen_at, asset.offline_at, asset.overdue_at, now, thresholds_known=asset.offline_after_s is not None
    )
    if gone and asset.missing_since is None:
        asset.missing_since = now
    elif not gone:
        if asset.status == "retired":
            changes["status"] = ["retired", "active"]
        asset.status, asset.missing_since, asset.missing_snapshots = "active", None, 0
    await session.flush()
    ext = {k: _typed(k, typed.get(k)) for k in EXT_FIELDS if k in typed}
    for k in ("volumes", "physical_disks", "lan_ips", "mac_addresses"):
        if ext.get(k) is None:
            ext[k] = []
    target = "server" if asset.asset_type == "server" else "workstation"
    for key, table in EXTENSIONS.items():
        if key != target or (old_type is not None and old_type != asset.asset_type):
            await session.execute(delete(table).where(table.c.tenant_id == ctx.tenant_id, table.c.asset_id == asset_id))
    table = EXTENSIONS[target]
    stmt = dialect_insert(session)(table).values(tenant_id=ctx.tenant_id, asset_id=asset_id, updated_at=now, **ext)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "asset_id"], set_={**{k: stmt.excluded[k] for k in ext}, "updated_at": now}
    )
    await session.execute(stmt)
    # Liveness follows the most recently seen live source (best live status across sources).
    freshest = max(use, key=lambda r: (r.last_seen_at is not None, r.last_seen_at or now))
    f = freshest.fields or {}
    off, ovd = f.get("offline_after_s"), f.get("overdue_after_s")
    offline_at, overdue_at = cutoffs(freshest.last_seen_at, off, ovd)
    lv = table_of(AssetLiveness)
    status = compute_status(freshest.last_seen_at, offline_at, overdue_at, now, thresholds_known=off is not None)
    row = {
        "tenant_id": ctx.tenant_id,
        "asset_id": asset_id,
        "integration_id": freshest.integration_id,
        "last_seen_at": freshest.last_seen_at,
        "offline_after_s": off,
        "overdue_after_s": ovd,
        "offline_at": offline_at,
        "overdue_at": overdue_at,
        "observed_at": now,
        "status": status,
        "status_changed_at": now,
    }
    stmt = dialect_insert(session)(lv).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "asset_id"],
        set_={k: stmt.excluded[k] for k in row if k not in ("tenant_id", "asset_id", "status_changed_at")},
    )
    await session.execute(stmt)
    return changes


def _s(v: Any) -> Any:
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, datetime):
        return v.isoformat()
    return v


async def _move_sources(
    session: AsyncSession, ctx: TenantContext, mapping_ids: list[uuid.UUID], to_asset: uuid.UUID, now: datetime
) -> None:
    t = ctx.tenant_id
    await session.execute(
        update(ExternalEntityMapping)
        .where(ExternalEntityMapping.tenant_id == t, ExternalEntityMapping.id.in_(mapping_ids))
        .values(local_id=to_asset, content_hash=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(AssetSource)
        .where(AssetSource.tenant_id == t, AssetSource.mapping_id.in_(mapping_ids))
        .values(asset_id=to_asset, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(IdentityEvidenceRow)
        .where(IdentityEvidenceRow.tenant_id == t, IdentityEvidenceRow.mapping_id.in_(mapping_ids))
        .values(asset_id=to_asset)
        .execution_options(synchronize_session=False)
    )


async def _history(
    session: AsyncSession, ctx: TenantContext, asset_id: uuid.UUID, action: str, changes: dict[str, Any], now: datetime
) -> None:
    await session.execute(
        insert(table_of(AssetHistory)).values(
            tenant_id=ctx.tenant_id,
            id=uuid7(),
            asset_id=asset_id,
            action=action,
            actor=ctx.actor,
            changes=changes,
            created_at=now,
        )
    )


async def _asset(session: AsyncSession, ctx: TenantContext, asset_id: uuid.UUID) -> Asset:
    asset = await session.get(Asset, (ctx.tenant_id, asset_id))
    if asset is None:
        raise NotFound(f"no asset {asset_id}")
    return asset


async def _mapping_ids_of(session: AsyncSession, ctx: TenantContext, asset_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        (
            await session.execute(
                select(AssetSource.mapping_id).where(
                    AssetSource.tenant_id == ctx.tenant_id, AssetSource.asset_id == asset_id
                )
            )
        ).scalars()
    )


async def _decide(
    session: AsyncSession, ctx: TenantContext, a: uuid.UUID, b: uuid.UUID, status: str, now: datetime, **extra: Any
) -> MergeCandidate:
    lo, hi = sorted((a, b))
    cand = (
        await session.execute(
            select(MergeCandidate).where(
                MergeCandidate.tenant_id == ctx.tenant_id, MergeCandidate.asset_a == lo, MergeCandidate.asset_b == hi
            )
        )
    ).scalar_one_or_none()
    if cand is None:
        asset = await session.get(Asset, (ctx.tenant_id, lo))
        cand = MergeCandidate(
            tenant_id=ctx.tenant_id,
            id=uuid7(),
            asset_a=lo,
            asset_b=hi,
            client_id=asset.client_id if asset else None,
            score=0,
            reason=extra.get("reason", "decided by hand"),
            evidence=[],
            created_at=now,
        )
        session.add(cand)
    cand.status, cand.decided_by, cand.decided_at, cand.updated_at = status, ctx.actor, now, now
    await session.flush()
    return cand


async def merge(
    session: AsyncSession, ctx: TenantContext, keep: uuid.UUID, other: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """Merge ``other`` into ``keep``: every source of ``other`` feeds ``keep``; ``other`` is retired."""
    ctx.require(Permission.assets_write)
    a, b = await _asset(session, ctx, keep), await _asset(session, ctx, other)
    if keep == other:  # well formed, and already one asset: the state is in the way (409), after the 404
        raise Conflict("keep and other name the same asset: it is already one", errors=[{"field": "other"}])
    lo, hi = sorted((keep, other))
    decided = (
        await session.execute(
            select(MergeCandidate.status).where(
                MergeCandidate.tenant_id == ctx.tenant_id, MergeCandidate.asset_a == lo, MergeCandidate.asset_b == hi
            )
        )
    ).scalar_one_or_none()
    if decided == "never":
        raise WrongState("these assets are marked never to be merged")
    if b.status == "retired" and not await _mapping_ids_of(session, ctx, other):
        raise WrongState(f"asset {other} has no sources to merge (already merged?)")
    moved = await _mapping_ids_of(session, ctx, other)
    # A lone source keeps no copy of its values (source_values.py): take them from its asset first.
    await materialize(session, ctx.tenant_id, [keep, other])
    await _move_sources(session, ctx, moved, keep, now)
    changes = await rebuild(session, ctx, keep, now)
    b.status, b.updated_at = "retired", now
    await session.execute(
        delete(AssetLiveness).where(AssetLiveness.tenant_id == ctx.tenant_id, AssetLiveness.asset_id == other)
    )
    await _history(
        session, ctx, keep, "merged", {"merged": str(other), "sources": [str(m) for m in moved], **changes}, now
    )
    await _history(session, ctx, other, "merged", {"merged_into": str(keep)}, now)
    await _decide(session, ctx, keep, other, "merged", now)
    # Other proposals about the merged-away asset are moot now.
    await session.execute(
        update(MergeCandidate)
        .where(
            MergeCandidate.tenant_id == ctx.tenant_id,
            MergeCandidate.status == "open",
            (MergeCandidate.asset_a == other) | (MergeCandidate.asset_b == other),
        )
        .values(status="dismissed", decided_by=ctx.actor, decided_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await write_events(
        session,
        [
            event_row(
                ctx.tenant_id, catalogue.ASSET_MERGED, "asset", keep, {"merged": str(other), "name": a.name}, now
            ),
            # The merged-away asset is retired, as the catalogue says of merges (rekey duplicates too).
            event_row(ctx.tenant_id, catalogue.ASSET_RETIRED, "asset", other, {"merged_into": str(keep)}, now),
        ],
    )
    return {"asset_id": str(keep), "merged": str(other), "sources_moved": len(moved)}


async def unmerge(
    session: AsyncSession, ctx: TenantContext, asset_id: uuid.UUID, mapping_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """Take a source (and every source that came with it) off an asset, into the asset it was
    created as (restored) or a new asset; both are rebuilt from their sources and never merged again."""
    ctx.require(Permission.assets_write)
    await _asset(session, ctx, asset_id)
    src = await session.get(AssetSource, (ctx.tenant_id, mapping_id))
    if src is None or src.asset_id != asset_id:
        raise NotFound(f"asset {asset_id} has no source {mapping_id}")
    all_sources = (
        (
            await session.execute(
                select(AssetSource).where(AssetSource.tenant_id == ctx.tenant_id, AssetSource.asset_id == asset_id)
            )
        )
        .scalars()
        .all()
    )
    if len(all_sources) < 2:
        raise WrongState("an asset with one source has nothing to unmerge")
    origin = src.origin_asset_id
    create: dict[str, Any] | None = None
    if origin != asset_id and await session.get(Asset, (ctx.tenant_id, origin)) is not None:
        target = origin
        moving = [s.mapping_id for s in all_sources if s.origin_asset_id == origin]
    else:
        target = uuid7()
        moving = [mapping_id]
        create = {"location": None, "notes": None, "last_rmm_sync_at": now}
    if len(moving) == len(all_sources):
        raise WrongState("unmerging would leave the asset without sources")
    await _move_sources(session, ctx, moving, target, now)
    if create is not None:  # sources detached to a new asset start from it
        await session.execute(
            update(AssetSource)
            .where(AssetSource.tenant_id == ctx.tenant_id, AssetSource.mapping_id.in_(moving))
            .values(origin_asset_id=target)
            .execution_options(synchronize_session=False)
        )
    kept_changes = await rebuild(session, ctx, asset_id, now)
    await rebuild(session, ctx, target, now, create=create)
    detail = {"sources": [str(m) for m in moving]}
    await _history(session, ctx, asset_id, "unmerged", {**detail, "into": str(target), **kept_changes}, now)
    await _history(
        session, ctx, target, "unmerged" if create is None else "created", {**detail, "from": str(asset_id)}, now
    )
    await _decide(session, ctx, asset_id, target, "never", now, reason="unmerged")
    await write_events(
        session,
        [event_row(ctx.tenant_id, catalogue.ASSET_UNMERGED, "asset", asset_id, {"into": str(target), **detail}, now)],
    )
    return {"asset_id": str(asset_id), "restored": str(target), "sources_moved": len(moving)}


async def never_merge(session: AsyncSession, ctx: TenantContext, a: uuid.UUID, b: uuid.UUID, now: datetime) -> None:
    ctx.require(Permission.assets_write)
    await _asset(session, ctx, a)
    await _asset(session, ctx, b)
    await _decide(session, ctx, a, b, "never", now)


async def get_candidate(session: AsyncSession, ctx: TenantContext, candidate_id: uuid.UUID) -> MergeCandidate:
    cand = await session.get(MergeCandidate, (ctx.tenant_id, candidate_id))
    if cand is None:
        raise NotFound(f"no merge candidate {candidate_id}")
    return cand


async def decide_candidate(
    session: AsyncSession, ctx: TenantContext, candidate_id: uuid.UUID, action: str, now: datetime
) -> dict[str, Any]:
    """``merge`` (the older asset survives), ``never`` or ``dismiss`` one open candidate."""
    ctx.require(Permission.assets_write)
    cand = await get_candidate(session, ctx, candidate_id)
    if cand.status != "open":
        raise WrongState(f"candidate is already {cand.status}")
    if action == "merge":
        return await merge(session, ctx, cand.asset_a, cand.asset_b, now)  # uuid7: a is the older
    if action == "never":
        await _decide(session, ctx, cand.asset_a, cand.asset_b, "never", now)
    elif action == "dismiss":
        await _decide(session, ctx, cand.asset_a, cand.asset_b, "dismissed", now)
    else:
        raise ValidationFailed(f"unknown action {action!r}: merge, never or dismiss", errors=[{"field": "action"}])
    return {"candidate_id": str(candidate_id), "status": cand.status}


async def list_candidates(
    session: AsyncSession,
    ctx: TenantContext,
    *,
    status: str = "open",
    client_id: uuid.UUID | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Candidates with both assets side by side (two queries)."""
    ctx.require(Permission.assets_read)
    q = select(MergeCandidate).where(MergeCandidate.tenant_id == ctx.tenant_id, MergeCandidate.status == status)
    if client_id is not None:
        q = q.where(MergeCandidate.client_id == client_id)
    cands = (
        (await session.execute(q.order_by(MergeCandidate.score.desc(), MergeCandidate.id).limit(limit))).scalars().all()
    )
    ids = {x for c in cands for x in (c.asset_a, c.asset_b)}
    assets = (
        {
            a.id: a
            for a in (
                await session.execute(select(Asset).where(Asset.tenant_id == ctx.tenant_id, Asset.id.in_(ids)))
            ).scalars()
        }
        if ids
        else {}
    )

    def side(aid: uuid.UUID) -> dict[str, Any]:
        a = assets.get(aid)
        if a is None:
            return {"id": str(aid), "missing": True}
        return {
            "id": str(a.id),
            "name": a.name,
            "serial_number": a.serial_number,
            "provider": a.rmm_provider,
            "device_id": a.rmm_device_id,
            "status": a.status,
            "client_id": str(a.client_id) if a.client_id else None,
        }

    return [
        {
            "id": str(c.id),
            "score": c.score,
            "reason": c.reason,
            "evidence": c.evidence,
            "status": c.status,
            "client_id": str(c.client_id) if c.client_id else None,
            "asset_a": side(c.asset_a),
            "asset_b": side(c.asset_b),
            "created_at": c.created_at.isoformat(),
        }
        for c in cands
    ]


async def bulk_accept(
    session: AsyncSession, ctx: TenantContext, client_id: uuid.UUID, now: datetime, min_score: int = 0
) -> dict[str, Any]:
    """Merge every open candidate of a client (score ≥ ``min_score``), best first."""
    ctx.require(Permission.assets_write)
    cands = (
        (
            await session.execute(
                select(MergeCandidate)
                .where(
                    MergeCandidate.tenant_id == ctx.tenant_id,
                    MergeCandidate.client_id == client_id,
                    MergeCandidate.status == "open",
                    MergeCandidate.score >= min_score,
                )
                .order_by(MergeCandidate.score.desc(), MergeCandidate.id)
            )
        )
        .scalars()
        .all()
    )
    merged = skipped = 0
    for cand in cands:
        if cand.status != "open":
            continue
        a = await session.get(Asset, (ctx.tenant_id, cand.asset_a))
        b = await session.get(Asset, (ctx.tenant_id, cand.asset_b))
        if a is None or b is None or a.status == "retired" or b.status == "retired":
            skipped += 1  # one side was merged away by an earlier candidate of this batch
            continue
        await merge(session, ctx, cand.asset_a, cand.asset_b, now)
        merged += 1
    return {"merged": merged, "skipped": skipped}


def field_groups() -> dict[str, list[str]]:
    return {k: list(v) for k, v in FIELD_GROUPS.items()}
