"""Tactical RMM connection settings and the base-URL normalisation of reference §1.2."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from rmmbridge.kit.urls import parse_base_url, refuse_insecure
from rmmbridge.providers.base import ProviderConfig

EMPTY_URL = "Enter the Tactical API address, e.g. https://api.example.com"
# Path suffixes admins paste from Tactical's docs or their browser; never part of the API base.
_STRIP_SUFFIXES = ("/beta/v1", "/beta", "/api")
# Validation-context key the framework may set from the operator's RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS.
INSECURE_CONTEXT_KEY = "allow_insecure_provider_urls"  # kit.urls.INSECURE_POLICY_KEY


def normalize_instance_url(raw: object) -> str:
    """Reference §1.2: one canonical base URL; every request URL is ``base + "/path/"``.

    ``https://`` is assumed when no scheme is given; ``http://`` is kept here and refused (unless
    allowed) by :class:`TacticalConfig`. Raises ``ValueError`` with the reason shown to the admin.
    """
    url = parse_base_url(raw, "Tactical", EMPTY_URL, credentials="credentials")
    netloc = url.host if url.port is None else f"{url.host}:{url.port}"
    path = url.path
    changed = True
    while changed:
        changed = False
        for suffix in _STRIP_SUFFIXES:
            if path.lower().endswith(suffix):
                path = path[: -len(suffix)].rstrip("/")
                changed = True
    return f"{url.scheme}://{netloc}{path}"


class TacticalConfig(ProviderConfig):
    """How to reach and sign in to one Tactical RMM server.

    API-key mode is the robust unattended mode (keys are not throttled, bypass 2FA and never need a
    sign-in). Password mode signs in through Knox: for a user *without* 2FA the password is stored so
    rmmbridge can sign in again when the token dies; a user *with* 2FA must enter a code whenever the
    token has died (it lives 5 h after its last use; rmmbridge keeps it alive while active).
    """

    # What each auth mode needs (checked by ``_check``); the framework names them when missing.
    auth_mode_fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "api_key": ("api_key",),
        "password": ("username", "password"),
    }

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
    # Tactical's few uWSGI workers also serve the MSP's own dashboard (reference §9): one request in
    # flight keeps a sync at the server's own serving time while leaving the other workers free;
    # up to 4 (Tactical's default worker count) shortens a sync at the dashboard's expense.
    concurrency: int = Field(
        default=1,
        ge=1,
        le=4,
        description="Requests in flight to this server at once (1 leaves Tactical's other workers to its "
        "dashboard; up to 4 makes syncs faster).",
    )

    @field_validator("instance_url", mode="before")
    @classmethod
    def _normalize_url(cls, value: object, info: ValidationInfo) -> str:
        url = normalize_instance_url(value)
        # The operator's policy (the validation context) wins; then this integration's own opt-in.
        refuse_insecure(
            url, info.context, bool(info.data.get("allow_insecure_url")), what="the Tactical credentials"
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
