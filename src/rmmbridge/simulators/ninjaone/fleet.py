"""A deterministic NinjaOne fleet (reference/ninjaone.md §3, §4, §9): organizations with locations,
devices of every node class (and one unknown future class), pending / staged / decommissioned
devices, duplicate MACs, a VMware host with the top-level hypervisor shape, alerts whose ``uid``
is their series uid, and software per device computed on demand (bounded memory for big fleets).

Timestamps are kept as floats of epoch seconds; the app renders them the way NinjaOne prints them
(nine decimals on REST, three on webhook ``activityTime``).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

NODE_CLASSES = (
    "WINDOWS_WORKSTATION",
    "WINDOWS_SERVER",
    "MAC",
    "LINUX_WORKSTATION",
    "LINUX_SERVER",
    "MAC_SERVER",
    "ANDROID",
    "APPLE_IOS",
    "APPLE_IPADOS",
    "VMWARE_VM_HOST",
    "VMWARE_VM_GUEST",
    "HYPERV_VMM_HOST",
    "HYPERV_VMM_GUEST",
    "CLOUD_MONITOR_TARGET",
    "NMS_SWITCH",
    "NMS_ROUTER",
    "NMS_FIREWALL",
    "NMS_PRIVATE_NETWORK_GATEWAY",
    "NMS_PRINTER",
    "NMS_SCANNER",
    "NMS_DIAL_MANAGER",
    "NMS_WAP",
    "NMS_IPSLA",
    "NMS_COMPUTER",
    "NMS_VM_HOST",
    "NMS_APPLIANCE",
    "NMS_OTHER",
    "NMS_SERVER",
    "NMS_PHONE",
    "NMS_VIRTUAL_MACHINE",
    "NMS_NETWORK_MANAGEMENT_AGENT",
    "UNMANAGED_DEVICE",
    "MANAGED_DEVICE",
)
FUTURE_CLASS = "QUANTUM_TOASTER"  # a class a newer NinjaOne may send: the client must not crash on it
AGENT_CLASSES = ("WINDOWS_WORKSTATION", "WINDOWS_SERVER", "MAC", "LINUX_WORKSTATION", "LINUX_SERVER", "MAC_SERVER")
ORG_NAMES = (
    "Country Consulting",
    "Acme Ltd",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Stark Logistics",
    "Wayne Foods",
    "Hooli",
    "Vandelay Import",
    "Soylent Labs",
)
SOFTWARE = (
    ("Google Chrome", "Google LLC"),
    ("7-Zip 23.01 (x64)", "Igor Pavlov"),
    ("Mozilla Firefox", "Mozilla"),
    ("Microsoft Edge", "Microsoft Corporation"),
    ("Zoom Workplace", "Zoom Video Communications, Inc."),
    ("Notepad++", "Notepad++ Team"),
    ("VLC media player", "VideoLAN"),
    ("Adobe Acrobat Reader", "Adobe"),
)


@dataclass
class Alert:
    uid: str
    device_id: int
    source_type: str
    source_config_uid: str
    subject: str
    message: str
    create_time: float
    severity: str | None = None
    priority: str | None = None


@dataclass
class NinjaFleet:
    seed: int
    generated_at: datetime
    organizations: dict[int, dict[str, Any]] = field(default_factory=dict)
    locations: dict[int, dict[str, Any]] = field(default_factory=dict)
    devices: dict[int, dict[str, Any]] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    software_overrides: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    next_device_id: int = 0
    next_org_id: int = 0

    def software_of(self, device_id: int) -> list[dict[str, Any]]:
        """The device's installed software: computed from the seed (nothing held for big fleets)."""
        if device_id in self.software_overrides:
            return self.software_overrides[device_id]
        device = self.devices.get(device_id)
        if device is None or device["nodeClass"] not in AGENT_CLASSES:
            return []
        rng = random.Random(self.seed * 1_000_003 + device_id)
        picked = rng.sample(SOFTWARE, k=rng.randint(2, 5))
        stamp = round(device["lastContact"] - 600, 3)
        return [
            {
                "name": name,
                "publisher": publisher,
                "version": f"{rng.randint(1, 130)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}",
                "installDate": f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T00:00:00",
                "location": "C:\\Program Files",
                "size": rng.choice((0, 5826560, 104857600)),
                "productCode": "{" + str(uuid.UUID(int=rng.getrandbits(128))).upper() + "}",
                "timestamp": stamp,
            }
            for name, publisher in picked
        ]


def _ts(now: float, rng: random.Random, back_s: float, style: int) -> float:
    """A past timestamp with one of the fraction styles real tenants show (…744, …892432, ….0)."""
    value = now - rng.random() * back_s
    return (round(value, 3), round(value, 6), float(int(value)))[style % 3]


def new_device(
    fleet: NinjaFleet, rng: random.Random, org_id: int, node_class: str, now: float, status: str = "APPROVED"
) -> dict[str, Any]:
    fleet.next_device_id += rng.randint(1, 3)  # ids ascend with gaps, as deletions leave them
    did = fleet.next_device_id
    locations = [loc for loc in fleet.locations.values() if loc["organizationId"] == org_id]
    loc = locations[did % len(locations)]
    name = f"{fleet.organizations[org_id]['name'].split()[0].upper()}-{node_class.split('_')[0][:3]}-{did:05d}"
    offline = rng.random() < 0.2
    last = _ts(now, rng, 20 * 86400 if offline else 240, did)
    device: dict[str, Any] = {
        "id": did,
        "uid": str(uuid.UUID(int=rng.getrandbits(128))),
        "organizationId": org_id,
        "locationId": loc["id"],
        "nodeClass": node_class,
        "nodeRoleId": 40 + AGENT_CLASSES.index(node_class) if node_class in AGENT_CLASSES else 9,
        "rolePolicyId": 43,
        "policyId": 43,
        "approvalStatus": status,
        "offline": offline,
        "systemName": name[:15],
        "dnsName": f"{name.lower()}.corp.local",
        "created": _ts(now, rng, 400 * 86400, did + 1),
        "lastContact": last,
        "lastUpdate": last,
        "tags": [],
        "fields": {},
        "userData": {},
    }
    if did % 7:
        device["displayName"] = name  # absent data is an omitted key, never null
    if node_class in AGENT_CLASSES:
        serial = f"SN{rng.getrandbits(40):010X}" if did % 11 else "To Be Filled By O.E.M."
        mac = f"AA:BB:{rng.getrandbits(8):02X}:{rng.getrandbits(8):02X}:{did >> 8 & 255:02X}:{did & 255:02X}"
        device.update(
            {
                "ipAddresses": [f"10.{org_id % 250}.{did >> 8 & 255}.{did & 255}", "fe80::1"],
                "macAddresses": [mac, mac] if did % 5 == 0 else [mac],  # real data repeats MACs
                "publicIP": f"203.0.113.{org_id % 250}",
                "lastLoggedInUser": f"CORP\\user{did % 97}",
                "deviceType": "AgentDevice",
                "system": {
                    "name": name,
                    "manufacturer": "Dell Inc.",
                    "model": "OptiPlex 7010",
                    "serialNumber": serial,
                    "biosSerialNumber": serial,
                    "domain": "corp.local",
                    "domainRole": "Member Workstation",
                    "numberOfProcessors": 1,
                    "totalPhysicalMemory": 17179869184,
                    "virtualMachine": did % 13 == 0,
                    "chassisType": "DESKTOP",
                },
                "os": {
                    "name": "Windows 11 Pro"
                    if "WINDOWS" in node_class
                    else ("macOS" if "MAC" in node_class else "Ubuntu 22.04"),
                    "manufacturer": "Microsoft Corporation",
                    "architecture": "64-bit",
                    "buildNumber": "22631",
                    "releaseId": "23H2",
                    "servicePackMajorVersion": 0,
                    "servicePackMinorVersion": 0,
                    "locale": "en-US",
                    "language": "English",
                    "lastBootTime": _ts(last, rng, 9 * 86400, did),
                    "needsReboot": did % 4 == 0,
                },
                "memory": {"capacity": 17179869184},
                "processors": [
                    {
                        "name": "Intel(R) Core(TM) i7-10700 CPU @ 2.90GHz",
                        "clockSpeed": 2904000000,
                        "numCores": 8,
                        "numLogicalCores": 16,
                    }
                ],
                "volumes": [
                    {
                        "name": "C:",
                        "label": "OS",
                        "capacity": 511101108224,
                        "freeSpace": 200000000000,
                        "fileSystem": "NTFS",
                    },
                    {"name": "D:", "label": "", "capacity": 0, "freeSpace": 0, "fileSystem": ""},
                ],
            }
        )
    elif node_class == "VMWARE_VM_HOST":
        device.update(
            {
                "deviceType": "VMHost",
                "ipAddresses": [f"192.168.50.{did % 250}", "fe80::d267:26ff:fecb:352"],
                "macAddresses": ["d0:67:26:cb:03:52", "d0:67:26:cb:03:52", "d0:67:26:cb:03:55"],
            }
        )
    return device


def generate_fleet(seed: int = 1, orgs: int = 4, devices: int = 120, now: datetime | None = None) -> NinjaFleet:
    """``devices`` approved devices spread over ``orgs`` organizations, every node class present (when
    ``devices`` allows), plus a few pending / staged / decommissioned ones that must not be ingested."""
    rng = random.Random(seed)
    generated = now or datetime.now(UTC)
    t = generated.timestamp()
    fleet = NinjaFleet(seed=seed, generated_at=generated)
    loc_id = 0
    for i in range(orgs):
        fleet.next_org_id += 1 + (i % 3)  # small, non-contiguous per-instance ids (2, 5, 7…)
        oid = fleet.next_org_id + 1
        fleet.next_org_id = oid
        name = ORG_NAMES[i % len(ORG_NAMES)] + (f" {i // len(ORG_NAMES) + 1}" if i >= len(ORG_NAMES) else "")
        fleet.organizations[oid] = {
            "id": oid,
            "name": name,
            "description": "",
            "nodeApprovalMode": "AUTOMATIC",
            "userData": {},
        }
        for j in range(1 + i % 2):
            loc_id += 1
            fleet.locations[loc_id] = {
                "id": loc_id,
                "name": ("Main Office", "Branch")[j],
                "address": f"{loc_id} Main St",
                "description": "",
                "organizationId": oid,
            }
    org_ids = sorted(fleet.organizations)
    classes = (*NODE_CLASSES, FUTURE_CLASS)
    for n in range(devices):
        node_class = classes[n] if n < len(classes) else AGENT_CLASSES[rng.randrange(len(AGENT_CLASSES))]
        d = new_device(fleet, rng, org_ids[n % len(org_ids)], node_class, t)
        fleet.devices[d["id"]] = d
    for status in ("PENDING", "STAGED", "DECOMMISSIONED"):
        d = new_device(fleet, rng, org_ids[0], "WINDOWS_WORKSTATION", t, status=status)
        fleet.devices[d["id"]] = d
    for d in list(fleet.devices.values())[:: max(1, devices // 6 or 1)][:6]:
        if d["approvalStatus"] != "APPROVED":
            continue
        uid = str(uuid.UUID(int=rng.getrandbits(128)))
        alert = Alert(
            uid,
            d["id"],
            "CONDITION_AGENT_CPU",
            str(uuid.UUID(int=rng.getrandbits(128))),
            "",
            "CPU Utilization is greater than or equal to 90% for 5 minutes",
            round(t - 3600 * rng.random(), 3),
        )
        if d["id"] % 2:
            alert.severity, alert.priority = "MAJOR", "HIGH"
        fleet.alerts[uid] = alert
    return fleet
