"""The provider contract: what every RMM integration implements.

A provider is a class registered with :func:`rmmbridge.providers.registry.register_provider`.
It declares *what it can do* (``capabilities``) and *what it needs* (``config_model``), and
implements the methods of the capabilities it claims. The runner, API and UI only offer what a
provider declares.

Rules every provider follows:

- An instance is built per integration row for every use (:class:`ProviderContext` carries that
  row's configuration and secrets); never share an instance across tenants.
- Normalization is pure: raw payload in, :class:`DeviceSnapshot` out, no I/O.
- Listings never come back silently short: raise :class:`ProviderIncompleteError` (or another
  :class:`ProviderError`) when a walk cannot be proven complete.
- Errors say what the caller should do (see the error classes below).
"""

from __future__ import annotations

import asyncio
import hashlib
import operator
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import httpx
from pydantic import BaseModel, SecretStr


class Capability(StrEnum):
    connection_test = "connection_test"
    scope_sync = "scope_sync"
    device_sync = "device_sync"
    incremental_device_sync = "incremental_device_sync"
    device_refresh = "device_refresh"
    alert_webhook = "alert_webhook"
    alert_polling = "alert_polling"
    software_inventory = "software_inventory"
    # A cheap, frequent pass over every device of the mapped scopes that carries only what moves
    # (last seen, the RMM's own status verdict, health flags), so status stays the RMM's between
    # full device syncs. See Provider.iter_liveness_pages.
    liveness = "liveness"
    # Act on alerts in the RMM: resolve (and snooze, where the RMM has it). See Provider.resolve_alerts.
    alert_actions = "alert_actions"
    # Configure the RMM's alert webhook through its API. See Provider.provision_webhook.
    webhook_provisioning = "webhook_provisioning"


# Which capability each sync kind needs.
KIND_CAPABILITY: dict[str, Capability] = {
    "scopes": Capability.scope_sync,
    "devices": Capability.device_sync,
    "alerts": Capability.alert_polling,
    "software": Capability.software_inventory,
    "agent": Capability.device_refresh,
    "liveness": Capability.liveness,
}


# --------------------------------------------------------------------------- errors


class ProviderError(Exception):
    """Base of provider errors. ``message`` is shown to admins as is: make it actionable."""

    def __init__(self, message: str, *, cause: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause


class ProviderAuthError(ProviderError):
    """Credentials are wrong, expired or revoked: stop and show it; retrying will not help."""


class ProviderReauthRequired(ProviderAuthError):
    """The session can no longer be renewed unattended (e.g. a TOTP sign-in is needed)."""


class ProviderConfigError(ProviderError):
    """Wrong host, API disabled, missing permission: stop and show how to fix it."""


class ProviderRetriableError(ProviderError):
    """Timeouts, 429, 5xx: back off (``retry_after`` seconds when the server said) and retry."""

    def __init__(self, message: str, *, retry_after: float | None = None, cause: str | None = None) -> None:
        super().__init__(message, cause=cause)
        self.retry_after = retry_after


class ProviderIncompleteError(ProviderError):
    """A listing could not be proven complete (count changed, duplicates, short page walk)."""


class ProviderTotpRequired(ProviderError):
    """The server asks for a one-time code; the caller should prompt for it and retry."""


class InvalidRecord(Exception):
    """One remote record could not be normalized: skip it, count it, keep the cause."""

    def __init__(self, external_id: str | None, cause: str) -> None:
        super().__init__(f"{external_id or '?'}: {cause}")
        self.external_id = external_id
        self.cause = cause

    def __reduce__(self) -> tuple[Any, ...]:
        # Normalization runs in worker processes (kit.offload): rebuilt from the constructor's
        # arguments, not from ``args`` (the default, which this __init__ does not take).
        return (type(self), (self.external_id, self.cause), self.__dict__)


class DeviceActivity(InvalidRecord):
    """A webhook delivery that is not an alert but news about a device (created, changed, rebooted,
    software changed…): accepted without an alert; ``refresh`` asks for a single-device refresh.
    A subclass of :class:`InvalidRecord` so receivers that know nothing of it still refuse cleanly."""

    def __init__(self, external_id: str | None, cause: str, *, external_device_id: str | None = None,
                 refresh: bool = False, scope_sync: bool = False) -> None:
        super().__init__(external_id, cause)
        self.external_device_id = external_device_id
        self.refresh = refresh
        # The RMM's scopes changed (an organization created, renamed, deleted): sync them.
        self.scope_sync = scope_sync


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """(``iter_activity_pages``) One page of the RMM's activity history since a watermark: what the
    webhook would have delivered, parsed by the same rules. ``watermark`` is where the next
    backfill starts; the caller stores it only after the whole walk."""

    events: list[AlertEvent]
    activities: list[DeviceActivity]
    watermark: str


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One named preflight check of a connection test."""

    name: str
    ok: bool
    message: str
    fix: str | None = None
    warning: bool = False  # passed, but with something the admin should know


@dataclass(frozen=True, slots=True)
class RemoteScope:
    """An RMM organization / client / computer group that can be mapped to a PSA client."""

    external_id: str
    name: str
    kind: str = "organization"
    device_count: int | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Volume:
    device: str
    fstype: str | None = None
    total_bytes: int | None = None
    used_bytes: int | None = None
    free_bytes: int | None = None
    percent_used: int | None = None


@dataclass(frozen=True, slots=True)
class IdentityEvidence:
    """What says which physical machine a device is, as its RMM reports it (docs: providers/identity_evidence.py).

    A normalizer fills what its RMM has, raw (junk values are filtered by providers/identity_junk.py, not
    here), and leaves the rest ``None``/empty:

    - ``hardware_uuid``: the SMBIOS system UUID (Win32_ComputerSystemProduct.UUID, dmidecode
      system-uuid, Tanium systemUUID) — strong evidence;
    - ``serial_number`` + ``manufacturer``: the system/BIOS serial and the system vendor — strong;
    - ``macs``: MAC addresses of *physical* adapters only: drop adapters whose name says virtual,
      VPN/TAP, Bluetooth PAN, Hyper-V/VMware/VirtualBox/Docker/WSL (identity_junk.is_virtual_adapter)
      when the RMM names adapters — weak;
    - ``hostname`` and ``domain`` (AD/DNS domain; not "WORKGROUP") — weak;
    - ``os_install_id``: an id of this OS installation when the RMM has one (Windows MachineGuid,
      /etc/machine-id) — weak (cloned images share it).

    ``DeviceSnapshot.identity = None`` means "derive it from the snapshot's own fields"
    (hardware_uuid, serial_number, manufacturer, mac_addresses, name, domain).
    """

    hardware_uuid: str | None = None
    serial_number: str | None = None
    manufacturer: str | None = None
    macs: tuple[str, ...] = ()
    hostname: str | None = None
    domain: str | None = None
    os_install_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceSnapshot:
    """A device as the RMM reports it, normalized. Every provider produces exactly this.

    ``realm_id`` is the scope (RMM client / organization / group) the device belongs to now;
    ``external_ref`` a second remote key some APIs need (Tactical's integer pk).
    Status inputs: ``last_seen_at`` plus ``offline_after_s`` / ``overdue_after_s``, the agent's
    own thresholds — status is always computed from them, never stored as truth.
    ``reported`` names the fields a partial record actually carries (sorted); the others keep
    their stored values — an absent field is "no change", not "empty". ``None``: every field.
    """

    external_id: str
    realm_id: str
    name: str
    asset_type: str  # workstation | server
    external_ref: str | None = None
    site_id: str | None = None
    site_name: str | None = None
    serial_number: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    hardware_uuid: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    platform: str | None = None
    architecture: str | None = None
    cpu_model: str | None = None
    cpu_cores: int | None = None
    cpu_threads: int | None = None
    ram_bytes: int | None = None
    volumes: tuple[Volume, ...] = ()
    physical_disks: tuple[str, ...] = ()
    gpu: str | None = None
    domain: str | None = None
    agent_version: str | None = None
    current_user: str | None = None
    last_user: str | None = None
    boot_time: datetime | None = None
    lan_ips: tuple[str, ...] = ()
    primary_ip: str | None = None
    wan_ip: str | None = None
    mac_addresses: tuple[str, ...] = ()
    needs_reboot: bool | None = None
    patches_last_installed_at: datetime | None = None
    last_seen_at: datetime | None = None
    offline_after_s: int | None = None
    overdue_after_s: int | None = None
    reported: tuple[str, ...] | None = None
    # Identity evidence for cross-RMM correlation (IdentityEvidence above); None: from the fields.
    identity: IdentityEvidence | None = None

    # Digest of every field above, made where the snapshot is made: for big pages that is a decode
    # worker process (kit/offload.py), so the one writer does not repr every snapshot again (it was
    # a tenth of the writer's CPU). Not a field of the content: no part of equality, repr or hash.
    content_digest: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = _snapshot_values(self)  # the same tuple as reading each field, built in C
        object.__setattr__(self, "content_digest", hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest())

    def content_hash(self, salt: str = "") -> str:
        """Digest of every field (and ``salt``): equal digests mean nothing to write."""
        return hashlib.blake2b(f"{salt}|{self.content_digest}".encode(), digest_size=16).hexdigest()

    # Pickled as a plain tuple of its values (snapshots cross from the decode workers by the
    # thousand): the dataclass default calls ``fields()`` for every snapshot, both ways.
    def __getstate__(self) -> tuple[Any, ...]:
        return _all_values(self)  # type: ignore[no-any-return]

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(_ALL_FIELDS, state, strict=True):
            object.__setattr__(self, name, value)


_ALL_FIELDS = tuple(f.name for f in fields(DeviceSnapshot))
_all_values = operator.attrgetter(*_ALL_FIELDS)
_SNAPSHOT_FIELDS = tuple(f.name for f in fields(DeviceSnapshot) if f.init)
_snapshot_values = operator.attrgetter(*_SNAPSHOT_FIELDS)
# What a partial snapshot can report (DeviceSnapshot.reported names a subset of these).
REPORTABLE_FIELDS = frozenset(_SNAPSHOT_FIELDS) - {"reported"}


@dataclass(frozen=True, slots=True)
class DevicePage:
    """One page of a device listing: the snapshots and the records that failed to normalize."""

    snapshots: list[DeviceSnapshot]
    invalid: list[InvalidRecord] = field(default_factory=list)
    total: int | None = None  # the server's total for the whole listing, when it says


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """Device health as the RMM judges it; ``None`` means "this RMM does not say"."""

    checks_failing: int | None = None
    checks_warning: int | None = None
    needs_reboot: bool | None = None
    patches_pending: bool | None = None
    maintenance_mode: bool | None = None
    pending_actions: int | None = None


@dataclass(frozen=True, slots=True)
class LivenessRecord:
    """What a liveness pass learns about one device: only the fields that move between syncs.

    ``rmm_status`` is the RMM's own verdict at observation time (online | offline | overdue) when
    the source gives one; ``last_seen_at`` plus the thresholds let rmmbridge apply the same rule
    later without asking again. ``hints`` carries what :meth:`Provider.fetch_unknown_device`
    needs to find a device the pass sees for the first time (Tactical: hostname and client pk).
    """

    external_id: str
    realm_id: str
    last_seen_at: datetime | None
    rmm_status: str | None = None
    offline_after_s: int | None = None
    overdue_after_s: int | None = None
    current_user: str | None = None
    boot_time: datetime | None = None
    health: DeviceHealth | None = None
    hints: Mapping[str, str] = field(default_factory=dict)
    # Which of the optional observations (``current_user``, ``boot_time``, ``health``) this source
    # carries; the others keep their stored values — absent is "no change", not "empty". ``None``:
    # all of them (Tactical's table rows); ``()``: status inputs only (Tanium's id + eidLastSeen).
    reported: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class LivenessPage:
    """One page of a liveness pass; ``requests`` counts the HTTP requests it cost the RMM."""

    records: list[LivenessRecord]
    invalid: list[InvalidRecord] = field(default_factory=list)
    requests: int = 1


@dataclass(frozen=True, slots=True)
class DeviceIdChanges:
    """Devices the RMM gave a new id since a watermark, oldest first."""

    changes: list[tuple[str, str]]  # (old external id, new external id)
    watermark: str  # opaque to the core: handed back as ``since`` on the next sync


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An alert raised (or resolved) against a device."""

    external_alert_id: str
    external_device_id: str | None
    severity: str  # info | warning | error | critical
    status: str  # active | resolved
    alert_type: str | None = None
    message: str | None = None
    raised_at: datetime | None = None
    resolved_at: datetime | None = None
    device_ref: str | None = None  # e.g. Tactical's integer pk, for the follow-up refresh
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SoftwareItem:
    name: str
    publisher: str = ""
    version: str | None = None
    install_date: datetime | None = None
    size_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class DeviceSoftware:
    """The complete software list of one device (an empty list means "nothing installed")."""

    external_id: str | None
    software: list[SoftwareItem]
    external_ref: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """Where and how an RMM must deliver alerts to rmmbridge, for :meth:`Provider.provision_webhook`.

    ``label`` is short and unique per integration (names of what is created in the RMM carry it,
    so two integrations on one RMM server never touch each other's configuration);
    ``scope_ids`` are the mapped RMM scopes (alert templates applying to them are attached);
    ``template_ids`` the RMM alert templates the admin picked (``None``: the provider's default).
    """

    url: str
    header: str
    secret: str
    label: str
    scope_ids: tuple[str, ...] = ()
    template_ids: tuple[str, ...] | None = None
    test_device_id: str | None = None  # a device to send the test alert for (a mapped one)


@dataclass(frozen=True, slots=True)
class AlertTemplateChoice:
    """One RMM alert template the admin may attach rmmbridge's webhook to (the provisioning picker).

    ``applies_to``: the mapped scopes (``WebhookTarget.scope_ids``) it applies to, ``None`` when the
    RMM did not say; ``in_default``: part of the default choice (active and applying to a mapped
    scope); ``action``: the failure action it runs now (``""``: none); ``ours``: that action is
    rmmbridge's own."""

    id: str
    name: str
    active: bool
    default: bool
    applies_to: tuple[str, ...] | None
    in_default: bool
    action: str = ""
    ours: bool = False

    @property
    def replaces(self) -> bool:
        """Attaching replaces another failure action (a template runs one)."""
        return bool(self.action) and not self.ours

    @property
    def preselected(self) -> bool:
        """Ticked in the picker: the default choice, less templates whose own action attaching would
        replace (the default provisioning skips those too; the admin may tick them)."""
        return self.in_default and not self.replaces


@dataclass(frozen=True, slots=True)
class ProvisionStep:
    """One thing provisioning did (or could not do) in the RMM."""

    item: str  # e.g. "key store entry RMMB_WH_0123", "URL action …", "alert template Default"
    outcome: str  # created | updated | unchanged | removed | skipped | failed
    detail: str = ""
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class ProvisionReport:
    steps: list[ProvisionStep]
    test_delivered: bool | None = None  # None: no test was sent
    test_detail: str | None = None

    @property
    def ok(self) -> bool:
        return all(s.outcome != "failed" for s in self.steps)


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    headers: Mapping[str, str]
    body: bytes


# --------------------------------------------------------------------------- context


class CredentialSession(Protocol):
    """Stored credentials of one integration, read and written while its lock is held."""

    async def read(self) -> dict[str, str]: ...

    async def write(self, values: dict[str, str]) -> None: ...


@dataclass
class ProviderContext:
    """Everything a provider instance may use, for exactly one integration row."""

    integration_id: uuid.UUID
    tenant_id: uuid.UUID
    settings: Mapping[str, Any]
    http: Callable[..., httpx.AsyncClient]
    now: Callable[[], datetime]
    # Persist renewed credentials (e.g. a refreshed session token) in the secret store.
    save_secrets: Callable[[dict[str, str]], Awaitable[None]]
    # The devices rmmbridge already maps under these scopes (crosswalk rows as dicts with
    # external_id, external_ref, realm_id, name, serial_number, last_seen_at). Providers whose
    # fallback sources carry no device ids (Tanium's Asset API) match against them.
    known_devices: Callable[[list[str]], Awaitable[list[dict[str, Any]]]] | None = None
    # How to wait between retries (the app's; tests pass one that does not really sleep).
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    # Read and replace this integration's stored credentials under a lock every process honours
    # (a database row lock on the integration): the one refresh path of rotating OAuth tokens.
    # ``None`` outside the service (contract harnesses): the provider falls back to an in-process lock.
    credential_lock: Callable[[], AbstractAsyncContextManager[CredentialSession]] | None = None


class ProviderConfig(BaseModel):
    """Base for a provider's configuration model. Secret fields are ``SecretStr``."""

    @classmethod
    def secret_fields(cls) -> set[str]:
        return {
            name
            for name, info in cls.model_fields.items()
            if info.annotation is SecretStr or info.annotation == (SecretStr | None)
        }


class Provider:
    """Base class of every provider. Override the methods of the capabilities you declare."""

    key: ClassVar[str]
    display_name: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]]
    config_model: ClassVar[type[ProviderConfig]]
    auth_modes: ClassVar[tuple[str, ...]] = ("default",)
    # Several integrations of one provider per tenant (two Tactical servers after an acquisition,
    # EU and US): each has its own name, credentials, mappings and webhook secret (issue #17).
    allows_multiple: ClassVar[bool] = True
    webhook_header: ClassVar[str | None] = None
    scope_label: ClassVar[str] = "Organization"

    def __init__(self, config: ProviderConfig, ctx: ProviderContext) -> None:
        self.config = config
        self.ctx = ctx

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    async def aclose(self) -> None:
        """Release connections; called after every use."""

    async def on_disconnect(self) -> None:
        """Revoke remote sessions (e.g. log out a login token) before credentials are deleted."""

    keep_alive_minutes: ClassVar[int | None] = None
    # Set by ``keep_alive`` for credentials with a fixed lifetime (a Tanium API token): the
    # scheduler stores it and the integration's card counts down to it.
    credentials_expire_at: datetime | None = None

    async def keep_alive(self) -> Any:
        """Keep a sliding login session alive (called every ``keep_alive_minutes`` while active).

        Raise :class:`ProviderReauthRequired` when the session can no longer be renewed unattended.
        """

    async def test_connection(self, *, totp_code: str | None = None) -> list[CheckResult]:
        """Named preflight checks in order, stopping at the first failure."""
        raise NotImplementedError

    async def list_scopes(self) -> list[RemoteScope]:
        """Every scope (RMM client / organization / group) the credentials can see."""
        raise NotImplementedError

    def iter_device_pages(self, scope: RemoteScope, *, since: datetime | None = None) -> AsyncIterator[DevicePage]:
        """Pages of the scope's devices. Raises (never truncates) when incomplete.

        ``since`` (with ``incremental_device_sync``) asks only for devices seen after it; such a
        listing is never a complete snapshot.
        """
        raise NotImplementedError

    async def fetch_device(self, external_id: str, external_ref: str | None = None) -> DeviceSnapshot | None:
        """One device, fresh from the RMM; ``None`` when it no longer exists."""
        raise NotImplementedError

    def iter_liveness_pages(self, scope: RemoteScope) -> AsyncIterator[LivenessPage]:
        """(``liveness``) Pages of every device of ``scope`` with only what moves: last seen, the
        RMM's own status, health. Must be far cheaper for the RMM than a device sync (it runs every
        minute); raises, never truncates, when the listing is incomplete."""
        raise NotImplementedError

    async def fetch_unknown_device(self, record: LivenessRecord) -> DeviceSnapshot | None:
        """(``liveness``) The full snapshot of a device a liveness pass saw but rmmbridge does not
        know yet, so a new agent appears within one pass. Default: :meth:`fetch_device` by id."""
        return await self.fetch_device(record.external_id)

    async def device_id_changes(self, since: str) -> DeviceIdChanges | None:
        """Devices re-keyed after ``since`` (the watermark this method returned last time, or the
        integration's creation time as ISO 8601 the first time). Called at the start of every
        device sync; ``None`` (the default) for RMMs whose device ids never change."""
        return None

    def iter_alerts(self) -> AsyncIterator[AlertEvent]:
        """Currently active alerts (never the whole history)."""
        raise NotImplementedError

    def iter_software(self) -> AsyncIterator[DeviceSoftware]:
        """Software inventory, one device at a time, with bounded memory."""
        raise NotImplementedError

    @classmethod
    def parse_webhook(cls, request: WebhookRequest) -> AlertEvent:
        """Parse one webhook delivery; raise ``InvalidRecord`` with the reason when it is bad.

        A classmethod: parsing is pure and must not need the integration's credentials (the
        receiver answers within the RMM's timeout without decrypting anything).
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ alert_actions

    async def resolve_alerts(self, external_alert_ids: list[str]) -> None:
        """(``alert_actions``) Resolve these alerts in the RMM, all or none; raise
        :class:`ProviderError` with the RMM's reason when it refuses. Resolving an alert the RMM
        already resolved is not an error."""
        raise NotImplementedError

    async def snooze_alert(self, external_alert_id: str, days: int) -> None:
        """(``alert_actions``) Snooze one alert for ``days`` days in the RMM (raise
        :class:`ProviderConfigError` where the RMM has no snooze)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ webhook_provisioning

    async def provision_webhook(self, target: WebhookTarget, *, send_test: bool = True) -> ProvisionReport:
        """(``webhook_provisioning``) Create or update, idempotently, everything the RMM needs to
        deliver alerts to ``target``; report each step, and failures (e.g. a missing permission:
        name it) as steps rather than exceptions where the rest can still be done."""
        raise NotImplementedError

    # Whether the RMM has alert templates to pick for provisioning (:meth:`alert_templates`).
    alert_template_picker: ClassVar[bool] = False

    async def alert_templates(self, target: WebhookTarget) -> list[AlertTemplateChoice]:
        """(``webhook_provisioning`` with ``alert_template_picker``) The RMM's alert templates, read
        live, each saying whether it applies to ``target.scope_ids`` and is in the default choice."""
        raise NotImplementedError

    async def send_test_webhook(self, target: WebhookTarget) -> tuple[bool, str]:
        """(``webhook_provisioning``) One test alert delivered *by the RMM* to ``target`` where it can
        (else a synthetic delivery of the same shape): (arrived and accepted, what happened)."""
        raise NotImplementedError

    async def update_webhook_secret(self, target: WebhookTarget) -> ProvisionReport:
        """(``webhook_provisioning``) The secret was rotated: store the new one in the RMM."""
        raise NotImplementedError

    async def remove_webhook(self, target: WebhookTarget) -> ProvisionReport:
        """(``webhook_provisioning``) Remove what :meth:`provision_webhook` created."""
        raise NotImplementedError

    async def webhook_hints(self, target: WebhookTarget, missed: list[AlertEvent]) -> list[str]:
        """(``webhook_provisioning``) Why these alerts (found by polling) never arrived by webhook,
        from what the RMM reports: one specific sentence per cause."""
        return []

    webhook_header_aliases: ClassVar[tuple[str, ...]] = ()
    # Where the admin keeps the secret on the RMM side when the templates only reference it (one
    # sentence for the setup steps); ``None`` when the templates need the revealed secret.
    webhook_secret_storage: ClassVar[str | None] = None
    # What a complete alert poll may resolve when an active alert is absent from it: "any" active
    # alert, or only "poll_seen" ones (ever listed by a poll). The latter for RMMs whose webhook
    # alert key may not be the polled key (NinjaOne §6.1/§6.3): a mismatch must not close every
    # webhook-created alert on the first poll.
    alert_poll_resolves: ClassVar[str] = "any"
    # Seconds the previous webhook secret is still accepted after a rotation; 0 = it stops at once
    # (the admin pastes the new one by hand). Providers that re-send the secret to the RMM
    # themselves (provision_webhook) set an overlap so deliveries in flight are not refused.
    webhook_secret_overlap_s: ClassVar[int] = 0

    @classmethod
    def webhook_templates(cls, webhook_url: str, secret: str | None = None) -> dict[str, str]:
        """Ready-to-paste templates for the RMM's webhook configuration, by name.

        With ``secret`` (an admin revealed it) the templates carry it; without, they reference it
        the RMM's own way (see ``webhook_secret_storage``) — never a placeholder to edit by hand.
        """
        return {}
