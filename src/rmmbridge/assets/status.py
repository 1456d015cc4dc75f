"""Agent status (online / offline / overdue), computed from last-seen and thresholds.

The rule is Tactical RMM's, which the other providers share (reference/tactical-rmm.md §4):
strict comparisons, so an agent exactly on a cut-off is still online. It is expressed with two
precomputed instants per asset — ``offline_at = last_seen + offline_after`` and
``overdue_at = last_seen + overdue_after`` — so that the Python function and the SQL ``CASE``
(used for list filters, counts and the per-sync recompute) are the same comparisons on both
SQLite and PostgreSQL, with no interval arithmetic in SQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, literal, or_

from rmmbridge.storage.models import Asset

DEFAULT_OFFLINE_S = 4 * 60
DEFAULT_OVERDUE_S = 30 * 60
STATUSES = ("online", "offline", "overdue", "unknown")


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
) -> str:
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


def status_expr(now: datetime) -> ColumnElement[str]:
    """The same rule as :func:`compute_status`, as SQL over ``assets``."""
    past_offline = Asset.offline_at < now
    return case(
        (and_(Asset.last_seen_at.is_(None), Asset.offline_after_s.is_(None)), literal("unknown")),
        (Asset.last_seen_at.is_(None), literal("offline")),
        (Asset.offline_at.is_(None), literal("unknown")),
        (and_(past_offline, Asset.overdue_at.is_not(None), Asset.overdue_at < now), literal("overdue")),
        (and_(past_offline, or_(Asset.overdue_at.is_(None), Asset.overdue_at > now)), literal("offline")),
        else_=literal("online"),
    )


def uptime_seconds(boot_time: datetime | None, last_seen: datetime | None, status: str, now: datetime) -> int | None:
    """Uptime: now − boot while online, last seen − boot otherwise (the machine may be off)."""
    if boot_time is None:
        return None
    end = now if status == "online" else (last_seen or now)
    seconds = int((end - boot_time).total_seconds())
    return seconds if seconds >= 0 else None
