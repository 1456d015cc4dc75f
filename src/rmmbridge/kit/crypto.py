"""AES-256-GCM sealing of secrets and the master-key file.

Ciphertext layout: ``b"v1" | nonce(12) | ciphertext+tag``. The associated data binds a
ciphertext to its tenant and secret name, so a row copied to another tenant cannot be opened.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"v1"


class MasterKeyError(Exception):
    """The master key is missing or malformed."""


class DecryptionError(Exception):
    """A ciphertext could not be opened (wrong key, tampered, or moved between rows)."""


def decode_key(text: str) -> bytes:
    raw = text.strip()
    for decoder in (base64.urlsafe_b64decode, base64.b64decode, bytes.fromhex):
        try:
            padded = raw + "=" * (-len(raw) % 4) if decoder is not bytes.fromhex else raw
            key = decoder(padded)  # type: ignore[operator]
        except (ValueError, binascii.Error):
            continue
        if len(key) == 32:
            return key
    raise MasterKeyError("must be 32 bytes encoded as base64 or hex (e.g. `openssl rand -base64 32`)")


def generate_key_text() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file, creating it with mode 0600 on first start."""
    if path.exists():
        return decode_key(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once must not write two different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return decode_key(path.read_text())
    with os.fdopen(fd, "w") as fh:
        fh.write(generate_key_text() + "\n")
    return decode_key(path.read_text())


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise MasterKeyError("master key must be 32 bytes")
        self._aead = AESGCM(key)
        # A separate subkey for digests, so a digest never reveals anything about the AES key.
        self._digest_key = hmac.new(key, b"rmmbridge-digest-v1", hashlib.sha256).digest()

    def seal(self, plaintext: str, aad: str) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), aad.encode())

    def open(self, blob: bytes, aad: str) -> str:
        if not blob.startswith(_VERSION) or len(blob) < 2 + 12 + 16:
            raise DecryptionError("unknown ciphertext format")
        nonce, body = blob[2:14], blob[14:]
        try:
            return self._aead.decrypt(nonce, body, aad.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not open with this key") from exc

    def digest(self, value: str) -> str:
        """Keyed digest for lookups by secret value (webhook secrets) without storing it."""
        return hmac.new(self._digest_key, value.encode(), hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    """Unkeyed SHA-256 for high-entropy API tokens (no need for a slow hash: 256-bit random)."""
    return hashlib.sha256(token.encode()).hexdigest()


def random_token(prefix: str, nbytes: int = 32) -> str:
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"
