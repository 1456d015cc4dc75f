"""How ``rmmbridge serve`` runs the app under uvicorn: connection limits and read timeouts.

uvicorn times out idle kept-alive connections, but not a client that is slow to *send*: a fresh
connection that never completes its headers, or a request whose body trickles in, holds its slot
until the client leaves. :class:`ReadTimeoutH11Protocol` gives each request a deadline for its
headers (from the connection's first byte, or from its opening) and one for its body.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from rmmbridge.config import Settings

_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class ReadTimeoutH11Protocol(H11Protocol):
    header_timeout_s: ClassVar[float] = 10.0
    body_timeout_s: ClassVar[float] = 30.0

    _read_deadline: asyncio.TimerHandle | None = None
    _reading: str = ""  # "headers", "body" or "" (not reading a request)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("headers", self.header_timeout_s)

    def data_received(self, data: bytes) -> None:
        if not self._reading and self.conn.their_state is h11.IDLE:
            self._arm("headers", self.header_timeout_s)  # the next request on a kept-alive connection
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY and self._reading == "headers":
            self._arm("body", self.body_timeout_s)
        elif state is not h11.IDLE and state is not h11.SEND_BODY:
            self._disarm()  # the whole request is in (DONE), or the connection is closing

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, what: str, seconds: float) -> None:
        self._disarm()
        self._reading = what
        self._read_deadline = self.loop.call_later(seconds, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
        self._read_deadline, self._reading = None, ""

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        # 408 only if no response has begun (a handler may already be answering a slow body).
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


def uvicorn_config(app: Any, settings: Settings, *, host: str | None = None, port: int | None = None) -> uvicorn.Config:
    """The server configuration ``serve`` uses (and the tests of these limits)."""
    protocol = type(
        "ConfiguredReadTimeoutH11Protocol",
        (ReadTimeoutH11Protocol,),
        {"header_timeout_s": settings.http_header_timeout_s, "body_timeout_s": settings.http_body_timeout_s},
    )
    return uvicorn.Config(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        http=protocol,
        timeout_keep_alive=settings.http_keep_alive_timeout_s,
        limit_concurrency=settings.http_max_connections,
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
    )
