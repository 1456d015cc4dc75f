"""Validation of RMM URLs an admin types in (SSRF guard and normalisation basics)."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from rmmbridge.errors import AddressRefused

# Cloud metadata endpoints and friends: never a legitimate RMM.
_ALWAYS_BLOCKED = [
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba metadata
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS IPv6 metadata
    ipaddress.ip_network("0.0.0.0/8"),
]
_BLOCKED_NAMES = {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


# IPv6 prefixes whose last 32 bits are an IPv4 address that a gateway (or the kernel) will reach:
# IPv4-compatible (deprecated, ::a.b.c.d) and NAT64 (RFC 6052 well-known and RFC 8215 local-use).
_EMBEDS_IPV4_IN_LOW_BITS = [
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def reachable_forms(ip: Address) -> list[Address]:
    """``ip`` and every IPv4 address it stands for (mapped, compatible, NAT64, 6to4, Teredo).

    ``[::ffff:169.254.169.254]`` reaches the metadata service as surely as ``169.254.169.254``:
    the policy must judge the address the packets end up at, not its spelling.
    """
    forms: list[Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            forms.append(ip.ipv4_mapped)
        if any(ip in net for net in _EMBEDS_IPV4_IN_LOW_BITS) and int(ip) > 1:  # not :: or ::1 (judged as v6)
            forms.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None:
            forms.append(ip.sixtofour)
        if ip.teredo is not None:
            forms.extend(ip.teredo)
    return forms


def _refusal(ip: Address, allow_private: bool) -> str | None:
    if any(ip in net for net in _ALWAYS_BLOCKED) or ip.is_multicast or ip.is_unspecified:
        return "a link-local or metadata address"
    if not allow_private and (ip.is_private or ip.is_loopback or ip.is_reserved):
        return "a private-network address (the operator has disallowed private RMM hosts)"
    return None


def address_refusal(ip: Address, allow_private: bool) -> str | None:
    """Why rmmbridge must not connect to ``ip`` (``None``: it may), judging every IPv4 address an
    IPv6 form embeds. Applied at save time and by the transport at connect time."""
    for form in reachable_forms(ip):
        if reason := _refusal(form, allow_private):
            return reason
    return None


async def check_host_allowed(host: str, *, allow_private: bool, field: str = "instance_url") -> None:
    """Refuse hosts that are (or resolve to) forbidden addresses (``AddressRefused``, 403).

    A name that does not resolve is let through: the connection test then reports it as
    unreachable, which is the more useful message.
    """
    name = host.strip("[]").rstrip(".").lower()  # "metadata." is the same name as "metadata"
    if name in _BLOCKED_NAMES:
        raise AddressRefused(f"{host} is a cloud metadata host, not an RMM", errors=[{"field": field}])
    try:
        addresses = [ipaddress.ip_address(name)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError):
            return
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for ip in addresses:
        if reason := address_refusal(ip, allow_private):
            raise AddressRefused(f"{host} is {reason}", errors=[{"field": field}])


def split_host(url: str) -> str:
    return urlsplit(url).hostname or ""


@dataclass(frozen=True)
class BaseUrl:
    """The parts of an admin-typed RMM base URL, checked by :func:`parse_base_url`."""

    scheme: str  # "http" or "https"
    host: str  # lower-case, IDNA-encoded; an IPv6 literal in brackets (ready for the netloc)
    port: int | None
    path: str  # without trailing "/"


def _idna(host: str) -> str:
    try:
        import idna

        return str(idna.encode(host, uts46=True).decode("ascii"))
    except Exception:
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{host!r} is not a valid host name") from None


def parse_base_url(raw: object, product: str, empty_message: str, *, credentials: str) -> BaseUrl:
    """Parse the RMM address an admin pasted; every refusal is a ``ValueError`` with the reason to show.

    ``https://`` is assumed when no scheme is given; ``http://`` is kept (the provider config decides
    whether it is allowed). User info, metadata hosts and link-local / metadata addresses are refused.
    ``product`` names the RMM in messages ("The {product} address …"), ``empty_message`` is shown when
    nothing was entered, ``credentials`` says what to enter instead of user info in the URL.
    """
    if raw is None or not isinstance(raw, str) or not raw.strip():
        raise ValueError(empty_message)
    text = raw.strip()
    match = _SCHEME.match(text)
    if match is None:
        if "://" in text or text.startswith("//"):
            raise ValueError(f"The {product} address must start with https://")
        text = "https://" + text
    scheme = (match.group(1) if match else "https").lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"The {product} address must start with https:// (not {scheme}://)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"The {product} address is not a valid URL: {exc}") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError(
            f"Remove the user name and password from the {product} address; enter {credentials} separately"
        )
    host = parts.hostname or ""
    # Checked before the trailing dots are stripped: a host of only dots gets through as "" (callers
    # that need a host check the result).
    if not host:
        raise ValueError(f"The {product} address has no host name. {empty_message}")
    host = host.rstrip(".").lower()
    literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None:
        if any(c.isspace() for c in host) or "/" in host or "\\" in host:
            raise ValueError(f"{host!r} is not a valid host name")
        host = _idna(host)
        if host in _BLOCKED_NAMES:
            raise ValueError(f"{host} is a cloud metadata host, not a {product} server")
    else:
        if address_refusal(literal, allow_private=True) is not None:
            raise ValueError(f"{host} is a link-local or metadata address, not a {product} server")
        host = f"[{literal.compressed}]" if literal.version == 6 else literal.compressed
    return BaseUrl(scheme=scheme, host=host, port=port, path=parts.path.rstrip("/"))


def check_public_base_url(raw: str) -> str:
    """The service's own public base URL (``RMMBRIDGE_BASE_URL``, ``config set-base-url``).

    An absolute http(s) URL without user info, query or fragment; returned without trailing "/".
    ``ValueError`` says what is wrong (the configuration loader and the CLI show it as is).
    """
    text = raw.strip()
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL: {exc}") from None
    if not parts.hostname or any(c.isspace() for c in text):
        raise ValueError("must name a host, e.g. https://psa.example.com")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or fragment (webhook paths are appended to it)")
    return text.rstrip("/")


INSECURE_POLICY_KEY = "allow_insecure_provider_urls"  # the validation-context key the framework sets
INSECURE_POLICY_ENV = "RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS"


def refuse_insecure(url: str, context: object, opted_in: bool, *, what: str) -> None:
    """An ``http://`` address is accepted only when the operator allows it (``INSECURE_POLICY_ENV``,
    passed as the validation context by the framework) *and* the integration opted in (its
    ``allow_insecure_url`` field). The operator's policy wins: no integration can opt out of https
    when the operator forbids it. Without a context (a config built directly, in code) the
    integration's own field decides. Raises ``ValueError`` saying which of the two to change.
    """
    if not url.startswith("http://"):
        return
    policy = context.get(INSECURE_POLICY_KEY, True) if isinstance(context, dict) else True
    if not policy:
        raise ValueError(
            f"http:// would send {what} in clear: use the https:// address. For a test lab or a "
            f"simulator, the operator can allow http:// with {INSECURE_POLICY_ENV}=true"
        )
    if not opted_in:
        raise ValueError(
            f"http:// would send {what} in clear: use the https:// address, or tick “Allow an "
            "http:// address” for this integration (CLI: --allow-insecure-url)"
        )
