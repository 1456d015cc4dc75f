"""Alert routing rules: which subscriptions an alert event goes to.

Rules are evaluated in ``position`` order; each matching rule adds its subscriptions, and a rule
with ``stop_after_match`` ends the evaluation. A subscription named by any enabled rule of the
tenant receives alert events only through rules; the others receive them through their own
filters. Every subscription's own filters (event types, clients) apply in both cases.

A rule's business hours are judged at the time the alert event happened, in the rule's time zone.
"""

from __future__ import annotations

import fnmatch
import uuid
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rmmbridge.storage.models import AlertRoute


@dataclass(frozen=True)
class AlertFacts:
    """What a rule can match on, for one alert event."""

    severity: str | None
    alert_type: str | None
    client_id: str | None
    device_name: str | None
    at: datetime


@dataclass(frozen=True)
class BusinessHours:
    timezone: str = "UTC"
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    start: time = time(8, 0)
    end: time = time(18, 0)
    inside: bool = True  # match inside the hours (False: outside them, e.g. the on-call rule)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> BusinessHours | None:
        """``None`` for {} (any time); ``ValueError`` with the reason for a bad one."""
        if not raw:
            return None
        tz = str(raw.get("timezone") or "UTC")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {tz!r}") from None
        days = tuple(sorted({int(d) for d in raw.get("days", (0, 1, 2, 3, 4))}))
        if not days or any(d < 0 or d > 6 for d in days):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        try:
            start = time.fromisoformat(str(raw.get("start", "08:00")))
            end = time.fromisoformat(str(raw.get("end", "18:00")))
        except ValueError:
            raise ValueError("start and end are HH:MM") from None
        # start >= end is a window across midnight (22:00–06:00, the night shift; equal: 24 hours),
        # so every pair of times the schema allows means something (no schema-valid 422).
        return cls(tz, days, start, end, bool(raw.get("inside", True)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "days": list(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "inside": self.inside,
        }

    def contains(self, at: datetime) -> bool:
        """Inside when the local time falls in a window that opens on one of ``days`` (a window across
        midnight belongs to the day it opens on: Friday 22:00–06:00 covers Saturday 03:00)."""
        local = at.astimezone(ZoneInfo(self.timezone))
        t, day = local.time().replace(tzinfo=None), local.weekday()
        if self.start < self.end:
            within = day in self.days and self.start <= t < self.end
        else:
            within = (day in self.days and t >= self.start) or ((day - 1) % 7 in self.days and t < self.end)
        return within == self.inside


def rule_matches(rule: AlertRoute, facts: AlertFacts) -> bool:
    if not rule.enabled:
        return False
    if rule.severities and (facts.severity or "") not in rule.severities:
        return False
    if rule.alert_types and (facts.alert_type or "") not in rule.alert_types:
        return False
    if rule.client_ids and (facts.client_id or "") not in rule.client_ids:
        return False
    if rule.device_name_pattern and not fnmatch.fnmatchcase(
        (facts.device_name or "").lower(), rule.device_name_pattern.lower()
    ):
        return False
    hours = BusinessHours.parse(rule.business_hours or {})
    return hours is None or hours.contains(facts.at)


def route(rules: list[AlertRoute], facts: AlertFacts) -> list[tuple[AlertRoute, uuid.UUID]]:
    """(rule, subscription id) for every subscription the alert goes to, in rule order."""
    out: list[tuple[AlertRoute, uuid.UUID]] = []
    seen: set[uuid.UUID] = set()
    for rule in sorted(rules, key=lambda r: (r.position, str(r.id))):
        if not rule_matches(rule, facts):
            continue
        for sid in rule.subscription_ids:
            sub = uuid.UUID(str(sid))
            if sub not in seen:
                seen.add(sub)
                out.append((rule, sub))
        if rule.stop_after_match:
            break
    return out


def routed_subscriptions(rules: list[AlertRoute]) -> set[uuid.UUID]:
    return {uuid.UUID(str(s)) for r in rules if r.enabled for s in r.subscription_ids}
