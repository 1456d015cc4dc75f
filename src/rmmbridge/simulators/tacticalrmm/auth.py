"""Users, roles, API keys, Knox tokens and the login throttles of a Tactical server (reference §2)."""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil

from .responses import DETAIL_INVALID_TOKEN, auth_failed, throttled

KNOX_TTL = timedelta(hours=5)
KNOX_MIN_REFRESH = timedelta(seconds=600)
CHECKCREDS_TTL = timedelta(seconds=180)


@dataclass(frozen=True)
class Role:
    """A Tactical role: permission flags plus an optional client/site restriction."""

    name: str = "Custom"
    is_superuser: bool = False
    can_list_clients: bool = False
    can_list_sites: bool = False
    can_list_agents: bool = False
    can_list_alerts: bool = False
    can_manage_alerts: bool = False
    can_list_software: bool = False
    can_manage_software: bool = False
    can_manage_clients: bool = False
    can_manage_sites: bool = False
    can_edit_agent: bool = False
    can_view_core_settings: bool = False
    can_edit_core_settings: bool = False
    can_view_global_keystore: bool = False
    can_edit_global_keystore: bool = False
    can_run_urlactions: bool = False
    can_list_alerttemplates: bool = False
    can_manage_alerttemplates: bool = False
    can_run_server_scripts: bool = False
    can_view_clients: frozenset[int] = frozenset()
    can_view_sites: frozenset[int] = frozenset()

    @classmethod
    def read_only(cls, name: str = "Read only", *, clients: Iterable[int] = (), sites: Iterable[int] = ()) -> Role:
        """Every ``can_list_*`` flag rmmbridge needs, optionally restricted to some clients/sites."""
        return cls(
            name=name, can_list_clients=True, can_list_sites=True, can_list_agents=True, can_list_alerts=True,
            can_list_software=True, can_view_clients=frozenset(clients), can_view_sites=frozenset(sites),
        )


SUPERUSER_ROLE = Role(name="Superuser", is_superuser=True)


@dataclass
class TacticalUser:
    username: str
    password: str | None
    totp_secret: str | None = None
    is_active: bool = True
    is_superuser: bool = False
    role: Role | None = None
    block_dashboard_login: bool = False
    is_sso_user: bool = False

    @property
    def superuser(self) -> bool:
        return self.is_superuser or (self.role is not None and self.role.is_superuser)

    def has_perm(self, perm: str) -> bool:
        """``tacticalrmm.permissions._has_perm``: superusers pass, users without a role never do."""
        if self.superuser:
            return True
        if self.role is None:
            return False
        return bool(getattr(self.role, perm))

    def _restricted(self) -> bool:
        return not self.superuser and self.role is not None and bool(
            self.role.can_view_clients or self.role.can_view_sites
        )

    def can_view_agent(self, client_id: int, site_id: int) -> bool:
        if self.superuser:
            return True
        if self.role is None:
            return False
        if not self._restricted():
            return True
        return client_id in self.role.can_view_clients or site_id in self.role.can_view_sites

    def can_view_client(self, client_id: int) -> bool:
        if self.superuser:
            return True
        if self.role is None:
            return False
        return not self.role.can_view_clients or client_id in self.role.can_view_clients

    def can_view_site(self, client_id: int, site_id: int) -> bool:
        return self.can_view_agent(client_id, site_id)


@dataclass
class ApiKey:
    key: str
    username: str
    expiration: datetime | None = None


@dataclass
class KnoxToken:
    token: str
    username: str
    created: datetime
    expiry: datetime


@dataclass
class Principal:
    user: TacticalUser
    via: str  # "knox" | "apikey"
    token: KnoxToken | None = None


@dataclass
class Throttle:
    """DRF ``SimpleRateThrottle`` keyed by client address: ``num_requests`` per ``duration_s``."""

    scope: str
    num_requests: int
    duration_s: float
    history: dict[str, list[float]] = field(default_factory=dict)

    def allow(self, ident: str, now: float) -> bool:
        history = [t for t in self.history.get(ident, []) if t > now - self.duration_s]
        self.history[ident] = history
        if len(history) >= self.num_requests:
            return False
        history.insert(0, now)
        return True

    def wait(self, ident: str, now: float) -> float | None:
        history = self.history.get(ident, [])
        remaining = self.duration_s - (now - history[-1]) if history else self.duration_s
        available = self.num_requests - len(history) + 1
        if available <= 0:
            return None
        return remaining / available


class AuthStore:
    """Users, keys and live Knox tokens of one simulated server."""

    def __init__(self, users: Iterable[TacticalUser], api_keys: Iterable[ApiKey]) -> None:
        self.users: dict[str, TacticalUser] = {u.username: u for u in users}
        self.api_keys: dict[str, ApiKey] = {k.key: k for k in api_keys}
        self.tokens: dict[str, KnoxToken] = {}

    def add_user(self, user: TacticalUser) -> TacticalUser:
        self.users[user.username] = user
        return user

    def add_api_key(self, key: ApiKey) -> ApiKey:
        self.api_keys[key.key] = key
        return key

    def check_password(self, username: str, password: str) -> TacticalUser | None:
        """Django's ``authenticate``: inactive users and unusable passwords never authenticate."""
        user = self.users.get(username)
        if user is None or user.password is None or not user.is_active:
            return None
        return user if secrets.compare_digest(user.password.encode(), password.encode()) else None

    def issue_token(self, username: str, now: datetime, ttl: timedelta = KNOX_TTL) -> KnoxToken:
        token = KnoxToken(secrets.token_hex(32), username, now, now + ttl)
        self.tokens[token.token] = token
        return token

    def revoke(self, token: str) -> None:
        self.tokens.pop(token, None)

    def revoke_user(self, username: str) -> None:
        for key in [k for k, t in self.tokens.items() if t.username == username]:
            del self.tokens[key]

    def expire(self, token: str) -> None:
        """Fault injection: the token's expiry passes (Knox then deletes it on its next use)."""
        found = self.tokens.get(token)
        if found is not None:
            found.expiry = found.created - timedelta(seconds=1)

    def authenticate(self, headers: Mapping[str, str], now: datetime, *, knox_only: bool = False) -> Principal | None:
        """DRF authentication with Knox first, then ``X-API-KEY`` (reference §2.1).

        Returns ``None`` for "no credentials" and raises a 401 :class:`ApiError` for bad ones.
        """
        authorization = headers.get("authorization", "")
        parts = authorization.encode("latin-1", "replace").split()
        if parts and parts[0].lower() == b"token":
            if len(parts) == 1:
                raise auth_failed("Invalid token header. No credentials provided.")
            if len(parts) > 2:
                raise auth_failed("Invalid token header. Token string should not contain spaces.")
            return self._knox(parts[1].decode("latin-1"), now)
        if knox_only:
            return None
        api_key = headers.get("x-api-key", "")
        if not api_key:
            return None
        key = self.api_keys.get(api_key)
        if key is None:
            raise auth_failed(DETAIL_INVALID_TOKEN)
        if key.expiration is not None and key.expiration < now:
            raise auth_failed("The token has expired.")
        user = self.users.get(key.username)
        if user is None or not user.is_active:
            raise auth_failed("User inactive or deleted.")
        return Principal(user, "apikey")

    def _knox(self, presented: str, now: datetime) -> Principal:
        token = self.tokens.get(presented)
        if token is None:
            raise auth_failed(DETAIL_INVALID_TOKEN)
        if token.expiry < now:
            del self.tokens[presented]
            raise auth_failed(DETAIL_INVALID_TOKEN)
        new_expiry = now + KNOX_TTL
        if new_expiry - token.expiry > KNOX_MIN_REFRESH:
            token.expiry = new_expiry  # knox writes the renewed expiry only past MIN_REFRESH_INTERVAL
        user = self.users.get(token.username)
        if user is None or not user.is_active:
            raise auth_failed("User inactive or deleted.")
        return Principal(user, "knox", token)


def client_ident(headers: Mapping[str, str], remote: str) -> str:
    """DRF ``get_ident`` with ``NUM_PROXIES = None``: the whole X-Forwarded-For, else the peer."""
    xff = headers.get("x-forwarded-for")
    return "".join(xff.split()) if xff else remote


def check_throttles(throttles: Iterable[Throttle], ident: str, now: float) -> None:
    waits = [t.wait(ident, now) for t in throttles if not t.allow(ident, now)]
    if waits:
        valid = [w for w in waits if w is not None]
        raise throttled(ceil(max(valid)) if valid else 1)


@dataclass(frozen=True)
class SimCredentials:
    """The deterministic credentials a simulator built from ``seed`` accepts."""

    api_key: str
    username: str
    password: str
    totp_username: str
    totp_password: str
    totp_secret: str


def credentials_for_seed(seed: int) -> SimCredentials:
    rng = random.Random(f"tacticalrmm-credentials:{seed}")
    alnum = string.ascii_uppercase + string.digits
    pw_chars = string.ascii_letters + string.digits
    return SimCredentials(
        api_key="".join(rng.choices(alnum, k=32)),
        username="tactical",
        password="".join(rng.choices(pw_chars, k=20)),
        totp_username="jdoe",
        totp_password="".join(rng.choices(pw_chars, k=20)),
        totp_secret="".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=32)),
    )


DEFAULT_CREDENTIALS = credentials_for_seed(1)
DEFAULT_API_KEY = DEFAULT_CREDENTIALS.api_key
API_KEY_USER = "api"


def default_users(creds: SimCredentials = DEFAULT_CREDENTIALS) -> list[TacticalUser]:
    """A superuser without TOTP and a superuser with TOTP, both able to sign in."""
    return [
        TacticalUser(creds.username, creds.password, is_superuser=True),
        TacticalUser(creds.totp_username, creds.totp_password, totp_secret=creds.totp_secret, is_superuser=True),
    ]
