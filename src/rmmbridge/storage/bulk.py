"""Bulk statements whose cost does not grow with parameters per row (PostgreSQL).

An ``executemany`` of N rows × C columns makes SQLAlchemy process N × C parameters in Python
(bind processors, the insertmanyvalues batching) before the driver sees them: for a page of 1,000
liveness rows that was most of the write's client CPU. On PostgreSQL the same rows can travel as
one array per column, ``INSERT … SELECT * FROM unnest($1::uuid[], $2::timestamptz[], …)``:
C parameters whatever N, encoded by asyncpg in C. SQLite keeps the plain executemany.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, ColumnElement, Select, Table, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql


def unnest_rows(table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> Select[Any]:
    """``SELECT … FROM unnest(<one array per column>)``: ``rows`` as a PostgreSQL row source for
    ``insert(table).from_select(columns, …)``. Only scalar column types (no JSON: a JSON array
    parameter would need per-element encoding, which is what this avoids)."""
    arrays = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, JSON) or isinstance(getattr(column_type, "impl", None), JSON):
            raise TypeError(f"{table.name}.{name}: JSON columns cannot be unnested")
        arrays.append(
            bindparam(f"unnest_{name}", [row[name] for row in rows], type_=postgresql.ARRAY(column_type))
        )
    source = func.unnest(*arrays).table_valued(*columns).render_derived(name="rows")
    return select(*(source.c[name] for name in columns))


def one_of(column: Any, values: Sequence[Any], postgres: bool) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY($1)``, one array parameter instead of
    one per value (a page's 1,000 external ids)."""
    if not postgres:
        return column.in_(list(values))
    return column == any_(bindparam(f"any_{column.key}", list(values), type_=postgresql.ARRAY(column.type)))


__all__ = ["one_of", "unnest_rows"]
