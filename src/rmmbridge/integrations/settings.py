"""Framework-level integration settings (schedules, thresholds, lifecycle), validated and merged.

Provider-specific settings are validated by the provider's config model when credentials are
saved; these are the knobs every integration has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rmmbridge.errors import ValidationFailed

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@dataclass(frozen=True, slots=True)
class ScheduleKind:
    """What a sync kind's schedule may be: its bounds and its default."""

    minimum_s: int
    maximum_s: int
    default_enabled: bool
    default_s: int


# Liveness is the cheap, frequent pass (issue #11): 30 s – 15 min, on by default every minute.
# The full syncs keep their ≥ 5 min floor: each one is a walk of the whole fleet.
SCHEDULE_KINDS: dict[str, ScheduleKind] = {
    "liveness": ScheduleKind(30, 15 * MINUTE, True, 60),
    "devices": ScheduleKind(5 * MINUTE, 7 * DAY, True, HOUR),
    "alerts": ScheduleKind(5 * MINUTE, 7 * DAY, True, 15 * MINUTE),
    "software": ScheduleKind(5 * MINUTE, 7 * DAY, False, DAY),
}

DEFAULT_SCHEDULES: dict[str, dict[str, Any]] = {
    kind: {"enabled": spec.default_enabled, "interval_seconds": spec.default_s} for kind, spec in SCHEDULE_KINDS.items()
}


class Schedule(BaseModel):
    """One schedule; in an update either field may be left out (the stored value stays).

    ``interval_minutes`` is the older spelling (stored settings and old clients): it is accepted
    and converted to ``interval_seconds``, which is what is stored from now on.
    """

    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    interval_seconds: int | None = Field(default=None, ge=1, le=7 * DAY)
    interval_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60, exclude=True)

    @model_validator(mode="after")
    def _minutes_to_seconds(self) -> Schedule:
        if self.interval_minutes is not None:
            if self.interval_seconds is not None and self.interval_seconds != self.interval_minutes * MINUTE:
                raise ValueError("give interval_seconds or interval_minutes, not both")
            self.interval_seconds = self.interval_minutes * MINUTE
            self.interval_minutes = None
        return self


@dataclass(frozen=True, slots=True)
class EffectiveSchedule:
    """A kind's schedule after defaults and stored values are merged: both fields known."""

    kind: str
    enabled: bool
    interval_seconds: int

    def interval(self) -> timedelta:
        return timedelta(seconds=self.interval_seconds)


class Lifecycle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retire_after_snapshots: int = Field(default=3, ge=1, le=100)
    retire_after_hours: float = Field(default=24, ge=0, le=24 * 365)


class FrameworkSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    schedules: dict[str, Schedule] | None = None
    lifecycle: Lifecycle | None = None


def _fail(errors: list[dict[str, str]]) -> ValidationFailed:
    return ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


def format_interval(seconds: int) -> str:
    """``45 s``, ``5 min``, ``90 s``, ``2 h``, ``1 day``: the largest unit that divides evenly."""
    for unit, name in ((DAY, " day"), (HOUR, " h"), (MINUTE, " min")):
        if seconds >= unit and seconds % unit == 0:
            count = seconds // unit
            return f"{count}{name}{'s' if name == ' day' and count != 1 else ''}"
    return f"{seconds} s"


def check_bounds(kind: str, interval_seconds: int) -> str | None:
    """Why ``interval_seconds`` is not allowed for ``kind``, or ``None`` when it is."""
    spec = SCHEDULE_KINDS[kind]
    if spec.minimum_s <= interval_seconds <= spec.maximum_s:
        return None
    return (
        f"the {kind} interval must be between {format_interval(spec.minimum_s)} and "
        f"{format_interval(spec.maximum_s)} (got {format_interval(interval_seconds)})"
    )


def validate_framework_settings(values: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = FrameworkSettings.model_validate(values)
    except ValidationError as exc:
        raise _fail(
            [{"field": "settings." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        ) from None
    if parsed.schedules:
        unknown = set(parsed.schedules) - set(SCHEDULE_KINDS)
        if unknown:
            raise ValidationFailed(
                f"unknown schedule(s): {', '.join(sorted(unknown))}; known: {', '.join(SCHEDULE_KINDS)}",
                errors=[{"field": "settings.schedules"}],
            )
        errors = []
        for kind, schedule in parsed.schedules.items():
            problem = check_bounds(kind, schedule.interval_seconds) if schedule.interval_seconds is not None else None
            if problem:
                errors.append({"field": f"settings.schedules.{kind}.interval_seconds", "message": problem})
        if errors:
            raise _fail(errors)
    return parsed.model_dump(exclude_unset=True, exclude_none=True, mode="json")


def merge_settings(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: nested dicts are merged key by key, never replaced wholesale."""
    merged = dict(current)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_settings(merged[key], value)
        else:
            merged[key] = value
    return merged


def upgrade_stored(settings: dict[str, Any]) -> dict[str, Any]:
    """Stored settings with legacy ``interval_minutes`` rewritten as ``interval_seconds``, so a
    merge with an update in seconds cannot leave both spellings side by side."""
    schedules = settings.get("schedules")
    if not isinstance(schedules, dict) or not any(
        isinstance(s, dict) and "interval_minutes" in s for s in schedules.values()
    ):
        return settings
    upgraded: dict[str, Any] = {}
    for kind, stored in schedules.items():
        if isinstance(stored, dict) and "interval_minutes" in stored:
            stored = {k: v for k, v in stored.items() if k != "interval_minutes"}
            stored.setdefault("interval_seconds", int(schedules[kind]["interval_minutes"]) * MINUTE)
        upgraded[kind] = stored
    return {**settings, "schedules": upgraded}


def schedules_of(settings: dict[str, Any]) -> dict[str, EffectiveSchedule]:
    """Every known kind's effective schedule (defaults, then the stored values)."""
    stored = upgrade_stored(settings).get("schedules") or {}
    out = {}
    for kind, default in DEFAULT_SCHEDULES.items():
        merged = Schedule.model_validate(merge_settings(default, stored.get(kind) or {}))
        spec = SCHEDULE_KINDS[kind]
        seconds = merged.interval_seconds or spec.default_s
        # A value stored under older bounds is clamped, not refused: the schedule keeps running.
        seconds = max(spec.minimum_s, min(spec.maximum_s, seconds))
        out[kind] = EffectiveSchedule(kind, bool(merged.enabled), seconds)
    return out


_INTERVAL = re.compile(r"^\s*(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hours?|d|days?)?\s*$", re.I)
_UNITS = {"s": 1, "m": MINUTE, "h": HOUR, "d": DAY}


def parse_interval(text: str) -> int:
    """``60s``, ``5m``, ``1h``, ``1d`` or a bare number of seconds → seconds (CLI and UI input)."""
    match = _INTERVAL.match(text or "")
    if not match:
        raise ValidationFailed(
            f"'{text}' is not an interval: write e.g. 60s, 5m, 1h or a number of seconds",
            errors=[{"field": "interval"}],
        )
    number, unit = int(match.group(1)), (match.group(2) or "s")[0].lower()
    return number * _UNITS[unit]


def lifecycle_of(settings: dict[str, Any]) -> Lifecycle:
    return Lifecycle.model_validate(settings.get("lifecycle") or {})
