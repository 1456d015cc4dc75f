"""NinjaOne connection settings (reference/ninjaone.md §1, §2): a region (or a custom instance URL on a
NinjaOne host), the client app's id and secret, and which grant the integration uses.

The region key and the instance URL are stored together and replaced together: picking a region
always rewrites the URL (a stale URL of the previous region never survives a reconnect, §10.15).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from rmmbridge.providers.base import ProviderConfig

REGION_HOSTS: dict[str, str] = {
    "app": "app.ninjarmm.com",
    "us2": "us2.ninjarmm.com",
    "eu": "eu.ninjarmm.com",
    "ca": "ca.ninjarmm.com",
    "oc": "oc.ninjarmm.com",
    "fed": "fed.ninjarmm.com",
}
REGION_LABELS = {"app": "US (app)", "us2": "US2", "eu": "EU", "ca": "Canada", "oc": "Oceania (APAC)", "fed": "FED"}
ALLOWED_SUFFIXES = (".ninjarmm.com", ".ninjaone.com")
CUSTOM = "custom"
INSECURE_CONTEXT_KEY = "allow_insecure_provider_urls"


def _is_local(raw: object) -> bool:
    """A loopback URL (a simulator), accepted only when the operator allows insecure RMM URLs."""
    host = (urlsplit(str(raw or "").strip()).hostname or "").lower()
    return host in ("127.0.0.1", "localhost", "::1")


Region = Literal["app", "us2", "eu", "ca", "oc", "fed", "custom"]
AuthMode = Literal["client_credentials", "authorization_code"]


def normalize_custom_url(raw: object) -> str:
    """A custom instance URL: https, a host ending in .ninjarmm.com or .ninjaone.com, no path."""
    text = str(raw or "").strip()
    if not text:
        raise ValueError("Enter the NinjaOne instance URL, e.g. https://eu.ninjarmm.com (or pick a region)")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme != "https":
        raise ValueError("The NinjaOne instance URL must use https://")
    if not host.endswith(ALLOWED_SUFFIXES):
        raise ValueError(f"{host or text} is not a NinjaOne host: it must end in .ninjarmm.com or .ninjaone.com")
    if parts.username or parts.password:
        raise ValueError("The instance URL must not contain credentials")
    port = f":{parts.port}" if parts.port and parts.port != 443 else ""
    return f"https://{host}{port}"


class NinjaOneConfig(ProviderConfig):
    """One NinjaOne client app on one instance."""

    region: Region = Field(
        default="app",
        description="The NinjaOne instance the account lives on (app = US).",
        json_schema_extra={"ui": "basic"},
    )
    instance_url: str | None = Field(
        default=None,
        description="Only with region 'custom': https://<host>.ninjarmm.com or .ninjaone.com.",
        json_schema_extra={"ui": "basic"},
    )
    auth_mode: AuthMode = Field(default="client_credentials", description="Grant used to obtain tokens.")
    client_id: str = Field(min_length=4, max_length=200, description="Client ID of the NinjaOne API client app.")
    client_secret: SecretStr = Field(description="Client secret of the NinjaOne API client app.")
    page_size: int = Field(default=500, ge=10, le=1000, description="Rows per page of device lists.")
    software_page_size: int = Field(default=1000, ge=10, le=10000, description="Rows per software report page.")
    enable_remote_actions: bool = Field(default=False, description="Request the 'control' scope (remote actions).")
    receive_all_activities: bool = Field(
        default=False, description="Webhook without an activity filter (everything is filtered locally)."
    )
    missing_ratio_guard: float = Field(
        json_schema_extra={"ui": "advanced"},
        default=0.5,
        ge=0.0,
        le=1.0,
        description="A walk listing fewer than this share of the devices known in an organization is treated as "
        "incomplete (nothing goes missing). Set to 0 once to accept a real large removal.",
    )
    overdue_after_minutes: int = Field(default=24 * 60, ge=5, le=365 * 24 * 60, description="Offline → overdue.")
    request_timeout_s: int = Field(
        json_schema_extra={"ui": "advanced"},
        default=90,
        ge=1,
        le=600,
        description="Longest wait for one NinjaOne answer, start to end; a request that stalls past it is "
        "retried, then the run stops (nothing is marked missing).",
    )

    @field_validator("instance_url")
    @classmethod
    def _custom_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        # On the field, so a URL that is wrong in itself is reported under instance_url (422), while
        # a custom region still lacking its URL is the model's (an incomplete configuration).
        if value is None or info.data.get("region") != CUSTOM:
            return value
        context = info.context if isinstance(info.context, dict) else {}
        if context.get(INSECURE_CONTEXT_KEY) and _is_local(value):
            # The operator allows insecure RMM URLs (simulators on loopback): any http(s) URL, path kept.
            return str(value).strip().rstrip("/")
        return normalize_custom_url(value)

    @model_validator(mode="after")
    def _instance(self) -> NinjaOneConfig:
        if self.region == CUSTOM:
            if not self.instance_url:
                normalize_custom_url(self.instance_url)  # raises: the custom region needs its URL
        else:
            self.instance_url = f"https://{REGION_HOSTS[self.region]}"  # region and URL always agree
        self.client_id = self.client_id.strip()
        return self

    @property
    def base_url(self) -> str:
        assert self.instance_url is not None
        return self.instance_url

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or self.base_url

    def scopes(self, *, writes: bool = True) -> list[str]:
        """Least privilege from the enabled features (§2.7): monitoring for every read, management for
        webhook configuration and alert reset, control only with remote actions; offline_access only
        with the authorization-code grant (never with client credentials, §2.3)."""
        wanted = ["monitoring"]
        if writes:
            wanted.append("management")
        if self.enable_remote_actions:
            wanted.append("control")
        if self.auth_mode == "authorization_code":
            wanted.append("offline_access")
        return wanted
