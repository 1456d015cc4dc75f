"""Tactical RMM rows → rmmbridge records. Pure functions: no I/O, no clock, no database.

Agents (reference §3.5-§3.10): list rows and detail objects give the same snapshot, every value
derived from ``wmi_detail`` with the same rules Tactical's detail view uses, junk values dropped.
Alerts (§6.3, §8.7): one severity mapping for poll and webhook. Software (§7.1): one row per agent,
keyed by the agent's integer pk.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rmmbridge.kit.time import parse_iso
from rmmbridge.providers.base import (
    AlertEvent,
    DeviceHealth,
    DeviceSnapshot,
    DeviceSoftware,
    IdentityEvidence,
    InvalidRecord,
    LivenessRecord,
    SoftwareItem,
    Volume,
)
from rmmbridge.providers.identity_evidence import physical_macs
from rmmbridge.providers.values import parse_ip

DEFAULT_OFFLINE_MIN = 4
DEFAULT_OVERDUE_MIN = 30
GIB = 1024**3

# ----------------------------------------------------------------------------- sites


@dataclass(frozen=True, slots=True)
class SiteInfo:
    id: int
    client_id: int
    name: str


def sites_map(rows: Iterable[Mapping[str, Any]]) -> dict[int, SiteInfo]:
    """``site id → (client id, name)`` from ``/beta/v1/site/`` rows (join on ``client``, never on name)."""
    out: dict[int, SiteInfo] = {}
    for row in rows:
        try:
            site_id, client_id = int(row["id"]), int(row["client"])
        except (KeyError, TypeError, ValueError):
            continue
        out[site_id] = SiteInfo(site_id, client_id, str(row.get("name") or ""))
    return out


# ----------------------------------------------------------------------------- junk values

# §3.10: upstream fallbacks, posix "n/a", "None" users and common firmware junk are "unknown".
_JUNK = frozenset(
    s.lower()
    for s in (
        "",
        "None",
        "null",
        "n/a",
        "N/A",
        "NA",
        "0",
        "0123456789",
        "123456789",
        "To Be Filled By O.E.M.",
        "To be filled by O.E.M.",
        "Default string",
        "System Serial Number",
        "System Product Name",
        "System manufacturer",
        "System Manufacturer",
        "System Version",
        "Not Specified",
        "Not Applicable",
        "Not Available",
        "O.E.M.",
        "OEM",
        "Unknown",
        "unknown make/model",
        "error getting make/model",
        "error getting local ips",
        "unknown cpu model",
        "unknown disk",
        "Error getting graphics cards",
        "Graphics info requires agent v1.4.14",
        "No graphics cards",
        "error",
    )
)
_JUNK_UUIDS = frozenset({"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"})


def is_junk(value: Any) -> bool:
    if value is None:
        return True
    lower = str(value).strip().lower()
    return lower in _JUNK or "to be filled" in lower


def clean(value: Any, *, limit: int = 255) -> str | None:
    """Strip; junk, empty and non-scalar values become ``None``."""
    if type(value) is str:  # nearly every value: no str() copy, no isinstance chain
        text = value.strip()
    elif value is None or isinstance(value, dict | list | tuple | bool):
        return None
    else:
        text = str(value).strip()
    lower = text.lower()  # is_junk(text), inlined: it ran for every field of every agent
    if lower in _JUNK or "to be filled" in lower:
        return None
    return text[:limit]


def user_name(value: Any) -> str | None:
    """``"None"``, ``""`` and ``null`` mean nobody (agents send the string ``"None"``)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return None if text in ("", "None", "none", "null") else text[:255]


# ----------------------------------------------------------------------------- wmi_detail


def merge_instance(instance: Any) -> dict[str, Any]:
    """One WMI instance as one dict, for both layouts (§3.8).

    Current agents send ``[{...all keys...}]``, older ones ``[{"A": 1}, {"B": 2}, ...]``. Like
    upstream's "first dict that has the key", the first occurrence of a key wins.
    """
    if type(instance) is list and len(instance) == 1 and type(instance[0]) is dict:
        return dict(instance[0])  # the current layout, copied in C (most of a page's normalizing)
    if isinstance(instance, Mapping):
        return dict(instance)
    merged: dict[str, Any] = {}
    if isinstance(instance, list | tuple):
        for part in instance:
            if type(part) is dict or isinstance(part, Mapping):
                for key, value in part.items():
                    merged.setdefault(key, value)
    return merged


class _Wmi(dict[str, Any]):
    """A row's ``wmi_detail`` that remembers its merged instances: normalizing one Windows row asks
    for some classes up to four times (``comp_sys_prod``). The lists, and the dicts in them (the
    row's own, in the current layout), are shared: read-only."""

    __slots__ = ("merged",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        super().__init__(raw)
        self.merged: dict[str, list[dict[str, Any]]] = {}


def instances(wmi: Any, key: str) -> list[dict[str, Any]]:
    """Every instance of WMI class ``key``, each merged into one dict."""
    memo = wmi.merged if type(wmi) is _Wmi else None
    if memo is not None and key in memo:
        return memo[key]
    if not isinstance(wmi, dict) and not isinstance(wmi, Mapping):
        return []
    raw = wmi.get(key)
    if not isinstance(raw, list):
        return []
    found = []
    for instance in raw:
        # The current layout ``[{...}]``: the decoded dict itself, not a copy — nothing writes to
        # it (copying every instance of every class was most of merging a row).
        if type(instance) is list and len(instance) == 1 and type(one := instance[0]) is dict:
            merged = one
        else:
            merged = merge_instance(instance)
        if merged:
            found.append(merged)
    if memo is not None:
        memo[key] = found
    return found


def first_instance(wmi: Any, key: str) -> dict[str, Any]:
    found = instances(wmi, key)
    return found[0] if found else {}


def _str_or_empty(value: Any) -> str:
    return value if isinstance(value, str) else ""


def windows_make_model(wmi: Any) -> tuple[str | None, str | None]:
    """(make, model) by Tactical's ``make_model`` rule (§3.6), before junk filtering.

    ``f"{make} {model}"`` equals the detail view's value whenever that value is not a fallback.
    """
    comp_sys = first_instance(wmi, "comp_sys")
    comp_sys_prod = first_instance(wmi, "comp_sys_prod")
    make = comp_sys_prod.get("Vendor")
    model = comp_sys.get("Model")
    if isinstance(make, str) and isinstance(model, str):
        if "to be filled" in model.lower():
            board = first_instance(wmi, "base_board")
            make, model = board.get("Manufacturer"), board.get("Product")
        if isinstance(make, str) and make.lower() == "lenovo":
            family = comp_sys.get("SystemFamily")
            if isinstance(family, str) and "to be filled" not in family.lower():
                model = family
        if isinstance(make, str) and isinstance(model, str):
            return make, model
    version = comp_sys_prod.get("Version")
    return None, version if isinstance(version, str) else None


def _windows_serial(wmi: Any) -> str | None:
    serial = clean(first_instance(wmi, "bios").get("SerialNumber"))
    if serial is None:
        serial = clean(first_instance(wmi, "comp_sys_prod").get("IdentifyingNumber"))
    return serial


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None


def windows_physical_disks(wmi: Any) -> list[str]:
    """``"<Caption> <GiB, thousands-separated>GB <InterfaceType>"`` for every non-USB disk (§3.6)."""
    out = []
    for disk in instances(wmi, "disk"):
        interface = disk.get("InterfaceType")
        if interface == "USB":
            continue
        caption = _str_or_empty(disk.get("Caption")).strip()
        size = _int(disk.get("Size"))
        if not caption or size is None:
            continue
        out.append(f"{caption} {round(size / GIB):,}GB {interface}")
    return out


def windows_graphics(wmi: Any) -> str | None:
    captions = [c.strip() for c in (_str_or_empty(g.get("Caption")) for g in instances(wmi, "graphics")) if c.strip()]
    real = [c for c in captions if "microsoft remote display adapter" not in c.lower()]
    if real:
        return ", ".join(real)[:255]
    return captions[0][:255] if captions else None


_LINK_LOCAL_V4 = ipaddress.ip_network("169.254.0.0/16")
_LINK_LOCAL_V6 = ipaddress.ip_network("fe80::/10")


# A dotted IPv4 address exactly as ``ipaddress`` accepts it (octets 0-255, no leading zeros), and
# an address whose first group puts it in fe80::/10: the two shapes nearly every adapter reports,
# decided without building ipaddress objects (measured: most of normalizing a row's network).
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_PLAIN_V4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_LINK_LOCAL_V6_HEAD = re.compile(r"fe[89ab][0-9a-f]:", re.IGNORECASE)


def lan_ip(value: Any) -> str | None:
    """A usable LAN address, prefix stripped: loopback, 169.254/16, fe80::/10 and junk dropped."""
    if isinstance(value, str):
        text = value.strip().split("/", 1)[0].split("%", 1)[0]
        v4 = _PLAIN_V4.fullmatch(text)
        if v4 is not None:
            first, second = int(v4.group(1)), int(v4.group(2))
            unspecified = first == second == 0 and v4.group(3) == v4.group(4) == "0"
            if first == 127 or 224 <= first <= 239 or (first == 169 and second == 254) or unspecified:
                return None  # loopback, multicast, link-local, unspecified
            return text
        if _LINK_LOCAL_V6_HEAD.match(text):
            return None  # link-local whether or not the rest is a valid address: dropped either way
    ip = parse_ip(value)
    if ip is None or ip.is_loopback or ip.is_unspecified or ip.is_multicast:
        return None
    if ip in (_LINK_LOCAL_V4 if ip.version == 4 else _LINK_LOCAL_V6):
        return None
    return ip.compressed


def _dedupe(values: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        if v:
            seen.setdefault(v, None)
    return tuple(seen)


def windows_network(wmi: Any) -> tuple[tuple[str, ...], str | None, tuple[str, ...]]:
    """(LAN IPs, primary IP, MAC addresses) from ``network_config`` / ``network_adapter``.

    Primary: the first IPv4 of an adapter that has a default gateway, else the first IPv4.
    """
    return _windows_network(wmi, _adapter_macs(wmi))


def _adapters(wmi: Any) -> list[dict[str, Any]]:
    """Every adapter instance: ``network_config``'s, then ``network_adapter``'s."""
    return [*instances(wmi, "network_config"), *instances(wmi, "network_adapter")]


def _adapter_macs(wmi: Any) -> list[str | None]:
    """:func:`mac_address` of each of :func:`_adapters`, in that order (computed once per row: the
    network and the identity evidence both need them)."""
    return [mac_address(a.get("MACAddress")) for a in _adapters(wmi)]


def _windows_network(wmi: Any, macs: list[str | None]) -> tuple[tuple[str, ...], str | None, tuple[str, ...]]:
    """:func:`windows_network` with the adapters' MACs already read (``macs``, of :func:`_adapters`)."""
    ips: list[str | None] = []
    primary: str | None = None
    for adapter in instances(wmi, "network_config"):
        addresses = adapter.get("IPAddress")
        usable = [lan_ip(a) for a in addresses] if isinstance(addresses, list) else []
        ips.extend(usable)
        gateway = adapter.get("DefaultIPGateway")
        has_gateway = isinstance(gateway, list) and any(isinstance(g, str) and g.strip() for g in gateway)
        if primary is None and has_gateway:
            primary = next((a for a in usable if a and ":" not in a), None)
    lan = _dedupe(ips)
    if primary is None:
        primary = next((a for a in lan if ":" not in a), None)
    return lan, primary, _dedupe(macs)


_MAC = re.compile(r"^[0-9A-F]{2}([:\-]?)[0-9A-F]{2}(\1[0-9A-F]{2}){4}$")
# Already ``AA:BB:CC:DD:EE:FF`` (what WMI sends): the result is the text itself, no re-joining.
_CANONICAL_MAC = re.compile(r"[0-9A-F]{2}(?::[0-9A-F]{2}){5}")
_NO_MACS = frozenset({"00:00:00:00:00:00", "FF:FF:FF:FF:FF:FF"})


def mac_address(value: Any) -> str | None:
    """Upper-case ``AA:BB:CC:DD:EE:FF``; empty, malformed and all-zero values are ``None``."""
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    if _CANONICAL_MAC.fullmatch(text):
        return None if text in _NO_MACS else text
    if not _MAC.match(text):
        return None
    digits = re.sub(r"[^0-9A-F]", "", text)
    if digits in ("000000000000", "FFFFFFFFFFFF"):
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def posix_network(wmi: Any) -> tuple[tuple[str, ...], str | None]:
    raw = wmi.get("local_ips") if isinstance(wmi, Mapping) else None
    lan = _dedupe(lan_ip(v) for v in raw) if isinstance(raw, list) else ()
    return lan, next((a for a in lan if ":" not in a), None)


# ----------------------------------------------------------------------------- sizes

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")
_UNITS = {
    "": 0, "b": 0, "k": 1, "kb": 1, "kib": 1, "m": 2, "mb": 2, "mib": 2, "g": 3, "gb": 3, "gib": 3,
    "t": 4, "tb": 4, "tib": 4, "p": 5, "pb": 5, "pib": 5,
}  # fmt: skip


_ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def parse_size(value: Any) -> int | None:
    """``"476.3G"``, ``"476.3 GB"``, ``"626.7 kB"`` → bytes, base 1024 (Tactical's psutil/Go output)."""
    if type(value) is str:
        # The spellings Tactical sends, read without the pattern (3-4 sizes per agent): ASCII
        # digits with at most one inner dot, plain spaces, ASCII unit letters. Anything else is
        # left to the pattern below, which gives the same answer for these.
        number = value.rstrip(_ASCII_LETTERS)
        unit = value[len(number) :]
        number = number.rstrip(" ")
        if number.isascii() and number[:1].isdigit() and number[-1:].isdigit() and number.replace(".", "", 1).isdigit():
            exponent = _UNITS.get(unit.lower())
            return None if exponent is None else round(float(number) * 1024**exponent)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    match = _SIZE.match(value)
    if not match:
        return None
    exponent = _UNITS.get(match.group(2).lower())
    if exponent is None:
        return None
    return round(float(match.group(1)) * 1024**exponent)


def volumes(raw: Any) -> tuple[Volume, ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for disk in raw:
        if type(disk) is not dict and not isinstance(disk, Mapping):  # dict first: the ABC check is slow
            continue
        device = disk.get("device")
        if not isinstance(device, str) or not device.strip():
            continue
        percent = _int(disk.get("percent"))
        out.append(
            Volume(
                device=device.strip(),
                fstype=clean(disk.get("fstype")),
                total_bytes=parse_size(disk.get("total")),
                used_bytes=parse_size(disk.get("used")),
                free_bytes=parse_size(disk.get("free")),
                percent_used=percent if percent is not None and 0 <= percent <= 100 else None,
            )
        )
    return tuple(out)


# ----------------------------------------------------------------------------- OS and type

_ARCH_TOKENS = frozenset({"x86_64", "amd64", "aarch64", "arm64", "i386", "i686", "armv7l", "armv6l", "arm", "386"})
_WIN_BUILD = re.compile(r"\(build\s+([0-9.]+)\)", re.IGNORECASE)


def os_name_version(plat: str, operating_system: Any, wmi: Any) -> tuple[str | None, str | None]:
    text = operating_system.strip() if isinstance(operating_system, str) else ""
    if plat == "windows":
        os0 = first_instance(wmi, "os")
        name = clean(os0.get("Caption")) or clean(text.split(",", 1)[0])
        version = clean(os0.get("Version"))
        if version is None and text:
            build = _WIN_BUILD.search(text)
            version = build.group(1) if build else None
        return name, version
    tokens = text.split()
    arch_at = next((i for i, t in enumerate(tokens) if t.lower() in _ARCH_TOKENS), None)
    if arch_at is None or arch_at < 2:
        return clean(text), None
    name, version = " ".join(tokens[: arch_at - 1]), tokens[arch_at - 1]
    if plat == "darwin" and name.lower() == "darwin":
        name = "macOS"
    return name, version


def classify(monitoring_type: Any, operating_system: Any, wmi: Any) -> str:
    """§5: ``monitoring_type`` first; otherwise WMI ``ProductType``, then "server" in the OS string."""
    if monitoring_type in ("workstation", "server"):
        return str(monitoring_type)
    product_type = _int(first_instance(wmi, "os").get("ProductType"))
    if product_type == 1:
        return "workstation"
    if product_type in (2, 3):
        return "server"
    if isinstance(operating_system, str) and "server" in operating_system.lower():
        return "server"
    return "workstation"


# ----------------------------------------------------------------------------- agents


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _minutes(value: Any, default: int) -> int:
    minutes = _int(value)
    return default if minutes is None or minutes < 0 else minutes


def _wan_ip(value: Any) -> str | None:
    if isinstance(value, str):
        # Plain dotted IPv4 (nearly every row): ``ipaddress`` would give the text back unchanged.
        text = value.strip().split("/", 1)[0].split("%", 1)[0]
        if _PLAIN_V4.fullmatch(text):
            return text
    ip = parse_ip(value)
    return ip.compressed if ip is not None else None


def agent_snapshot(
    row: Mapping[str, Any],
    sites: Mapping[int, SiteInfo],
    *,
    pk: int | None = None,
    client_id: int | None = None,
) -> DeviceSnapshot:
    """One agent (a ``/beta/v1/agent/`` list row, or a detail object with ``pk`` given) → snapshot.

    ``client_id`` is the client whose listing the row came from: the fallback when the agent's site
    is not (yet) in ``sites``. Raises :class:`InvalidRecord` when the row cannot be used.
    """
    if not isinstance(row, dict) and not isinstance(row, Mapping):  # dict first: the ABC check is slow
        raise InvalidRecord(None, "agent row is not an object")
    agent_id = row.get("agent_id")
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise InvalidRecord(str(row.get("id") or pk or "") or None, "agent has no agent_id")
    agent_id = agent_id.strip()
    ref = pk if pk is not None else _int(row.get("id"))
    if ref is None:
        raise InvalidRecord(agent_id, "agent has no integer id")
    hostname = row.get("hostname")
    if not isinstance(hostname, str) or not hostname.strip():
        raise InvalidRecord(agent_id, "agent has no hostname")
    site_id = _int(row.get("site"))
    site = sites.get(site_id) if site_id is not None else None
    if site is not None:
        realm = site.client_id
    elif client_id is not None:
        realm = client_id
    else:
        raise InvalidRecord(agent_id, f"agent's site {row.get('site')!r} is unknown (no client)")

    plat = str(row.get("plat") or "").lower()
    raw_wmi = row.get("wmi_detail")
    wmi: Mapping[str, Any] = raw_wmi if isinstance(raw_wmi, dict) or isinstance(raw_wmi, Mapping) else {}
    windows = plat == "windows"
    operating_system = row.get("operating_system")

    cpu_model: str | None
    cores: int | None = None
    threads: int | None = None
    if windows:
        wmi = _Wmi(wmi)
        make, model = windows_make_model(wmi)
        manufacturer, model_name = clean(make), clean(model)
        serial = _windows_serial(wmi)
        hardware_uuid = clean(first_instance(wmi, "comp_sys_prod").get("UUID"))
        if hardware_uuid is not None and hardware_uuid.lower() in _JUNK_UUIDS:
            hardware_uuid = None
        cpus = instances(wmi, "cpu")
        cpu_model = clean(cpus[0].get("Name")) if cpus else None
        core_counts = [_int(c.get("NumberOfCores")) for c in cpus]
        thread_counts = [_int(c.get("NumberOfLogicalProcessors")) for c in cpus]
        cores = sum(c for c in core_counts if c) or None
        threads = sum(t for t in thread_counts if t) or None
        capacities = [_int(m.get("Capacity")) for m in instances(wmi, "mem")]
        exact_ram = sum(c for c in capacities if c and c > 0)
        disks = tuple(windows_physical_disks(wmi))
        gpu = windows_graphics(wmi)
        comp_sys = first_instance(wmi, "comp_sys")
        domain = clean(comp_sys.get("Domain")) if comp_sys.get("PartOfDomain") is not False else None
        if domain is not None and domain.upper() == "WORKGROUP":
            domain = None
        adapters = _adapters(wmi)
        adapter_macs = [mac_address(a.get("MACAddress")) for a in adapters]
        lan, primary, macs = _windows_network(wmi, adapter_macs)
        physical = physical_macs(
            [(a.get("Description") or a.get("Name"), mac) for a, mac in zip(adapters, adapter_macs, strict=True)]
        )
    else:
        make_model = clean(wmi.get("make_model"))
        manufacturer = "Apple" if plat == "darwin" and make_model else None
        model_name = make_model
        serial = clean(wmi.get("serialnumber"))
        hardware_uuid = None
        cpus_raw = wmi.get("cpus")
        cpu_model = clean(cpus_raw[0]) if isinstance(cpus_raw, list) and cpus_raw else None
        exact_ram = 0
        disks_raw = wmi.get("disks")
        disks = tuple(d for d in (clean(x) for x in disks_raw) if d) if isinstance(disks_raw, list) else ()
        gpus = wmi.get("gpus")
        gpu = clean(", ".join(g for g in gpus if isinstance(g, str))) if isinstance(gpus, list) else None
        domain = None
        lan, primary = posix_network(wmi)
        macs = ()
        physical = ()
    total_ram = _int(row.get("total_ram"))
    ram_bytes = exact_ram or (total_ram * GIB if total_ram and total_ram > 0 else None)
    os_name, os_version = os_name_version(plat, operating_system, wmi)
    site_name = site.name if site is not None else None
    return DeviceSnapshot(
        external_id=agent_id,
        realm_id=str(realm),
        name=hostname.strip(),
        asset_type=classify(row.get("monitoring_type"), operating_system, wmi),
        external_ref=str(ref),
        site_id=str(site_id) if site_id is not None else None,
        site_name=site_name or None,
        serial_number=serial,
        manufacturer=manufacturer,
        model=model_name,
        hardware_uuid=hardware_uuid,
        os_name=os_name,
        os_version=os_version,
        platform=plat or None,
        architecture=clean(row.get("goarch")),
        cpu_model=cpu_model,
        cpu_cores=cores,
        cpu_threads=threads,
        ram_bytes=ram_bytes,
        volumes=volumes(row.get("disks")),
        physical_disks=disks,
        gpu=gpu,
        domain=domain,
        agent_version=clean(row.get("version")),
        current_user=user_name(row.get("logged_in_username")),
        last_user=user_name(row.get("last_logged_in_user")),
        boot_time=_epoch(row.get("boot_time")),
        lan_ips=lan,
        primary_ip=primary,
        wan_ip=_wan_ip(row.get("public_ip")),
        mac_addresses=macs,
        needs_reboot=row.get("needs_reboot") if isinstance(row.get("needs_reboot"), bool) else None,
        patches_last_installed_at=parse_iso(row.get("patches_last_installed")),
        last_seen_at=parse_iso(row.get("last_seen")),
        offline_after_s=_minutes(row.get("offline_time"), DEFAULT_OFFLINE_MIN) * 60,
        overdue_after_s=_minutes(row.get("overdue_time"), DEFAULT_OVERDUE_MIN) * 60,
        # Identity for cross-RMM correlation: MACs of physical adapters only (Bluetooth PAN, VPN
        # and virtual adapters named as such are left out).
        identity=IdentityEvidence(
            hardware_uuid=hardware_uuid,
            serial_number=serial,
            manufacturer=manufacturer,
            macs=physical,
            hostname=hostname.strip(),
            domain=domain,
        ),
    )


# ----------------------------------------------------------------------------- liveness

AGENT_STATUSES = ("online", "offline", "overdue")


def _count(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and number >= 0 else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def liveness_record(row: Mapping[str, Any], client_id: int) -> LivenessRecord:
    """One dashboard agent-table row (``AgentTableSerializer``) → what moves between syncs.

    The row has no thresholds (the agent's own, stored by the device sync, apply) and no integer pk
    (``hints`` carry hostname and client for :meth:`fetch_unknown_device`). ``logged_username`` is
    ``"-"`` for nobody and the *last* user when ``italic``: neither is a current user.
    """
    if not isinstance(row, dict) and not isinstance(row, Mapping):  # dict first: the ABC check is slow
        raise InvalidRecord(None, "agent table row is not an object")
    agent_id = row.get("agent_id")
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise InvalidRecord(None, "agent table row has no agent_id")
    agent_id = agent_id.strip()
    raw_seen = row.get("last_seen")
    last_seen = parse_iso(raw_seen)
    if raw_seen is not None and last_seen is None:
        raise InvalidRecord(agent_id, f"unreadable last_seen {raw_seen!r}")
    status = row.get("status")
    checks = row.get("checks")
    checks = checks if isinstance(checks, dict) or isinstance(checks, Mapping) else {}
    user = None if row.get("italic") is True else user_name(row.get("logged_username"))
    hostname = row.get("hostname")
    return LivenessRecord(
        external_id=agent_id,
        realm_id=str(client_id),
        last_seen_at=last_seen,
        rmm_status=status if status in AGENT_STATUSES else None,
        current_user=None if user == "-" else user,
        boot_time=_epoch(row.get("boot_time")),
        health=DeviceHealth(
            checks_failing=_count(checks.get("failing")),
            checks_warning=_count(checks.get("warning")),
            needs_reboot=_flag(row.get("needs_reboot")),
            patches_pending=_flag(row.get("has_patches_pending")),
            maintenance_mode=_flag(row.get("maintenance_mode")),
            pending_actions=_count(row.get("pending_actions_count")),
        ),
        hints={"hostname": hostname.strip(), "client_id": str(client_id)} if isinstance(hostname, str) else {},
    )


# ----------------------------------------------------------------------------- alerts

SEVERITY_MAP = {"info": "info", "warning": "warning", "error": "error"}


def map_severity(value: Any) -> str:
    """The one mapping poller and webhook share: Tactical's own three values; anything else → warning."""
    if isinstance(value, str):
        return SEVERITY_MAP.get(value.strip().lower(), "warning")
    return "warning"


def alert_event(row: Mapping[str, Any]) -> AlertEvent:
    """One ``PATCH /alerts/`` object → event. Identity is ``str(id)``, as in the webhook."""
    if not isinstance(row, Mapping):
        raise InvalidRecord(None, "alert is not an object")
    alert_id = _int(row.get("id"))
    if alert_id is None:
        raise InvalidRecord(None, "alert has no id")
    agent_id = row.get("agent_id") if isinstance(row.get("agent_id"), str) and row.get("agent_id") else None
    agent_pk = _int(row.get("agent"))
    severity = row.get("severity")
    attributes = {
        "native_severity": severity if isinstance(severity, str) else None,
        "snoozed": bool(row.get("snoozed")),
        "snooze_until": row.get("snooze_until"),
        "hidden": bool(row.get("hidden")),
        "check_id": _int(row.get("assigned_check")),
        "task_id": _int(row.get("assigned_task")),
        "hostname": row.get("hostname"),
        "client_name": row.get("client"),
        "site_name": row.get("site"),
        "action_run": row.get("action_run"),
        "action_retcode": _int(row.get("action_retcode")),
    }
    return AlertEvent(
        external_alert_id=str(alert_id),
        external_device_id=agent_id,
        severity=map_severity(severity),
        status="resolved" if row.get("resolved") is True else "active",
        alert_type=clean(row.get("alert_type"), limit=60),
        message=row.get("message") if isinstance(row.get("message"), str) else None,
        raised_at=parse_iso(row.get("alert_time")),
        resolved_at=parse_iso(row.get("resolved_on")),
        device_ref=str(agent_pk) if agent_pk is not None else None,
        attributes={k: v for k, v in attributes.items() if v is not None},
    )


# ----------------------------------------------------------------------------- software

_DATE = re.compile(r"^\s*(\d{1,4})-(\d{1,2})-(\d{1,2})")


def parse_install_date(value: Any) -> datetime | None:
    """Both formats (§7.1): ``"2019-06-09 00:00:00 +0000 UTC"`` and ``"2024-3-07"``; years < 1970 → None."""
    if not isinstance(value, str):
        return None
    match = _DATE.match(value)
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    if year < 1970:
        return None
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def parse_software_size(value: Any) -> int | None:
    """``"5.2 MB"`` → bytes (base 1024); ``"0 B"`` means "not reported" → None."""
    size = parse_size(value)
    return size if size else None


def software_item(raw: Any) -> SoftwareItem | None:
    if not isinstance(raw, Mapping):
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    publisher = raw.get("publisher")
    version = raw.get("version")
    return SoftwareItem(
        name=name.strip()[:500],
        publisher=publisher.strip()[:500] if isinstance(publisher, str) else "",
        version=(str(version).strip()[:200] or None) if isinstance(version, str | int | float) else None,
        install_date=parse_install_date(raw.get("install_date")),
        size_bytes=parse_software_size(raw.get("size")),
    )


def device_software(row: Mapping[str, Any]) -> DeviceSoftware:
    """One ``/software/`` row (``{"id", "agent": <pk>, "software": [...]}``) → the agent's list."""
    if not isinstance(row, Mapping):
        raise InvalidRecord(None, "software row is not an object")
    agent_pk = _int(row.get("agent"))
    if agent_pk is None:
        raise InvalidRecord(None, "software row has no agent")
    raw = row.get("software")
    if not isinstance(raw, list):
        raise InvalidRecord(str(agent_pk), "software row has no software list")
    items = [item for item in (software_item(s) for s in raw) if item is not None]
    return DeviceSoftware(external_id=None, software=items, external_ref=str(agent_pk))
