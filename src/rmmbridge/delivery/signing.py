"""Standard Webhooks signatures (https://www.standardwebhooks.com).

The secret is 24–64 random bytes shown to the admin as ``whsec_<base64>``; each attempt carries
``webhook-id`` (the event id: the receiver's dedup key), ``webhook-timestamp`` (Unix seconds of
the attempt, so a receiver can refuse replays older than its tolerance) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``, space-separated when a rotation's
previous secret still signs too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_bytes(secret: str) -> bytes:
    text = secret[len(PREFIX) :] if secret.startswith(PREFIX) else secret
    return base64.b64decode(text + "=" * (-len(text) % 4))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_bytes(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def headers(secrets_in_use: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret in use (current first)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets_in_use),
    }


class Signer:
    """The secrets of one subscription, decoded once into HMAC states: each signature then copies
    a keyed state instead of decoding the secret and keying HMAC again (per delivery, in the send loop)."""

    __slots__ = ("_macs",)

    def __init__(self, secrets_in_use: list[str]) -> None:
        self._macs = [hmac.new(secret_bytes(s), digestmod=hashlib.sha256) for s in secrets_in_use]

    def header_lines(self, msg_id: str, timestamp: int, body: bytes) -> bytes:
        """The three Standard Webhooks headers as HTTP header lines (CRLF-terminated)."""
        signed = f"{msg_id}.{timestamp}.".encode() + body
        signatures = []
        for keyed in self._macs:
            mac = keyed.copy()
            mac.update(signed)
            signatures.append(b"v1," + base64.b64encode(mac.digest()))
        return b"webhook-id: %s\r\nwebhook-timestamp: %d\r\nwebhook-signature: %s\r\n" % (
            msg_id.encode("ascii"),
            timestamp,
            b" ".join(signatures),
        )
