"""RFC 6238 TOTP, as pyotp computes it for Tactical's ``/v2/login/`` (SHA-1, 6 digits, 30 s)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from datetime import datetime

STEP_SECONDS = 30
DIGITS = 6


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def _timestamp(at: datetime | float) -> float:
    return at.timestamp() if isinstance(at, datetime) else float(at)


def totp(secret: str, at: datetime | float, *, offset_steps: int = 0) -> str:
    """The 6-digit code for base32 ``secret`` at ``at`` (an aware datetime or epoch seconds).

    ``offset_steps`` moves the counter by whole 30 s steps (``-1`` = the previous code).
    """
    counter = int(_timestamp(at) // STEP_SECONDS) + offset_steps
    digest = hmac.new(_key(secret), counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF) % 10**DIGITS
    return str(code).zfill(DIGITS)


def verify_totp(secret: str, code: object, at: datetime | float, *, valid_window: int = 10) -> bool:
    """pyotp's ``TOTP.verify(code, valid_window=...)``: ``str(code)`` against every code in the window.

    An integer code therefore loses its leading zeros and fails, exactly as upstream.
    """
    given = unicodedata.normalize("NFKC", str(code))
    return any(
        hmac.compare_digest(given.encode(), totp(secret, at, offset_steps=i).encode())
        for i in range(-valid_window, valid_window + 1)
    )
