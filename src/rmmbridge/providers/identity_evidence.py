"""Identity keys of one device, from its normalized snapshot.

A key is ``(kind, value)``: the evidence index (``identity_evidence``) stores one row per key of
every device, and correlation matches a page's keys against it with set queries.

Strong kinds (a match makes two devices one machine): ``uuid`` (SMBIOS UUID) and ``serial``
(serial number, with the vendor kept beside it: two serials from different known vendors are
different machines). Weak kinds (a match only proposes a merge): ``mac``, ``host`` (hostname,
short name) and ``osid`` (OS installation id).
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from rmmbridge.providers.base import DeviceSnapshot, IdentityEvidence

from .identity_junk import is_virtual_adapter, normalize_mac, normalize_serial, normalize_uuid

STRONG = ("uuid", "serial")
WEAK = ("mac", "host", "osid")
# Score of a merge candidate per matching kind (summed, capped at 100): documented in decisions.md.
SCORES = {"uuid": 60, "serial": 60, "osid": 35, "mac": 30, "host": 20}

# Vendor spellings → one token, so "Dell Inc." (WMI) and "Dell" (Tanium) agree.
_VENDOR_ALIASES = {
    "hewlett": "hp",
    "hewlettpackard": "hp",
    "hpe": "hp",
    "hp": "hp",
    "dell": "dell",
    "lenovo": "lenovo",
    "apple": "apple",
    "microsoft": "microsoft",
    "vmware": "vmware",
    "asus": "asus",
    "asustek": "asus",
    "acer": "acer",
    "supermicro": "supermicro",
    "fujitsu": "fujitsu",
    "intel": "intel",
    "gigabyte": "gigabyte",
    "msi": "msi",
    "micro-star": "msi",
    "qemu": "qemu",
    "xen": "xen",
    "innotek": "virtualbox",
    "oracle": "virtualbox",
}
_JUNK_VENDORS = {"", "system", "to", "default", "oem", "o.e.m.", "unknown", "none", "not", "n/a"}


def vendor_token(manufacturer: str | None) -> str:
    """A vendor's first word, lower-cased and aliased; ``""`` when unknown."""
    if not manufacturer:
        return ""
    return _vendor_token(manufacturer)


@lru_cache(maxsize=1024)  # a fleet has a handful of manufacturer spellings
def _vendor_token(manufacturer: str) -> str:
    words = re.split(r"[\s,]+", manufacturer.strip().lower())
    first = words[0] if words else ""
    if first in _JUNK_VENDORS:
        return ""
    return _VENDOR_ALIASES.get(first.replace("-", ""), _VENDOR_ALIASES.get(first, first))


def host_key(hostname: str | None, domain: str | None = None) -> str | None:
    """The short hostname, lower-case. The domain is left out on purpose: RMMs disagree on it
    (AD domain, DNS suffix, "WORKGROUP", none), and a hostname is weak evidence anyway."""
    del domain
    if not hostname or not hostname.strip():
        return None
    return hostname.strip().lower().split(".", 1)[0] or None


@dataclass(frozen=True, slots=True)
class Key:
    kind: str
    value: str
    vendor: str = ""  # serial keys only: the vendor token ("" unknown)

    @property
    def strong(self) -> bool:
        return self.kind in STRONG


def evidence_of(snapshot: DeviceSnapshot) -> IdentityEvidence:
    """The snapshot's own evidence record, or one derived from its fields."""
    if snapshot.identity is not None:
        ev = snapshot.identity
        return ev if ev.hostname else IdentityEvidence(**{**_as_dict(ev), "hostname": snapshot.name})
    return IdentityEvidence(
        hardware_uuid=snapshot.hardware_uuid,
        serial_number=snapshot.serial_number,
        manufacturer=snapshot.manufacturer,
        macs=snapshot.mac_addresses,
        hostname=snapshot.name,
        domain=snapshot.domain,
    )


def _as_dict(ev: IdentityEvidence) -> dict[str, object]:
    return {f: getattr(ev, f) for f in IdentityEvidence.__slots__}  # type: ignore[attr-defined]


def keys_of(ev: IdentityEvidence) -> tuple[Key, ...]:
    """Every non-junk key of one device, strong ones first, deduplicated."""
    # Not cached, though a page keys each new device twice: a cache of a few pages' Keys (GC-tracked
    # objects) made the bench's full GC passes cost more than the second call (docs/decisions.md).
    # Kinds never collide, so only MACs need deduplicating (first spelling's place, as before).
    out: list[Key] = []
    if (u := normalize_uuid(ev.hardware_uuid)) is not None:
        out.append(Key("uuid", u))
    if (s := normalize_serial(ev.serial_number)) is not None:
        out.append(Key("serial", s, vendor_token(ev.manufacturer)))
    seen: set[str] = set()
    for raw in ev.macs:
        if (m := normalize_mac(raw)) is not None and m not in seen:
            seen.add(m)
            out.append(Key("mac", m))
    if (h := host_key(ev.hostname, ev.domain)) is not None:
        out.append(Key("host", h))
    if ev.os_install_id and (osid := ev.os_install_id.strip()):
        out.append(Key("osid", osid.lower()))
    return tuple(out)


def physical_macs(adapters: list[tuple[str | None, str | None]]) -> tuple[str, ...]:
    """MACs of the ``(name, mac)`` adapters that are not virtual by name (for normalizers)."""
    seen: dict[str, None] = {}
    for name, mac in adapters:
        if mac and not is_virtual_adapter(name):
            seen.setdefault(mac, None)
    return tuple(seen)


def conflict(a: dict[str, set[tuple[str, str]]], b: dict[str, set[tuple[str, str]]]) -> str | None:
    """Why two devices/assets with strong evidence cannot be one machine, or ``None``.

    ``a``/``b``: strong kind → {(value, vendor)}. Both have a UUID and share none → different
    machines; both have serials and share none → different; the same serial from two known,
    different vendors (and no shared UUID) → different.
    """
    ua, ub = a.get("uuid", _NONE), b.get("uuid", _NONE)
    if ua and ub and _share_no_value(ua, ub):
        return "different hardware UUIDs"
    sa, sb = a.get("serial", _NONE), b.get("serial", _NONE)
    if ua and ub:
        # A shared SMBIOS UUID outweighs vendor spellings (board vs system maker) but not a
        # different serial: cloned VMs share a template UUID and differ in serials.
        if sa and sb and _share_no_value(sa, sb):
            return "different serial numbers"
        return None
    if sa and sb:
        if _share_no_value(sa, sb):
            return "different serial numbers"
        for value, vendor in sa:
            for value2, vendor2 in sb:
                if value == value2 and vendor and vendor2 and vendor != vendor2:
                    return "same serial, different manufacturers"
    return None


_NONE: frozenset[tuple[str, str]] = frozenset()


def _share_no_value(a: AbstractSet[tuple[str, str]], b: AbstractSet[tuple[str, str]]) -> bool:
    """No ``(value, vendor)`` of ``a`` has a value of ``b``. Correlation calls this for every
    strong hit, nearly always with one UUID or serial a side: compared directly, no sets built."""
    if len(a) == 1 and len(b) == 1:
        ((x, _),) = a
        ((y, _),) = b
        return x != y
    return {v for v, _ in a}.isdisjoint([v for v, _ in b])


__all__ = [
    "SCORES",
    "STRONG",
    "WEAK",
    "Key",
    "conflict",
    "evidence_of",
    "host_key",
    "keys_of",
    "physical_macs",
    "vendor_token",
]
