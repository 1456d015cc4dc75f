"""Fields Tactical computes at request time (``api/tacticalrmm/agents/models.py``).

Each function follows the upstream property line by line — including the ``[x[k] for x in
instance if k in x][0]`` lookups and the bare ``except`` fallbacks — so the simulator's detail view
returns what Tactical returns for the same ``wmi_detail``, quirks included (``serial_number`` reads
``bios[0][0]`` only; ``cpu_model`` drops the core counts on the old many-single-key-dicts layout
because it reads ``NumberOfLogicalProcessors`` from the dict that holds ``NumberOfCores``).
"""

from __future__ import annotations

import ipaddress
from base64 import b64encode
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

AgentStatus = Literal["online", "offline", "overdue"]

POSIX_PLATS = ("linux", "darwin")


class HasLastSeen(Protocol):
    last_seen: datetime | None
    offline_time: int
    overdue_time: int


def parse_iso(value: str) -> datetime:
    """Parse Tactical's ISO timestamps (``…Z`` or ``…+00:00``) into an aware datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def status_of(agent: HasLastSeen | Mapping[str, Any], now: datetime) -> AgentStatus:
    """Tactical's ``Agent.status`` with its strict comparisons (reference §4).

    ``agent`` is an :class:`AgentRecord`-like object or a list/detail row (``last_seen`` as ISO
    text). Note the upstream quirk: ``last_seen`` exactly on the overdue cut-off is "online".
    """
    if isinstance(agent, Mapping):
        raw = agent.get("last_seen")
        last_seen = parse_iso(raw) if isinstance(raw, str) else raw
        offline_time = int(agent.get("offline_time", 4))
        overdue_time = int(agent.get("overdue_time", 30))
    else:
        last_seen, offline_time, overdue_time = agent.last_seen, agent.offline_time, agent.overdue_time
    if last_seen is None:
        return "offline"
    offline = now - timedelta(minutes=offline_time)
    overdue = now - timedelta(minutes=overdue_time)
    if last_seen < offline and last_seen > overdue:
        return "offline"
    if last_seen < offline and last_seen < overdue:
        return "overdue"
    return "online"


def _first(instance: Any, key: str) -> Any:
    return next(x[key] for x in instance if key in x)


def _is_ipv4(value: Any) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except (ValueError, TypeError):
        return False
    return True


def cpu_model(plat: str, wmi: Any) -> Any:
    if plat in POSIX_PLATS:
        try:
            return wmi["cpus"]
        except Exception:
            return ["unknown cpu model"]
    ret = []
    try:
        for cpu in wmi["cpu"]:
            name = _first(cpu, "Name")
            lp: Any = ""
            nc: Any = ""
            try:
                lp = next(x["NumberOfLogicalProcessors"] for x in cpu if "NumberOfCores" in x)
                nc = _first(cpu, "NumberOfCores")
            except Exception:  # noqa: S110 - upstream suppresses this lookup
                pass
            ret.append(f"{name}, {nc}C/{lp}T" if lp and nc else name)
        return ret
    except Exception:
        return ["unknown cpu model"]


def graphics(plat: str, wmi: Any) -> Any:
    if plat in POSIX_PLATS:
        try:
            if not wmi["gpus"]:
                return "No graphics cards"
            return ", ".join(wmi["gpus"])
        except Exception:
            return "Error getting graphics cards"
    ret: list[str] = []
    mrda = False
    try:
        for instance in wmi["graphics"]:
            caption = _first(instance, "Caption")
            if "microsoft remote display adapter" in caption.lower():
                mrda = True
                continue
            ret.append(caption)
        if not ret and mrda:
            return "Microsoft Remote Display Adapter"
        return ", ".join(ret)
    except Exception:
        return "Graphics info requires agent v1.4.14"


def local_ips(plat: str, wmi: Any) -> str:
    if plat in POSIX_PLATS:
        try:
            return ", ".join(wmi["local_ips"])
        except Exception:
            return "error getting local ips"
    ret: list[str] = []
    try:
        configs = wmi["network_config"]
    except Exception:
        return "error getting local ips"
    try:
        for instance in configs:
            try:
                addr = _first(instance, "IPAddress")
            except Exception:  # noqa: S112 - upstream skips adapters without IPAddress
                continue
            if addr is None:
                continue
            ret.extend(ip for ip in addr if _is_ipv4(ip))
    except Exception:
        return "error getting local ips"
    if len(ret) == 1:
        return ret[0]
    return ", ".join(ret) if ret else "error getting local ips"


def make_model(plat: str, wmi: Any) -> Any:
    if plat in POSIX_PLATS:
        try:
            return wmi["make_model"]
        except Exception:
            return "error getting make/model"
    try:
        comp_sys = wmi["comp_sys"][0]
        comp_sys_prod = wmi["comp_sys_prod"][0]
        make = _first(comp_sys_prod, "Vendor")
        model = _first(comp_sys, "Model")
        if "to be filled" in model.lower():
            mobo = wmi["base_board"][0]
            make = _first(mobo, "Manufacturer")
            model = _first(mobo, "Product")
        if make.lower() == "lenovo":
            sysfam = _first(comp_sys, "SystemFamily")
            if "to be filled" not in sysfam.lower():
                model = sysfam
        return f"{make} {model}"
    except Exception:  # noqa: S110 - upstream falls through to the next attempt
        pass
    try:
        return _first(wmi["comp_sys_prod"][0], "Version")
    except Exception:
        return "unknown make/model"


def physical_disks(plat: str, wmi: Any) -> Any:
    if plat in POSIX_PLATS:
        try:
            return wmi["disks"]
        except Exception:
            return ["unknown disk"]
    try:
        ret = []
        for disk in wmi["disk"]:
            interface_type = _first(disk, "InterfaceType")
            if interface_type == "USB":
                continue
            model = _first(disk, "Caption")
            size = _first(disk, "Size")
            ret.append(f"{model} {round(int(size) / 1_073_741_824):,}GB {interface_type}")
        return ret
    except Exception:
        return ["unknown disk"]


def serial_number(plat: str, wmi: Any) -> Any:
    if plat in POSIX_PLATS:
        try:
            return wmi["serialnumber"]
        except Exception:
            return ""
    try:
        return wmi["bios"][0][0]["SerialNumber"]
    except Exception:
        return ""


def hex_mesh_node_id(mesh_node_id: str | None) -> str:
    """MeshCentral's node id form of the stored hex id (upstream ``_b64_to_hex``)."""
    if mesh_node_id is None:
        return "error"
    try:
        return b64encode(bytes.fromhex(mesh_node_id)).decode().replace("/", "$").replace("+", "@")
    except Exception:
        return "error"
