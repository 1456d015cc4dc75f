"""Deterministic, realistic device snapshots for benchmarks, generated lazily page by page."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from rmmbridge.providers.base import DeviceSnapshot, Volume

_MODELS = [("Dell Inc.", "Latitude 7440"), ("HP", "EliteBook 840 G10"), ("LENOVO", "ThinkPad T14 Gen 4"),
           ("Dell Inc.", "PowerEdge R650"), ("VMware, Inc.", "VMware7,1"), ("Apple", "MacBookPro18,3")]
_OS = [("Microsoft Windows 11 Pro", "10.0.22631", "windows"), ("Microsoft Windows 10 Pro", "10.0.19045", "windows"),
       ("Microsoft Windows Server 2022 Standard", "10.0.20348", "windows"), ("Ubuntu 22.04", "5.15.0-126", "linux"),
       ("macOS 14.5", "23.5.0", "darwin")]
_CPUS = ["13th Gen Intel(R) Core(TM) i7-1365U", "AMD Ryzen 7 PRO 7840U", "Intel(R) Xeon(R) Silver 4310 CPU @ 2.10GHz",
         "Apple M2 Pro"]


def snapshot(i: int, scopes: int, now: datetime, variant: int = 0) -> DeviceSnapshot:
    rng = random.Random(i * 7919 + 17)
    manufacturer, model = rng.choice(_MODELS)
    os_name, os_version, platform = rng.choice(_OS)
    server = "Server" in os_name or model.startswith("PowerEdge")
    ram = rng.choice([8, 16, 32, 64]) * 2**30
    last_seen = now - timedelta(seconds=rng.choice([20, 45, 300, 900, 7200, 86400 * 3]))
    return DeviceSnapshot(
        external_id=f"agent-{i:08d}-{rng.getrandbits(64):016x}",
        external_ref=str(i + 1),
        realm_id=f"client-{i % scopes}",
        site_id=f"site-{i % (scopes * 3)}",
        site_name=rng.choice(["Headquarters", "Branch", "Warehouse"]),
        name=f"{'SRV' if server else 'WS'}-{i:06d}",
        asset_type="server" if server else "workstation",
        serial_number=f"SN{rng.getrandbits(40):010X}",
        manufacturer=manufacturer, model=model, hardware_uuid=f"{rng.getrandbits(128):032x}",
        os_name=os_name, os_version=os_version, platform=platform, architecture="amd64",
        cpu_model=rng.choice(_CPUS), cpu_cores=rng.choice([4, 8, 10, 16]), cpu_threads=rng.choice([8, 12, 16, 32]),
        ram_bytes=ram + variant,
        volumes=(Volume("C:", "NTFS", 512 * 2**30, 200 * 2**30, 312 * 2**30, 39),),
        physical_disks=("SAMSUNG MZVL2512HCJQ 477GB NVMe",),
        gpu="Intel(R) Iris(R) Xe Graphics", domain="corp.example",
        agent_version="2.11.0", current_user=None if server else f"user{i % 997}", last_user=f"user{i % 997}",
        boot_time=now - timedelta(days=rng.randint(0, 30)),
        lan_ips=(f"10.{i % 250}.{(i // 250) % 250}.{i % 200 + 10}",), primary_ip=f"10.{i % 250}.{(i // 250) % 250}.{i % 200 + 10}",
        wan_ip=f"203.0.113.{i % 250}", mac_addresses=(f"A4:C3:F0:{i % 256:02X}:{(i // 256) % 256:02X}:{(i // 65536) % 256:02X}",),
        needs_reboot=rng.random() < 0.1, last_seen_at=last_seen, offline_after_s=240, overdue_after_s=1800,
    )


def pages(n: int, scopes: int, page_size: int = 1000, variant: int = 0,
          now: datetime | None = None) -> Iterator[list[DeviceSnapshot]]:
    now = now or datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    for start in range(0, n, page_size):
        yield [snapshot(i, scopes, now, variant) for i in range(start, min(n, start + page_size))]


def shared_pages(n: int, scopes: int, overlap: float, side: int, page_size: int = 1000,
                 now: datetime | None = None) -> Iterator[list[DeviceSnapshot]]:
    """Two integrations' devices over one fleet (``--overlap``): ``n`` devices in all, half each;
    side 1's first ``overlap`` share are side 0's last machines (same serial, UUID, MAC) under their
    own ids and names."""
    from dataclasses import replace

    now = now or datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    half = n // 2
    shared = round(half * overlap)
    first = 0 if side == 0 else half - shared
    indices = range(first, first + half)
    for start in range(0, half, page_size):
        page = [snapshot(i, scopes, now) for i in indices[start : start + page_size]]
        if side == 1:
            page = [replace(s, external_id=f"endpoint-{s.external_ref}", name=s.name.lower()) for s in page]
        yield page
