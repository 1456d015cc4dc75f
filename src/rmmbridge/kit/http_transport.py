"""The network transport of every outbound request: kept-alive connections, sent again once when
the server had closed the kept-alive connection under the request.

A server may close an idle kept-alive connection at any moment; uWSGI's HTTP router (Tactical)
closes it after every response, without ``Connection: close``. httpcore drops a pooled connection
it sees closed while idle, but not one whose close is still on its way when the next request goes
out: that request fails with ``ReadError`` / ``RemoteProtocolError`` / ``WriteError`` before any
byte of its answer. Such a request is sent again, once, on a connection opened for it — whatever
its method (a sign-in included: the same one-time code is still valid within its window).

The bet: on a kept-alive connection, "closed before reading the request" (what uWSGI and idle
timeouts do) and "read it, acted, then died without a byte of answer" look the same on the wire;
the first is what happens in practice. A request whose effect must not happen twice even then
(Tanium's token rotation) opts out with the :data:`SEND_ONCE` request extension. Nothing else is
re-sent here: a failure on a fresh connection, after bytes of the answer arrived, or a timeout may
follow a request the server acted on, so sending it again is the caller's decision
(``kit.http.with_retry`` for idempotent reads).

To tell the cases apart the network backend is wrapped: each stream counts the exchanges it
carried and the bytes it read, and the request being sent (a context variable set around it)
notes which stream it went out on, whether that stream had carried an earlier exchange, and how
much the stream had read when the request started.

The backend also applies the address policy where it cannot be dodged (docs/architecture.md, "Security boundaries"): it
resolves the host itself, refuses link-local / metadata addresses (and private ones unless the
operator allows them, ``allow_private_provider_hosts``), and connects to the address it checked —
a name that resolved to a public address when the admin saved it and to a metadata address now
(DNS rebinding) is refused. TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import typing
from contextvars import ContextVar
from dataclasses import dataclass

import anyio
import httpcore
import httpx
import structlog

from rmmbridge.kit.urls import address_refusal

log = structlog.get_logger(__name__)

# Failures of a request whose connection was closed by the server before it answered.
CLOSED_UNDER_US = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)

_RESENT_ATTR = "rmmbridge_resent"

# A server as the transport keeps track of it: (scheme, host, port).
Origin = tuple[str, str, int | None]

# Requests lost in a row on kept-alive connections the server closed, before it is offered no more.
LOST_IN_A_ROW = 2

# Request extension: never send this request a second time, not even after a lost kept-alive connection.
SEND_ONCE = "rmmbridge.send_once"


@dataclass
class Attempt:
    """One send of one request, as the tracking stream saw it."""

    stream: TrackingStream | None = None
    reused: bool = False  # the connection had carried an earlier exchange
    read_at_start: int = 0

    @property
    def response_bytes(self) -> int:
        return 0 if self.stream is None else self.stream.bytes_read - self.read_at_start

    @property
    def lost_on_reused_connection(self) -> bool:
        """Sent on a kept-alive connection that failed before any byte of the answer."""
        return self.reused and self.response_bytes == 0


_attempt: ContextVar[Attempt | None] = ContextVar("rmmbridge_http_attempt", default=None)


class TrackingStream(httpcore.AsyncNetworkStream):
    """A network stream that counts the exchanges it carried and the bytes it read."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self.exchanges = 0
        self.bytes_read = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await self._inner.read(max_bytes, timeout)
        self.bytes_read += len(data)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        attempt = _attempt.get()
        if attempt is not None and attempt.stream is not self:
            # The first write of a request on this connection: httpcore sends in the caller's task,
            # so the context variable is the request's own record.
            attempt.stream = self
            attempt.reused = self.exchanges > 0
            attempt.read_at_start = self.bytes_read
            self.exchanges += 1
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return TrackingStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


async def allowed_addresses(host: str, port: int, *, allow_private: bool, timeout: float | None) -> list[str]:
    """The addresses ``host`` resolves to, in resolver order, with the refused ones left out
    (``httpcore.ConnectError`` when none is left). Every outbound connection goes to one of these:
    httpx's through :class:`TrackingBackend`, the webhook sender's (delivery/poster.py) directly."""
    try:
        found = [ipaddress.ip_address(host.strip("[]").split("%")[0])]
    except ValueError:
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from exc
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(str(exc) or f"cannot resolve {host}") from exc
        found = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    allowed = [str(ip) for ip in found if address_refusal(ip, allow_private) is None]
    if not allowed:
        reason = address_refusal(found[0], allow_private) if found else "no address"
        raise httpcore.ConnectError(f"{host} is {reason}; rmmbridge does not connect there")
    return allowed


class TrackingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address policy applied and every stream wrapped in a
    :class:`TrackingStream`."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, *, allow_private: bool = True) -> None:
        self._inner = inner
        self.allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await self._allowed_addresses(host, port, timeout):
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the host's next address, as a resolver-driven connect would
                continue
            return TrackingStream(stream)
        assert failure is not None
        raise failure

    async def _allowed_addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        return await allowed_addresses(host, port, allow_private=self.allow_private, timeout=timeout)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return TrackingStream(
            await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _tracked(transport: httpx.AsyncHTTPTransport, allow_private: bool) -> httpx.AsyncHTTPTransport:
    # httpx builds its httpcore pool (TLS context, limits, proxies) without a way to pass a network
    # backend; wrap the one it chose. tests/kit/test_http_transport.py fails if this stops working.
    pool = transport._pool
    pool._network_backend = TrackingBackend(pool._network_backend, allow_private=allow_private)
    return transport


def was_resent(exc: BaseException) -> bool:
    """True if ``exc`` is the failure of the one re-send of a request lost on a closed connection."""
    return bool(getattr(exc, _RESENT_ATTR, False))


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once: every client (one per provider instance, so
    one per sync or liveness pass) used to load the CA bundle twice. A context is meant to be shared."""
    return httpx.create_ssl_context()


class OutboundTransport(httpx.AsyncBaseTransport):
    """Pooled HTTP/1.1 over the network, to allowed addresses only; a request lost on a kept-alive
    connection is sent once more."""

    def __init__(
        self,
        *,
        allow_private: bool = True,
        verify: ssl.SSLContext | str | bool = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        if verify is True:
            verify = _default_ssl_context()  # one per process: building it costs ~20-70 ms of CPU
        self._pool = _tracked(httpx.AsyncHTTPTransport(verify=verify, limits=limits or httpx.Limits()), allow_private)
        # One connection per request, never kept: the re-send must not land on another kept-alive
        # connection the server has closed too (after one close, the others are suspect).
        self._fresh = _tracked(
            httpx.AsyncHTTPTransport(verify=verify, limits=httpx.Limits(max_keepalive_connections=0)), allow_private
        )
        # Servers seen closing kept-alive connections under our requests (see _note_lost), and how
        # many requests in a row each lost that way since one was answered on a reused connection.
        self._closing: set[Origin] = set()
        self._lost_in_a_row: dict[Origin, int] = {}

    def _note_lost(self, origin: Origin) -> None:
        """A server that closed the kept-alive connection under ``LOST_IN_A_ROW`` requests in a row,
        none answered on a reused connection in between, closes after every response (uWSGI's HTTP
        router): its later requests go out on a new connection each, as the re-send does. Offering
        it kept-alive connections cost every second request of a 200-client Tactical sync a send on
        a closed connection and an error up through httpcore before the new connection anyway. A
        server that closes an idle connection now and then (a proxy's idle timeout) answers on
        reused ones in between and keeps its pool. The verdict lasts as long as this transport."""
        lost = self._lost_in_a_row[origin] = self._lost_in_a_row.get(origin, 0) + 1
        if lost >= LOST_IN_A_ROW and origin not in self._closing:
            self._closing.add(origin)
            log.info("http.server_closes_kept_alive_connections", host=origin[1], port=origin[2])

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin: Origin = (request.url.scheme, request.url.host, request.url.port)
        if origin in self._closing:
            return await self._fresh.handle_async_request(request)
        attempt = Attempt()
        token = _attempt.set(attempt)
        try:
            response = await self._pool.handle_async_request(request)
        except CLOSED_UNDER_US as exc:
            if attempt.lost_on_reused_connection:
                self._note_lost(origin)
            # A streamed upload cannot be replayed; a bytes body (JSON, forms, none) can.
            replayable = isinstance(request.stream, httpx.ByteStream) and not request.extensions.get(SEND_ONCE)
            if not (attempt.lost_on_reused_connection and replayable):
                raise
            first = exc
        else:
            if attempt.reused:  # a kept-alive connection carried it: this server keeps them
                self._lost_in_a_row.pop(origin, None)
            return response
        finally:
            _attempt.reset(token)
        log.debug(
            "http.resend_after_closed_connection",
            method=request.method,
            host=request.url.host,
            path=request.url.path,
            error=type(first).__name__,
        )
        try:
            return await self._fresh.handle_async_request(request)
        except httpx.TransportError as exc:
            setattr(exc, _RESENT_ATTR, True)
            raise

    async def aclose(self) -> None:
        await self._pool.aclose()
        await self._fresh.aclose()


__all__ = [
    "CLOSED_UNDER_US",
    "SEND_ONCE",
    "OutboundTransport",
    "TrackingBackend",
    "TrackingStream",
    "allowed_addresses",
    "was_resent",
]
