"""Typed records of the event delivery API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from rmmbridge.events.catalogue import SUBSCRIBABLE
from rmmbridge.kit.text import NO_NUL

from .routing import BusinessHours

Format = Literal["standard", "slack", "teams"]
EventType = Literal[SUBSCRIBABLE]  # type: ignore[valid-type]
Severity = Literal["info", "warning", "error", "critical"]
Name = Field(min_length=1, max_length=200, pattern=NO_NUL)
AlertType = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=NO_NUL)]
# The shape only; the address policy (metadata, link-local, private) is checked on save and at send.
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00\s]+$"


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    url: str
    format: str
    event_types: list[str]
    client_ids: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    last_success_at: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime


class SubscriptionCreated(BaseModel):
    subscription: SubscriptionOut
    secret: str = Field(description="The signing secret (whsec_…): shown only now.")


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Name
    url: str = Field(min_length=1, max_length=2000, pattern=URL_PATTERN)
    format: Format = "standard"
    event_types: list[EventType] = Field(default_factory=list, max_length=50)
    client_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    url: str | None = Field(default=None, min_length=1, max_length=2000, pattern=URL_PATTERN)
    format: Format | None = None
    event_types: list[EventType] | None = Field(default=None, max_length=50)
    client_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    enabled: StrictBool | None = None


class RotateSecret(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlap_hours: float = Field(
        default=24, ge=0, le=24 * 30, strict=True, description="How long the old secret still signs."
    )


class SecretRotated(BaseModel):
    secret: str
    previous_secret_expires_at: datetime | None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    entity_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_latency_ms: int | None
    response_excerpt: str | None
    last_error: str | None
    route_id: uuid.UUID | None
    event_created_at: datetime
    created_at: datetime
    delivered_at: datetime | None


class ReplayRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: AwareDatetime
    end: AwareDatetime

    @field_validator("start", "end", mode="before")
    @classmethod
    def _text_only(cls, v: object) -> object:
        # RFC 3339 text, as documented; a number would be read as Unix seconds.
        if not isinstance(v, str):
            raise ValueError("a date-time with a time zone, e.g. 2026-12-06T10:00:00Z")
        return v


class ReplayOut(BaseModel):
    requeued: int
    added: int


class BusinessHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str = Field(default="UTC", max_length=60, pattern=NO_NUL)
    days: list[Annotated[int, Field(strict=True, ge=0, le=6)]] = Field(
        default=[0, 1, 2, 3, 4], min_length=1, max_length=7
    )
    start: str = Field(default="08:00", pattern=r"^[0-2][0-9]:[0-5][0-9]$")
    end: str = Field(default="18:00", pattern=r"^[0-2][0-9]:[0-5][0-9]$")
    inside: StrictBool = True


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Name
    position: int | None = Field(
        default=None, ge=0, le=100_000, strict=True, description="Order; default: after the last rule"
    )
    enabled: StrictBool = True
    severities: list[Severity] = Field(default_factory=list)
    alert_types: list[AlertType] = Field(default_factory=list, max_length=100)
    client_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    device_name_pattern: str | None = Field(
        default=None, max_length=200, pattern=NO_NUL, description="Shell-style, case-insensitive: `srv-*`"
    )
    business_hours: BusinessHoursIn | None = None
    subscription_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)
    stop_after_match: StrictBool = True
    group_window_s: int = Field(
        default=0, ge=0, le=7 * 86400, strict=True, description="Re-triggers within it are grouped"
    )

    def hours(self) -> dict[str, Any]:
        if self.business_hours is None:
            return {}
        hours = BusinessHours.parse(self.business_hours.model_dump())
        return hours.as_dict() if hours else {}


class RouteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    position: int
    enabled: bool
    severities: list[str]
    alert_types: list[str]
    client_ids: list[str]
    device_name_pattern: str | None
    business_hours: dict[str, Any]
    subscription_ids: list[str]
    stop_after_match: bool
    group_window_s: int


class DryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: RouteIn | None = Field(default=None, description="A rule to try (unsaved); default: the saved rules")
    days: int = Field(default=7, ge=1, le=30, strict=True)
    limit: int = Field(default=200, ge=1, le=1000, strict=True)


class DryRunMatch(BaseModel):
    alert_id: uuid.UUID
    severity: str
    alert_type: str | None
    message: str | None
    asset_name: str | None
    at: datetime
    rules: list[str]
    subscriptions: list[str]


class DryRunOut(BaseModel):
    checked: int
    matched: list[DryRunMatch]


class EventTypeOut(BaseModel):
    type: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema")
    legacy_names: list[str]
