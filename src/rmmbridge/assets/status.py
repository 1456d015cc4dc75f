"""Agent status (online / offline / overdue / unknown) and its freshness: the one definition.

The rule is Tactical RMM's, which the other providers share (reference/tactical-rmm.md §4):
strict comparisons, so an agent exactly on a cut-off is still online. It is expressed with two
precomputed instants per device — ``offline_at = last_seen + offline_after`` and
``overdue_at = last_seen + overdue_after`` — so that the Python function and the SQL ``CASE``
(used for list filters, counts and the recompute after every pass) are the same comparisons on
both SQLite and PostgreSQL, with no interval arithmetic in SQL.

Freshness (docs/architecture.md): the inputs live in ``asset_liveness``, kept current by the liveness
pass. While the integration's last successful pass (or the device's own last observation) is
recent — ``now <= fresh_until``, precomputed as observation + 3 liveness intervals — the rule is
applied at *now*. Once it is not, the status is *stale*: the rule applied at the last observation
("online as of 14:05"), flagged, and counted as stale — never decayed to offline because
rmmbridge stopped looking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, literal, or_

from rmmbridge.storage.models import AssetLiveness, RmmIntegration
from rmmbridge.storage.models.base import UTCDateTime

DEFAULT_OFFLINE_S = 4 * 60
DEFAULT_OVERDUE_S = 30 * 60
STATUSES = ("online", "offline", "overdue", "unknown")
# What counts group by: a stale device counts only as stale, whatever its last observed status.
COUNT_BUCKETS = (*STATUSES, "stale")
# A status is fresh for this many liveness intervals after the last successful observation.
STALE_AFTER_INTERVALS = 3


def cutoffs(
    last_seen: datetime | None, offline_after_s: int | None, overdue_after_s: int | None
) -> tuple[datetime | None, datetime | None]:
    if last_seen is None or offline_after_s is None:
        return None, None
    overdue = last_seen + timedelta(seconds=overdue_after_s) if overdue_after_s is not None else None
    return last_seen + timedelta(seconds=offline_after_s), overdue


def compute_status(
    last_seen: datetime | None,
    offline_at: datetime | None,
    overdue_at: datetime | None,
    now: datetime,
    *,
    thresholds_known: bool = True,
    rmm_status: str | None = None,
) -> str:
    if not thresholds_known and rmm_status is not None:
        return rmm_status  # an RMM that gives its verdict but not its rule: its verdict
    if last_seen is None:
        # Never checked in: offline by the agent's own rule (Tactical); without thresholds the
        # RMM told us nothing about liveness at all (Tanium with no eidLastSeen): unknown.
        return "offline" if thresholds_known else "unknown"
    if offline_at is None:
        return "unknown"
    if offline_at < now:
        if overdue_at is not None and overdue_at < now:
            return "overdue"
        if overdue_at is None or overdue_at > now:
            return "offline"
    return "online"


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


@dataclass(frozen=True, slots=True)
class ShownStatus:
    status: str  # online | offline | overdue | unknown (the last observed one when stale)
    observed_at: datetime | None
    stale: bool


def shown_status(live: Any | None, integration: Any | None, now: datetime) -> ShownStatus:
    """The status to show for one device: ``live`` an ``AssetLiveness`` (or None), ``integration``
    its ``RmmIntegration`` (or None). Same rule as :func:`status_sql`."""
    if live is None:
        return ShownStatus("unknown", None, False)
    observed = _later(getattr(integration, "status_checked_at", None), live.observed_at)
    fresh_until = _later(getattr(integration, "status_fresh_until", None), live.fresh_until)
    stale = fresh_until is None or fresh_until < now
    at = (observed or now) if stale else now
    status = compute_status(
        live.last_seen_at,
        live.offline_at,
        live.overdue_at,
        at,
        thresholds_known=live.offline_after_s is not None,
        rmm_status=live.rmm_status,
    )
    return ShownStatus(status, observed, stale)


# --------------------------------------------------------------------------- SQL


def _sql_later(a: Any, b: Any) -> ColumnElement[Any]:
    """The later of two nullable instants (SQLite has no GREATEST; PostgreSQL's ignores NULLs)."""
    return case((a.is_(None), b), (b.is_(None), a), (a > b, a), else_=b)


def observed_sql() -> ColumnElement[Any]:
    """``status_observed_at``: over ``asset_liveness`` outer-joined to ``rmm_integrations``."""
    return _sql_later(RmmIntegration.status_checked_at, AssetLiveness.observed_at)


def stale_sql(now: datetime) -> ColumnElement[bool]:
    fresh_until = _sql_later(RmmIntegration.status_fresh_until, AssetLiveness.fresh_until)
    return and_(AssetLiveness.asset_id.is_not(None), or_(fresh_until.is_(None), fresh_until < _at(now)))


def _at(now: datetime) -> ColumnElement[Any]:
    return literal(now, UTCDateTime())


def rule_sql(at: ColumnElement[Any]) -> ColumnElement[str]:
    """:func:`compute_status` as SQL over ``asset_liveness``, evaluated at the instant ``at``."""
    lv = AssetLiveness
    past_offline = lv.offline_at < at
    return case(
        (lv.asset_id.is_(None), literal("unknown")),
        (and_(lv.offline_after_s.is_(None), lv.rmm_status.is_not(None)), lv.rmm_status),
        (and_(lv.last_seen_at.is_(None), lv.offline_after_s.is_(None)), literal("unknown")),
        (lv.last_seen_at.is_(None), literal("offline")),
        (lv.offline_at.is_(None), literal("unknown")),
        (and_(past_offline, lv.overdue_at.is_not(None), lv.overdue_at < at), literal("overdue")),
        (and_(past_offline, or_(lv.overdue_at.is_(None), lv.overdue_at > at)), literal("offline")),
        else_=literal("online"),
    )


def status_sql(now: datetime) -> ColumnElement[str]:
    """The shown status (see :func:`shown_status`): over ``asset_liveness`` outer-joined to
    ``rmm_integrations`` (use :func:`join_liveness`)."""
    at = case((stale_sql(now), observed_sql()), else_=_at(now))
    return rule_sql(at)


def bucket_sql(now: datetime) -> ColumnElement[str]:
    """What counts group by: ``stale`` for stale devices, else the shown status."""
    return case((stale_sql(now), literal("stale")), else_=status_sql(now))


def join_liveness(query: Any, asset: Any) -> Any:
    """Outer-join ``asset_liveness`` and its integration to a query over ``asset`` (the Asset
    entity or a table/alias with ``tenant_id`` and ``id``)."""
    return query.outerjoin(
        AssetLiveness, and_(AssetLiveness.tenant_id == asset.tenant_id, AssetLiveness.asset_id == asset.id)
    ).outerjoin(
        RmmIntegration,
        and_(RmmIntegration.tenant_id == AssetLiveness.tenant_id, RmmIntegration.id == AssetLiveness.integration_id),
    )


def uptime_seconds(boot_time: datetime | None, last_seen: datetime | None, status: str, now: datetime) -> int | None:
    """Uptime: now − boot while online, last seen − boot otherwise (the machine may be off)."""
    if boot_time is None:
        return None
    end = now if status == "online" else (last_seen or now)
    seconds = int((end - boot_time).total_seconds())
    return seconds if seconds >= 0 else None
