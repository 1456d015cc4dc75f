"""Boundary checks every API and UI request gets before any handler runs.

NUL (U+0000): PostgreSQL text cannot hold it (SQLite can), so a NUL in a query string or a JSON
text value would reach the database and fail there — a 500 on one backend, stored data on the
other. Input from callers is rejected here with a 422 naming the parameter; remote free text from
RMMs is stripped instead (``kit.text``), because there is nobody to send a 422 to.
"""

from __future__ import annotations

import re

from fastapi import Request

from rmmbridge.errors import ValidationFailed

# In JSON text a NUL can only arrive escaped; ``\\u0000`` (an escaped backslash, then "u0000")
# is plain text, so the escape counts only after an even number of backslashes.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def _nul_error(where: str) -> ValidationFailed:
    return ValidationFailed(
        f"{where}: NUL characters (U+0000) are not allowed",
        errors=[{"field": where, "message": "NUL characters (U+0000) are not allowed", "type": "nul_character"}],
    )


async def reject_nul(request: Request) -> None:
    """422 for a NUL in a query parameter, a JSON body or a form field."""
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise _nul_error(name.replace("\x00", "") or "query")
    content_type = request.headers.get("content-type", "")
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    if "form" in content_type:
        for name, field in (await request.form()).multi_items():
            if "\x00" in name or (isinstance(field, str) and "\x00" in field):
                raise _nul_error(name.replace("\x00", "") or "body")
        return
    body = await request.body()  # already read (and cached) by FastAPI for JSON bodies
    if b"\x00" in body or _JSON_NUL.search(body):
        raise _nul_error("body")
