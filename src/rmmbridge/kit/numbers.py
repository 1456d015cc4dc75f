"""Integers as JSON Schema means them, for request models.

JSON Schema's ``integer`` includes ``3.0`` (a number without a fraction) and excludes ``"3"``,
``true`` and ``1.5``; pydantic's lax int takes the string and the bool, its strict int refuses
``3.0``. ``json_int`` accepts exactly what the document says, so schema-valid bodies are never a
422 and schema-invalid ones never pass (issue #14: the OpenAPI document describes the server).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def json_int(ge: int | None = None, le: int | None = None) -> Any:
    """A strict int in ``[ge, le]`` that also takes ``3.0``; the bounds sit on the int itself, under
    the validator, so the document states them (``minimum``/``maximum``) wherever the type nests."""
    return Annotated[int, Field(strict=True, ge=ge, le=le), BeforeValidator(_integral)]
