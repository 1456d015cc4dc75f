"""Writing ``asset_liveness`` set-based, and recording status changes.

Three writers share this module so status inputs have one home:

- the liveness pass (:func:`write_pass_page`): per page, one crosswalk lookup joined to the stored
  liveness rows, then ONE upsert whose ``WHERE`` skips rows where nothing moved;
- the device pipeline and the single-device refresh (:func:`upsert_from_snapshots`): one upsert
  per page that never moves ``last_seen`` backwards (a device-sync page read before the last pass
  must not undo it);
- :func:`record_status_changes`, the only place that turns a status change into the
  ``assets.agent_status`` cache, a history row and one ``asset.status_changed`` event — written
  only for the devices whose status changed.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.assets.status import STALE_AFTER_INTERVALS, compute_status, cutoffs, status_sql
from rmmbridge.events import catalogue
from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.integrations.settings import schedules_of
from rmmbridge.kit.text import clean
from rmmbridge.providers.base import DeviceSnapshot, LivenessRecord
from rmmbridge.storage.bulk import one_of
from rmmbridge.storage.copy import copy_insert, execute_staged, staged_insert
from rmmbridge.storage.db import is_postgres
from rmmbridge.storage.models import Asset, AssetHistory, AssetLiveness, ExternalEntityMapping, RmmIntegration
from rmmbridge.storage.models.base import table_of
from rmmbridge.tenancy.context import TenantContext

from .devices import DEVICE, history_row

LIVENESS: Table = table_of(AssetLiveness)
ASSETS: Table = table_of(Asset)
MAPPINGS: Table = table_of(ExternalEntityMapping)
STATUS_INPUTS = ("last_seen_at", "offline_after_s", "overdue_after_s", "offline_at", "overdue_at")
HEALTH = ("checks_failing", "checks_warning", "needs_reboot", "patches_pending", "maintenance_mode", "pending_actions")
# What a pass writes; a row is rewritten only when one of these moved. The optional observations
# are written only by sources that report them (LivenessRecord.reported).
OPTIONAL = {"current_user": ("current_user",), "boot_time": ("boot_time",), "health": HEALTH}
PASS_COLUMNS = (*STATUS_INPUTS, "rmm_status", "status")


@functools.cache
def _pass_columns(reported: tuple[str, ...] | None) -> tuple[str, ...]:
    names = OPTIONAL if reported is None else [n for n in OPTIONAL if n in reported]
    return PASS_COLUMNS + tuple(c for n in names for c in OPTIONAL[n])


def status_window(settings: Mapping[str, Any], has_liveness: bool) -> timedelta:
    """How long an observed status counts as fresh: 3 liveness intervals when the pass runs,
    else 3 device-sync intervals (providers without a liveness source)."""
    schedules = schedules_of(dict(settings))
    liveness = schedules.get("liveness")
    if has_liveness and liveness is not None and liveness.enabled:
        return STALE_AFTER_INTERVALS * liveness.interval()
    return STALE_AFTER_INTERVALS * schedules["devices"].interval()


@dataclass(frozen=True, slots=True)
class StatusChange:
    asset_id: uuid.UUID
    old: str
    new: str


@dataclass
class PassPageOutcome:
    rows: int = 0  # records in the page for mapped, known devices
    rows_written: int = 0  # liveness rows actually rewritten (something moved)
    changes: list[StatusChange] = field(default_factory=list)
    unknown: list[LivenessRecord] = field(default_factory=list)  # not in the crosswalk yet
    skipped: int = 0  # records of scopes that are not mapped


async def write_pass_page(
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    records: Iterable[LivenessRecord],
    mapped_realms: set[str],
    now: datetime,
) -> PassPageOutcome:
    """Two statements whatever the page size: the lookup and one conditional upsert."""
    out = PassPageOutcome()
    wanted: dict[str, LivenessRecord] = {}
    for record in records:
        if record.realm_id in mapped_realms:
            wanted[record.external_id] = record
        else:
            out.skipped += 1
    if not wanted:
        return out
    m, lv, a = MAPPINGS.c, LIVENESS.c, ASSETS.c
    postgres = is_postgres(session)
    known = {
        row.external_id: row
        for row in await session.execute(
            select(m.external_id, m.local_id, lv.status, a.offline_after_s, a.overdue_after_s)
            .join(ASSETS, and_(a.tenant_id == m.tenant_id, a.id == m.local_id))
            .outerjoin(LIVENESS, and_(lv.tenant_id == m.tenant_id, lv.asset_id == m.local_id))
            .where(
                m.tenant_id == ctx.tenant_id,
                m.integration_id == integration_id,
                m.entity_type == DEVICE,
                one_of(m.external_id, list(wanted), postgres),
            )
        )
    }
    groups = _pass_rows(out, wanted, known, ctx.tenant_id, integration_id, now)
    # Two devices of this integration on one machine (a reinstall's old agent still listed): one
    # row per asset, the most recently seen device's (PostgreSQL refuses an upsert touching a row twice).
    groups = _one_row_per_asset(groups)
    kept = {r["asset_id"]: r["status"] for rows in groups.values() for r in rows}
    if len(kept) < len(out.changes) or any(kept.get(c.asset_id) != c.new for c in out.changes):
        out.changes = list({c.asset_id: c for c in out.changes if kept.get(c.asset_id) == c.new}.values())
    for columns, rows in groups.items():
        out.rows += len(rows)
        stmt, params = await staged_insert(session, LIVENESS, rows)
        ex = stmt.excluded
        moved = or_(*(LIVENESS.c[c].is_distinct_from(ex[c]) for c in columns))
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "asset_id"],
            set_={
                **{c: ex[c] for c in (*columns, "observed_at", "integration_id")},
                "status_changed_at": _if_changed(ex),
            },
            # Another source that saw the machine more recently keeps the row (several sources).
            where=and_(
                moved,
                or_(
                    LIVENESS.c.integration_id == ex.integration_id,
                    LIVENESS.c.last_seen_at.is_(None),
                    ex.last_seen_at >= LIVENESS.c.last_seen_at,
                ),
            ),
        ).returning(LIVENESS.c.asset_id)
        written = {row[0] for row in await execute_staged(session, stmt, params)}
        out.rows_written += len(written)
        taken = {r["asset_id"] for r in rows} - written
        if taken:
            out.changes = [c for c in out.changes if c.asset_id not in taken]
    return out


Groups = dict[tuple[str, ...], list[dict[str, Any]]]


def _pass_rows(
    out: PassPageOutcome,
    wanted: Mapping[str, LivenessRecord],
    known: Mapping[str, Any],
    tenant_id: uuid.UUID,
    integration_id: uuid.UUID,
    now: datetime,
) -> Groups:
    """The page's liveness rows, grouped by the columns their source reports (one upsert per
    group; a page has one in practice). Devices not in the crosswalk go to ``out.unknown``,
    status changes to ``out.changes``."""
    groups: Groups = {}
    for external_id, record in wanted.items():
        link = known.get(external_id)
        if link is None:
            out.unknown.append(record)
            continue
        # Tactical's table rows carry no thresholds: the agent's own, as the last device sync stored
        # them on the asset, apply (so a threshold changed in the RMM counts from the next pass on).
        offline_s = record.offline_after_s if record.offline_after_s is not None else link.offline_after_s
        overdue_s = record.overdue_after_s if record.overdue_after_s is not None else link.overdue_after_s
        offline_at, overdue_at = cutoffs(record.last_seen_at, offline_s, overdue_s)
        status = compute_status(
            record.last_seen_at,
            offline_at,
            overdue_at,
            now,
            thresholds_known=offline_s is not None,
            rmm_status=record.rmm_status,
        )
        old = link.status or "unknown"
        if status != old:
            out.changes.append(StatusChange(link.local_id, old, status))
        health = record.health
        groups.setdefault(_pass_columns(record.reported), []).append(
            {
                "tenant_id": tenant_id,
                "asset_id": link.local_id,
                "integration_id": integration_id,
                "last_seen_at": record.last_seen_at,
                "offline_after_s": offline_s,
                "overdue_after_s": overdue_s,
                "offline_at": offline_at,
                "overdue_at": overdue_at,
                "rmm_status": record.rmm_status,
                "observed_at": now,
                "fresh_until": None,  # a pass refreshes the integration's freshness, not the row's
                "status": status,
                "status_changed_at": now if status != old else None,
                **{h: getattr(health, h) if health is not None else None for h in HEALTH},
                "current_user": clean(record.current_user[:255]) if record.current_user else None,
                "boot_time": record.boot_time,
            }
        )
    return groups


def _one_row_per_asset(groups: Groups) -> Groups:
    best: dict[Any, tuple[tuple[str, ...], dict[str, Any]]] = {}
    for columns, rows in groups.items():
        for row in rows:
            seen = best.get(row["asset_id"])
            if seen is None or (row["last_seen_at"] or datetime.min.replace(tzinfo=UTC)) > (
                seen[1]["last_seen_at"] or datetime.min.replace(tzinfo=UTC)
            ):
                best[row["asset_id"]] = (columns, row)
    if len(best) == sum(len(rows) for rows in groups.values()):
        return groups
    out: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for columns, row in best.values():
        out.setdefault(columns, []).append(row)
    return out


def _if_changed(ex: Any) -> Any:
    return case((LIVENESS.c.status != ex.status, ex.observed_at), else_=LIVENESS.c.status_changed_at)


async def upsert_from_snapshots(
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    snapshots: Mapping[uuid.UUID, DeviceSnapshot],
    now: datetime,
    fresh_until: datetime | None,
    created: frozenset[uuid.UUID] = frozenset(),
) -> None:
    """The device pipeline's share: one upsert of the status inputs for a page of snapshots.

    A new row starts with its computed status (its creation is the event, not a status change);
    an existing row keeps ``status`` so :func:`recompute_status` sees and records the change.
    Rows whose stored ``last_seen`` is newer (a pass ran after this page was read) are left alone.
    ``created``: assets this page created — they have no row yet, so theirs are a plain COPY.
    """
    if not snapshots:
        return
    rows = []
    for asset_id, snap in snapshots.items():
        offline_at, overdue_at = cutoffs(snap.last_seen_at, snap.offline_after_s, snap.overdue_after_s)
        rows.append(
            {
                "tenant_id": ctx.tenant_id,
                "asset_id": asset_id,
                "integration_id": integration_id,
                "last_seen_at": snap.last_seen_at,
                "offline_after_s": snap.offline_after_s,
                "overdue_after_s": snap.overdue_after_s,
                "offline_at": offline_at,
                "overdue_at": overdue_at,
                "observed_at": now,
                "fresh_until": fresh_until,
                "status": compute_status(
                    snap.last_seen_at, offline_at, overdue_at, now, thresholds_known=snap.offline_after_s is not None
                ),
                "status_changed_at": now,
                "needs_reboot": snap.needs_reboot,
                "current_user": clean(snap.current_user[:255]) if snap.current_user else None,
                "boot_time": snap.boot_time,
            }
        )
    if created:
        await copy_insert(session, LIVENESS, [row for row in rows if row["asset_id"] in created])
        rows = [row for row in rows if row["asset_id"] not in created]
        if not rows:
            return
    stmt, params = await staged_insert(session, LIVENESS, rows)
    ex = stmt.excluded
    stored = LIVENESS.c.last_seen_at
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "asset_id"],
        set_={c: ex[c] for c in (*STATUS_INPUTS, "observed_at", "fresh_until", "integration_id")},
        # A machine with several sources: the row follows the source that saw it last (best live
        # status across sources); the same source never moves its own last_seen backwards.
        where=or_(stored.is_(None), ex.last_seen_at >= stored),
    )
    await execute_staged(session, stmt, params)


async def recompute_status(
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    now: datetime,
    asset_ids: list[uuid.UUID] | None = None,
    actor: str = "system",
) -> int:
    """Find the devices whose shown status moved (time passing, a device sync) — one SELECT with
    the shared SQL rule — and record only those. Returns how many changed."""
    shown = status_sql(now)
    integ = RmmIntegration
    query = (
        select(AssetLiveness.asset_id, AssetLiveness.status, shown)
        .outerjoin(integ, and_(integ.tenant_id == AssetLiveness.tenant_id, integ.id == AssetLiveness.integration_id))
        .where(
            AssetLiveness.tenant_id == ctx.tenant_id,
            AssetLiveness.integration_id == integration_id,
            AssetLiveness.status != shown,
            *([AssetLiveness.asset_id.in_(asset_ids)] if asset_ids is not None else []),
        )
    )
    changes = [StatusChange(a, old, new) for a, old, new in await session.execute(query)]
    if changes:
        await session.execute(
            update(LIVENESS)
            .where(LIVENESS.c.tenant_id == bindparam("b_tenant"), LIVENESS.c.asset_id == bindparam("b_id"))
            .values(status=bindparam("new"), status_changed_at=bindparam("at")),
            [{"b_tenant": ctx.tenant_id, "b_id": c.asset_id, "new": c.new, "at": now} for c in changes],
        )
    await record_status_changes(session, ctx, integration_id, changes, now, actor)
    return len(changes)


async def record_status_changes(
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    changes: list[StatusChange],
    now: datetime,
    actor: str,
) -> None:
    """The ``agent_status`` cache, a history row and one ``asset.status_changed`` event per change."""
    if not changes:
        return
    await session.execute(
        update(ASSETS)
        .where(ASSETS.c.tenant_id == bindparam("b_tenant"), ASSETS.c.id == bindparam("b_id"))
        .values(agent_status=bindparam("new")),
        [{"b_tenant": ctx.tenant_id, "b_id": c.asset_id, "new": c.new} for c in changes],
    )
    await session.execute(
        insert(table_of(AssetHistory)),
        [
            history_row(ctx.tenant_id, c.asset_id, "status", actor, {"agent_status": [c.old, c.new]}, now)
            for c in changes
        ],
    )
    await write_events(
        session,
        [
            event_row(
                ctx.tenant_id,
                catalogue.ASSET_STATUS_CHANGED,
                "asset",
                c.asset_id,
                {"integration_id": str(integration_id), "from": c.old, "to": c.new},
                now,
            )
            for c in changes
        ],
    )


async def mark_fresh(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, checked_at: datetime, window: timedelta
) -> None:
    """Every device of the integration was read from the RMM at ``checked_at`` (a whole pass or a
    full device sync succeeded): statuses are fresh until ``checked_at + window``. Never moves back."""
    integ = RmmIntegration
    await session.execute(
        update(integ)
        .where(
            integ.tenant_id == ctx.tenant_id,
            integ.id == integration_id,
            or_(integ.status_checked_at.is_(None), integ.status_checked_at < checked_at),
        )
        .values(status_checked_at=checked_at, status_fresh_until=checked_at + window)
        .execution_options(synchronize_session=False)
    )
