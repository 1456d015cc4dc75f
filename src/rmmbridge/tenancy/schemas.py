"""Typed records for tenancy: what crosses the service boundary."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from rmmbridge.kit.text import NO_NUL

from .passwords import MIN_PASSWORD_LENGTH
from .permissions import Role


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    created_at: datetime


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None = None


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    last4: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class IssuedToken(BaseModel):
    """A freshly created API token; ``token`` is shown once and never stored."""

    token: str
    info: ApiTokenOut


# --------------------------------------------------------------------------- user and token management


# What the services check, said in the schema too (a schema-valid request is an acceptable one).
# ASCII whitespace spelled out: `\s` means different sets to JSON Schema, pydantic and `re`.
EMAIL_PATTERN = r"^[^@ \t\n\r\f\v\x00]+@[^@ \t\n\r\f\v\x00]+\.[^@ \t\n\r\f\v\x00]+$"
PASSWORD_MIN = MIN_PASSWORD_LENGTH


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=5, max_length=320, pattern=EMAIL_PATTERN)
    role: Role = Role.viewer
    password: str = Field(min_length=PASSWORD_MIN, max_length=1000, pattern=NO_NUL)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    is_active: StrictBool | None = None  # strict: the schema says boolean, so 0 / "no" are refused


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=PASSWORD_MIN, max_length=1000, pattern=NO_NUL)


class OwnPasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1000, pattern=NO_NUL)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=1000, pattern=NO_NUL)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=NO_NUL)


class TokenListItem(ApiTokenOut):
    """A token with its owner (admins see every token of the tenant)."""

    owner_id: uuid.UUID
    owner_email: str


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    at: datetime
    actor: str
    actor_email: str | None = None
    action: str
    target_type: str
    target_id: uuid.UUID | None = None
    target_label: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
