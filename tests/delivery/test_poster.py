"""The sender's HTTP/1.1 client against raw loopback servers that answer in every framing it must
understand, close kept-alive connections under it, answer garbage or nothing at all."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from rmmbridge.delivery.poster import KEEP_BODY, Poster, PostError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    assert match is not None
    return head, await reader.readexactly(int(match.group(1)))


@asynccontextmanager
async def server(
    answer: Callable[[int], bytes], *, close_after: Callable[[int], bool] = lambda n: False
) -> AsyncIterator[dict]:
    """Answers request ``n`` (counted over all connections) with ``answer(n)``; closes the
    connection after it when ``close_after(n)``. Records connections and requests."""
    seen: dict = {"connections": 0, "requests": []}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["connections"] += 1
        try:
            while True:
                try:
                    head, body = await read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                n = len(seen["requests"])
                seen["requests"].append((head, body))
                writer.write(answer(n))
                await writer.drain()
                if close_after(n):
                    return
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    seen["url"] = f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}/hook?x=1"
    async with srv:
        yield seen


def poster(**kw: object) -> Poster:
    return Poster(allow_private=True, user_agent="rmmbridge/test", **kw)  # type: ignore[arg-type]


HEADERS = b"webhook-id: e1\r\nwebhook-timestamp: 1\r\nwebhook-signature: v1,x\r\n"


async def test_kept_alive_and_every_framing():
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain; charset=latin-1\r\n\r\nh\xe9llo",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n"
        b"4;ext=1\r\nbusy\r\n3\r\n!!!\r\n0\r\nX-Trailer: t\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]
    async with server(lambda n: answers[n]) as seen:
        p = poster()
        first = await p.post(seen["url"], HEADERS, b'{"a":1}')
        second = await p.post(seen["url"], HEADERS, b"{}")
        third = await p.post(seen["url"], HEADERS, b"{}")
        await p.aclose()
    assert (first.status, first.text(500)) == (200, "h\u00e9llo")
    assert (second.status, second.body, second.header("retry-after")) == (503, b"busy!!!", "7")
    assert (third.status, third.body) == (204, b"")
    assert seen["connections"] == 1  # one kept-alive connection carried all three
    head, body = seen["requests"][0]
    assert head.startswith(b"POST /hook?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nwebhook-id: e1\r\n" in head and b"\r\nContent-Type: application/json\r\n" in head
    assert body == b'{"a":1}'


async def test_close_delimited_and_connection_close():
    answers = [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\n\r\nuntil close",
    ]
    async with server(lambda n: answers[n], close_after=lambda n: True) as seen:
        p = poster()
        first = await p.post(seen["url"], HEADERS, b"{}")
        second = await p.post(seen["url"], HEADERS, b"{}")
        await p.aclose()
    assert (first.body, second.body) == (b"ok", b"until close")
    assert seen["connections"] == 2


async def test_a_kept_alive_connection_closed_by_the_server_is_sent_once_more_on_a_fresh_one():
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    # The server closes after its answer without saying so (as uWSGI does): the next request goes
    # out on the dead connection and must arrive anyway, exactly once.
    for pause in (0.2, 0.0):  # the close seen before the next request, or racing it
        async with server(lambda n: ok, close_after=lambda n: n == 0) as seen:
            p = poster()
            await p.post(seen["url"], HEADERS, b"1")
            await asyncio.sleep(pause)
            answer = await p.post(seen["url"], HEADERS, b"2")
            await p.aclose()
        assert answer.status == 200
        assert [body for _, body in seen["requests"]] == [b"1", b"2"] and seen["connections"] == 2


async def test_garbage_no_answer_and_a_huge_body_fail_or_stay_bounded():
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1_000_000
    async with server(lambda n: huge) as seen:
        answer = await poster().post(seen["url"], HEADERS, b"{}")
    assert answer.status == 200 and len(answer.body) == KEEP_BODY
    async with server(lambda n: b"SMTP ready\r\n\r\n") as seen:
        with pytest.raises(PostError, match="RemoteProtocolError"):
            await poster().post(seen["url"], HEADERS, b"{}")
    async with server(
        lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", close_after=lambda n: True
    ) as seen:
        with pytest.raises(PostError, match="RemoteProtocolError"):
            await poster().post(seen["url"], HEADERS, b"{}")
    async with server(lambda n: b"") as seen:
        with pytest.raises(PostError, match="ReadTimeout"):
            await poster(timeout=0.5).post(seen["url"], HEADERS, b"{}")


async def test_the_address_policy_is_applied_at_connect():
    with pytest.raises(PostError, match="does not connect there"):
        await poster().post("http://169.254.169.254/latest", HEADERS, b"{}")
    with pytest.raises(PostError, match="does not connect there"):
        await poster().post("http://[::ffff:169.254.169.254]/", HEADERS, b"{}")
    async with server(lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") as seen:
        with pytest.raises(PostError, match="private-network"):
            await Poster(allow_private=False, user_agent="t").post(seen["url"], HEADERS, b"{}")
        assert seen["connections"] == 0
