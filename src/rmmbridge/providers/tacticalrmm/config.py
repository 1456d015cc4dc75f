"""Tactical RMM connection settings and the base-URL normalisation of reference §1.2."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from rmmbridge.providers.base import ProviderConfig

EMPTY_URL = "Enter the Tactical API address, e.g. https://api.example.com"
# Path suffixes admins paste from Tactical's docs or their browser; never part of the API base.
_STRIP_SUFFIXES = ("/beta/v1", "/beta", "/api")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_ALWAYS_BLOCKED = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("100.100.100.200/32"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)
_BLOCKED_NAMES = {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
# Validation-context key the framework may set from the operator's RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS.
INSECURE_CONTEXT_KEY = "allow_insecure_provider_urls"


def _idna(host: str) -> str:
    try:
        import idna

        return idna.encode(host, uts46=True).decode("ascii")
    except Exception:
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{host!r} is not a valid host name") from None


def normalize_instance_url(raw: object) -> str:
    """Reference §1.2: one canonical base URL; every request URL is ``base + "/path/"``.

    ``https://`` is assumed when no scheme is given; ``http://`` is kept here and refused (unless
    allowed) by :class:`TacticalConfig`. Raises ``ValueError`` with the reason shown to the admin.
    """
    if raw is None or not isinstance(raw, str) or not raw.strip():
        raise ValueError(EMPTY_URL)
    text = raw.strip()
    match = _SCHEME.match(text)
    if match is None:
        if "://" in text or text.startswith("//"):
            raise ValueError("The Tactical address must start with https://")
        text = "https://" + text
    scheme = (match.group(1) if match else "https").lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"The Tactical address must start with https:// (not {scheme}://)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"The Tactical address is not a valid URL: {exc}") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("Remove the user name and password from the Tactical address; enter credentials separately")
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"The Tactical address has no host name. {EMPTY_URL}")
    host = host.rstrip(".").lower()
    literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None:
        if any(c.isspace() for c in host) or "/" in host or "\\" in host:
            raise ValueError(f"{host!r} is not a valid host name")
        host = _idna(host)
        if host in _BLOCKED_NAMES:
            raise ValueError(f"{host} is a cloud metadata host, not a Tactical server")
        netloc = host
    else:
        if any(literal in net for net in _ALWAYS_BLOCKED) or literal.is_multicast or literal.is_unspecified:
            raise ValueError(f"{host} is a link-local or metadata address, not a Tactical server")
        netloc = f"[{literal.compressed}]" if literal.version == 6 else literal.compressed
    if port is not None:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    changed = True
    while changed:
        changed = False
        for suffix in _STRIP_SUFFIXES:
            if path.lower().endswith(suffix):
                path = path[: -len(suffix)].rstrip("/")
                changed = True
    return f"{scheme}://{netloc}{path}"


class TacticalConfig(ProviderConfig):
    """How to reach and sign in to one Tactical RMM server.

    API-key mode is the robust unattended mode (keys are not throttled, bypass 2FA and never need a
    sign-in). Password mode signs in through Knox: for a user *without* 2FA the password is stored so
    rmmbridge can sign in again when the token dies; a user *with* 2FA must enter a code whenever the
    token has died (it lives 5 h after its last use; rmmbridge keeps it alive while active).
    """

    # Declared before instance_url so its validator can see it.
    allow_insecure_url: bool = Field(
        default=False, description="Allow an http:// address (credentials would travel in clear)."
    )
    instance_url: str = Field(description="The Tactical API address, e.g. https://api.example.com")
    auth_mode: Literal["api_key", "password"] = Field(
        default="api_key", description="api_key (recommended) or password (Knox sign-in)."
    )
    api_key: SecretStr | None = Field(default=None, description="Settings → Global Settings → API Keys.")
    username: str | None = Field(default=None, max_length=150)
    password: SecretStr | None = Field(
        default=None, description="Stored (encrypted) so rmmbridge can sign in again unattended."
    )
    token: SecretStr | None = Field(default=None, description="Knox session token (managed by rmmbridge).")
    token_expiry: str | None = Field(default=None, description="When the stored Knox token expires (ISO 8601).")
    page_size: int = Field(default=1000, ge=1, le=1000, description="Agents per page (Tactical caps at 1000).")
    concurrency: int = Field(default=4, ge=1, le=4, description="Concurrent page requests to this server.")

    @field_validator("instance_url", mode="before")
    @classmethod
    def _normalize_url(cls, value: object, info: ValidationInfo) -> str:
        url = normalize_instance_url(value)
        # When the framework validates, the operator's setting alone decides (a tenant admin must
        # not be able to opt out of https); the field only serves direct, context-free use.
        if isinstance(info.context, dict) and INSECURE_CONTEXT_KEY in info.context:
            insecure_ok = bool(info.context[INSECURE_CONTEXT_KEY])
        else:
            insecure_ok = bool(info.data.get("allow_insecure_url"))
        if url.startswith("http://") and not insecure_ok:
            raise ValueError(
                "http:// would send the Tactical credentials in clear; use the https:// address "
                "(or have the operator allow insecure RMM URLs)"
            )
        return url

    @field_validator("username", mode="before")
    @classmethod
    def _strip_username(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _strip_key(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @model_validator(mode="after")
    def _check(self) -> TacticalConfig:
        if self.auth_mode == "api_key":
            if self.api_key is None or not self.api_key.get_secret_value():
                raise ValueError("Enter the Tactical API key (Settings → Global Settings → API Keys)")
        else:
            if not self.username:
                raise ValueError("Enter the Tactical user name for password sign-in")
            if self.password is None or not self.password.get_secret_value():
                raise ValueError("Enter the Tactical user's password for password sign-in")
        return self
