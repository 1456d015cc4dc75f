"""Values that look like identity but identify nothing: firmware placeholders, template UUIDs,
randomised and virtual MAC addresses. A junk value is never evidence (tests/identity/test_junk.py).

Values not on these lists can still be junk for one tenant: one seen on more than N machines of the
tenant (``IdentityPolicy.junk_threshold``) is ignored by correlation (see correlation.py).
"""

from __future__ import annotations

import re

# Serial placeholders written by board vendors and imaging tools, compared upper-cased with
# spaces and dots squeezed out (so "To be filled by O.E.M." and "TO BE FILLED BY OEM" agree).
_JUNK_SERIAL_TEXT = (
    "To Be Filled By O.E.M.",
    "Default string",
    "System Serial Number",
    "Chassis Serial Number",
    "Base Board Serial Number",
    "SerialNumber",
    "Serial",
    "0",
    "00000000",
    "None",
    "Null",
    "N/A",
    "NA",
    "Not Specified",
    "Not Applicable",
    "Not Available",
    "Unknown",
    "Invalid",
    "123456789",
    "0123456789",
    "1234567890",
    "1234567",
    "12345678",
    "OEM",
    "O.E.M.",
    "Default",
    "xxxxxxxxxx",
    "Empty",
    "System Product Name",
)


def _squeeze(value: str) -> str:
    return re.sub(r"[\s.\-_]+", "", value).upper()


JUNK_SERIALS = frozenset(_squeeze(s) for s in _JUNK_SERIAL_TEXT)

# SMBIOS UUIDs known to be shared by many machines: the all-zero/all-F ones, and the UUIDs that
# cheap boards and cloned VM templates ship with (the "03000200-…" family is the classic
# "To Be Filled By O.E.M." board UUID).
JUNK_UUIDS = frozenset(
    {
        "00000000-0000-0000-0000-000000000000",
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        "03000200-0400-0500-0006-000700080009",
        "00020003-0004-0005-0006-000700080009",
        "4C4C4544-0000-2010-8020-80C04F202020",
        "12345678-1234-5678-90AB-CDDEEFAABBCC",
        "01234567-8910-1112-1314-151617181920",
    }
)

# OUIs of virtual NICs: VMware, Hyper-V, VirtualBox, Parallels, Xen, QEMU/KVM, Docker, Fortinet
# and Cisco VPN adapters, Microsoft's Wi-Fi Direct / Teredo.
VIRTUAL_OUIS = frozenset(
    {
        "000569",
        "000C29",
        "001C14",
        "005056",
        "00155D",
        "080027",
        "0A0027",
        "001C42",
        "00163E",
        "525400",
        "0242AC",
        "00090F",
        "00059A",
        "00FF00",
        "000000",
    }
)

# Adapter names/descriptions of virtual, tunnel and PAN adapters (matched case-insensitively).
_VIRTUAL_ADAPTER = re.compile(
    r"hyper-v|vethernet|vmware|virtualbox|vbox|docker|\bwsl\b|\bveth|\bvirbr|\bbr-|\bdocker0|"
    r"virtual|\btap\b|tap-windows|\btun\b|wintun|wireguard|openvpn|\bvpn\b|fortinet|anyconnect|"
    r"globalprotect|pangp|zerotier|tailscale|bluetooth|personal area network|miniport|loopback|"
    r"teredo|isatap|6to4|npcap|hamachi|parallels",
    re.IGNORECASE,
)


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


def is_virtual_adapter(name: str | None) -> bool:
    """A virtual, tunnel or PAN adapter by its name/description (Hyper-V, VMware, VirtualBox,
    Docker, WSL, VPN/TAP, Bluetooth PAN, …)."""
    return bool(name) and _VIRTUAL_ADAPTER.search(name or "") is not None


__all__ = [
    "JUNK_SERIALS",
    "JUNK_UUIDS",
    "VIRTUAL_OUIS",
    "is_junk_mac",
    "is_junk_serial",
    "is_junk_uuid",
    "is_virtual_adapter",
    "normalize_mac",
    "normalize_serial",
    "normalize_uuid",
]
