"""Framework-level integration settings (schedules, thresholds, lifecycle), validated and merged.

Provider-specific settings are validated by the provider's config model when credentials are
saved; these are the knobs every integration has.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rmmbridge.errors import ValidationFailed


class Schedule(BaseModel):
    """One schedule; in an update either field may be left out (the stored value stays)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    interval_minutes: int | None = Field(default=None, ge=5, le=7 * 24 * 60)
    # Sub-minute schedules (the liveness pass); wins over interval_minutes when set.
    interval_seconds: int | None = Field(default=None, ge=30, le=15 * 60)

    def interval(self) -> timedelta:
        if self.interval_seconds:
            return timedelta(seconds=self.interval_seconds)
        return timedelta(minutes=self.interval_minutes or 60)


DEFAULT_SCHEDULES: dict[str, dict[str, Any]] = {
    "devices": {"enabled": True, "interval_minutes": 60},
    "liveness": {"enabled": True, "interval_seconds": 60},
    "alerts": {"enabled": True, "interval_minutes": 15},
    "software": {"enabled": False, "interval_minutes": 24 * 60},
}


class Lifecycle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retire_after_snapshots: int = Field(default=3, ge=1, le=100)
    retire_after_hours: float = Field(default=24, ge=0, le=24 * 365)


class FrameworkSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    schedules: dict[str, Schedule] | None = None
    lifecycle: Lifecycle | None = None


def validate_framework_settings(values: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = FrameworkSettings.model_validate(values)
    except ValidationError as exc:
        errors = [
            {"field": "settings." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors) from None
    if parsed.schedules:
        unknown = set(parsed.schedules) - set(DEFAULT_SCHEDULES)
        if unknown:
            raise ValidationFailed(
                f"unknown schedule(s): {', '.join(sorted(unknown))}", errors=[{"field": "settings.schedules"}]
            )
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


def schedules_of(settings: dict[str, Any]) -> dict[str, Schedule]:
    merged = merge_settings(DEFAULT_SCHEDULES, settings.get("schedules") or {})
    return {k: Schedule.model_validate(v) for k, v in merged.items()}


def lifecycle_of(settings: dict[str, Any]) -> Lifecycle:
    return Lifecycle.model_validate(settings.get("lifecycle") or {})
