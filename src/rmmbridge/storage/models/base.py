"""Declarative base, column types and naming conventions shared by every model.

Every table except ``tenants`` is keyed ``(tenant_id, id)`` and every foreign key includes
``tenant_id`` so tables can be distributed by tenant (Citus) without change.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, DateTime, MetaData, Table, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.time import ensure_utc, utcnow

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, whatever the driver returns (SQLite has no tz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        value = ensure_utc(value)
        if value is not None and dialect.name == "sqlite":
            # Store naive UTC so lexical order equals time order in SQLite's text storage.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return ensure_utc(value)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        uuid.UUID: Uuid(as_uuid=True),
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        list[str]: JSONType,
    }


def tenant_col() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True)


def id_col() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=uuid7)


def created_col() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


def updated_col() -> Mapped[datetime]:
    return mapped_column(default=utcnow, onupdate=utcnow)


def table_of(model: type[Base]) -> Table:
    """A model's ``Table`` (typed: ``Model.__table__`` is declared as a generic FromClause)."""
    return cast(Table, model.__table__)
