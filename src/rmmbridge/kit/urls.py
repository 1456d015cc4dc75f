"""Validation of RMM URLs an admin types in (SSRF guard and normalisation basics)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from rmmbridge.errors import ValidationFailed

# Cloud metadata endpoints and friends: never a legitimate RMM.
_ALWAYS_BLOCKED = [
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba metadata
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS IPv6 metadata
    ipaddress.ip_network("0.0.0.0/8"),
]
_BLOCKED_NAMES = {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}


def _classify(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool) -> str | None:
    if any(ip in net for net in _ALWAYS_BLOCKED) or ip.is_multicast or ip.is_unspecified:
        return "a link-local or metadata address"
    if not allow_private and (ip.is_private or ip.is_loopback or ip.is_reserved):
        return "a private-network address (the operator has disallowed private RMM hosts)"
    return None


async def check_host_allowed(host: str, *, allow_private: bool, field: str = "instance_url") -> None:
    """Refuse hosts that are (or resolve to) forbidden addresses.

    A name that does not resolve is let through: the connection test then reports it as
    unreachable, which is the more useful message.
    """
    name = host.strip("[]").lower()
    if name in _BLOCKED_NAMES:
        raise ValidationFailed(f"{host} is a cloud metadata host, not an RMM", errors=[{"field": field}])
    try:
        addresses = [ipaddress.ip_address(name)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError):
            return
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for ip in addresses:
        if reason := _classify(ip, allow_private):
            raise ValidationFailed(f"{host} is {reason}", errors=[{"field": field}])


def split_host(url: str) -> str:
    return urlsplit(url).hostname or ""
