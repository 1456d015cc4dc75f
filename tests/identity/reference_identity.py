"""The identity helpers as they were before issue #19's CPU work (commit 4fb386c), verbatim, so
tests/identity/test_identity_fast_paths.py can pin the faster versions to them. Reference only:
nothing in src/ imports this."""

from __future__ import annotations

import os
import re
import time
import uuid

from rmmbridge.providers.base import DeviceSnapshot, IdentityEvidence
from rmmbridge.providers.identity_evidence import _JUNK_VENDORS, _VENDOR_ALIASES, Key
from rmmbridge.providers.identity_junk import JUNK_SERIALS, JUNK_UUIDS, VIRTUAL_OUIS


def _squeeze(value: str) -> str:
    return re.sub(r"[\s.\-_]+", "", value).upper()


def normalize_serial(value: str | None) -> str | None:
    """Upper-case, trimmed serial; ``None`` for blanks and junk placeholders."""
    if value is None:
        return None
    text = value.strip().upper()
    if not text:
        return None
    return None if is_junk_serial(text) else text


def is_junk_serial(value: str | None) -> bool:
    if value is None:
        return True
    squeezed = _squeeze(value)
    if not squeezed or squeezed in JUNK_SERIALS:
        return True
    if len(set(squeezed)) == 1 or len(squeezed) < 4:  # "0000000", "XXXXXXXX", "1"
        return True
    return "TOBEFILLED" in squeezed or "SERIALNUMBER" in squeezed


def normalize_uuid(value: str | None) -> str | None:
    """Canonical upper-case 8-4-4-4-12 UUID; ``None`` for malformed and junk ones."""
    if value is None:
        return None
    hexdigits = re.sub(r"[^0-9A-Fa-f]", "", value)
    if len(hexdigits) != 32:
        return None
    h = hexdigits.upper()
    text = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return None if is_junk_uuid(text) else text


def is_junk_uuid(value: str | None) -> bool:
    if value is None:
        return True
    h = re.sub(r"[^0-9A-Fa-f]", "", value).upper()
    if len(h) != 32 or len(set(h)) == 1:
        return True
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" in JUNK_UUIDS


def normalize_mac(value: str | None) -> str | None:
    """``AA:BB:CC:DD:EE:FF``; ``None`` for malformed, junk, randomised and virtual-vendor MACs."""
    if value is None:
        return None
    digits = re.sub(r"[^0-9A-Fa-f]", "", value).upper()
    if len(digits) != 12 or len(re.sub(r"[:\-.\s]", "", value.strip())) != 12:
        return None
    text = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return None if is_junk_mac(text) else text


def is_junk_mac(value: str | None) -> bool:
    """All-zero/broadcast, multicast, locally administered (randomised Wi-Fi, Docker, WSL, VPNs
    set this bit) and virtual-vendor MACs identify no physical machine."""
    if value is None:
        return True
    digits = re.sub(r"[^0-9A-Fa-f]", "", value).upper()
    if len(digits) != 12 or len(set(digits)) == 1:
        return True
    first = int(digits[:2], 16)
    if first & 0x01 or first & 0x02:  # multicast bit, locally-administered bit
        return True
    return digits[:6] in VIRTUAL_OUIS


def vendor_token(manufacturer: str | None) -> str:
    """A vendor's first word, lower-cased and aliased; ``""`` when unknown."""
    if not manufacturer:
        return ""
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
    out: dict[tuple[str, str], Key] = {}
    if (u := normalize_uuid(ev.hardware_uuid)) is not None:
        out[("uuid", u)] = Key("uuid", u)
    if (s := normalize_serial(ev.serial_number)) is not None:
        out[("serial", s)] = Key("serial", s, vendor_token(ev.manufacturer))
    for raw in ev.macs:
        if (m := normalize_mac(raw)) is not None:
            out[("mac", m)] = Key("mac", m)
    if (h := host_key(ev.hostname, ev.domain)) is not None:
        out[("host", h)] = Key("host", h)
    if ev.os_install_id and ev.os_install_id.strip():
        osid = ev.os_install_id.strip().lower()
        out[("osid", osid)] = Key("osid", osid)
    return tuple(out.values())


def conflict(a: dict[str, set[tuple[str, str]]], b: dict[str, set[tuple[str, str]]]) -> str | None:
    """Why two devices/assets with strong evidence cannot be one machine, or ``None``.

    ``a``/``b``: strong kind → {(value, vendor)}. Both have a UUID and share none → different
    machines; both have serials and share none → different; the same serial from two known,
    different vendors (and no shared UUID) → different.
    """
    ua, ub = a.get("uuid", set()), b.get("uuid", set())
    if ua and ub and not ({v for v, _ in ua} & {v for v, _ in ub}):
        return "different hardware UUIDs"
    sa, sb = a.get("serial", set()), b.get("serial", set())
    if ua and ub:
        # A shared SMBIOS UUID outweighs vendor spellings (board vs system maker) but not a
        # different serial: cloned VMs share a template UUID and differ in serials.
        if sa and sb and not ({v for v, _ in sa} & {v for v, _ in sb}):
            return "different serial numbers"
        return None
    if sa and sb:
        if not ({v for v, _ in sa} & {v for v, _ in sb}):
            return "different serial numbers"
        for value, vendor in sa:
            for value2, vendor2 in sb:
                if value == value2 and vendor and vendor2 and vendor != vendor2:
                    return "same serial, different manufacturers"
    return None


def uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 68) & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)
