"""Tanium payloads → normalized records (reference/tanium.md §3.3, §4.5, §4.6, §5, §7). Pure: no I/O.

- :func:`owner_group` — the one deterministic rule that gives an endpoint in several mapped computer
  groups exactly one owning group (its realm), so it never flips between clients from sync to sync.
- :func:`endpoint_snapshot` — a Gateway ``Endpoint`` node → :class:`DeviceSnapshot`, with the value
  hygiene of §4.6 (pseudo-values and junk serials become ``None``; sizes parse as binary units; a bare
  number is ambiguous and dropped) and the asset type from the OS (§4.5), never from the hostname.
- :func:`installed_software` — ``installedApplications`` → :class:`SoftwareItem` list (no publisher in the
  Gateway type; nameless rows dropped; deduplicated on normalized name and version).
- :func:`asset_record` / :class:`KnownDeviceIndex` / :func:`asset_snapshot` — Asset API rows for the
  fallback (§7.3): rows are only ever matched to devices rmmbridge already knows, never assigned by
  themselves.
"""

from __future__ import annotations

import dataclasses
import email.utils
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rmmbridge.providers.base import (
    REPORTABLE_FIELDS,
    DeviceSnapshot,
    InvalidRecord,
    LivenessRecord,
    SoftwareItem,
    Volume,
)
from rmmbridge.providers.values import parse_ip

# ----------------------------------------------------------------------------- the owner rule (§3.3)

_DIGITS = re.compile(r"^[0-9]+$")


def group_order_key(group_id: str, priorities: Mapping[str, int] | None = None) -> tuple[Any, ...]:
    """Sort key of a computer group in the owner rule: ``(priority, id)``; see :func:`owner_group`."""
    gid = str(group_id).strip()
    priority = (priorities or {}).get(gid)
    prio_key = (0, int(priority)) if priority is not None else (1, 0)
    id_key = (0, int(gid)) if _DIGITS.match(gid) else (1, 0)
    return (prio_key, id_key, gid.encode("utf-8"))


def order_groups(group_ids: Iterable[str], priorities: Mapping[str, int] | None = None) -> list[str]:
    """Distinct group ids in owner-rule order (the first one wins)."""
    return sorted({str(g).strip() for g in group_ids}, key=lambda g: group_order_key(g, priorities))


def owner_group(
    member_group_ids: Iterable[str],
    mapped_group_ids: Iterable[str] | None,
    priorities: Mapping[str, int] | None = None,
) -> str | None:
    """The one group that owns an endpoint; ``None`` when it is in no candidate group.

    The rule (reference §3.3), deterministic and independent of response or mapping order:

    1. Candidates are the endpoint's groups that are *mapped* (``mapped_group_ids``: groups mapped to a
       PSA client with auto-sync on); ``None`` means "every group is a candidate".
    2. Candidates are ordered by **priority** first — lower wins; ``priorities`` maps group id → integer
       (admin-set, stored, never recomputed by rmmbridge); a group without a priority ranks after every
       group that has one — and then by **group id**: ids made only of ASCII digits compare numerically
       (so ``"9"`` precedes ``"10"``) and come before any other id, which compare bytewise (UTF-8); ids
       that are numerically equal (``"07"``/``"7"``) fall back to bytewise order.
    3. The first candidate in that order owns the endpoint; its id is the snapshot's ``realm_id``.

    The same Tanium memberships and priorities therefore give the same owner on every run; only a
    membership change in Tanium or a priority edit moves an endpoint (and the asset stays the same).
    """
    members = {str(g).strip() for g in member_group_ids}
    candidates = members & {str(g).strip() for g in mapped_group_ids} if mapped_group_ids is not None else members
    if not candidates:
        return None
    return min(candidates, key=lambda g: group_order_key(g, priorities))


# ----------------------------------------------------------------------------- value hygiene (§4.6)

_PSEUDO = re.compile(
    r"^(error:|tse-error:|\[no results\]|\[current result unavailable\]|\[results currently unavailable\]"
    r"|unknown$|n/a$|none$)",
    re.IGNORECASE,
)
_SERIAL_JUNK = frozenset(
    s.lower() for s in ("0", "To Be Filled By O.E.M.", "Default string", "System Serial Number", "Not Specified")
)
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT])(?:i?B)?\s*$", re.IGNORECASE)
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
_UNIT_EXP = {"K": 1, "M": 2, "G": 3, "T": 4}
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_NO_DOMAIN = frozenset({"no domain", "workgroup"})


def clean(value: Any) -> str | None:
    """A sensor string, or ``None`` when it is empty or a pseudo-value such as ``"Error: …"``."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or _PSEUDO.match(text):
        return None
    return text


def clean_serial(value: Any) -> str | None:
    text = clean(value)
    if text is None or text.lower() in _SERIAL_JUNK:
        return None
    return text


def parse_size(value: Any) -> int | None:
    """``"16384 MB"``, ``"15.7 GB"``, ``"995G"`` → bytes (binary multiples); a bare number or junk → ``None``."""
    if not isinstance(value, str):
        return None
    match = _SIZE.match(value)
    if match is None:
        return None
    return round(float(match.group(1)) * 1024 ** _UNIT_EXP[match.group(2).upper()])


def parse_percent(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    match = _PERCENT.match(value)
    if match is None:
        return None
    pct = round(float(match.group(1)))
    return pct if 0 <= pct <= 100 else None


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 (``Z`` or an offset, optional fraction) → aware UTC datetime; anything else → ``None``."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_V4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
_V6_LINK_LOCAL = ("fe8", "fe9", "fea", "feb")


def _ip_info(value: Any) -> tuple[str, bool, bool] | None:
    """``(canonical text, usable, private-or-CGNAT IPv4)``; ``None`` when not an IP address.

    "Usable" excludes link-local, loopback, unspecified and multicast addresses. Dotted IPv4 takes a
    fast path (endpoint lists are long); everything else goes through :mod:`ipaddress`.
    """
    if not isinstance(value, str):
        return None
    text = value.strip().split("/", 1)[0].split("%", 1)[0]
    match = _V4.match(text)
    if match is not None:
        a, b, c, d = (int(x) for x in match.groups())
        if a > 255 or b > 255 or c > 255 or d > 255:
            return None
        usable = not (a in (0, 127) or a >= 224 or (a == 169 and b == 254))
        lan = usable and (
            a == 10 or (a == 172 and 16 <= b <= 31) or (a == 192 and b == 168) or (a == 100 and 64 <= b <= 127)
        )
        return f"{a}.{b}.{c}.{d}", usable, lan
    if text[:3].lower() in _V6_LINK_LOCAL:
        return text.lower(), False, False
    ip = parse_ip(text)
    if ip is None:
        return None
    usable = not (ip.is_link_local or ip.is_loopback or ip.is_unspecified or ip.is_multicast)
    lan = isinstance(ip, ipaddress.IPv4Address) and usable and (ip.is_private or ip in _CGNAT) and not ip.is_reserved
    return ip.compressed, usable, lan


def ip_list(values: Any) -> tuple[str, ...]:
    """``ipAddresses`` without link-local, loopback or junk entries, deduplicated, in order."""
    if not isinstance(values, list):
        return ()
    out: dict[str, None] = {}
    for value in values:
        info = _ip_info(value)
        if info is not None and info[1]:
            out.setdefault(info[0], None)
    return tuple(out)


def primary_lan_ip(ip_address: Any, ips: tuple[str, ...]) -> str | None:
    """``ipAddress`` when it is a private/CGNAT IPv4, otherwise the first private IPv4 of the list."""
    first = _ip_info(ip_address)
    if first is not None and first[2]:
        return first[0]
    for address in ips:
        info = _ip_info(address)
        if info is not None and info[2]:
            return info[0]
    return None


def mac_list(values: Any) -> tuple[str, ...]:
    """Lowercase, colon-separated, deduplicated; ``00:00:00:00:00:00`` and malformed entries dropped."""
    if not isinstance(values, list):
        return ()
    out: dict[str, None] = {}
    for value in values:
        if not isinstance(value, str):
            continue
        mac = value.strip().lower().replace("-", ":")
        if _MAC.match(mac) and mac != "00:00:00:00:00:00":
            out.setdefault(mac, None)
    return tuple(out)


def disk_volumes(disks: Any) -> tuple[Volume, ...]:
    """``disks[]`` → volumes; a disk is kept when its name and total parse (free and percent may be null)."""
    if not isinstance(disks, list):
        return ()
    out = []
    for disk in disks:
        if not isinstance(disk, Mapping):
            continue
        name = clean(disk.get("name"))
        total = parse_size(disk.get("total"))
        if name is None or total is None:
            continue
        free = parse_size(disk.get("free"))
        if free is not None and free > total:
            free = None
        out.append(
            Volume(
                device=name,
                total_bytes=total,
                free_bytes=free,
                used_bytes=total - free if free is not None else None,
                percent_used=parse_percent(disk.get("usedPercentage")),
            )
        )
    return tuple(out)


# ----------------------------------------------------------------------------- asset type (§4.5)

_SERVER_NAME = re.compile(r"\bserver\b", re.IGNORECASE)
_DESK_CHASSIS = frozenset(
    {"laptop", "notebook", "portable", "desktop", "tower", "mini tower", "all in one", "sub notebook"}
)
_SERVER_CHASSIS = frozenset(
    {"rack mount chassis", "blade", "blade enclosure", "main server chassis", "multi-system chassis"}
)
PLATFORMS = {"windows": "windows", "mac": "darwin", "linux": "linux", "aix": "aix", "solaris": "solaris"}


def asset_type(platform: Any, os_name: Any, chassis_type: Any) -> str:
    """Workstation or server from the OS (reference §4.5), never from the hostname.

    Windows: server when the OS name contains the word "server"; Mac: workstation unless the name says
    "Server"; Linux: workstation for laptop/desktop-family chassis, otherwise server; AIX and Solaris:
    server. ``Unknown``/empty platform: the reference calls it "unknown", but the provider contract only
    knows workstation and server, so a server-family chassis (rack mount, blade …) gives server and
    anything else workstation.
    """
    plat = platform.strip().lower() if isinstance(platform, str) else ""
    name = os_name if isinstance(os_name, str) else ""
    chassis = chassis_type.strip().lower() if isinstance(chassis_type, str) else ""
    if plat == "windows":
        return "server" if _SERVER_NAME.search(name) else "workstation"
    if plat == "mac":
        return "server" if "server" in name.lower() else "workstation"
    if plat == "linux":
        return "workstation" if chassis in _DESK_CHASSIS else "server"
    if plat in ("aix", "solaris"):
        return "server"
    return "server" if chassis in _SERVER_CHASSIS else "workstation"


# ----------------------------------------------------------------------------- status inputs (§5)


@dataclass(frozen=True, slots=True)
class StatusPolicy:
    """Thresholds from the integration settings (Tanium has no per-agent thresholds)."""

    offline_after_s: int = 30 * 60
    overdue_after_s: int = 24 * 3600
    future_skew_s: int = 5 * 60


def status_inputs(
    last_seen: datetime | None, policy: StatusPolicy, now: datetime
) -> tuple[datetime | None, int | None, int | None]:
    """``(last_seen_at, offline_after_s, overdue_after_s)`` for a snapshot.

    No thresholds (status "unknown") when there is no usable ``eidLastSeen`` or it lies more than the
    skew allowance in the future; the value itself is kept as Tanium reported it.
    """
    if last_seen is None or last_seen > now + timedelta(seconds=policy.future_skew_s):
        return last_seen, None, None
    return last_seen, policy.offline_after_s, policy.overdue_after_s


def liveness_record(node: Mapping[str, Any], realm_id: str, policy: StatusPolicy, now: datetime) -> LivenessRecord:
    """A liveness node (``id``, ``eidLastSeen``) → :class:`LivenessRecord` under the owning group.

    The same status inputs as :func:`endpoint_snapshot` (so a pass and a full sync agree); no
    ``rmm_status`` (the Gateway has no online flag) and no health (nothing cheap in the schema).
    """
    raw_id = node.get("id")
    eid = str(raw_id).strip() if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else ""
    if not eid:
        raise InvalidRecord(None, "endpoint without an id")
    last_seen, offline_s, overdue_s = status_inputs(parse_time(node.get("eidLastSeen")), policy, now)
    return LivenessRecord(
        external_id=eid,
        realm_id=str(realm_id),
        last_seen_at=last_seen,
        offline_after_s=offline_s,
        overdue_after_s=overdue_s,
        reported=(),  # no user, boot time or health in this walk: the device sync's values stay
    )


# ----------------------------------------------------------------------------- endpoints (§4.5)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _os_version(os_info: Mapping[str, Any]) -> str | None:
    generation = clean(os_info.get("generation"))
    release = clean(_map(os_info.get("windows")).get("releaseId"))
    if generation and release:
        return f"{generation} {release}"
    return generation or release


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value > 0 else None


def endpoint_snapshot(node: Mapping[str, Any], realm_id: str, policy: StatusPolicy, now: datetime) -> DeviceSnapshot:
    """One Gateway ``Endpoint`` → :class:`DeviceSnapshot` under the owning group ``realm_id``.

    Raises :class:`InvalidRecord` only when the node has no id (nothing to key the device on).
    """
    if not isinstance(node, Mapping):
        raise InvalidRecord(None, "endpoint node is not an object")
    raw_id = node.get("id")
    eid = str(raw_id).strip() if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else ""
    if not eid:
        raise InvalidRecord(None, "endpoint without an id")
    os_info = _map(node.get("os"))
    platform_raw = os_info.get("platform")
    os_name = clean(os_info.get("name"))
    chassis = clean(node.get("chassisType"))
    ips = ip_list(node.get("ipAddresses"))
    primary = primary_lan_ip(node.get("ipAddress"), ips)
    first_ip = _ip_info(node.get("ipAddress"))
    if first_ip is not None and first_ip[1] and first_ip[0] not in ips:
        ips = (first_ip[0], *ips)
    hardware = hardware_fields(node)
    domain = clean(node.get("domainName"))
    if domain is not None and domain.lower() in _NO_DOMAIN:
        domain = None
    last_seen, offline_s, overdue_s = status_inputs(parse_time(node.get("eidLastSeen")), policy, now)
    name = clean(node.get("name")) or f"Tanium endpoint {eid}"
    platform = PLATFORMS.get(platform_raw.strip().lower()) if isinstance(platform_raw, str) else None
    return DeviceSnapshot(
        external_id=eid,
        realm_id=str(realm_id),
        name=name[:255],
        asset_type=asset_type(platform_raw, os_name, chassis),
        external_ref=clean(node.get("computerID")),
        os_name=os_name,
        os_version=_os_version(os_info),
        platform=platform,
        cpu_cores=None,  # Tanium reports logical processors only
        domain=domain,
        current_user=hardware["last_user"] or primary_user(node),
        lan_ips=ips,
        primary_ip=primary,
        mac_addresses=mac_list(node.get("macAddresses")),
        last_seen_at=last_seen,
        offline_after_s=offline_s,
        overdue_after_s=overdue_s,
        **hardware,
    )


def hardware_fields(node: Mapping[str, Any]) -> dict[str, Any]:
    """The snapshot fields whose Gateway fields need the Core Content solution (the hardware enrichment)."""
    processor = _map(node.get("processor"))
    return {
        "serial_number": clean_serial(node.get("serialNumber")),
        "manufacturer": clean(node.get("manufacturer")),
        "model": clean(node.get("model")),
        "hardware_uuid": (clean(node.get("systemUUID")) or "")[:64] or None,
        "cpu_model": clean(processor.get("cpu")),
        "cpu_threads": _positive_int(processor.get("logicalProcessors")),
        "ram_bytes": parse_size(_map(node.get("memory")).get("total")),
        "volumes": disk_volumes(node.get("disks")),
        "last_user": clean(node.get("lastLoggedInUser")),
    }


HARDWARE_FIELDS = frozenset(hardware_fields({}))


def primary_user(node: Mapping[str, Any]) -> str | None:
    """``primaryUser.name`` (needs the Core AD Query Content solution)."""
    return clean(_map(node.get("primaryUser")).get("name"))


# What a page read with the core walk's narrow fallback does not carry (pagination.NARROWED).
NARROW_MISSING = frozenset(
    {"name", "asset_type", "external_ref", "os_name", "os_version", "platform", "domain", "primary_ip"}
)


def installed_software(apps: Any) -> list[SoftwareItem]:
    """``installedApplications`` → items: publisher ``''`` (the Gateway has none), nameless rows dropped,
    duplicates on (normalized name, version) dropped."""
    if not isinstance(apps, list):
        return []
    seen: set[tuple[str, str | None]] = set()
    out: list[SoftwareItem] = []
    for app in apps:
        if not isinstance(app, Mapping):
            continue
        name = clean(app.get("name"))
        if name is None:
            continue
        version = clean(app.get("version"))
        key = (" ".join(name.split()).lower(), version)
        if key in seen:
            continue
        seen.add(key)
        out.append(SoftwareItem(name=name, publisher="", version=version))
    return out


# ----------------------------------------------------------------------------- Asset API fallback (§7)


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """A device rmmbridge already maps (from its crosswalk), with the keys Asset rows are matched on."""

    external_id: str
    realm_id: str
    computer_id: str | None = None
    system_uuid: str | None = None
    serial_number: str | None = None
    name: str | None = None
    last_seen_at: datetime | None = None


def known_device(value: KnownDevice | Mapping[str, Any]) -> KnownDevice | None:
    """Accept a :class:`KnownDevice` or a row with the crosswalk's column names.

    Row keys: ``external_id``, ``realm_id`` (or ``rmm_organization_id``), ``external_ref`` (or
    ``computer_id``: the Tanium computer ID), ``hardware_uuid`` (or ``system_uuid``), ``serial_number``,
    ``name``, ``last_seen_at``.
    """
    if isinstance(value, KnownDevice):
        return value
    if not isinstance(value, Mapping):
        return None
    ext = value.get("external_id")
    realm = value.get("realm_id", value.get("rmm_organization_id"))
    if not ext or not realm:
        return None
    seen = value.get("last_seen_at")
    if isinstance(seen, str):
        seen = parse_time(seen)
    elif isinstance(seen, datetime) and seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    return KnownDevice(
        external_id=str(ext),
        realm_id=str(realm),
        computer_id=clean(value.get("external_ref", value.get("computer_id"))),
        system_uuid=clean(value.get("hardware_uuid", value.get("system_uuid"))),
        serial_number=clean_serial(value.get("serial_number")),
        name=clean(value.get("name")),
        last_seen_at=seen if isinstance(seen, datetime) else None,
    )


@dataclass(frozen=True, slots=True)
class AssetRecord:
    """The part of one Asset API row the fallback needs (rows themselves are large and discarded)."""

    asset_id: int
    computer_id: str | None
    system_uuid: str | None
    serial_number: str | None
    name: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)  # DeviceSnapshot keyword arguments
    reported: tuple[str, ...] = ()  # the fields whose source keys the row carries (sorted)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


# Asset API keys behind each snapshot field. Rows carry only the attributes of the configured
# view (§7.2), so a field whose keys are all absent is "not reported": the stored value stays.
# A key present with an empty value is reported, as empty.
_SOURCE_KEYS: dict[str, tuple[str, ...]] = {
    "asset_type": ("os_platform", "operating_system", "chassis_type"),
    "serial_number": ("serial_number",),
    "manufacturer": ("manufacturer",),
    "model": ("model",),
    "hardware_uuid": ("system_uuid",),
    "os_name": ("operating_system",),
    "os_version": ("os_version",),
    "platform": ("os_platform",),
    "cpu_model": ("cpu_name",),
    "cpu_cores": ("cpu_core",),
    "ram_bytes": ("ram",),
    "volumes": ("ci_logical_disk",),
    "domain": ("domain_name",),
    "current_user": ("user_name",),
    "last_user": ("user_name",),
    "boot_time": ("uptime",),
    "lan_ips": ("ip_address", "ci_network_adapter"),
    "primary_ip": ("ip_address", "ci_network_adapter"),
    "mac_addresses": ("ci_network_adapter",),
}


def asset_record(row: Mapping[str, Any]) -> AssetRecord | None:
    """One Asset API row (snake_case, every key optional) → :class:`AssetRecord`; ``None`` without an id."""
    if not isinstance(row, Mapping):
        return None
    asset_id = _int(row.get("id"))
    if asset_id is None:
        return None
    platform_raw = clean(row.get("os_platform"))
    os_name = clean(row.get("operating_system"))
    chassis = clean(row.get("chassis_type"))
    ram = _int(row.get("ram"))
    seen = parse_time(row.get("last_seen_at"))
    uptime_ms = _int(row.get("uptime"))
    volumes = []
    for disk in row.get("ci_logical_disk") or []:
        if not isinstance(disk, Mapping):
            continue
        name = clean(disk.get("name"))
        size = _int(disk.get("size"))
        if name is None or size is None or size <= 0:
            continue
        free = _int(disk.get("free_space"))
        free = free if free is not None and 0 <= free <= size else None
        volumes.append(
            Volume(
                device=name,
                total_bytes=size,
                free_bytes=free,
                used_bytes=size - free if free is not None else None,
                percent_used=round((size - free) * 100 / size) if free is not None else None,
            )
        )
    adapters = [a for a in row.get("ci_network_adapter") or [] if isinstance(a, Mapping)]
    ips = ip_list([row.get("ip_address"), *(a.get("ipv4_address") for a in adapters)])
    domain = clean(row.get("domain_name"))
    if domain is not None and domain.lower() in _NO_DOMAIN:
        domain = None
    user = clean(row.get("user_name"))
    serial = clean_serial(row.get("serial_number"))
    fields: dict[str, Any] = {
        "asset_type": asset_type(platform_raw, os_name, chassis),
        "serial_number": serial,
        "manufacturer": clean(row.get("manufacturer")),
        "model": clean(row.get("model")),
        "hardware_uuid": (clean(row.get("system_uuid")) or "")[:64] or None,
        "os_name": os_name,
        "os_version": clean(row.get("os_version")),
        "platform": PLATFORMS.get(platform_raw.lower()) if platform_raw else None,
        "cpu_model": clean(row.get("cpu_name")),
        "cpu_cores": _positive_int(_int(row.get("cpu_core"))),
        "ram_bytes": ram if ram is not None and ram > 0 else None,
        "volumes": tuple(volumes),
        "domain": domain,
        "current_user": user,
        "last_user": user,
        "boot_time": seen - timedelta(milliseconds=uptime_ms) if seen and uptime_ms and uptime_ms > 0 else None,
        "lan_ips": ips,
        "primary_ip": primary_lan_ip(row.get("ip_address"), ips),
        "mac_addresses": mac_list([a.get("mac_address") for a in adapters]),
        "last_seen_at": seen,
    }
    return AssetRecord(
        asset_id=asset_id,
        computer_id=clean(row.get("computer_id")),
        system_uuid=clean(row.get("system_uuid")),
        serial_number=serial,
        name=clean(row.get("computer_name")),
        fields=fields,
        reported=tuple(sorted(f for f, keys in _SOURCE_KEYS.items() if any(k in row for k in keys))),
    )


_AMBIGUOUS = object()


class KnownDeviceIndex:
    """Match Asset records to known devices by, in order: computer ID; system UUID; (serial, name) both.

    A key shared by two known devices is ambiguous and matches nothing (never guess an owner).
    """

    def __init__(self, devices: Iterable[KnownDevice]) -> None:
        self._by_cid: dict[str, Any] = {}
        self._by_uuid: dict[str, Any] = {}
        self._by_serial_name: dict[tuple[str, str], Any] = {}
        self.size = 0
        for device in devices:
            self.size += 1
            if device.computer_id:
                self._put(self._by_cid, device.computer_id, device)
            if device.system_uuid:
                self._put(self._by_uuid, device.system_uuid.upper(), device)
            if device.serial_number and device.name:
                self._put(self._by_serial_name, (device.serial_number.upper(), device.name.lower()), device)

    @staticmethod
    def _put(index: dict[Any, Any], key: Any, device: KnownDevice) -> None:
        current = index.get(key)
        if current is None:
            index[key] = device
        elif current is not _AMBIGUOUS and current.external_id != device.external_id:
            index[key] = _AMBIGUOUS

    def match(self, record: AssetRecord) -> KnownDevice | None:
        candidates: list[Any] = []
        if record.computer_id:
            candidates.append(self._by_cid.get(record.computer_id))
        if record.system_uuid:
            candidates.append(self._by_uuid.get(record.system_uuid.upper()))
        if record.serial_number and record.name:
            candidates.append(self._by_serial_name.get((record.serial_number.upper(), record.name.lower())))
        for found in candidates:
            if isinstance(found, KnownDevice):
                return found
        return None


def asset_snapshot(record: AssetRecord, known: KnownDevice, policy: StatusPolicy, now: datetime) -> DeviceSnapshot:
    """A matched Asset record as a snapshot of the *known* device: its id and realm (owner) are kept,
    and ``last_seen_at`` only moves forward."""
    values = dict(record.fields)
    seen = values.pop("last_seen_at", None)
    if known.last_seen_at is not None and (seen is None or known.last_seen_at > seen):
        seen = known.last_seen_at
    last_seen, offline_s, overdue_s = status_inputs(seen, policy, now)
    name = record.name or known.name or f"Tanium endpoint {known.external_id}"
    return DeviceSnapshot(
        external_id=known.external_id,
        realm_id=known.realm_id,
        name=name[:255],
        external_ref=record.computer_id or known.computer_id,
        last_seen_at=last_seen,
        offline_after_s=offline_s,
        overdue_after_s=overdue_s,
        reported=record.reported,
        **values,
    )


# ---------------------------------------------------------------- enrichments (§4.7)


def nat_ip(node: Mapping[str, Any]) -> str | None:
    """``discover.natIpAddress`` of an enrichment node: the WAN address, when Discover knows it."""
    discover = node.get("discover")
    value = discover.get("natIpAddress") if isinstance(discover, Mapping) else None
    ip = parse_ip(value)
    return str(ip) if ip is not None and not ip.is_unspecified else None


def last_reboot(node: Mapping[str, Any]) -> datetime | None:
    """``values[0]`` of the first column of the Last Reboot reading: RFC 2822 ("Sat, 11 Apr 2026
    21:50:13 -0400"), else ISO."""
    reading = node.get("lastReboot")
    columns = reading.get("columns") if isinstance(reading, Mapping) else None
    first = columns[0] if isinstance(columns, list) and columns and isinstance(columns[0], Mapping) else None
    values = first.get("values") if first else None
    raw = values[0] if isinstance(values, list) and values and isinstance(values[0], str) else None
    if not raw or _PSEUDO.match(raw.strip()):
        return None
    parsed: datetime | None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        parsed = parse_time(raw)
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Enrichments:
    """Values by EID from the best-effort enrichment walks (§4.7); ``None`` for a walk that failed or
    is off this run (a missing content solution or module, a failing sensor)."""

    wan: Mapping[str, str] | None = None
    boot: Mapping[str, datetime] | None = None
    hardware: Mapping[str, Mapping[str, Any]] | None = None  # hardware_fields() by EID
    users: Mapping[str, str | None] | None = None  # primary_user() by EID


def enriched(
    snap: DeviceSnapshot, enrichments: Enrichments, now: datetime, *, narrowed: bool = False
) -> DeviceSnapshot:
    """The core snapshot completed by the enrichments. A value an enrichment could not give (the walk
    failed or is off, or it did not list this endpoint) is left unreported, so the stored one stays: an
    enrichment never nulls what is stored. ``narrowed``: the core node came from the narrow fallback,
    so the core fields it lacks are unreported too."""
    eid = snap.external_id
    changes: dict[str, Any] = {}
    missing: set[str] = set(NARROW_MISSING) if narrowed else set()
    changes["wan_ip"] = enrichments.wan.get(eid) if enrichments.wan is not None else None
    booted = enrichments.boot.get(eid) if enrichments.boot is not None else None
    if booted is not None and booted > now:  # a negative uptime is a clock problem, not data
        booted = None
    changes["boot_time"] = booted
    missing.update(f for f in ("wan_ip", "boot_time") if changes[f] is None)
    hardware = enrichments.hardware.get(eid) if enrichments.hardware is not None else None
    if hardware is None:
        missing.update(HARDWARE_FIELDS)
    else:
        changes.update(hardware)
    known_user = enrichments.users is not None and eid in enrichments.users
    user = enrichments.users.get(eid) if enrichments.users is not None else None
    current = (hardware or {}).get("last_user") or user
    changes["current_user"] = current
    if current is None and (hardware is None or not known_user):
        missing.add("current_user")  # unknown, not known to be empty
    reported = tuple(sorted(REPORTABLE_FIELDS - missing)) if missing else None
    return dataclasses.replace(snap, **changes, reported=reported)
