"""Text hygiene for values that come from outside (RMM payloads, webhook bodies).

PostgreSQL text and JSONB cannot hold NUL characters (SQLite can), so a remote string carrying
one would fail the write on one backend only. Every remote string is cleaned before storage.
"""

from __future__ import annotations

from typing import Any


def clean(value: Any) -> Any:
    """``value`` with NUL characters removed from every string, recursively through lists/dicts."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value
