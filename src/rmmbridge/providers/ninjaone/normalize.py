"""Pure NinjaOne normalization (reference/ninjaone.md §4.4–§4.8, §6, §7.3): raw rows in, typed records out.

Units: every top-level timestamp is epoch **seconds** as a float (``1742412252.744000000``); a value
above 1e11 is a bug signal, counted and read as milliseconds. Webhook ``data.message.params.*_date``
are milliseconds and are never read as timestamps here. Absent data is an omitted key: an absent
field is "no change" (``DeviceSnapshot.reported``), never "empty".
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rmmbridge.providers.base import (
    AlertEvent,
    DeviceActivity,
    DeviceSnapshot,
    DeviceSoftware,
    InvalidRecord,
    LivenessRecord,
    SoftwareItem,
    Volume,
)

# nodeClass → the reference's category (§4.5); rmmbridge stores workstation and server, every other
# category (and any class this table does not know) is "unknown" — never a failed record.
NODE_CATEGORY: dict[str, str] = {
    **dict.fromkeys(("WINDOWS_WORKSTATION", "MAC", "LINUX_WORKSTATION", "NMS_COMPUTER"), "workstation"),
    **dict.fromkeys(
        (
            "WINDOWS_SERVER",
            "LINUX_SERVER",
            "MAC_SERVER",
            "VMWARE_VM_HOST",
            "HYPERV_VMM_HOST",
            "NMS_SERVER",
            "NMS_VM_HOST",
            "VMWARE_VM_GUEST",
            "HYPERV_VMM_GUEST",
            "NMS_VIRTUAL_MACHINE",
        ),
        "server",
    ),
    **dict.fromkeys(
        (
            "NMS_SWITCH",
            "NMS_ROUTER",
            "NMS_FIREWALL",
            "NMS_PRIVATE_NETWORK_GATEWAY",
            "NMS_WAP",
            "NMS_APPLIANCE",
            "NMS_IPSLA",
            "NMS_DIAL_MANAGER",
            "NMS_NETWORK_MANAGEMENT_AGENT",
        ),
        "network_device",
    ),
    **dict.fromkeys(("NMS_PRINTER", "NMS_SCANNER"), "printer"),
    **dict.fromkeys(("ANDROID", "APPLE_IOS", "APPLE_IPADOS", "NMS_PHONE"), "mobile_device"),
    **dict.fromkeys(("CLOUD_MONITOR_TARGET", "NMS_OTHER", "UNMANAGED_DEVICE", "MANAGED_DEVICE"), "unknown"),
}
ASSET_TYPES = frozenset({"workstation", "server", "unknown"})  # what rmmbridge stores
VM_GUESTS = frozenset({"VMWARE_VM_GUEST", "HYPERV_VMM_GUEST", "NMS_VIRTUAL_MACHINE"})
# Monitored through another device: their lastContact is not a check-in (§4.6); trust ``offline``.
AGENTLESS_PREFIXES = ("VMWARE_", "HYPERV_", "NMS_", "CLOUD_MONITOR_TARGET")
JUNK_SERIALS = frozenset({"to be filled by o.e.m.", "default string", "0", "system serial number", "none", ""})
ONLINE_WINDOW_S = 30 * 60
SEVERITY = {"CRITICAL": "critical", "MAJOR": "error", "MODERATE": "warning", "MINOR": "warning", "NONE": "info"}
CONDITION_STATUSES = {"TRIGGERED": "active", "RESET": "resolved", "ACKNOWLEDGED": "active"}


@dataclass
class UnitCounter:
    """How many top-level timestamps looked like milliseconds (a bug signal, §Units)."""

    millis_seen: int = 0


UNITS = UnitCounter()


def asset_type_of(node_class: object) -> str:
    category = NODE_CATEGORY.get(str(node_class or ""), "unknown")
    return category if category in ASSET_TYPES else "unknown"


def epoch_seconds(value: object) -> datetime | None:
    """A NinjaOne top-level timestamp (float epoch seconds) as an aware UTC datetime."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float) or value <= 0:
        return None
    if value > 1e11:
        UNITS.millis_seen += 1
        value = value / 1000.0
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _str(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def serial_of(system: Mapping[str, Any]) -> str | None:
    for key in ("serialNumber", "biosSerialNumber"):
        value = _str(system.get(key))
        if value and value.lower() not in JUNK_SERIALS:
            return value
    return None


def lan_ip(addresses: Iterable[object]) -> tuple[tuple[str, ...], str | None]:
    ips: list[str] = []
    primary = None
    for raw in addresses:
        text = _str(raw)
        if not text:
            continue
        try:
            ip = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            continue
        if text not in ips:
            ips.append(text)
        if primary is None and ip.version == 4 and ip.is_private and not ip.is_loopback and not ip.is_link_local:
            primary = text
    return tuple(ips), primary


def macs(values: Iterable[object]) -> tuple[str, ...]:
    out: list[str] = []
    for raw in values:
        text = _str(raw)
        if text and text.lower() not in out:
            out.append(text.lower())  # real data repeats MACs and mixes case
    return tuple(out)


def is_agentless(node_class: str) -> bool:
    return node_class.startswith(AGENTLESS_PREFIXES)


def status_thresholds(
    row: Mapping[str, Any], last_seen: datetime | None, now: datetime, overdue_after_s: int
) -> tuple[int, int]:
    """NinjaOne's own verdict (``offline``) as rmmbridge's thresholds (§4.6): offline now when it says
    offline; otherwise online for ``ONLINE_WINDOW_S`` after this observation (for agentless classes
    ``lastContact`` is not a check-in, so the window starts at the observation, not at lastContact)."""
    age = int((now - last_seen).total_seconds()) if last_seen is not None else 0
    if row.get("offline") is True:
        return 0, max(overdue_after_s, 1)
    online_for = max(ONLINE_WINDOW_S, age + ONLINE_WINDOW_S)
    return online_for, max(overdue_after_s, online_for + 1)


def device_snapshot(row: Any, now: datetime, overdue_after_s: int = 86400) -> DeviceSnapshot:
    """One ``/v2/devices-detailed`` row (or ``/v2/device/{id}``) as a :class:`DeviceSnapshot`."""
    if not isinstance(row, dict):
        raise InvalidRecord(None, "device row is not an object")
    did = _int(row.get("id"))
    if did is None:
        raise InvalidRecord(None, "device row without an integer id")
    org = _int(row.get("organizationId"))
    if org is None:
        raise InvalidRecord(str(did), "device without organizationId")
    node_class = str(row.get("nodeClass") or "")
    name = _str(row.get("displayName")) or _str(row.get("systemName")) or _str(row.get("dnsName")) or f"device {did}"
    system = row.get("system") if isinstance(row.get("system"), dict) else None
    os_ = row.get("os") if isinstance(row.get("os"), dict) else None
    memory = row.get("memory") if isinstance(row.get("memory"), dict) else None
    processors = [p for p in row.get("processors") or [] if isinstance(p, dict)]
    last_seen = epoch_seconds(row.get("lastContact"))
    offline_after, overdue_after = status_thresholds(row, last_seen, now, overdue_after_s)
    refs: dict[str, Any] = row["references"] if isinstance(row.get("references"), dict) else {}
    location: dict[str, Any] = refs["location"] if isinstance(refs.get("location"), dict) else {}
    values: dict[str, Any] = {
        "external_id": str(did),
        "realm_id": str(org),
        "name": name,
        "asset_type": asset_type_of(node_class),
        "site_id": str(row["locationId"]) if _int(row.get("locationId")) is not None else None,
        "site_name": _str(location.get("name")),
        "last_seen_at": last_seen,
        "offline_after_s": offline_after,
        "overdue_after_s": overdue_after,
    }
    reported = {
        "external_id",
        "realm_id",
        "name",
        "asset_type",
        "site_id",
        "site_name",
        "last_seen_at",
        "offline_after_s",
        "overdue_after_s",
    }
    if system is not None:
        ram = _int(system.get("totalPhysicalMemory")) or (_int(memory.get("capacity")) if memory else None)
        values.update(
            serial_number=serial_of(system),
            manufacturer=_str(system.get("manufacturer")),
            model=_str(system.get("model")),
            domain=_str(system.get("domain")),
            ram_bytes=ram,
        )
        reported |= {"serial_number", "manufacturer", "model", "domain", "ram_bytes"}
    elif memory is not None and _int(memory.get("capacity")):
        values["ram_bytes"] = _int(memory.get("capacity"))
        reported.add("ram_bytes")
    if "cpuModel" in row or "vendor" in row:  # the hypervisor shape of /v2/device/{id} (§4.8)
        values.update(
            manufacturer=_str(row.get("vendor")),
            model=_str(row.get("model")),
            cpu_model=_str(row.get("cpuModel")),
            cpu_threads=_int(row.get("cpuThreads")),
            ram_bytes=_int(row.get("memorySize")),
            os_name=_str(row.get("releaseName")),
            os_version=_str(row.get("version")),
            boot_time=epoch_seconds(row.get("lastBootTime")),
            serial_number=_str(row.get("serviceTag")),
        )
        reported |= {
            "manufacturer",
            "model",
            "cpu_model",
            "cpu_threads",
            "ram_bytes",
            "os_name",
            "os_version",
            "boot_time",
            "serial_number",
        }
    if os_ is not None:
        build = _str(os_.get("buildNumber"))
        release = _str(os_.get("releaseId"))
        values.update(
            os_name=_str(os_.get("name")),
            os_version=" ".join(x for x in (release, build) if x) or None,
            architecture=_str(os_.get("architecture")),
            boot_time=epoch_seconds(os_.get("lastBootTime")),
            needs_reboot=os_.get("needsReboot") if isinstance(os_.get("needsReboot"), bool) else None,
            platform=_platform(node_class),
        )
        reported |= {"os_name", "os_version", "architecture", "boot_time", "needs_reboot", "platform"}
    if processors:
        values.update(
            cpu_model=_str(processors[0].get("name")),
            cpu_cores=sum(_int(p.get("numCores")) or 0 for p in processors) or None,
            cpu_threads=sum(_int(p.get("numLogicalCores")) or 0 for p in processors) or None,
        )
        reported |= {"cpu_model", "cpu_cores", "cpu_threads"}
    if isinstance(row.get("volumes"), list):
        vols = []
        for v in row["volumes"]:
            if not isinstance(v, dict) or not (_int(v.get("capacity")) or 0) > 0:
                continue
            total, free = _int(v.get("capacity")) or 0, _int(v.get("freeSpace")) or 0
            vols.append(
                Volume(
                    device=_str(v.get("name")) or _str(v.get("label")) or "?",
                    fstype=_str(v.get("fileSystem")),
                    total_bytes=total,
                    free_bytes=free,
                    used_bytes=max(0, total - free),
                    percent_used=round(100 * (total - free) / total),
                )
            )
        values["volumes"] = tuple(vols)
        reported.add("volumes")
    if isinstance(row.get("ipAddresses"), list):
        values["lan_ips"], values["primary_ip"] = lan_ip(row["ipAddresses"])
        reported |= {"lan_ips", "primary_ip"}
    if "publicIP" in row:
        values["wan_ip"] = _str(row.get("publicIP"))
        reported.add("wan_ip")
    if isinstance(row.get("macAddresses"), list):
        values["mac_addresses"] = macs(row["macAddresses"])
        reported.add("mac_addresses")
    if "lastLoggedInUser" in row:
        values["current_user"] = _str(row.get("lastLoggedInUser"))
        reported.add("current_user")
    return DeviceSnapshot(**values, reported=tuple(sorted(reported)))


def _platform(node_class: str) -> str | None:
    if "WINDOWS" in node_class:
        return "windows"
    if "MAC" in node_class:
        return "darwin"
    if "LINUX" in node_class:
        return "linux"
    return None


def liveness_record(row: Any, now: datetime, overdue_after_s: int = 86400) -> LivenessRecord:
    """One ``/v2/devices`` row: the RMM's verdict (``offline``) and ``lastContact`` only."""
    if not isinstance(row, dict) or _int(row.get("id")) is None or _int(row.get("organizationId")) is None:
        raise InvalidRecord(str(row.get("id")) if isinstance(row, dict) else None, "device row without id/org")
    last_seen = epoch_seconds(row.get("lastContact"))
    offline_after, overdue_after = status_thresholds(row, last_seen, now, overdue_after_s)
    if row.get("offline") is True:
        status = (
            "overdue" if last_seen is not None and (now - last_seen).total_seconds() > overdue_after_s else "offline"
        )
    else:
        status = "online"
    return LivenessRecord(
        external_id=str(row["id"]),
        realm_id=str(row["organizationId"]),
        last_seen_at=last_seen,
        rmm_status=status,
        offline_after_s=offline_after,
        overdue_after_s=overdue_after,
        reported=(),
    )


def alert_event(row: Any) -> AlertEvent:
    """One ``/v2/alerts`` row: keyed on ``uid`` (= the series uid), condition on ``sourceConfigUid``."""
    if not isinstance(row, dict) or not _str(row.get("uid")):
        raise InvalidRecord(None, "alert row without uid")
    device = _int(row.get("deviceId"))
    return AlertEvent(
        external_alert_id=str(row["uid"]),
        external_device_id=str(device) if device is not None else None,
        severity=SEVERITY.get(str(row.get("severity") or "NONE"), "info"),
        status="active",
        alert_type=_str(row.get("sourceType")),
        message=_str(row.get("message")),
        raised_at=epoch_seconds(row.get("createTime")),
        attributes={"condition": _condition(row), "source": "poll", "priority": row.get("priority") or "NONE"},
    )


def _condition(row: Mapping[str, Any]) -> str | None:
    config = _str(row.get("sourceConfigUid"))
    if config is None:
        return None
    subject = _str(row.get("subject"))
    return f"{config}:{subject}" if subject else config


def activity_alert(payload: Any) -> AlertEvent:
    """A webhook delivery or activity as an alert event, dispatched on ``statusCode`` (never on the
    display texts ``status``/``type``). Keyed on ``seriesUid`` (shared by trigger, reset and
    acknowledge), falling back to ``<deviceId>:<sourceConfigUid>``; the activity ``id`` is only the
    delivery's idempotency key. Raises :class:`InvalidRecord` for activities that are not alerts."""
    if not isinstance(payload, dict):
        raise InvalidRecord(None, "the payload is not a JSON object")
    code = str(payload.get("statusCode") or "")
    activity_id = payload.get("id")
    if code not in CONDITION_STATUSES:
        raise device_activity(payload, code)
    device = _int(payload.get("deviceId"))
    series = _str(payload.get("seriesUid"))
    config = _str(payload.get("sourceConfigUid"))
    if series is None:
        if device is None or config is None:
            raise InvalidRecord(str(activity_id), "condition activity without seriesUid or deviceId+sourceConfigUid")
        series = f"{device}:{config}"
    when = epoch_seconds(payload.get("activityTime"))
    status = CONDITION_STATUSES[code]
    return AlertEvent(
        external_alert_id=series,
        external_device_id=str(device) if device is not None else None,
        severity=SEVERITY.get(str(payload.get("severity") or "NONE"), "info"),
        status=status,
        alert_type=_str(payload.get("sourceName")) or _str(payload.get("activityType")),
        message=_str(payload.get("message")),
        raised_at=when if code == "TRIGGERED" else None,
        resolved_at=when if status == "resolved" else None,
        attributes={
            "condition": _condition(payload),
            "activity_id": activity_id,
            "status_code": code,
            "acknowledged": code == "ACKNOWLEDGED",
            "source": "webhook",
        },
    )


REFRESH_PREFIXES = (
    "NODE_",
    "USER_LOGGED_",
    "CPU_",
    "MEMORY_",
    "DISK_DRIVE_",
    "DISK_VOLUME_",
    "DISK_PARTITION_",
    "ADAPTER_",
    "SOFTWARE_",
)
REFRESH_CODES = frozenset({"SYSTEM_REBOOTED"})


def device_activity(payload: Mapping[str, Any], code: str) -> DeviceActivity:
    """§7.5: what a non-alert activity means for rmmbridge, dispatched on ``statusCode`` only."""
    activity_id = payload.get("id")
    device = _int(payload.get("deviceId"))
    ext = str(activity_id) if activity_id is not None else None
    if not code:
        return DeviceActivity(ext, "activity without statusCode (ignored)")
    if device is not None and (code in REFRESH_CODES or code.startswith(REFRESH_PREFIXES)):
        return DeviceActivity(ext, f"{code}: device {device} refreshed", external_device_id=str(device), refresh=True)
    if code.startswith(("CLIENT_", "LOCATION_")):
        # A "client" is an organization (§7.5): its creation, rename or deletion re-reads the scopes.
        return DeviceActivity(ext, f"{code}: organizations synced", scope_sync=True)
    return DeviceActivity(ext, f"{code} ({payload.get('activityType') or '?'}) is not used by rmmbridge (ignored)")


def parse_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRecord(None, f"the body is not JSON ({type(exc).__name__})") from None


@dataclass
class SoftwareGrouper:
    """Consecutive ``queries/software`` rows of one device → one :class:`DeviceSoftware` (the report
    is ordered by device, so one device's list is held at a time)."""

    current: int | None = None
    items: list[SoftwareItem] = field(default_factory=list)

    def add(self, row: Any) -> DeviceSoftware | None:
        if not isinstance(row, dict) or _int(row.get("deviceId")) is None or not _str(row.get("name")):
            return None
        did = _int(row["deviceId"])
        done = None
        if self.current is not None and did != self.current:
            done = self.flush()
        self.current = did
        self.items.append(software_item(row))
        return done

    def flush(self) -> DeviceSoftware | None:
        if self.current is None:
            return None
        out = DeviceSoftware(str(self.current), self.items)
        self.current, self.items = None, []
        return out


def software_item(row: Mapping[str, Any]) -> SoftwareItem:
    install = None
    raw = _str(row.get("installDate"))
    if raw:  # a date-time string without a zone (§5.2), never epoch seconds
        try:
            install = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            install = install if install.tzinfo else install.replace(tzinfo=UTC)
        except ValueError:
            install = None
    size = _int(row.get("size"))
    return SoftwareItem(
        name=str(row["name"]).strip(),
        publisher=_str(row.get("publisher")) or "",
        version=_str(row.get("version")),
        install_date=install,
        size_bytes=size or None,
    )
