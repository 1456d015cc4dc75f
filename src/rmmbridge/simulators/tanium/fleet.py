"""A deterministic Tanium fleet: computer groups, Gateway endpoints, aged-out endpoints and Asset-only
records.

One :class:`TaniumFleet` is the ground truth both simulated APIs read from. :func:`generate_fleet` builds it
from a seed (``random.Random(seed)`` only, so the same arguments give the same fleet, byte for byte); the
mutation helpers let a test change it between requests the way an admin or time would change a real Tanium
(move an endpoint between groups, age it out of TDS, re-key its EID, freeze its last-seen time …).

Memory is kept small on purpose: installed applications are not stored but regenerated from a per-endpoint
seed when a response asks for them, and catalog strings are shared, so 20 000 endpoints cost tens of
megabytes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

from rmmbridge.simulators.tanium import catalog
from rmmbridge.simulators.tanium.catalog import AppTemplate, HardwareModel, OsProfile

Role = Literal["win_ws", "win_srv", "mac", "linux_srv", "linux_laptop", "unix", "unknown"]
GroupType = Literal["MANUAL", "STANDARD"]
ExpectedStatus = Literal["online", "offline", "overdue", "unknown"]

ROLES: tuple[Role, ...] = ("win_ws", "win_srv", "mac", "linux_srv", "linux_laptop", "unix", "unknown")
_ROLE_WEIGHTS = (58, 15, 10, 10, 4, 1.5, 1.5)
SERVER_ROLES: frozenset[Role] = frozenset({"win_srv", "linux_srv", "unix"})

ALL_COMPUTERS_ID = "1"
ALL_WINDOWS_ID = "2"
ALL_LINUX_ID = "3"
ALL_MAC_ID = "4"
_OS_GROUP_BY_PLATFORM = {"Windows": ALL_WINDOWS_ID, "Linux": ALL_LINUX_ID, "Mac": ALL_MAC_ID}


class Disk(NamedTuple):
    """One ``disks[]`` entry as the Gateway reports it, plus byte sizes for the Asset API."""

    name: str
    total: str
    free: str
    used_percentage: str
    size_bytes: int | None
    free_bytes: int | None


class IdChange(NamedTuple):
    """One ``endpointIdChanges`` entry: at ``at`` the endpoint ``old_id`` became ``new_id``."""

    at: datetime
    old_id: str
    new_id: str


@dataclass
class ComputerGroup:
    id: str
    name: str
    type: GroupType
    expression: str
    filter_enabled: bool
    management_rights_enabled: bool
    content_set: tuple[str, str] | None = ("3", "Default")


@dataclass(slots=True, eq=False)
class Endpoint:
    """One machine as Tanium knows it.

    ``eid`` is empty for Asset-only (imported) records, which never had Gateway history. ``online_phase_s`` is
    set for endpoints that are connected: their ``eidLastSeen`` advances every registration interval on the
    simulator clock. Otherwise ``last_seen`` is frozen (``None`` = no value at all). ``asset_id`` is the Asset
    API row id, or ``None`` when the Asset module has no row for it.
    """

    eid: str
    asset_id: int | None
    role: Role
    customer: int | None
    name: str
    computer_id: str
    system_uuid: str
    serial_number: str
    manufacturer: str
    model: str
    chassis_type: str
    domain_name: str
    is_virtual: bool
    os: OsProfile
    ip_address: str
    ip_addresses: list[str]
    mac_addresses: list[str]
    last_logged_in_user: str
    primary_user_name: str
    primary_user_email: str
    memory_total: str
    ram_bytes: int | None
    cpu: str
    cpu_speed: str
    logical_processors: int
    cpu_cores: int
    disks: list[Disk]
    first_seen: datetime
    last_seen: datetime | None
    online_phase_s: int | None
    fractional_times: bool
    last_reboot: datetime
    nat_ip: str
    app_seed: int
    app_count: int
    groups: set[str] = field(default_factory=set)
    # (name, version) pairs uninstalled through the control API: no longer listed.
    removed_apps: set[tuple[str, str]] = field(default_factory=set)

    @property
    def expected_type(self) -> str:
        """The asset type the OS rule of reference §4.5 must yield for this endpoint."""
        if self.role in SERVER_ROLES:
            return "server"
        if self.role == "unknown":
            return "unknown"
        return "workstation"


@dataclass
class TaniumFleet:
    """Ground truth for the Tanium simulator. Dicts keep insertion order, which is the API's stable order."""

    seed: int
    generated_at: datetime
    registration_interval_s: int = 300
    groups: dict[str, ComputerGroup] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)  # visible in the Gateway, by EID
    aged_out: dict[str, Endpoint] = field(default_factory=dict)  # gone from TDS, still an Asset row
    asset_only: list[Endpoint] = field(default_factory=list)  # imported Asset rows, no Gateway history
    id_changes: list[IdChange] = field(default_factory=list)
    assets: dict[int, Endpoint] = field(default_factory=dict)  # Asset API rows by asset id (ascending)
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _next_eid: int = 0
    _next_asset_id: int = 0
    _next_group_id: int = 0
    _used_computer_ids: set[str] = field(default_factory=set, repr=False)
    customer_group_ids: list[str] = field(default_factory=list)  # index = customer number
    servers_group_ids: dict[int, str] = field(default_factory=dict)  # customer number -> "<name> - Servers"
    manual_group_id: str | None = None

    # ---- reads ---------------------------------------------------------------------------------------------

    def eid_last_seen(self, ep: Endpoint, now: datetime) -> datetime | None:
        """``eidLastSeen`` at ``now``: the last registration if connected, else the frozen value."""
        if ep.online_phase_s is None:
            return ep.last_seen
        interval = self.registration_interval_s
        ts = now.timestamp()
        since = (ts - ep.online_phase_s) % interval
        return now - timedelta(seconds=since)

    def expected_status(
        self,
        ep: Endpoint,
        now: datetime,
        online_window: timedelta = timedelta(minutes=30),
        overdue_after: timedelta = timedelta(hours=24),
    ) -> ExpectedStatus:
        """The agent status of reference §5 for this endpoint at ``now`` (for tests and the state summary)."""
        seen = self.eid_last_seen(ep, now)
        if seen is None or seen > now + timedelta(minutes=5):
            return "unknown"
        age = now - seen
        if age <= online_window:
            return "online"
        return "offline" if age <= overdue_after else "overdue"

    def group_members(self, group_id: str) -> list[str]:
        """EIDs of the Gateway endpoints in a group, in API order."""
        return [eid for eid, ep in self.endpoints.items() if group_id in ep.groups]

    def group_by_name(self, name: str) -> ComputerGroup | None:
        return next((g for g in self.groups.values() if g.name == name), None)

    def overlapping_endpoints(self) -> list[str]:
        """EIDs in more than one non-built-in group (the case the owner rule of §3.3 exists for)."""
        return [eid for eid, ep in self.endpoints.items() if len(ep.groups - _BUILTIN_IDS) > 1]

    def asset_rows(self, minimum_id: int) -> Iterator[Endpoint]:
        """Asset rows with ``asset_id >= minimum_id`` in ascending id order."""
        for asset_id, ep in self.assets.items():
            if asset_id >= minimum_id:
                yield ep

    # ---- mutations -----------------------------------------------------------------------------------------

    def endpoint(self, eid: str) -> Endpoint:
        try:
            return self.endpoints[eid]
        except KeyError:
            raise KeyError(f"no Gateway endpoint with EID {eid!r}") from None

    def add_to_group(self, eid: str, group_id: str) -> None:
        self._require_group(group_id)
        self.endpoint(eid).groups.add(group_id)

    def remove_from_group(self, eid: str, group_id: str) -> None:
        self.endpoint(eid).groups.discard(group_id)

    def move_endpoint(self, eid: str, to_group: str, from_group: str | None = None) -> None:
        """Move an endpoint into ``to_group``, out of ``from_group`` (default: its non-built-in groups)."""
        self._require_group(to_group)
        ep = self.endpoint(eid)
        if from_group is None:
            ep.groups -= ep.groups - _BUILTIN_IDS
        else:
            ep.groups.discard(from_group)
        ep.groups.add(to_group)

    def set_groups(self, eid: str, group_ids: Iterable[str]) -> None:
        """Replace an endpoint's non-built-in groups (built-in OS groups follow the OS, not an admin)."""
        wanted = {str(g) for g in group_ids}
        for gid in wanted:
            self._require_group(gid)
        ep = self.endpoint(eid)
        ep.groups = (ep.groups & _BUILTIN_IDS) | wanted

    def remove_endpoint(self, eid: str, *, keep_asset: bool = True) -> Endpoint:
        """Drop an endpoint from the Gateway; with ``keep_asset`` its Asset row stays (aged out)."""
        ep = self.endpoints.pop(eid)
        if keep_asset and ep.asset_id is not None:
            ep.online_phase_s = None
            ep.last_seen = ep.last_seen or self.generated_at
            self.aged_out[eid] = ep
        elif ep.asset_id is not None:
            self.assets.pop(ep.asset_id, None)
        return ep

    def age_out(self, eid: str, *, last_seen: datetime | None = None) -> Endpoint:
        """Age an endpoint out of TDS: gone from ``endpoints``, still a row of the Asset API."""
        ep = self.endpoint(eid)
        ep.online_phase_s = None
        ep.last_seen = last_seen or (self.generated_at - timedelta(days=90))
        return self.remove_endpoint(eid, keep_asset=True)

    def set_last_seen(self, eid: str, when: datetime | None) -> None:
        """Freeze ``eidLastSeen`` at ``when`` (``None``: no value); the endpoint stops registering."""
        ep = self.endpoint(eid)
        ep.online_phase_s = None
        ep.last_seen = when.astimezone(UTC) if when is not None else None

    def set_online(self, eid: str) -> None:
        """Make an endpoint register every interval again."""
        self.endpoint(eid).online_phase_s = self._rng.randrange(self.registration_interval_s)

    def check_in(self, now: datetime, eids: Iterable[str] | None = None) -> int:
        """Connected endpoints (all, or those of ``eids``) register at ``now``, then every interval
        from there; frozen (offline) endpoints do not. Returns how many registered."""
        interval = self.registration_interval_s
        phase = int(now.timestamp()) % interval
        chosen = self.endpoints.values() if eids is None else (self.endpoint(str(e)) for e in eids)
        count = 0
        for ep in chosen:
            if ep.online_phase_s is not None:
                ep.online_phase_s = phase
                count += 1
        return count

    def rekey_endpoint(self, eid: str, at: datetime | None = None) -> str:
        """Give an endpoint a new EID (re-registration / merge) and record it for ``endpointIdChanges``."""
        ep = self.endpoints.pop(eid)
        ep.eid = self._new_eid()
        self.endpoints[ep.eid] = ep
        self.id_changes.append(IdChange(at or self.generated_at, eid, ep.eid))
        self.id_changes.sort(key=lambda c: c.at)
        return ep.eid

    def add_group(self, name: str, *, type: GroupType = "STANDARD", expression: str = "") -> ComputerGroup:
        self._next_group_id += self._rng.randint(1, 9)
        group = ComputerGroup(str(self._next_group_id), name, type, expression, type == "STANDARD", True)
        self.groups[group.id] = group
        return group

    def remove_group(self, group_id: str) -> ComputerGroup:
        group = self.groups.pop(group_id)
        for ep in (*self.endpoints.values(), *self.aged_out.values()):
            ep.groups.discard(group_id)
        return group

    def add_endpoint(
        self,
        *,
        groups: Iterable[str] = (),
        role: Role = "win_ws",
        name: str | None = None,
        customer: int | None = None,
        online: bool = True,
        asset_row: bool = True,
    ) -> Endpoint:
        """Register a new endpoint (new EID, and an Asset row unless ``asset_row`` is false)."""
        group_ids = list(groups)
        for gid in group_ids:
            self._require_group(gid)
        ep = _make_endpoint(
            self, self._rng, role, customer, self.generated_at, status="online" if online else "offline"
        )
        ep.eid = self._new_eid()
        if name is not None:
            ep.name = name
        ep.groups = _builtin_groups(ep) | set(group_ids)
        self.endpoints[ep.eid] = ep
        if asset_row:
            self._attach_asset(ep)
        return ep

    # ---- internals -----------------------------------------------------------------------------------------

    def _require_group(self, group_id: str) -> None:
        if group_id not in self.groups:
            raise KeyError(f"no computer group with id {group_id!r}")

    def _new_eid(self) -> str:
        # Steps of at least 2 leave unused numbers below every EID, which the historical re-keys use as old
        # ids.
        self._next_eid += self._rng.randint(2, 7)
        return str(self._next_eid)

    def _attach_asset(self, ep: Endpoint) -> None:
        self._next_asset_id += self._rng.randint(1, 3)
        ep.asset_id = self._next_asset_id
        self.assets[ep.asset_id] = ep


_BUILTIN_IDS = frozenset({ALL_COMPUTERS_ID, ALL_WINDOWS_ID, ALL_LINUX_ID, ALL_MAC_ID})


def _builtin_groups(ep: Endpoint) -> set[str]:
    groups = {ALL_COMPUTERS_ID}
    os_group = _OS_GROUP_BY_PLATFORM.get(ep.os.platform)
    if os_group:
        groups.add(os_group)
    return groups


# ---- value generators --------------------------------------------------------------------------------------

_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choices(alphabet, k=n))


def _serial(rng: random.Random, hw: HardwareModel) -> str:
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(catalog.SERIAL_JUNK)
    if roll < 0.045:
        return rng.choice(catalog.PSEUDO_VALUES[:2])
    if roll < 0.05:
        return ""
    style = hw.serial_style
    if style == "dell":
        return _chars(rng, _ALNUM, 7)
    if style == "hp":
        return "5CG" + _chars(rng, "0123456789", 4) + _chars(rng, "ABCDEFGHJKLMNPQRSTUVWXYZ", 3)
    if style == "lenovo":
        return "PF" + _chars(rng, _ALNUM, 6)
    if style == "apple":
        return "C02" + _chars(rng, _ALNUM, 9)
    if style == "vmware":
        h = f"{rng.getrandbits(128):032x}"
        pairs = [h[i : i + 2] for i in range(0, 32, 2)]
        return "VMware-" + " ".join(pairs[:8]) + "-" + " ".join(pairs[8:])
    if style == "hyperv":
        d = _chars(rng, "0123456789", 26)
        return f"{d[:4]}-{d[4:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:24]}-{d[24:]}"
    return _chars(rng, _ALNUM, 12)


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032X}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _mac(rng: random.Random) -> str:
    oui = rng.choice(("00:50:56", "3c:52:82", "f8:75:a4", "a4:83:e7", "00:15:5d", "8c:85:90", "d4:81:d7"))
    tail = f"{rng.getrandbits(24):06x}"
    return f"{oui}:{tail[:2]}:{tail[2:4]}:{tail[4:]}"


def _macs(rng: random.Random, count: int) -> list[str]:
    macs = [_mac(rng) for _ in range(count)]
    style = rng.random()
    if style < 0.10:
        macs = [m.upper() for m in macs]
    elif style < 0.15:
        macs = [m.upper().replace(":", "-") for m in macs]
    quirk = rng.random()
    if quirk < 0.05:
        macs.append(macs[0].upper() if macs[0].islower() else macs[0])  # duplicate, maybe in another case
    elif quirk < 0.08:
        macs.append("00:00:00:00:00:00")
    return macs


def _private_ip(rng: random.Random, customer: int | None) -> str:
    if customer is None:
        return f"192.168.{rng.randrange(0, 4)}.{rng.randrange(2, 254)}"
    return f"10.{10 + customer}.{rng.randrange(0, 16)}.{rng.randrange(2, 254)}"


def _addresses(rng: random.Random, customer: int | None) -> tuple[str, list[str]]:
    private = _private_ip(rng, customer)
    roll = rng.random()
    if roll < 0.05:
        first_octet = rng.choice((73, 98, 24, 71))
        primary = f"{first_octet}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        addresses = [primary, private]
    elif roll < 0.08:
        primary = f"100.{rng.randrange(64, 128)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"  # CGNAT
        addresses = [primary]
    elif roll < 0.10:
        primary = f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        addresses = [primary]
    else:
        primary = private
        addresses = [primary]
    if rng.random() < 0.7:
        h = f"{rng.getrandbits(64):016x}"
        addresses.append(f"fe80::{h[:4]}:{h[4:8]}:{h[8:12]}:{h[12:]}")
    if rng.random() < 0.2:
        addresses.append("2001:db8:" + ":".join(f"{rng.randrange(65536):x}" for _ in range(6)))
    if rng.random() < 0.05:
        addresses.append(f"169.254.{rng.randrange(256)}.{rng.randrange(1, 255)}")
    if rng.random() < 0.03:
        addresses.append("127.0.0.1")
    return primary, addresses


def _gb_text(gb: float) -> str:
    if gb >= 1024:
        return f"{gb / 1024:.1f} TB"
    return f"{gb:.0f} GB" if gb >= 10 else f"{gb:.1f} GB"


def _disk(rng: random.Random, name: str, total_text: str, style: Literal["win", "linux", "mac"]) -> Disk:
    number, unit = total_text.split()
    total_gb = float(number) * (1024 if unit == "TB" else 1)
    used = rng.uniform(0.08, 0.97)
    free_gb = total_gb * (1 - used)
    pct = f"{round(used * 100)}%"
    size_b, free_b = int(total_gb * 2**30), int(free_gb * 2**30)
    if style == "mac":
        total, free = f"{total_gb:.0f}G", f"{free_gb:.0f}G"
    elif style == "linux":
        total, free = f"{total_gb:.1f} GB", f"{free_gb:.1f} GB"
    else:
        total, free = total_text, _gb_text(free_gb)
    quirk = rng.random()
    if quirk < 0.02:
        free, pct = "", ""
    elif quirk < 0.03:
        total = number  # a bare number: the unit is ambiguous and the client must drop it
    return Disk(name, total, free, pct, size_b, free_b)


def _memory(rng: random.Random, role: Role) -> tuple[str, int | None]:
    if role in ("win_srv", "linux_srv", "unix"):
        gib = rng.choice((8, 16, 32, 48, 64, 128, 256))
    else:
        gib = rng.choice((8, 16, 16, 32, 64))
    quirk = rng.random()
    if quirk < 0.01:
        return str(gib * 1024), gib * 2**30  # bare number: ambiguous
    if quirk < 0.02:
        return rng.choice(catalog.PSEUDO_VALUES[:2]), None
    if role == "win_ws":
        text = f"{gib * 1024} MB" if rng.random() < 0.8 else f"{gib * 0.98:.1f} GB"
    elif role in ("linux_srv", "linux_laptop", "unix"):
        text = f"{gib * 0.98:.1f} GB"
    elif role == "win_srv":
        text = f"{gib} GB" if rng.random() < 0.6 else f"{gib * 1024} MB"
    else:
        text = f"{gib} GB"
    return text, gib * 2**30


def _profile(rng: random.Random, role: Role) -> tuple[OsProfile, HardwareModel, tuple[str, int, str]]:
    if role == "win_ws":
        return (
            rng.choice(catalog.WINDOWS_CLIENT_OS),
            rng.choice(catalog.WORKSTATION_HARDWARE),
            rng.choice(catalog.WORKSTATION_CPUS),
        )
    if role == "win_srv":
        return (
            rng.choice(catalog.WINDOWS_SERVER_OS),
            rng.choice(catalog.SERVER_HARDWARE),
            rng.choice(catalog.SERVER_CPUS),
        )
    if role == "mac":
        return rng.choice(catalog.MAC_OS), rng.choice(catalog.MAC_HARDWARE), rng.choice(catalog.MAC_CPUS)
    if role == "linux_srv":
        return (
            rng.choice(catalog.LINUX_SERVER_OS),
            rng.choice(catalog.SERVER_HARDWARE),
            rng.choice(catalog.SERVER_CPUS),
        )
    if role == "linux_laptop":
        return (
            rng.choice(catalog.LINUX_DESKTOP_OS),
            rng.choice(catalog.LINUX_LAPTOP_HARDWARE),
            rng.choice(catalog.WORKSTATION_CPUS),
        )
    if role == "unix":
        return (
            rng.choice(catalog.UNIX_OS),
            catalog.HardwareModel("IBM", "9009-42A", "Rack Mount Chassis", "generic", False),
            ("PowerPC_POWER9", 16, "3450 Mhz"),
        )
    return catalog.UNKNOWN_OS, rng.choice(catalog.WORKSTATION_HARDWARE), rng.choice(catalog.WORKSTATION_CPUS)


def _hostname(rng: random.Random, role: Role, customer: int | None, serial: int) -> str:
    prefix = catalog.CUSTOMERS[customer % len(catalog.CUSTOMERS)][1] if customer is not None else "WS"
    if customer is not None and customer >= len(catalog.CUSTOMERS):
        prefix = f"C{customer + 1}"
    kind = {
        "win_ws": "WS",
        "win_srv": rng.choice(("DC", "FS", "SQL", "APP", "RDS")),
        "mac": "MAC",
        "linux_srv": rng.choice(("web", "db", "k8s", "mon")),
        "linux_laptop": "lnx",
        "unix": "aix",
        "unknown": "dev",
    }[role]
    if role in ("linux_srv", "linux_laptop", "unix", "unknown"):
        return f"{prefix.lower()}-{kind}-{serial:04d}"
    return f"{prefix}-{kind}-{serial:04d}"


def _users(rng: random.Random, role: Role, customer: int | None) -> tuple[str, str, str]:
    first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
    domain = catalog.CUSTOMERS[customer % len(catalog.CUSTOMERS)][2] if customer is not None else "example.com"
    login = (first[0] + last).lower()
    short = domain.split(".")[0].upper()[:15]
    if role == "win_ws":
        last_user = f"{short}\\{login}"
    elif role == "win_srv":
        last_user = rng.choice(("", f"{short}\\administrator", f"{short}\\svc_backup"))
    elif role in ("linux_srv", "unix"):
        last_user = rng.choice(("root", "", "ansible"))
    else:
        last_user = login
    if rng.random() < 0.04:
        primary, email = catalog.PSEUDO_VALUES[0], ""
    elif role in SERVER_ROLES and rng.random() < 0.5:
        primary, email = rng.choice(catalog.PSEUDO_VALUES[:2]), ""
    else:
        primary, email = f"{first} {last}", f"{first.lower()}.{last.lower()}@{domain}"
    if rng.random() < 0.05:
        last_user = ""
    return last_user, primary, email


def _app_count(rng: random.Random, role: Role) -> int:
    if role == "unknown" or rng.random() < 0.03:
        return 0
    low, high = {
        "win_ws": (40, 300),
        "win_srv": (15, 120),
        "mac": (20, 150),
        "linux_srv": (0, 300),
        "linux_laptop": (50, 300),
        "unix": (0, 40),
    }[role]
    return rng.randint(low, high)


def _make_endpoint(
    fleet: TaniumFleet,
    rng: random.Random,
    role: Role,
    customer: int | None,
    now: datetime,
    *,
    status: str,
) -> Endpoint:
    os, hw, (cpu, logical, speed) = _profile(rng, role)
    primary_ip, addresses = _addresses(rng, customer)
    last_user, primary_name, primary_email = _users(rng, role, customer)
    memory_text, ram = _memory(rng, role)
    manufacturer = hw.manufacturer if rng.random() >= 0.02 else rng.choice(catalog.PSEUDO_VALUES[:2])
    if role in ("win_ws", "win_srv"):
        disks = [
            _disk(
                rng,
                "C:",
                rng.choice(catalog.SERVER_DISK_TOTALS if role == "win_srv" else catalog.WINDOWS_DISK_TOTALS),
                "win",
            )
        ]
        if role == "win_srv" and rng.random() < 0.6:
            disks.append(_disk(rng, "D:", rng.choice(catalog.SERVER_DISK_TOTALS), "win"))
    elif role == "mac":
        disks = [_disk(rng, "/", rng.choice(("460 GB", "995 GB", "1.8 TB")), "mac")]
    elif role == "unknown":
        disks = []
    else:
        disks = [_disk(rng, "/", rng.choice(("98 GB", "250 GB", "476 GB")), "linux")]
        if role == "linux_srv" and rng.random() < 0.5:
            disks.append(_disk(rng, "/var/lib/data", rng.choice(catalog.SERVER_DISK_TOTALS), "linux"))
    domain = (
        catalog.CUSTOMERS[customer % len(catalog.CUSTOMERS)][2]
        if customer is not None and os.platform == "Windows" and rng.random() >= 0.05
        else "No Domain"
    )
    online_phase: int | None = None
    last_seen: datetime | None
    if status == "online":
        online_phase = rng.randrange(fleet.registration_interval_s)
        last_seen = now
    elif status == "offline":
        last_seen = now - timedelta(minutes=rng.uniform(35, 23 * 60))
    elif status == "overdue":
        last_seen = now - timedelta(hours=rng.uniform(25, 45 * 24))
    elif status == "aged":
        last_seen = now - timedelta(days=rng.uniform(45, 200))
    elif status == "future":
        last_seen = now + timedelta(minutes=10)
    else:  # "none"
        last_seen = None
    anchor = last_seen or now
    first_seen = anchor - timedelta(days=rng.uniform(20, 1100), seconds=rng.randrange(86400))
    boot_anchor = now if online_phase is not None else anchor
    last_reboot = boot_anchor - timedelta(hours=rng.uniform(0.5, 60 * 24))
    computer_id = str(rng.randrange(1_000_000_000, 4_294_967_295))
    while computer_id in fleet._used_computer_ids:
        computer_id = str(rng.randrange(1_000_000_000, 4_294_967_295))
    fleet._used_computer_ids.add(computer_id)
    return Endpoint(
        eid="",
        asset_id=None,
        role=role,
        customer=customer,
        name=_hostname(rng, role, customer, rng.randrange(1, 10000)),
        computer_id=computer_id,
        system_uuid=_uuid(rng),
        serial_number=_serial(rng, hw),
        manufacturer=manufacturer,
        model=hw.model,
        chassis_type=hw.chassis if role != "unknown" else "",
        domain_name=domain,
        is_virtual=hw.virtual,
        os=os,
        ip_address=primary_ip,
        ip_addresses=addresses,
        mac_addresses=_macs(rng, rng.choice((1, 1, 2, 3))),
        last_logged_in_user=last_user,
        primary_user_name=primary_name,
        primary_user_email=primary_email,
        memory_total=memory_text,
        ram_bytes=ram,
        cpu=cpu,
        cpu_speed=speed,
        logical_processors=logical,
        cpu_cores=max(1, logical // 2),
        disks=disks,
        first_seen=first_seen,
        last_seen=last_seen,
        online_phase_s=online_phase,
        fractional_times=rng.random() < 0.1,
        last_reboot=last_reboot,
        nat_ip=f"203.0.113.{(customer or 0) * 7 % 250 + 1}",
        app_seed=rng.getrandbits(32),
        app_count=_app_count(rng, role),
    )


# ---- installed applications (regenerated on demand) --------------------------------------------------------

_APP_CATALOGS: dict[Role, tuple[AppTemplate, ...]] = {
    "win_ws": catalog.WINDOWS_APPS,
    "win_srv": catalog.WINDOWS_SERVER_APPS,
    "mac": catalog.MAC_APPS,
    "linux_srv": catalog.LINUX_PACKAGES,
    "linux_laptop": catalog.LINUX_PACKAGES,
    "unix": catalog.LINUX_PACKAGES,
    "unknown": (),
}


class InstalledApp(NamedTuple):
    name: str
    version: str
    vendor: str


def installed_applications(ep: Endpoint) -> list[InstalledApp]:
    """The endpoint's installed applications, regenerated from its seed (same list on every call).

    Includes the quirks a client must survive: now and then a duplicate (name, version) row and a nameless
    row; on Windows, products installed in two versions side by side. Rows removed through the control API
    are left out.
    """
    if ep.app_count <= 0:
        return []
    rng = random.Random(ep.app_seed)
    templates = _APP_CATALOGS[ep.role]
    count = ep.app_count
    picked = rng.sample(templates, min(count, len(templates)))
    apps = [InstalledApp(t.name, rng.choice(t.versions), t.vendor) for t in picked]
    windows = ep.os.platform == "Windows"
    serial = 0
    while len(apps) < count:
        serial += 1
        n = rng.randrange(4_000_000, 5_060_000)
        if windows:
            name = rng.choice(
                (
                    f"Security Update for Microsoft Windows (KB{n})",
                    f"Update for Microsoft Office 2016 (KB{n // 10})",
                    f"Microsoft Visual C++ Runtime Component {serial}",
                )
            )
            apps.append(
                InstalledApp(name, f"{rng.randint(1, 20)}.{rng.randint(0, 99)}.{n % 10000}", "Microsoft Corporation")
            )
        elif ep.os.platform == "Mac":
            apps.append(InstalledApp(f"Plugin Helper {serial}", f"{rng.randint(1, 9)}.{rng.randint(0, 20)}", ""))
        else:
            apps.append(
                InstalledApp(
                    f"lib{rng.choice(('ssl', 'xml2', 'z', 'png', 'gcc', 'ffi', 'uv'))}-pkg{serial}",
                    f"{rng.randint(0, 9)}.{rng.randint(0, 30)}-{rng.randint(1, 9)}",
                    "",
                )
            )
    roll = rng.random()
    if roll < 0.05 and apps:
        apps[-1] = apps[0]  # duplicate (name, version)
    elif roll < 0.08 and apps:
        apps[-1] = InstalledApp("", "1.0.0", "")  # nameless row
    apps.extend(_side_by_side(ep))
    if ep.removed_apps:
        apps = [a for a in apps if (a.name, a.version) not in ep.removed_apps]
    return apps


def _side_by_side(ep: Endpoint) -> list[InstalledApp]:
    """Two versions of one product, each a row of its own (drawn from a separate stream, so the rest of the
    endpoint's list does not depend on it)."""
    rng = random.Random(ep.app_seed ^ 0x5BD1E995)
    out: list[InstalledApp] = []
    for template, odds in catalog.SIDE_BY_SIDE_APPS.get(ep.role, ()):
        if rng.random() < odds:
            first, second = rng.sample(range(len(template.versions)), 2)
            out += [InstalledApp(template.name, template.versions[i], template.vendor) for i in (first, second)]
    return out


# ---- the generator -----------------------------------------------------------------------------------------


def generate_fleet(
    seed: int = 1,
    groups: int = 6,
    endpoints: int = 200,
    now: datetime | None = None,
) -> TaniumFleet:
    """Build a deterministic fleet.

    ``groups`` is the number of customer groups; the fleet also has the built-in groups (All Computers, All
    Windows, All Linux, All Mac), a "<customer> - Servers" subgroup for every other customer and one MANUAL
    group, so groups overlap the way reference §3.3 describes. ``endpoints`` is the number of endpoints the
    Gateway lists; about 2.5 % more have aged out (Asset API only) and about 1 % are Asset-only imports.
    """
    if endpoints < 0 or groups < 0:
        raise ValueError("groups and endpoints must be >= 0")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    rng = random.Random(seed)
    fleet = TaniumFleet(seed=seed, generated_at=now, _rng=random.Random(rng.getrandbits(64)))
    fleet._next_eid = rng.randrange(12000, 13000)
    fleet._next_asset_id = 100

    _make_groups(fleet, rng, groups)

    aged = max(1, endpoints // 40) if endpoints else 0
    imported = max(1, endpoints // 100) if endpoints else 0
    kinds = ["gw"] * endpoints + ["aged"] * aged + ["import"] * imported
    rng.shuffle(kinds)
    roles: list[Role] = rng.choices(ROLES, weights=_ROLE_WEIGHTS, k=endpoints)
    statuses = rng.choices(("online", "offline", "overdue", "none"), weights=(60, 22, 17.5, 0.5), k=endpoints)
    if endpoints >= len(ROLES) + 5:
        # Every role and every last-seen case occurs, even in a small fleet.
        spots = rng.sample(range(endpoints), len(ROLES) + 5)
        for role, spot in zip(ROLES, spots, strict=False):
            roles[spot] = role
        for status, spot in zip(("online", "offline", "overdue", "none", "future"), spots[len(ROLES) :], strict=True):
            statuses[spot] = status
    n_customers = groups
    gw_index = 0
    for kind in kinds:
        if kind == "gw":
            role, status = roles[gw_index], statuses[gw_index]
            gw_index += 1
        else:
            role = rng.choices(ROLES[:5], weights=_ROLE_WEIGHTS[:5])[0]
            status = "aged"
        customer = rng.randrange(n_customers) if n_customers and rng.random() >= 0.02 else None
        ep = _make_endpoint(fleet, rng, role, customer, now, status=status)
        if kind == "import":
            ep.name = f"LEGACY-{ep.name}"
            ep.online_phase_s = None
            fleet._attach_asset(ep)
            fleet.asset_only.append(ep)
            continue
        ep.eid = fleet._new_eid()
        ep.groups = _builtin_groups(ep)
        if customer is not None:
            ep.groups.add(fleet.customer_group_ids[customer])
            servers_group = fleet.servers_group_ids.get(customer)
            if servers_group and role in SERVER_ROLES:
                ep.groups.add(servers_group)
        fleet._attach_asset(ep)
        if kind == "gw":
            fleet.endpoints[ep.eid] = ep
        else:
            fleet.aged_out[ep.eid] = ep

    _add_overlaps(fleet, rng)
    _rename_tricky(fleet)
    _historical_rekeys(fleet, rng, now)
    return fleet


def _make_groups(fleet: TaniumFleet, rng: random.Random, customers: int) -> None:
    fleet.groups[ALL_COMPUTERS_ID] = ComputerGroup(ALL_COMPUTERS_ID, "All Computers", "STANDARD", "", True, True)
    fleet.groups[ALL_WINDOWS_ID] = ComputerGroup(
        ALL_WINDOWS_ID, "All Windows", "STANDARD", '(Is Windows equals "True")', True, False
    )
    fleet.groups[ALL_LINUX_ID] = ComputerGroup(
        ALL_LINUX_ID, "All Linux", "STANDARD", '(Is Linux equals "True")', True, False
    )
    fleet.groups[ALL_MAC_ID] = ComputerGroup(ALL_MAC_ID, "All Mac", "STANDARD", '(Is Mac equals "True")', True, False)
    # Start below 10 so that numeric and bytewise id order differ ("9" < "10" numerically only).
    fleet._next_group_id = 8
    for c in range(customers):
        name = catalog.CUSTOMERS[c][0] if c < len(catalog.CUSTOMERS) else f"Customer {c + 1}"
        fleet._next_group_id += 1 if c == 0 else rng.randint(1, 40)
        gid = str(fleet._next_group_id)
        fleet.groups[gid] = ComputerGroup(
            gid, name, "STANDARD", f'(Tanium Client Subnet contains "10.{10 + c}.")', True, True
        )
        fleet.customer_group_ids.append(gid)
        if c % 2 == 0:
            fleet._next_group_id += rng.randint(1, 5)
            sid = str(fleet._next_group_id)
            fleet.groups[sid] = ComputerGroup(
                sid,
                f"{name} - Servers",
                "STANDARD",
                f'(Tanium Client Subnet contains "10.{10 + c}.") and (Is Server equals "True")',
                True,
                True,
            )
            fleet.servers_group_ids[c] = sid
    fleet._next_group_id += rng.randint(1, 40)
    mid = str(fleet._next_group_id)
    fleet.groups[mid] = ComputerGroup(mid, "Patch Pilot Ring", "MANUAL", "", False, True)
    fleet.manual_group_id = mid


def _add_overlaps(fleet: TaniumFleet, rng: random.Random) -> None:
    customers = fleet.customer_group_ids
    eps = list(fleet.endpoints.values())
    if not eps:
        return
    if fleet.manual_group_id is not None:
        for ep in rng.sample(eps, max(1, len(eps) // 20)):
            ep.groups.add(fleet.manual_group_id)
    if len(customers) >= 2:
        # Shared infrastructure: a few endpoints match two customers' group expressions.
        for ep in rng.sample(eps, min(len(eps), max(2, len(eps) // 100))):
            own = customers[ep.customer] if ep.customer is not None else None
            other = rng.choice([g for g in customers if g != own])
            ep.groups.add(other)


def _rename_tricky(fleet: TaniumFleet) -> None:
    candidates = [ep for ep in fleet.endpoints.values() if ep.role in ("win_ws", "linux_laptop", "mac")]
    for ep, name in zip(candidates, catalog.TRICKY_HOSTNAMES, strict=False):
        ep.name = name
    if len(candidates) > len(catalog.TRICKY_HOSTNAMES) + 1:
        # Two endpoints sharing a hostname (re-imaged machine, cloned VM): only the EID tells them apart.
        candidates[-1].name = candidates[-2].name


def _historical_rekeys(fleet: TaniumFleet, rng: random.Random, now: datetime) -> None:
    eps = list(fleet.endpoints.values())
    if not eps:
        return
    for ep in sorted(rng.sample(eps, max(1, len(eps) // 500)), key=lambda e: int(e.eid)):
        old = str(int(ep.eid) - 1)
        fleet.id_changes.append(IdChange(now - timedelta(hours=rng.uniform(1, 72)), old, ep.eid))
    fleet.id_changes.sort(key=lambda c: c.at)
