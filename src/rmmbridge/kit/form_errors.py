"""Form errors in plain words, keyed by the field they belong to (shown beside it, not in a banner).

Pydantic says ``String should have at least 1 character`` at ``('values', 'instance_url')``; a
person filling a form needs "Enter the instance URL." next to that box. Every UI form that shows
a refused input again uses :func:`field_errors`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from rmmbridge.errors import AppError


def plain_message(error: dict[str, Any], label: str) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing":
        return f"Enter the {label}."
    if kind == "string_too_short":
        return f"Enter the {label}." if ctx.get("min_length") == 1 else f"Use at least {ctx['min_length']} characters."
    if kind == "string_too_long":
        return f"Use at most {ctx.get('max_length')} characters."
    if kind == "string_pattern_mismatch":
        return "Remove the invisible control characters."
    if kind in ("literal_error", "enum"):
        return "Choose one of the listed values."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Enter a whole number."
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = next(iter(ctx.values()), None)
        word = {"greater_than_equal": "at least", "less_than_equal": "at most", "greater_than": "more than",
                "less_than": "less than"}[kind]  # fmt: skip
        return f"Enter a number {word} {bound}."
    if kind == "uuid_parsing":
        return "Choose a value from the list."
    message = str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if not message:
        return "Check this value."
    # A sentence opening with a URL scheme ("http:// would send …") keeps it as written:
    # "Http://" reads as a typo and is not what the operator would type.
    if "://" in message.split(" ", 1)[0]:
        return message
    return message[:1].upper() + message[1:]


def field_errors(
    exc: ValidationError | AppError, labels: dict[str, str] | None = None, *, default: str = "form"
) -> dict[str, str]:
    """``{field name: message}``; the field is the last name in the error's location that is a
    field of the form (``values.instance_url`` → ``instance_url``)."""
    labels = labels or {}
    out: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for e in exc.errors():
            names = [str(p) for p in e["loc"] if isinstance(p, str)]
            name = names[-1] if names else default
            label = labels.get(name, name.replace("_", " "))
            out.setdefault(name, plain_message(dict(e), label))
        return out or {default: "Check the values you entered."}
    for e in exc.errors:
        field = str(e.get("field") or default).split(".")[-1]
        out.setdefault(field, str(e.get("message") or exc.detail))
    return out or {default: exc.detail}
