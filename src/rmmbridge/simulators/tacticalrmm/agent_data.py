"""The heavy, derived parts of an agent: ``wmi_detail``, ``services``, volumes and software.

All of it is a pure function of the fleet seed and the agent's small record, so nothing large is
stored per agent. Results are cached (LRU) because a sync walks the same pages repeatedly; cached
objects are shared and must be treated as read-only (they are only ever serialised).
"""

from __future__ import annotations

import hashlib
import random
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from . import catalog, computed
from .fleet import AgentRecord, TacticalFleet, windows_os_pool

Json = dict[str, Any]


def _rng(seed: int, index: int, salt: int) -> random.Random:
    return random.Random((seed * 1_000_003 + index) * 31 + salt)


def human_size(num_bytes: float, *, compact: bool) -> str:
    """Tactical volume sizes, base 1024: ``"476.3G"`` (demo data, older agents) or ``"476.3 GB"``."""
    units = ("B", "K", "M", "G", "T") if compact else ("B", "kB", "MB", "GB", "TB")
    value = float(num_bytes)
    for unit in units:
        if value < 1024 or unit == units[-1]:
            return f"{value:.1f}{unit}" if compact else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def software_size(kib: int) -> str:
    """Software sizes: ``"%.1f <unit>"`` on a 1024 base; ``"0 B"`` means "not reported"."""
    if kib <= 0:
        return "0 B"
    return human_size(kib * 1024, compact=False)


def mesh_node_id(seed: int, agent: AgentRecord) -> str | None:
    if not agent.has_mesh:
        return None
    return hashlib.sha384(f"mesh:{seed}:{agent.index}".encode()).hexdigest()


def _serial(rng: random.Random, style: str) -> str:
    upper = string.ascii_uppercase + string.digits
    if style == "hp":
        return "5CG" + "".join(rng.choices(upper, k=7))
    if style == "hpe":
        return "CZJ" + "".join(rng.choices(upper, k=7))
    if style == "dell":
        return "".join(rng.choices(upper, k=7))
    if style == "lenovo":
        return "PF" + "".join(rng.choices(upper, k=6))
    if style == "surface":
        return "".join(rng.choices(string.digits, k=12))
    if style == "vmware":
        octets = [f"{rng.randrange(256):02x}" for _ in range(16)]
        return "VMware-" + " ".join(octets[:8]) + "-" + " ".join(octets[8:])
    if style == "hyperv":
        return "-".join("".join(rng.choices(string.digits, k=4)) for _ in range(6)) + "-" + "".join(
            rng.choices(string.digits, k=2)
        )
    if style == "apple":
        return "C02" + "".join(rng.choices(upper, k=9))
    if style == "na":
        return "n/a"
    return rng.choice(catalog.JUNK_SERIALS)


def _mac(rng: random.Random) -> str:
    return ":".join(f"{rng.randrange(256):02X}" for _ in range(6))


def _lan(agent: AgentRecord, rng: random.Random) -> tuple[str, str]:
    """(ipv4, gateway) in the site's /24."""
    third = agent.site_id % 250 + 1
    second = (agent.site_id // 250) % 250
    base = f"10.{second}.{third}" if agent.site_id % 3 else f"192.168.{third}"
    return f"{base}.{rng.randint(20, 250)}", f"{base}.1"


def _fe80(rng: random.Random) -> str:
    return "fe80::" + ":".join(f"{rng.randrange(1 << 16):x}" for _ in range(4))


def _iso_offset(when: datetime, offset_hours: int) -> str:
    local = when.astimezone(UTC) + timedelta(hours=offset_hours)
    sign = "-" if offset_hours < 0 else "+"
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 10:05d}{sign}{abs(offset_hours):02d}:00"


def _legacy(instance: Json) -> list[Json]:
    """Old agents sent one single-key dict per property, alphabetically."""
    return [{k: instance[k]} for k in sorted(instance)]


def _windows_wmi(fleet: TacticalFleet, agent: AgentRecord, production: bool) -> Json:
    rng = _rng(fleet.seed, agent.index, 1)
    pool = catalog.WIN_WORKSTATIONS if agent.kind == "win_ws" else catalog.WIN_SERVERS
    hw = pool[agent.hw % len(pool)]
    os_name, caption, os_version, build = windows_os_pool(agent.kind, agent.legacy_wmi)[agent.os_index]
    del os_name
    serial = _serial(rng, hw.serial_style)
    ram_bytes = (agent.total_ram or 8) * 1024**3
    modules = 1 if ram_bytes <= 8 * 1024**3 else (2 if agent.kind == "win_ws" else 4)
    boot = datetime.fromtimestamp(agent.boot_time, UTC) if agent.boot_time is not None else fleet.now
    tz = rng.choice((-8, -7, -6, -5, 0))
    domain_joined = rng.random() < 0.7
    domain = "WORKGROUP" if not domain_joined else f"{fleet.client_of(agent).name.split()[0].lower()}.local"
    ip, gateway = _lan(agent, rng)
    product_type = 1 if agent.kind == "win_ws" else (2 if agent.hostname.split("-")[-1].startswith("DC") else 3)

    def inst(d: Json) -> list[Json]:
        return _legacy(d) if agent.legacy_wmi else [d]

    wmi: Json = {
        "os": [inst({
            "Caption": caption, "Version": os_version, "BuildNumber": build, "OSArchitecture": "64-bit",
            "ProductType": product_type, "CSName": agent.hostname, "Manufacturer": "Microsoft Corporation",
            "InstallDate": _iso_offset(agent.created_time, tz), "LastBootUpTime": _iso_offset(boot, tz),
            "SerialNumber": f"00330-{rng.randint(10000, 99999)}-{rng.randint(10000, 99999)}-AA{rng.randint(100, 999)}",
            "TotalVisibleMemorySize": ram_bytes // 1024 - rng.randint(100_000, 400_000),
            "RegisteredUser": rng.choice(("Windows User", "IT", "admin")),
        })],
        "cpu": [inst({
            "Name": hw.cpu, "NumberOfCores": hw.cores, "NumberOfLogicalProcessors": hw.threads,
            "Manufacturer": "AuthenticAMD" if "AMD" in hw.cpu else "GenuineIntel",
            "MaxClockSpeed": rng.choice((2100, 2400, 2904, 3100)), "SocketDesignation": f"CPU {n + 1}",
            "DeviceID": f"CPU{n}", "AddressWidth": 64, "Architecture": 9,
        }) for n in range(hw.sockets)],
        "mem": [inst({
            "Capacity": ram_bytes // modules, "Manufacturer": rng.choice(("Samsung", "SK Hynix", "Micron", "Kingston")),
            "PartNumber": rng.choice(("M471A2K43DB1-CWE    ", "HMA82GS6DJR8N-XN    ", "9905700-072.A00G    ")),
            "Speed": rng.choice((2666, 3200, 4800)), "BankLabel": f"BANK {n}", "DeviceLocator": f"DIMM {n}",
        }) for n in range(modules)],
        "bios": [inst({
            "SerialNumber": serial, "Manufacturer": hw.bios_maker, "SMBIOSBIOSVersion": hw.bios_version,
            "Version": f"{hw.bios_maker.split()[0].upper()} - 1", "ReleaseDate": "2024-03-12T00:00:00+00:00",
        })],
        "disk": [inst({
            "Caption": d.caption, "Model": d.caption, "Size": d.size, "InterfaceType": d.interface,
            "MediaType": d.media, "Partitions": 3 if n == 0 else 1, "DeviceID": f"\\\\.\\PHYSICALDRIVE{n}",
            "SerialNumber": "".join(rng.choices(string.ascii_uppercase + string.digits, k=14)) + "     ",
        }) for n, d in enumerate(hw.disks) if d.interface != "USB" or rng.random() < 0.5],
        "comp_sys": [inst({
            "Manufacturer": hw.vendor, "Model": hw.model, "SystemFamily": hw.system_family, "Domain": domain,
            "PCSystemType": hw.pc_system_type, "TotalPhysicalMemory": ram_bytes - rng.randint(10**8, 4 * 10**8),
            "NumberOfProcessors": hw.sockets, "Name": agent.hostname, "PartOfDomain": domain_joined,
            "UserName": None if agent.logged_in_username in (None, "None") else
            f"{domain.split('.')[0].upper()}\\{agent.logged_in_username}",
        })],
        "comp_sys_prod": [inst({
            "Vendor": hw.vendor, "IdentifyingNumber": serial, "Name": hw.model, "Version": hw.product_version,
            "UUID": str(uuid.UUID(int=rng.getrandbits(128))).upper(),
        })],
        "base_board": [inst({
            "Manufacturer": hw.board_maker, "Product": hw.board_product, "Version": "",
            "SerialNumber": "".join(rng.choices(string.ascii_uppercase + string.digits, k=12)),
        })],
        "network_config": [inst({
            "Description": hw.nic, "IPEnabled": True, "IPAddress": [ip, _fe80(rng)],
            "IPSubnet": ["255.255.255.0", "64"], "MACAddress": _mac(rng), "DefaultIPGateway": [gateway],
            "DHCPEnabled": agent.kind == "win_ws", "DNSServerSearchOrder": [gateway, "1.1.1.1"],
        })],
        "graphics": [inst({
            "Caption": g, "Name": g, "DriverVersion": f"31.0.101.{rng.randint(1000, 5999)}",
            "AdapterRAM": rng.choice((1073741824, 2147483648, 4293918720)),
        }) for g in hw.gpus],
    }
    network = wmi["network_config"]
    if rng.random() < 0.15:  # a VPN adapter: a second IPv4, no gateway
        network.append(inst({
            "Description": "Fortinet SSL VPN Virtual Ethernet Adapter", "IPEnabled": True,
            "IPAddress": [f"10.212.134.{rng.randint(2, 250)}", _fe80(rng)], "IPSubnet": ["255.255.255.255", "64"],
            "MACAddress": "00:09:0F:AA:00:01", "DefaultIPGateway": None, "DHCPEnabled": False,
            "DNSServerSearchOrder": None,
        }))
    network.append(inst({
        "Description": "Bluetooth Device (Personal Area Network)" if agent.kind == "win_ws" else "WAN Miniport (IP)",
        "IPEnabled": False, "IPAddress": None, "IPSubnet": None,
        "MACAddress": _mac(rng) if agent.kind == "win_ws" else "", "DefaultIPGateway": None,
        "DHCPEnabled": True, "DNSServerSearchOrder": None,
    }))
    if production:
        wmi["network_adapter"] = [inst({
            "Name": hw.nic, "MACAddress": _mac(rng), "AdapterType": "Ethernet 802.3", "Speed": 1_000_000_000,
            "NetConnectionID": f"Ethernet {n}", "PNPDeviceID": f"PCI\\VEN_8086&DEV_15F3&SUBSYS_{n:08X}",
        }) for n in range(4)]
        wmi["usb"] = [inst({
            "Name": name, "DeviceID": f"USB\\VID_{rng.randrange(1 << 16):04X}&PID_{rng.randrange(1 << 16):04X}",
            "Status": "OK", "Manufacturer": "(Standard USB Host Controller)",
        }) for name in ("USB Root Hub (USB 3.0)", "USB Composite Device", "USB Input Device", "Generic USB Hub")]
        wmi["desktop_monitor"] = [inst({
            "Name": "Generic PnP Monitor", "ScreenWidth": 1920, "ScreenHeight": 1080, "MonitorManufacturer": "",
            "PNPDeviceID": f"DISPLAY\\DELA0{rng.randint(10, 99)}\\5&{rng.getrandbits(32):x}&0&UID4352",
        }) for _ in range(2)]
    machine = fleet.identities.get(agent.index)
    if machine is not None:
        _wear_identity(wmi, machine)
    return wmi


def _posix_wmi(fleet: TacticalFleet, agent: AgentRecord) -> Json:
    rng = _rng(fleet.seed, agent.index, 2)
    pool = catalog.LINUX_HARDWARE if agent.plat == "linux" else catalog.MAC_HARDWARE
    hw = pool[agent.hw % len(pool)]
    ip, _gateway = _lan(agent, rng)
    local_ips = [f"{ip}/24", f"{_fe80(rng)}/64"]
    if agent.plat == "linux" and rng.random() < 0.3:
        local_ips.append("172.17.0.1/16")
    wmi: Json = {
        "cpus": list(hw.cpus),
        "gpus": list(hw.gpus),
        "disks": list(hw.disks),
        "local_ips": local_ips,
        "make_model": hw.make_model,
    }
    if not agent.version.startswith(("2.4", "2.0", "1.")) and rng.random() < 0.9:
        wmi["serialnumber"] = _serial(rng, hw.serial_style)
    machine = fleet.identities.get(agent.index)
    if machine is not None:
        wmi["serialnumber"] = "n/a" if machine.weak else machine.serial
    return wmi


def _set(wmi: Json, section: str, key: str, value: Any) -> None:
    """Set ``key`` of a section's first instance, in either WMI layout (whole dict or legacy pairs)."""
    instances = wmi.get(section)
    if not instances:
        return
    for pair in instances[0]:
        if key in pair:
            pair[key] = value


def _wear_identity(wmi: Json, machine: Any) -> None:
    """A shared-fleet machine's serial, vendor, SMBIOS UUID and MAC (simulators/shared_fleet.py).
    A WEAK machine's firmware says nothing useful: placeholders for serial and UUID."""
    serial = "Default string" if machine.weak else machine.serial
    uuid_text = "00000000-0000-0000-0000-000000000000" if machine.weak else machine.uuid
    _set(wmi, "bios", "SerialNumber", serial)
    _set(wmi, "comp_sys_prod", "IdentifyingNumber", serial)
    _set(wmi, "comp_sys_prod", "UUID", uuid_text)
    _set(wmi, "comp_sys_prod", "Vendor", machine.vendor_wmi)
    _set(wmi, "comp_sys", "Manufacturer", machine.vendor_wmi)
    _set(wmi, "network_config", "MACAddress", machine.mac)


def _volumes(fleet: TacticalFleet, agent: AgentRecord) -> list[Json]:
    rng = _rng(fleet.seed, agent.index, 3)
    compact = agent.is_windows and (agent.legacy_wmi or rng.random() < 0.3)

    def volume(device: str, fstype: str, total: float) -> Json:
        percent = rng.randint(8, 97)
        used = total * percent / 100
        return {
            "free": human_size(total - used, compact=compact), "used": human_size(used, compact=compact),
            "total": human_size(total, compact=compact), "device": device, "fstype": fstype, "percent": percent,
        }

    if agent.is_windows:
        pool = catalog.WIN_WORKSTATIONS if agent.kind == "win_ws" else catalog.WIN_SERVERS
        disks = pool[agent.hw % len(pool)].disks
        vols = [volume("C:", "NTFS", disks[0].size * 0.97)]
        if len(disks) > 1 and disks[1].interface != "USB":
            vols.append(volume("D:", "NTFS", disks[1].size * 0.99))
        elif agent.kind == "win_srv" and rng.random() < 0.4:
            vols.append(volume("E:", "ReFS", 2 * 1024**4))
        return vols
    if agent.plat == "darwin":
        return [volume("/dev/disk3s1s1", "apfs", 494.4 * 1024**3)]
    root = rng.choice(("/dev/sda1", "/dev/mapper/ubuntu--vg-ubuntu--lv", "/dev/nvme0n1p2", "/dev/mmcblk0p2"))
    vols = [volume(root, "ext4", rng.choice((48.9, 97.9, 195.8, 436.9)) * 1024**3)]
    if rng.random() < 0.3:
        vols.append(volume("/dev/sdb1", "xfs", rng.choice((1.8, 3.6, 7.2)) * 1024**4))
    return vols


def _services(fleet: TacticalFleet, agent: AgentRecord, production: bool) -> list[Json]:
    rng = _rng(fleet.seed, agent.index, 4)
    pool = list(catalog.WIN_SERVICES)
    if agent.kind == "win_srv":
        pool += rng.sample(catalog.WIN_SERVER_SERVICES, rng.randint(2, len(catalog.WIN_SERVER_SERVICES)))
    chosen = pool if production else [entry for entry in pool if rng.random() < 0.8]
    if production:
        suffix = f"{rng.getrandbits(20):05x}"
        extra = ("CDPUserSvc", "OneSyncSvc", "WpnUserService", "PimIndexMaintenanceSvc", "UnistoreSvc",
                 "UserDataSvc", "MessagingService", "PrintWorkflowUserSvc", "cbdhsvc", "BcastDVRUserService")
        n = 0
        while len(chosen) < 220:
            base = extra[n % len(extra)]
            name = f"{base}_{suffix}" if n < len(extra) else f"{base}_{suffix}{n}"
            chosen.append((name, f"{base}_{suffix}", "C:\\Windows\\system32\\svchost.exe -k UnistackSvcGroup",
                           "", "Manual", f"Per-user service {base}."))
            n += 1
    rows = []
    rand = rng.random
    for name, display, binpath, username, start_type, description in chosen:
        running = (start_type == "Automatic" and rand() < 0.93) or (start_type == "Manual" and rand() < 0.3)
        rows.append({
            "pid": 400 + 4 * int(rand() * 5900) if running else 0,
            "name": name,
            "status": "running" if running else "stopped",
            "binpath": binpath,
            "username": username,
            "autodelay": start_type == "Automatic" and rand() < 0.15,
            "start_type": start_type,
            "description": description,
            "display_name": display,
        })
    return rows


_CACHE_SIZE = 512


def _cache_key(fleet: TacticalFleet, agent: AgentRecord) -> tuple[object, ...]:
    return (agent.index, agent.kind, agent.hw, agent.legacy_wmi, agent.total_ram, agent.site_id, agent.hostname,
            agent.boot_time, agent.logged_in_username, agent.os_index, agent.version,
            fleet.row_profile == "production", fleet.client_of(agent).name)  # the domain in wmi_detail


def wmi_detail(fleet: TacticalFleet, agent: AgentRecord) -> Any:
    """Only ``wmi_detail`` (the agent table defers ``services`` upstream): from the cache when the
    agent was served lately, else built without its services."""
    if agent.last_seen is None and agent.total_ram is None:
        return None
    hit = fleet.derived_cache.get(_cache_key(fleet, agent))
    if hit is not None:
        return hit[0]
    if agent.is_windows:
        return _windows_wmi(fleet, agent, fleet.row_profile == "production")
    return _posix_wmi(fleet, agent)


def table_hardware(fleet: TacticalFleet, agent: AgentRecord) -> tuple[Any, ...]:
    """The agent table's columns computed from ``wmi_detail`` (``cpu_model, graphics, local_ips,
    make_model, physical_disks, serial_number``), remembered per agent for the key they depend on.

    Tactical reads ``wmi_detail`` from a stored column; the simulator regenerates it from the seed
    (~0.2 ms per agent), which made a 20,000-agent table cost the simulator far more CPU than
    anything the real server does. Only these few short values are kept (not the WMI document),
    and a changed agent (new key) recomputes them.
    """
    key = _cache_key(fleet, agent)
    hit = fleet.table_cache.get(agent.index)
    if hit is not None and hit[0] == key:
        return hit[1]
    plat, wmi = agent.plat, wmi_detail(fleet, agent)
    value = (
        computed.cpu_model(plat, wmi),
        computed.graphics(plat, wmi),
        computed.local_ips(plat, wmi),
        computed.make_model(plat, wmi),
        computed.physical_disks(plat, wmi),
        computed.serial_number(plat, wmi),
    )
    fleet.table_cache[agent.index] = (key, value)
    return value


def heavy_fields(fleet: TacticalFleet, agent: AgentRecord) -> tuple[Any, Any, Any]:
    """``(wmi_detail, services, disks)`` for an agent (all ``None`` for one that never checked in).

    A small per-fleet LRU keeps recently served agents, keyed on everything the values depend on,
    so a mutation (rename, move, new boot time) yields fresh values.
    """
    if agent.last_seen is None and agent.total_ram is None:
        return None, None, None
    production = fleet.row_profile == "production"
    key = _cache_key(fleet, agent)
    cache = fleet.derived_cache
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
        return hit
    value: tuple[Any, Any, Any]
    if agent.is_windows:
        value = (_windows_wmi(fleet, agent, production), _services(fleet, agent, production),
                 _volumes(fleet, agent))
    else:
        value = (_posix_wmi(fleet, agent), None, _volumes(fleet, agent))
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return value


def software_items(fleet: TacticalFleet, agent: AgentRecord, *, include_removed: bool = False) -> list[Json]:
    """Installed software of a Windows agent with an inventory row (``[]`` otherwise).

    Side-by-side versions (one name, two versions) and repeated rows come from the catalogue's odds;
    versions removed through the control API are left out unless ``include_removed``.
    """
    if agent.software_id is None:
        return []
    rng = _rng(fleet.seed, agent.index, 5)
    minimal = agent.version.startswith("1.")
    go_dates = agent.legacy_wmi
    server = agent.kind == "win_srv"
    items: list[Json] = []
    for entry in catalog.WIN_SOFTWARE:
        if entry.servers_only and not server:
            continue
        if not entry.common and rng.random() > (0.5 if entry.servers_only else 0.35):
            continue
        for version in _versions_installed(rng, entry):
            name = entry.name.replace("{v}", version)
            if entry.name == "Tactical RMM Agent":
                version = agent.version
            if minimal:
                items.append({"name": name, "version": version})
                continue
            installed = agent.created_time - timedelta(days=rng.uniform(-200, 400))
            installed = min(installed, fleet.now)
            unknown_date = rng.random() < 0.1 or (entry.size_kb == (0, 0) and rng.random() < 0.5)
            if go_dates:
                date = "0001-01-01 00:00:00 +0000 UTC" if unknown_date else installed.strftime(
                    "%Y-%m-%d 00:00:00 +0000 UTC")
            else:
                date = "01-1-01" if unknown_date else f"{installed.year}-{installed.month}-{installed.day:02d}"
            low, high = entry.size_kb
            items.append({
                "name": name,
                "size": software_size(rng.randint(low, high) if high else 0),
                "source": entry.source,
                "version": version,
                "location": entry.location.replace("{v}", version),
                "publisher": entry.publisher,
                "uninstall": entry.uninstall.replace("{v}", version).replace("{{", "{").replace("}}", "}"),
                "install_date": date,
            })
    removed = fleet.software_removed.get(agent.pk)
    if removed and not include_removed:
        items = [item for item in items if (item["name"], item["version"]) not in removed]
    return items


def _versions_installed(rng: random.Random, entry: catalog.SoftwareEntry) -> list[str]:
    """One version; sometimes a second one side by side, sometimes the last one listed twice."""
    count = len(entry.versions)
    first = rng.randrange(count)
    picked = [entry.versions[first]]
    if count > 1 and entry.side_by_side and rng.random() < entry.side_by_side:
        picked.append(entry.versions[(first + 1 + rng.randrange(count - 1)) % count])
    if entry.duplicate and rng.random() < entry.duplicate:
        picked.append(picked[-1])
    return picked
