"""API tokens as Tanium keeps them (reference §1.3): ``token-`` strings with an expiry, persona and trusted
IPs.

Rotation issues a new string and kills the old one at once. Token strings are derived from a seed and a
counter so a seeded simulator issues the same tokens on every run.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

DEFAULT_TOKEN = "token-rmmbridge-sim-0123456789abcdef"  # noqa: S105 - the simulator's well-known test token
DEFAULT_PERSONA = "Administrator"

AuthFailure = Literal["missing", "malformed", "unknown", "expired", "revoked", "untrusted_ip"]

AUTH_FAILURE_TEXT: dict[AuthFailure, str] = {
    "missing": "no session header",
    "malformed": "session is not an API token",
    "unknown": "invalid session",
    "expired": "API token has expired",
    "revoked": "API token has been revoked",
    "untrusted_ip": "request IP address is not trusted for this API token",
}


class AuthError(Exception):
    def __init__(self, reason: AuthFailure) -> None:
        super().__init__(AUTH_FAILURE_TEXT[reason])
        self.reason = reason


@dataclass
class ApiToken:
    id: str
    token_string: str
    created: datetime
    expiration: datetime
    expires_in_days: float
    notes: str = ""
    persona: str = DEFAULT_PERSONA
    trusted_ips: list[str] = field(default_factory=list)
    last_used: datetime | None = None
    revoked: bool = False

    def ip_trusted(self, client_ip: str | None) -> bool:
        if not self.trusted_ips:
            return True
        if not client_ip:
            return False
        try:
            addr = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        return any(addr in ipaddress.ip_network(net, strict=False) for net in self.trusted_ips)


class TokenStore:
    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._counter = 0
        self._tokens: list[ApiToken] = []

    def __iter__(self) -> Iterator[ApiToken]:
        return iter(self._tokens)

    def grant(
        self,
        now: datetime,
        *,
        expires_in_days: float = 7,
        notes: str = "",
        persona: str = DEFAULT_PERSONA,
        trusted_ips: list[str] | None = None,
        token_string: str | None = None,
    ) -> ApiToken:
        self._counter += 1
        if token_string is None:
            digest = hashlib.sha256(f"tanium-sim:{self._seed}:{self._counter}".encode()).hexdigest()
            token_string = f"token-{digest[:40]}"
        for net in trusted_ips or []:
            ipaddress.ip_network(net, strict=False)  # ValueError on garbage, as the console would refuse it
        token = ApiToken(
            id=str(self._counter),
            token_string=token_string,
            created=now,
            expiration=now + timedelta(days=expires_in_days),
            expires_in_days=expires_in_days,
            notes=notes,
            persona=persona,
            trusted_ips=list(trusted_ips or []),
        )
        self._tokens.append(token)
        return token

    def find(self, token_string: str) -> ApiToken | None:
        return next((t for t in self._tokens if t.token_string == token_string), None)

    def by_id(self, token_id: str) -> ApiToken | None:
        return next((t for t in self._tokens if t.id == token_id), None)

    def authenticate(self, presented: str | None, client_ip: str | None, now: datetime) -> ApiToken:
        """The live token for a ``session`` header value, or :class:`AuthError` with the reason."""
        if presented is None or not presented.strip():
            raise AuthError("missing")
        presented = presented.strip()
        if not presented.lower().startswith("token-"):
            raise AuthError("malformed")
        token = self.find(presented)
        if token is None:
            raise AuthError("unknown")
        if token.revoked:
            raise AuthError("revoked")
        if now >= token.expiration:
            raise AuthError("expired")
        if not token.ip_trusted(client_ip):
            raise AuthError("untrusted_ip")
        token.last_used = now
        return token

    def rotate(self, token_string: str, now: datetime) -> ApiToken:
        """Exchange a live token for a new one with the same settings; the old one dies at once."""
        old = self.find(token_string)
        if old is None or old.revoked or now >= old.expiration:
            raise LookupError("token not found, expired or revoked")
        new = self.grant(
            now,
            expires_in_days=old.expires_in_days,
            notes=old.notes,
            persona=old.persona,
            trusted_ips=old.trusted_ips,
        )
        old.revoked = True
        return new

    def revoke(self, token_id: str) -> bool:
        token = self.by_id(token_id)
        if token is None or token.revoked:
            return False
        token.revoked = True
        return True

    def expire(self, token: ApiToken, now: datetime) -> None:
        token.expiration = min(token.expiration, now - timedelta(seconds=1))
