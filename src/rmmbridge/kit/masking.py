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


def is_password_field(name: str) -> bool:
    """Passwords are chosen by people and reused: even their last four characters say too much.
    API keys and tokens are random, and their last four help an admin tell which one is stored."""
    return name == "password" or name.endswith("_password")


def credential_hint(name: str, secret: str | None) -> str:
    """What the UI and API may show of the stored credential ``name``."""
    if not secret:
        return ""
    return MASK if is_password_field(name) else mask(secret)


def shown_hints(hints: dict[str, str]) -> dict[str, str]:
    """Stored hints as they may be shown (hints saved before passwords were fully masked included)."""
    return {name: MASK if is_password_field(name) else hint for name, hint in hints.items()}
