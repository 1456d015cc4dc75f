"""Masking of secrets for display: only the last four characters are ever shown."""

from __future__ import annotations

MASK = "••••"


def last4(secret: str | None) -> str | None:
    if not secret:
        return None
    return secret[-4:] if len(secret) > 8 else None


def mask(secret: str | None) -> str:
    """``"••••abcd"`` for long secrets; short secrets are fully masked (4 chars would reveal half)."""
    if not secret:
        return ""
    tail = last4(secret)
    return f"{MASK}{tail}" if tail else MASK
