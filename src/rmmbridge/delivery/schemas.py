"""Typed records of the event delivery API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from rmmbridge.events.catalogue import SUBSCRIBABLE
from rmmbridge.kit.numbers import json_int
from rmmbridge.kit.text import NO_NUL

from .routing import BusinessHours

Format = Literal["standard", "slack", "teams"]
EventType = Literal[SUBSCRIBABLE]  # type: ignore[valid-type]
# The zones this server knows (the IANA database it loads): an unknown one is a 422 by the document.
TimeZone = Literal[tuple(sorted(available_timezones() | {"UTC"}))]  # type: ignore[valid-type]
HHMM = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"

Severity = Literal["info", "warning", "error", "critical"]
Name = Field(min_length=1, max_length=200, pattern=NO_NUL)
AlertType = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=NO_NUL)]
# Everything about the URL's shape the server checks, so a URL that fits the pattern is never a 422
# (issue #14: the document says what the server does): http(s), a host that is an ASCII DNS name
# (labels of 1-63 letters, digits, inner hyphens; IDNs in their xn-- form), an IPv4 or a bracketed
# IPv6 literal, a port of at most 65535, then printable ASCII (percent-encode the rest; no user
# info, which the host part leaves no room for). Only the address policy (metadata, link-local,
# private hosts) is left to the server: 403 ``address-refused`` on save, and again at every send.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_H16 = r"[0-9A-Fa-f]{1,4}"
_V4 = r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LS32 = f"(?:{_H16}:{_H16}|{_V4})"
_V6 = (  # RFC 3986 IPv6address, without a zone
    f"(?:(?:{_H16}:){{6}}{_LS32}"
    f"|::(?:{_H16}:){{5}}{_LS32}"
    f"|(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}"
    f"|(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}"
    f"|(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}"
    f"|(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}"
    f"|(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}"
    f"|(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}"
    f"|(?:(?:{_H16}:){{0,6}}{_H16})?::)"
)
_PORT = r"(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
URL_PATTERN = (
    f"^[Hh][Tt][Tt][Pp][Ss]?://(?:{_LABEL}(?:\\.{_LABEL})*\\.?|\\[{_V6}\\])(?::{_PORT}?)?(?:[/?#][!-~]*)?$"
)


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
    timezone: TimeZone = "UTC"
    days: list[json_int(0, 6)] = Field(  # type: ignore[valid-type]
        default=[0, 1, 2, 3, 4], min_length=1, max_length=7
    )
    # Any two times: start >= end is a window across midnight (routing.BusinessHours).
    start: str = Field(default="08:00", pattern=HHMM)
    end: str = Field(default="18:00", pattern=HHMM)
    inside: StrictBool = True


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Name
    position: json_int(0, 100_000) | None = Field(  # type: ignore[valid-type]
        default=None, description="Order; default: after the last rule"
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
    group_window_s: json_int(0, 7 * 86400) = Field(  # type: ignore[valid-type]
        default=0, description="Re-triggers within it are grouped"
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
    days: json_int(1, 30) = 7  # type: ignore[valid-type]
    limit: json_int(1, 1000) = 200  # type: ignore[valid-type]


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
