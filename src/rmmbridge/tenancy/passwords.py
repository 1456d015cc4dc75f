"""Password hashing (argon2id)."""

from __future__ import annotations

import os
from functools import cache

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verifying against this when the user does not exist keeps login timing uniform. Made on
    first use, not at import: every CLI command and process start would pay an argon2 hash."""
    return _hasher.hash("rmmbridge-dummy-password")


MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# Argon2 is built to cost CPU (tens of ms); on the event loop, a handful of concurrent guessers
# would stall every request (/healthz included). Hashes run in worker threads (argon2-cffi releases
# the GIL), at most one per core so they cannot starve the default thread pool either.
_HASH_SLOTS = anyio.CapacityLimiter(os.cpu_count() or 2)


async def hash_password_async(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password, password, limiter=_HASH_SLOTS)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await anyio.to_thread.run_sync(verify_password, password_hash, password, limiter=_HASH_SLOTS)


def check_password_policy(password: str) -> str | None:
    """Return the reason a password is refused, or ``None``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters"
    return None
