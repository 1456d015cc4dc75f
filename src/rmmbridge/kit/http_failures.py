"""What a transport failure means, in words an admin can act on.

"Cannot reach" is only said when no connection could be made. A server that accepted the
connection and then closed it, or did not answer in time, was reached: saying otherwise sends the
admin to check DNS and firewalls for a server that just answered the previous request.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from rmmbridge.kit.http_transport import was_resent

ADDRESS_HINT = "Check the address and that rmmbridge can reach the server."
SERVER_HINT = "Try again; if it keeps happening, check the server's (or its reverse proxy's) logs."


@dataclass(frozen=True)
class TransportFailure:
    """``summary`` (no final period) and whether a connection to the server had been made."""

    summary: str
    connected: bool

    def message(self, address_hint: str = ADDRESS_HINT, server_hint: str = SERVER_HINT) -> str:
        return f"{self.summary}. {server_hint if self.connected else address_hint}"


def describe_failure(exc: httpx.TransportError, host: str, *, action: str | None = None) -> TransportFailure:
    """Classify ``exc`` (raised while sending to ``host``); ``action`` names the request, e.g. "sign-in"."""
    name = type(exc).__name__
    reason = str(exc) or name
    detail = f"{name}: {exc}" if str(exc) else name
    during = f" during {action}" if action else ""
    if was_resent(exc):
        return TransportFailure(
            f"{host} closed the connection{during} before answering; rmmbridge sent the request once more on a "
            f"new connection and that failed too ({detail})",
            True,
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return TransportFailure(f"Cannot reach {host}: no connection within the time limit ({name})", False)
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError | httpx.UnsupportedProtocol):
        return TransportFailure(f"Cannot reach {host}: {reason}", False)
    if isinstance(exc, httpx.PoolTimeout):
        return TransportFailure(
            f"No connection to {host} became free in time{during} (too many requests in flight, {name})", True
        )
    if isinstance(exc, httpx.TimeoutException):
        return TransportFailure(f"{host} accepted the connection but did not answer in time{during} ({detail})", True)
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return TransportFailure(f"{host} closed the connection{during} before answering ({detail})", True)
    return TransportFailure(f"The exchange with {host} failed{during} ({detail})", True)


__all__ = ["ADDRESS_HINT", "SERVER_HINT", "TransportFailure", "describe_failure"]
