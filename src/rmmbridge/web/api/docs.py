"""OpenAPI helpers: the problem+json error schema, documented on every route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or invalid credentials",
    403: "The caller's role lacks the permission",
    404: "Not found (or belongs to another tenant)",
    409: "Conflict with the current state",
    413: "Body too large",
    422: "Invalid input; `errors` names the fields",
    429: "Rate limited",
}


class FieldError(BaseModel):
    field: str
    message: str | None = None
    type: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(code, "Error"),
            "content": {"application/problem+json": {}},
        }
        for code in codes
    }
