"""Text hygiene for values that come from outside (RMM payloads, webhook bodies, API callers).

PostgreSQL text and JSONB cannot hold NUL characters (SQLite can), so a remote string carrying
one would fail the write on one backend only. Every remote string is cleaned before storage;
a caller's input is refused instead (``web/input.py``), and the input models say so in the
OpenAPI document (``NO_NUL``), so the schema describes exactly what the server accepts.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints
from typing_extensions import TypeAliasType

NO_NUL = r"^[^\x00]*$"  # JSON Schema (ECMA-262) and pydantic's Rust regex both read \x00
# NUL-free with at least one character Python's str.split() keeps (every character str.isspace()
# treats as white space is listed, so the document, pydantic and the validators agree on "blank").
NOT_BLANK = (
    r"^[^\x00]*[^\x00\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00]*$"
)
InputText = Annotated[str, StringConstraints(pattern=NO_NUL)]
# Free-form JSON from a caller (integration settings): any JSON, with NUL-free text everywhere.
InputJson = TypeAliasType(
    "InputJson",
    "InputText | int | float | bool | list[InputJson] | dict[InputText, InputJson] | None",
)


def clean(value: Any) -> Any:
    """``value`` with NUL characters removed from every string, recursively through lists/dicts."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value
