"""How a simulator on a real port treats connections: uWSGI's closing of kept-alive connections,
and a connection dropped after its request was processed.

uWSGI's HTTP router (in front of Tactical's Django) closes the connection after every response,
without saying so (no ``Connection: close``). A client that sends its next request on that
connection before the close reached it loses the request unread. The field loses that race only
sometimes; here it is lost every time: after a response the socket stays open, and the next
request that arrives on it is dropped unread — exactly what a client sees when it reuses a
connection the server has closed.

This is a uvicorn HTTP protocol, below any simulator's ASGI app (which knows nothing of
connections). Every exchange is logged (connection number, position on it, method, path,
outcome) so tests can prove a request was lost on a dead connection and then sent again.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

Drop = Literal["reset", "eof"]
Outcome = Literal["served", "dropped_unread", "dropped_after_processing"]
MAX_REQUEST_LINE = 8192


@dataclass
class Exchange:
    """One request as the server saw it."""

    connection: int  # the server's number for the connection: 1, 2, …
    index: int  # the request's position on its connection: 1 for the first
    method: str
    path: str
    outcome: Outcome = "served"


@dataclass
class DropAfterProcessing:
    """Run the app for a matching request, then drop the connection instead of answering."""

    method: str
    path: str
    times: int | None = 1  # None: every matching request
    hits: int = 0


@dataclass
class ConnectionPolicy:
    """A server's connection behaviour, shared by its connections (tests change it between requests).

    ``close_after_response``: uWSGI's closing (on by default); ``drop``: how a connection is
    dropped — ``reset`` (an RST, what a client writing to a closed socket gets; the client sees
    ``ReadError``) or ``eof`` (a FIN; the client sees "Server disconnected without sending a
    response").
    """

    close_after_response: bool = True
    drop: Drop = "reset"
    drops: list[DropAfterProcessing] = field(default_factory=list)
    log: list[Exchange] = field(default_factory=list)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)  # the server runs in its own thread

    def drop_after_processing(self, method: str, path: str, times: int | None = 1) -> DropAfterProcessing:
        rule = DropAfterProcessing(method.upper(), path, times)
        with self._lock:
            self.drops.append(rule)
        return rule

    def exchanges(self, method: str | None = None, path: str | None = None) -> list[Exchange]:
        with self._lock:
            return [e for e in self.log if (method is None or e.method == method) and (path is None or e.path == path)]

    def _next_connection(self) -> int:
        with self._lock:
            return next(self._numbers)

    def _record(self, exchange: Exchange) -> Exchange:
        with self._lock:
            self.log.append(exchange)
            return exchange

    def _take_drop(self, method: str, path: str) -> bool:
        with self._lock:
            for rule in self.drops:
                if rule.method == method and rule.path == path and (rule.times is None or rule.hits < rule.times):
                    rule.hits += 1
                    return True
        return False


def _drop(transport: asyncio.Transport, how: Drop) -> None:
    if how == "reset":
        sock = transport.get_extra_info("socket")
        if sock is not None:  # linger 0: close() sends an RST instead of a FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    elif transport.can_write_eof():
        # A FIN, and whatever else the client sends is read and discarded until it closes: a close()
        # with a request body still arriving would answer that body with an RST, and the client
        # would see a reset rather than the end of the stream this mode promises.
        transport.write_eof()
    else:
        transport.close()


class _DropOnAnswer:
    """The connection's transport as the app's response sees it: the first write drops it instead."""

    def __init__(self, protocol: ClosingH11Protocol) -> None:
        self._protocol = protocol
        self._inner = protocol.transport

    def write(self, data: bytes) -> None:
        if not self._protocol._dropped:
            self._protocol.drop()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class ClosingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with :class:`ConnectionPolicy` applied (bind one with :func:`protocol_for`)."""

    policy: ClassVar[ConnectionPolicy]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._number = self.policy._next_connection()
        self._answered = 0
        self._unread = b""
        self._seen: RequestResponseCycle | None = None
        self._dropped = False

    def drop(self) -> None:
        """Drop the connection the policy's way; nothing the client sends after is read."""
        self._dropped = True
        _drop(self.transport, self.policy.drop)

    def data_received(self, data: bytes) -> None:
        if self._dropped:
            return  # the client's remaining bytes go nowhere
        if self._answered and self.policy.close_after_response:
            self._drop_unread(data)
            return
        super().data_received(data)
        if self.cycle is not None and self.cycle is not self._seen:
            self._seen = self.cycle
            self._exchange_started(self.cycle)

    def on_response_complete(self) -> None:
        self._answered += 1
        super().on_response_complete()

    def _exchange_started(self, cycle: RequestResponseCycle) -> None:
        method, path = cycle.scope["method"], cycle.scope["path"]
        exchange = self.policy._record(Exchange(self._number, self._answered + 1, method, path))
        if self.policy._take_drop(method, path):
            exchange.outcome = "dropped_after_processing"
            # The cycle's task has not run yet: the app processes the request, its answer is lost.
            cycle.transport = _DropOnAnswer(self)  # type: ignore[assignment]

    def _drop_unread(self, data: bytes) -> None:
        """A request on a connection "closed" after its last answer: log its request line, drop it."""
        if self.transport.is_closing():
            return
        self._unread += data
        if b"\r\n" not in self._unread and len(self._unread) < MAX_REQUEST_LINE:
            return  # the request line is still arriving
        parts = self._unread.split(b"\r\n", 1)[0].split(b" ")
        method = parts[0].decode("latin-1")
        path = parts[1].decode("latin-1").split("?", 1)[0] if len(parts) > 1 else ""
        self.policy._record(Exchange(self._number, self._answered + 1, method, path, "dropped_unread"))
        self.drop()


def protocol_for(policy: ConnectionPolicy) -> type[ClosingH11Protocol]:
    """A uvicorn ``http=`` protocol class applying ``policy``."""
    return type("BoundClosingH11Protocol", (ClosingH11Protocol,), {"policy": policy})


__all__ = ["ClosingH11Protocol", "ConnectionPolicy", "DropAfterProcessing", "Exchange", "protocol_for"]
