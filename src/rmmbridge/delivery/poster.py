"""The webhook sender's HTTP/1.1 client: one POST with a JSON body, over kept-alive connections.

Why not httpx: a signed POST through httpx cost ~1.5 ms of CPU here (Request and URL objects,
header normalisation, the httpcore pool and its locks, anyio streams, h11's checks), several times
the rest of a delivery. A webhook POST needs none of that generality: the method, the headers and
the body are ours; only the answer comes from outside. So the request is written as bytes and the
answer parsed by a small, strict HTTP/1.1 response parser (status line, headers, a body framed by
``Content-Length``, ``chunked`` or the connection's close). Anything it does not understand fails
the attempt (recorded, retried on the ladder) and closes the connection — never a guess.

What stays as with httpx (``kit.http_transport``):

* the address policy at connect time: the host is resolved here and only an address the policy
  allows is connected to (``allowed_addresses``), so DNS rebinding after the save is refused;
* TLS verifies the certificate against the host name (the shared default context);
* a request lost on a kept-alive connection the server had closed (no byte of an answer) is sent
  once more on a fresh connection; nothing else is re-sent;
* redirects are not followed.

Memory is bounded whatever the receiver sends: the head is capped, only the first
``KEEP_BODY`` bytes of the body are kept (the log's excerpt), the rest is read and dropped.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass

import httpcore
import httpx

from rmmbridge.kit.http_transport import _default_ssl_context, allowed_addresses

MAX_HEAD = 64 * 1024
KEEP_BODY = 4096
KEEPALIVE_S = 5.0  # an idle connection older than this is closed rather than reused (httpx's default)


class PostError(Exception):
    """The POST got no (valid) answer; ``str()`` is what the delivery log shows."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


class _Lost(PostError):
    """The connection ended before a complete answer; ``answered``: some of it had arrived."""

    def __init__(self, detail: str, answered: bool) -> None:
        super().__init__("RemoteProtocolError" if answered else "ReadError", detail)
        self.answered = answered


@dataclass(slots=True)
class Answer:
    status: int
    headers: dict[bytes, bytes]  # names lower-cased; a repeated header keeps its last value
    body: bytes  # at most KEEP_BODY bytes

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.encode())
        return None if value is None else value.decode("latin-1")

    def text(self, limit: int) -> str:
        charset = "utf-8"
        for part in (self.header("content-type") or "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.body.decode(charset, errors="replace")[:limit]
        except LookupError:
            return self.body.decode("utf-8", errors="replace")[:limit]


@dataclass(slots=True, frozen=True)
class Target:
    """A subscription URL, parsed once: where to connect and the request's first lines."""

    key: tuple[str, str, int]  # scheme, host, port: the pool a connection belongs to
    host: str  # to resolve (IDNA-encoded) and to verify the certificate against
    port: int
    tls: bool
    head: bytes  # "POST <path> HTTP/1.1\r\nHost: ...\r\n" plus the fixed headers

    @classmethod
    def of(cls, url: str, user_agent: str) -> Target:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise PostError("InvalidURL", str(exc)) from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise PostError("UnsupportedProtocol", f"not an http(s) URL: {url[:200]}")
        tls = parsed.scheme == "https"
        port = parsed.port or (443 if tls else 80)
        host = parsed.raw_host.decode("ascii")
        netloc = parsed.netloc.decode("ascii")
        target = parsed.raw_path
        if any(b <= 0x20 or b == 0x7F for b in target + parsed.netloc):
            raise PostError("InvalidURL", "the URL carries spaces or control characters")
        head = (
            b"POST "
            + target
            + b" HTTP/1.1\r\nHost: "
            + netloc.encode("ascii")
            + b"\r\nUser-Agent: "
            + user_agent.encode("ascii")
            + b"\r\nAccept: */*\r\nContent-Type: application/json\r\n"
        )
        return cls((parsed.scheme, host.lower(), port), host.strip("[]"), port, tls, head)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one exchange at a time, the answer parsed as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.exchanges = 0
        self.idle_since = 0.0
        self._buf = bytearray()
        self._waiter: asyncio.Future[Answer] | None = None
        self._reset()

    def _reset(self) -> None:
        self._state = "head"  # head | length | chunk-size | chunk-data | chunk-end | trailers | close
        self._remaining = 0
        self._status = 0
        self._headers: dict[bytes, bytes] = {}
        self._body = bytearray()
        self._keep_alive = True
        self._got_bytes = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self._close()  # bytes nobody asked for: the connection's framing is no longer trusted
            return
        self._got_bytes = True
        self._buf += data
        try:
            self._parse()
        except PostError as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        if self._waiter is not None and not self._waiter.done() and self._state == "close":
            self._keep_alive = False
            self._finish()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            if self._state == "close":
                self._keep_alive = False
                self._finish()
            else:
                detail = f"the server closed the connection ({exc or 'EOF'}) before a complete answer"
                self._waiter.set_exception(_Lost(detail, self._got_bytes))

    # the exchange

    async def exchange(self, request: bytes, timeout: float) -> Answer:
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise _Lost("the connection was closed before the request", answered=False)
        loop = asyncio.get_running_loop()
        self._reset()
        self._buf.clear()
        self._waiter = loop.create_future()
        self.exchanges += 1
        self.transport.write(request)
        timer = loop.call_later(timeout, self._time_out, timeout)
        try:
            return await self._waiter
        finally:
            timer.cancel()
            self._waiter = None

    @property
    def reusable(self) -> bool:
        return not self.closed and self._keep_alive and self._state == "done" and not self._buf

    def _time_out(self, timeout: float) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._fail(PostError("ReadTimeout", f"no complete answer within {timeout:g} s"))

    def _fail(self, exc: PostError) -> None:
        self._close()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _finish(self) -> None:
        self._state = "done"
        assert self._waiter is not None
        self._waiter.set_result(Answer(self._status, self._headers, bytes(self._body)))

    def _take_body(self, buf: bytearray) -> bool:
        """Move up to the remaining body bytes (of the answer, or of the current chunk) out of
        ``buf``; True when none remain."""
        take = min(self._remaining, len(buf))
        self._keep(buf[:take])
        del buf[:take]
        self._remaining -= take
        return not self._remaining

    def _keep(self, data: bytes | bytearray) -> None:
        room = KEEP_BODY - len(self._body)
        if room > 0:
            self._body += data[:room]

    def _parse(self) -> None:
        buf = self._buf
        while True:
            state = self._state
            if state == "head":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        raise PostError("RemoteProtocolError", "the answer's head is too long")
                    return
                head = bytes(buf[:end])
                del buf[: end + 4]
                self._head(head)
            elif state == "length":
                if not self._take_body(buf):
                    return
                self._finish()
            elif state == "chunk-size":
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > 1024:
                        raise PostError("RemoteProtocolError", "bad chunk size line")
                    return
                size_text = bytes(buf[:end]).split(b";", 1)[0].strip()
                del buf[: end + 2]
                if not size_text or len(size_text) > 16 or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                    raise PostError("RemoteProtocolError", "bad chunk size")
                self._remaining = int(size_text, 16)
                self._state = "chunk-data" if self._remaining else "trailers"
            elif state == "chunk-data":
                if not self._take_body(buf):
                    return
                self._state = "chunk-end"
            elif state == "chunk-end":
                if len(buf) < 2:
                    return
                if buf[:2] != b"\r\n":
                    raise PostError("RemoteProtocolError", "a chunk does not end with CRLF")
                del buf[:2]
                self._state = "chunk-size"
            elif state == "trailers":
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        raise PostError("RemoteProtocolError", "the trailers are too long")
                    return
                del buf[: end + 2]
                if end == 0:  # the empty line ends the trailers (their content is not used)
                    self._finish()
            elif state == "close":
                self._keep(buf)
                buf.clear()
                return
            else:  # done: more bytes after a complete answer
                self._keep_alive = False
                return
            if self._state == "done":
                if buf:
                    self._keep_alive = False  # an answer nobody asked for follows: not reused
                return

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code = rest[:3]
        if (
            version not in (b"HTTP/1.1", b"HTTP/1.0")
            or len(code) != 3
            or not code.isdigit()
            or rest[3:4] not in (b"", b" ")
        ):
            raise PostError("RemoteProtocolError", f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(code)
        headers: dict[bytes, bytes] = {}
        lengths: set[bytes] = set()
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip() or line[:1] in (b" ", b"\t"):
                raise PostError("RemoteProtocolError", "a malformed header line")
            key = name.lower()
            value = value.strip()
            if key == b"content-length":
                lengths.update(v.strip() for v in value.split(b","))
            elif key in headers and key in (b"transfer-encoding", b"connection"):
                value = headers[key] + b", " + value
            headers[key] = value
        if 100 <= status < 200:
            if status == 101:
                raise PostError("RemoteProtocolError", "the server switched protocols")
            return  # an interim answer (100 Continue, 103 Early Hints): the real one follows
        self._status, self._headers = status, headers
        connection = {t.strip() for t in headers.get(b"connection", b"").lower().split(b",")}
        self._keep_alive = (version == b"HTTP/1.1" and b"close" not in connection) or (
            version == b"HTTP/1.0" and b"keep-alive" in connection
        )
        encoding = headers.get(b"transfer-encoding")
        if status in (204, 304):
            self._finish()
        elif encoding is not None:
            if encoding.lower().rsplit(b",", 1)[-1].strip() == b"chunked":
                self._state = "chunk-size"
            else:
                self._state, self._keep_alive = "close", False
        elif lengths:
            if len(lengths) != 1 or not next(iter(lengths)).isdigit():
                raise PostError("RemoteProtocolError", "an invalid Content-Length")
            self._remaining = int(next(iter(lengths)))
            if self._remaining:
                self._state = "length"
            else:
                self._finish()
        else:
            self._state, self._keep_alive = "close", False


class Poster:
    """POSTs JSON to webhook receivers over pooled kept-alive connections (one pool per origin;
    the number of connections is bounded by the sends in flight)."""

    def __init__(
        self,
        *,
        allow_private: bool,
        user_agent: str,
        connect_timeout: float = 5.0,
        timeout: float = 15.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.user_agent = user_agent
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._ssl = ssl_context
        self._targets: dict[str, Target] = {}
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._swept = 0.0

    def target(self, url: str) -> Target:
        found = self._targets.get(url)
        if found is None:
            if len(self._targets) > 10_000:
                self._targets.clear()
            found = self._targets[url] = Target.of(url, self.user_agent)
        return found

    async def post(self, url: str, headers: bytes, body: bytes) -> Answer:
        """POST ``body``; ``headers``: more header lines, each ending in CRLF (ours, never user input)."""
        target = self.target(url)
        request = b"".join((target.head, headers, b"Content-Length: %d\r\n\r\n" % len(body), body))
        conn = self._take(target.key)
        if conn is not None:
            try:
                answer = await conn.exchange(request, self.timeout)
            except _Lost as exc:
                conn._close()
                if exc.answered:
                    raise
                # The server had closed this kept-alive connection before reading the request
                # (idle timeout): sent once more, on a connection opened for it.
                conn = None
            except BaseException:
                conn._close()
                raise
        if conn is None:
            conn = await self._connect(target)
            try:
                answer = await conn.exchange(request, self.timeout)
            except BaseException:
                conn._close()
                raise
        now = asyncio.get_running_loop().time()
        if conn.reusable:
            conn.idle_since = now
            self._idle.setdefault(target.key, deque()).append(conn)
        else:
            conn._close()
        if now - self._swept > KEEPALIVE_S:
            self._sweep(now)
        return answer

    def _sweep(self, now: float) -> None:
        """Close idle connections past their keep-alive, of every receiver (one no longer sent to too)."""
        self._swept = now
        for key, idle in list(self._idle.items()):
            kept = deque(c for c in idle if not c.closed and c.idle_since >= now - KEEPALIVE_S)
            for conn in idle:
                if conn not in kept:
                    conn._close()
            if kept:
                self._idle[key] = kept
            else:
                del self._idle[key]

    def _take(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        if not idle:
            return None
        oldest_kept = asyncio.get_running_loop().time() - KEEPALIVE_S
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to have been closed
            if not conn.closed and conn.idle_since >= oldest_kept:
                return conn
            conn._close()
        return None

    async def _connect(self, target: Target) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            addresses = await allowed_addresses(
                target.host, target.port, allow_private=self.allow_private, timeout=self.connect_timeout
            )
        except httpcore.ConnectTimeout as exc:
            raise PostError("ConnectTimeout", str(exc)) from exc
        except httpcore.ConnectError as exc:
            raise PostError("ConnectError", str(exc)) from exc
        context = (self._ssl or _default_ssl_context()) if target.tls else None
        failure: PostError | None = None
        for address in addresses:  # resolver order, as a resolver-driven connect would try them
            try:
                _, conn = await asyncio.wait_for(
                    loop.create_connection(
                        _Connection,
                        address,
                        target.port,
                        ssl=context,
                        server_hostname=target.host if context is not None else None,
                    ),
                    self.connect_timeout,
                )
                return conn
            except TimeoutError:
                failure = PostError("ConnectTimeout", f"connecting to {target.host}:{target.port} took too long")
            except ssl.SSLError as exc:
                failure = PostError("ConnectError", f"TLS with {target.host}: {exc}")
            except OSError as exc:
                failure = PostError("ConnectError", f"{target.host}:{target.port}: {exc.strerror or exc}")
        assert failure is not None
        raise failure

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn._close()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports' close callbacks run


def describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, PostError) else f"{type(exc).__name__}: {exc}"


__all__ = ["Answer", "PostError", "Poster", "Target", "describe"]
