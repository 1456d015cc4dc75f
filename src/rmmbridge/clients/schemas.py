"""Typed records for PSA clients."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from rmmbridge.kit.text import NOT_BLANK


class ClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    archived: bool = False
    archived_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    asset_count: int = 0


def _clean_name(value: str) -> str:
    clean = " ".join(value.split())
    if not clean:
        raise ValueError("name must not be blank")
    return clean


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK)

    _clean = field_validator("name")(_clean_name)


class ClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NOT_BLANK)
    archived: StrictBool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return None if v is None else _clean_name(v)
