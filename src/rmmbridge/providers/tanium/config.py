"""Tanium connection settings (reference/tanium.md §1): one host, one ``token-`` API token.

The Gateway (``/plugin/products/gateway/graphql``) and the Asset API (``/plugin/products/asset/v1``)
share the host and the token, so there is exactly one URL setting (never a second "Asset API URL").
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from rmmbridge.kit.urls import parse_base_url, refuse_insecure
from rmmbridge.providers.base import ProviderConfig

EMPTY_URL = "Enter the Tanium API host, e.g. https://example-api.cloud.tanium.com or your Tanium Server"
PREFIX_MESSAGE = (
    "The Tanium API token must start with 'token-': paste the whole token string shown by the Console "
    "(Administration → Permissions → API Tokens), including its token- prefix"
)
# Tanium Cloud console host (without -api): API calls there answer with a login page (§1.1).
_CLOUD_CONSOLE = re.compile(r"^([a-z0-9-]+)\.cloud\.tanium\.com$")
# Validation-context key the framework may set from the operator's RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS.
INSECURE_CONTEXT_KEY = "allow_insecure_provider_urls"  # kit.urls.INSECURE_POLICY_KEY

DEFAULT_OFFLINE_MINUTES = 30  # §5: TDS refresh cadence is unverified, so the online window is generous
DEFAULT_OVERDUE_MINUTES = 24 * 60


class NormalizedUrl(NamedTuple):
    url: str
    note: str | None  # shown to the admin when the host was rewritten


def normalize_instance_url_with_note(raw: object) -> NormalizedUrl:
    """§1.1: accept a pasted URL; keep scheme, host and port only; rewrite the Cloud console host.

    ``https://`` is assumed when no scheme is given; ``http://`` is kept here and refused (unless
    allowed) by :class:`TaniumConfig`. ``<customer>.cloud.tanium.com`` becomes
    ``<customer>-api.cloud.tanium.com`` (the console host answers API calls with a login page).
    Raises ``ValueError`` with the reason shown to the admin.
    """
    url = parse_base_url(raw, "Tanium", EMPTY_URL, credentials="the API token")
    host = url.host
    if not host:  # a host of only dots ("https://.")
        raise ValueError(f"The Tanium address has no host name. {EMPTY_URL}")
    note: str | None = None
    console = _CLOUD_CONSOLE.match(host)  # never matches an IP literal
    if console is not None and not console.group(1).endswith("-api"):
        api_host = f"{console.group(1)}-api.cloud.tanium.com"
        note = f"{host} is the Tanium Cloud console; rmmbridge uses its API host {api_host}"
        host = api_host
    netloc = host
    if url.port is not None and not (url.scheme == "https" and url.port == 443):
        netloc = f"{netloc}:{url.port}"
    return NormalizedUrl(f"{url.scheme}://{netloc}", note)


def normalize_instance_url(raw: object) -> str:
    return normalize_instance_url_with_note(raw).url


def check_token(raw: object) -> str:
    """§1.2: trimmed, starts with ``token-`` (case-insensitive), no whitespace; nothing more is checked."""
    if isinstance(raw, SecretStr):
        raw = raw.get_secret_value()
    if raw is None or not isinstance(raw, str) or not raw.strip():
        raise ValueError("Enter the Tanium API token (it starts with 'token-')")
    token = raw.strip()
    if not token.lower().startswith("token-") or len(token) <= len("token-"):
        raise ValueError(PREFIX_MESSAGE)
    if any(c.isspace() for c in token):
        raise ValueError("The Tanium API token contains spaces or line breaks; paste it again as one piece")
    return token


class TaniumConfig(ProviderConfig):
    """How to reach one Tanium deployment (Cloud ``-api`` host or on-prem Tanium Server) and what to sync."""

    # Declared before instance_url so its validator can see it.
    allow_insecure_url: bool = Field(
        default=False, description="Allow an http:// address (the API token would travel in clear)."
    )
    instance_url: str = Field(description="Tanium API host: https://<customer>-api.cloud.tanium.com or on-prem.")
    api_token: SecretStr = Field(
        description="API token (token-…), sent as the `session` header.",
        # What ``check_token`` accepts, as the request schema states it (printable ASCII, no spaces).
        json_schema_extra={"pattern": r"^token-[!-~]+$"},
    )
    page_size: int = Field(default=500, ge=1, le=5000, description="Endpoints per Gateway page (no applications).")
    software_page_size: int = Field(
        default=100, ge=1, le=1000, description="Endpoints per page when installed applications are requested."
    )
    membership_page_size: int = Field(
        default=1000, ge=1, le=5000, description="Endpoint ids per page for the group-membership pass."
    )
    offline_after_minutes: int = Field(
        default=DEFAULT_OFFLINE_MINUTES,
        ge=1,
        le=7 * 24 * 60,
        description="Offline when eidLastSeen is older than this (Tanium has no online flag).",
    )
    overdue_after_minutes: int = Field(
        default=DEFAULT_OVERDUE_MINUTES,
        ge=1,
        le=365 * 24 * 60,
        description="Overdue when eidLastSeen is older than this.",
    )
    asset_api_fallback: bool = Field(
        default=False,
        description="Use the Tanium Asset API for mapped groups whose endpoints aged out of the Gateway.",
    )
    include_software: bool = Field(default=True, description="Import installed applications.")
    enrich_vitals: bool = Field(
        default=True,
        description="Also read WAN IP (Discover module) and uptime (Last Reboot sensor); best effort, two more walks.",
    )
    group_priorities: dict[str, int] = Field(
        default_factory=dict,
        description="Owner priority per computer group id (lower wins) for endpoints in several mapped groups.",
    )
    exclude_owned_server_side: bool = Field(
        default=True,
        description="Ask the Gateway to leave out endpoints owned by a higher-priority group (compound filter).",
    )
    rotate_token_automatically: bool = Field(
        default=False,
        description="Rotate the API token (daily check) when it nears expiry; the new token replaces the stored one.",
    )
    rotate_days_before_expiry: float = Field(
        default=3.0, ge=0.5, le=30, description="Rotate when fewer than this many days of the token's life remain."
    )
    request_timeout_s: float = Field(default=60.0, gt=0, le=600, description="Read timeout per request.")
    max_concurrent_requests: int = Field(default=2, ge=1, le=4, description="Gateway requests in flight at once.")

    @field_validator("instance_url", mode="before")
    @classmethod
    def _normalize_url(cls, value: object, info: ValidationInfo) -> str:
        url = normalize_instance_url(value)
        # The operator's policy (the validation context) wins; then this integration's own opt-in.
        refuse_insecure(
            url, info.context, bool(info.data.get("allow_insecure_url")), what="the Tanium API token"
        )
        return url

    @field_validator("api_token", mode="before")
    @classmethod
    def _check_token(cls, value: object) -> str:
        return check_token(value)

    @field_validator("group_priorities", mode="before")
    @classmethod
    def _priorities(cls, value: object) -> object:
        if value is None:
            return {}
        if isinstance(value, dict):
            return {str(k).strip(): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _thresholds(self) -> TaniumConfig:
        if self.overdue_after_minutes <= self.offline_after_minutes:
            raise ValueError("overdue_after_minutes must be longer than offline_after_minutes")
        return self

    @property
    def offline_after_s(self) -> int:
        return self.offline_after_minutes * 60

    @property
    def overdue_after_s(self) -> int:
        return self.overdue_after_minutes * 60
