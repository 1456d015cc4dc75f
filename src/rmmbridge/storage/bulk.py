"""Set-based statement helpers shared by the pipeline's writers.

Rows themselves travel to PostgreSQL by binary COPY (``copy.py``); what is here decides the
shape of a page's lookups: ``one_of`` sends a page's 1,000 ids as one array parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, ColumnElement, any_, bindparam
from sqlalchemy.dialects import postgresql


def is_json_column(column_type: Any) -> bool:
    """A JSON column, including a type whose PostgreSQL variant or implementation is JSON."""
    if isinstance(column_type, JSON):
        return True
    variant = getattr(column_type, "_variant_mapping", {}).get("postgresql")
    return isinstance(variant, JSON) or isinstance(getattr(column_type, "impl", None), JSON)


def one_of(column: Any, values: Sequence[Any], postgres: bool) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY($1)``, one array parameter instead of
    one per value (a page's 1,000 external ids)."""
    if not postgres:
        return column.in_(list(values))
    return column == any_(bindparam(f"any_{column.key}", list(values), type_=postgresql.ARRAY(column.type)))


__all__ = ["is_json_column", "one_of"]
