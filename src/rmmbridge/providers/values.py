"""Small value parsers shared by the providers' normalize modules. Pure: no I/O."""

from __future__ import annotations

import ipaddress
from typing import Any


def parse_ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address from a string, prefix length (``/24``) and zone (``%eth0``) dropped; else ``None``."""
    if not isinstance(value, str):
        return None
    text = value.strip().split("/", 1)[0].split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
