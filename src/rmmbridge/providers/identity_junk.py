"""Values that look like identity but identify nothing: firmware placeholders, template UUIDs,
randomised and virtual MAC addresses. A junk value is never evidence (tests/identity/test_junk.py).

Values not on these lists can still be junk for one tenant: one seen on more than N machines of the
tenant (``IdentityPolicy.junk_threshold``) is ignored by correlation (see correlation.py).
"""

from __future__ import annotations

import functools
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


# Ingestion normalizes every device's serial, UUID and MACs (twice per new device, and again for
# the same machine in each RMM), so these run per device (issue #19). The usual spellings take
# str.replace/bytes.fromhex/isalnum (C loops; str.translate with a deletion table is a dict lookup per
# character, slower than the regex it would replace), and anything else (non-ASCII, odd
# separators, stray characters) the original regular expressions, so every input gives what it
# always gave (tests/identity/test_identity_fast_paths.py pins them to the old code).

# No result cache: values repeat (a page keys each new device twice), but with three caches of
# a few pages' strings the bench's full GC passes took longer than the hits saved (docs/decisions.md).
_HEX_DIGITS = "0123456789ABCDEFabcdef"


def _all_hex(text: str, digits: int) -> bool:
    """``text`` is exactly ``digits`` ASCII hex digits. bytes.fromhex skips whitespace and raises
    on anything else: ``digits`` characters giving ``digits / 2`` bytes leave room for neither."""
    if len(text) != digits:
        return False
    try:
        return len(bytes.fromhex(text)) * 2 == digits
    except ValueError:
        return False


def _squeeze(value: str) -> str:
    if value.isalnum():  # most serials: nothing the regex would drop (no space, dot, dash, underscore)
        return value.upper()
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
_JUNK_UUID_HEX = frozenset(u.replace("-", "") for u in JUNK_UUIDS)

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
    if len(squeezed) < 4 or squeezed == squeezed[0] * len(squeezed):  # "1", "0000000", "XXXXXXXX"
        return True
    return "TOBEFILLED" in squeezed or "SERIALNUMBER" in squeezed


def normalize_uuid(value: str | None) -> str | None:
    """Canonical upper-case 8-4-4-4-12 UUID; ``None`` for malformed and junk ones."""
    if value is None:
        return None
    hexdigits = _uuid_hex(value)
    if len(hexdigits) != 32:
        return None
    h = hexdigits.upper()
    if _junk_uuid_hex(h):
        return None
    if len(value) == 36 and value[8] == value[13] == value[18] == value[23] == "-":
        return value.upper()  # already 8-4-4-4-12 around the 32 digits: only the case may differ
    return _dashed(h)


def _uuid_hex(value: str) -> str:
    """Every hex digit of ``value``, in order: for the usual spellings, all that is left once the
    dashes are dropped."""
    bare = value.replace("-", "")
    if _all_hex(bare, 32):
        return bare
    return re.sub(r"[^0-9A-Fa-f]", "", value)


def _dashed(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _junk_uuid_hex(h: str) -> bool:
    """``h``: 32 upper-case hex digits."""
    return h == h[0] * 32 or h in _JUNK_UUID_HEX


def is_junk_uuid(value: str | None) -> bool:
    if value is None:
        return True
    h = _uuid_hex(value).upper()
    return len(h) != 32 or _junk_uuid_hex(h)


def normalize_mac(value: str | None) -> str | None:
    """``AA:BB:CC:DD:EE:FF``; ``None`` for malformed, junk, randomised and virtual-vendor MACs."""
    if value is None:
        return None
    bare = value.replace(":", "").replace("-", "")
    if _all_hex(bare, 12):
        d = bare.upper()  # 12 hex digits and separators only: the usual spellings
    else:
        # Anything else (dots, spaces, stray characters): the original rule — 12 hex digits,
        # and 12 characters once separators and spaces are gone.
        d = re.sub(r"[^0-9A-Fa-f]", "", value).upper()
        if len(d) != 12 or len(re.sub(r"[:\-.\s]", "", value.strip())) != 12:
            return None
    if _junk_mac_hex(d):
        return None
    if len(value) == 17:  # already AA:BB:… or AA-BB-… around the 12 digits: case and separator may differ
        if value[2::3] == ":::::":
            return value.upper()
        if value[2::3] == "-----":
            return value.upper().replace("-", ":")
    return f"{d[0:2]}:{d[2:4]}:{d[4:6]}:{d[6:8]}:{d[8:10]}:{d[10:12]}"


def _junk_mac_hex(d: str) -> bool:
    """``d``: 12 upper-case hex digits. The first octet's low two bits are the multicast and
    locally-administered bits: both clear only when its second digit is 0, 4, 8 or C."""
    return d == d[0] * 12 or d[1] not in "048C" or d[:6] in VIRTUAL_OUIS


def is_junk_mac(value: str | None) -> bool:
    """All-zero/broadcast, multicast, locally administered (randomised Wi-Fi, Docker, WSL, VPNs
    set this bit) and virtual-vendor MACs identify no physical machine."""
    if value is None:
        return True
    digits = re.sub(r"[^0-9A-Fa-f]", "", value).upper()
    return len(digits) != 12 or _junk_mac_hex(digits)


def is_virtual_adapter(name: str | None) -> bool:
    """A virtual, tunnel or PAN adapter by its name/description (Hyper-V, VMware, VirtualBox,
    Docker, WSL, VPN/TAP, Bluetooth PAN, …)."""
    return _virtual_by_name(name) if name else False


@functools.lru_cache(maxsize=4096)
def _virtual_by_name(name: str) -> bool:
    # A fleet's adapters share a few dozen driver descriptions, and the pattern's forty-odd
    # alternatives are searched case-blind through each: uncached, 5 % of the decode worker's
    # samples in a 20,000-agent Tactical sync (several adapters per agent).
    return _VIRTUAL_ADAPTER.search(name) is not None


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
