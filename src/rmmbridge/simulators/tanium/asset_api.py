"""The Tanium Asset REST API rows and paging (reference §7.2).

``GET /plugin/products/asset/v1/assets?limit=&minimumAssetId=`` returns ``{"data": [...], "meta":
{"nextAssetId", "endOfReader"}}``: rows with ``id >= minimumAssetId`` (inclusive) in ascending id order,
``nextAssetId`` = last id + 1. Ids have gaps, so a client that adds ``limit`` to the id, or pages with
``offset``, goes wrong. Unknown parameters (``offset``, ``computerGroupId``, ``viewId``) are ignored. Rows are
snake_case; keys the Asset module has no value for are left out, so every key is optional. Sizes are bytes,
uptime is milliseconds.
"""

from __future__ import annotations

import bisect
import re
from datetime import datetime, timedelta
from typing import Any

from rmmbridge.simulators.tanium import catalog
from rmmbridge.simulators.tanium.fleet import Endpoint, TaniumFleet, installed_applications
from rmmbridge.simulators.tanium.gateway import format_time

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

_PSEUDO = re.compile(r"^(error:|tse-error:|\[no results\]|\[current result unavailable\]|unknown$|n/a$|none$)", re.I)


def _clean(value: str) -> str | None:
    value = value.strip()
    if not value or _PSEUDO.match(value) or value in catalog.SERIAL_JUNK:
        return None
    return value


def _normalized_name(name: str) -> str:
    name = re.sub(r"\s*\(.*?\)", "", name)
    name = re.sub(r"\s+[0-9][0-9.]*(\s|$).*$", "", name)
    return name.removeprefix("Google ").removeprefix("Mozilla ").strip() or name


def asset_row(fleet: TaniumFleet, ep: Endpoint, now: datetime, omit: tuple[str, ...] = ()) -> dict[str, Any]:
    """One Asset API row for an endpoint (Gateway, aged-out or Asset-only); ``omit``: keys the
    configured view leaves out."""
    seen = fleet.eid_last_seen(ep, now)
    if seen is not None and seen > now:
        seen = now
    row: dict[str, Any] = {
        "id": ep.asset_id,
        "computer_name": ep.name,
        "computer_id": ep.computer_id,
        "system_uuid": ep.system_uuid,
        "serial_number": _clean(ep.serial_number),
        "manufacturer": _clean(ep.manufacturer),
        "model": ep.model,
        "os_platform": ep.os.platform if ep.os.platform != "Unknown" else None,
        "operating_system": ep.os.name or None,
        "os_version": ep.os.version or None,
        "ip_address": ep.ip_address,
        "user_name": ep.last_logged_in_user or None,
        "domain_name": ep.domain_name,
        "chassis_type": ep.chassis_type or None,
        "ram": ep.ram_bytes,
        "cpu_name": ep.cpu,
        "cpu_core": ep.cpu_cores,
        "last_seen_at": format_time(seen),
        "created_at": format_time(ep.first_seen),
        "updated_at": format_time(min(now, (seen or ep.first_seen) + timedelta(minutes=5))),
    }
    if not ep.eid:
        # Imported through the Asset Import API: no Tanium client ever reported uptime or disks.
        row["source"] = "import"
    else:
        boot_ref = seen or now
        if ep.last_reboot < boot_ref:
            row["uptime"] = int((boot_ref - ep.last_reboot).total_seconds() * 1000)
        row["ci_logical_disk"] = [
            {"name": d.name, "size": d.size_bytes, "free_space": d.free_bytes} for d in ep.disks if d.size_bytes
        ]
    adapters = []
    for i, mac in enumerate(dict.fromkeys(m.lower().replace("-", ":") for m in ep.mac_addresses)):
        if mac == "00:00:00:00:00:00":
            continue
        adapter_name = {"Windows": "Ethernet", "Mac": "en"}.get(ep.os.platform, "eth")
        adapters.append(
            {
                "name": adapter_name if ep.os.platform == "Windows" and i == 0 else f"{adapter_name}{i}",
                "mac_address": mac.upper(),
                "ipv4_address": ep.ip_address if i == 0 else "",
            }
        )
    row["ci_network_adapter"] = adapters
    apps = []
    for n, app in enumerate(installed_applications(ep), start=1):
        if not app.name:
            continue
        apps.append(
            {
                "id": n,
                "name": app.name,
                "vendor": app.vendor,
                "version": app.version,
                "normalized_name": _normalized_name(app.name),
                "normalized_vendor": app.vendor.split(",")[0].replace(" Inc.", "").replace(" LLC", "").strip(),
            }
        )
    row["ci_installed_application"] = apps
    return {k: v for k, v in row.items() if v is not None and k not in omit}


def list_assets(
    fleet: TaniumFleet, now: datetime, minimum_asset_id: int, limit: int, omit: tuple[str, ...] = ()
) -> dict[str, Any]:
    ids = list(fleet.assets)  # ascending: asset ids only ever grow
    start = bisect.bisect_left(ids, minimum_asset_id)
    chosen = ids[start : start + limit]
    rows = [asset_row(fleet, fleet.assets[i], now, omit) for i in chosen]
    next_id = chosen[-1] + 1 if chosen else minimum_asset_id
    end_of_reader = start + limit >= len(ids)
    return {"data": rows, "meta": {"nextAssetId": next_id, "endOfReader": end_of_reader}}


def asset_count(fleet: TaniumFleet) -> dict[str, Any]:
    return {"deviceCount": len(fleet.assets)}
