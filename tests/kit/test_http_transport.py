"""The outbound transport over real loopback connections: a request lost on a kept-alive
connection the server had closed is sent once more on a new one; nothing else is re-sent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from rmmbridge.kit.http import HttpClientFactory, RetryPolicy, with_retry
from rmmbridge.kit.http_failures import describe_failure
from rmmbridge.kit.http_transport import SEND_ONCE, OutboundTransport, was_resent
from rmmbridge.simulators.connections import ConnectionPolicy
from tests.support.live_server import SimulatorServer, free_port


class CountingApp:
    """Answers every request with the number of requests it has processed (its side effects)."""

    def __init__(self) -> None:
        self.processed: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.processed.append((scope["method"], scope["path"], body))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps({"n": len(self.processed)}).encode()})


def outcomes(policy: ConnectionPolicy) -> list[tuple[int, int, str, str, str]]:
    return [(e.connection, e.index, e.method, e.path, e.outcome) for e in policy.exchanges()]


@pytest.mark.parametrize("drop", ["reset", "eof"])
async def test_a_request_lost_on_a_closed_kept_alive_connection_is_sent_once_more(drop: Any) -> None:
    app = CountingApp()
    with SimulatorServer(app, ConnectionPolicy(drop=drop)) as server:
        async with HttpClientFactory()(server.url) as client:
            for n, path in enumerate(("/a", "/b", "/c", "/d"), start=1):
                response = await client.post(path, json={"step": n})
                assert response.status_code == 200 and response.json() == {"n": n}
    # Processed exactly once each, in order; the requests on reused connections were lost unread first.
    assert [(m, p, json.loads(b)) for m, p, b in app.processed] == [
        ("POST", f"/{c}", {"step": n}) for n, c in enumerate("abcd", start=1)
    ]
    assert outcomes(server.policy) == [
        (1, 1, "POST", "/a", "served"),
        (1, 2, "POST", "/b", "dropped_unread"),
        (2, 1, "POST", "/b", "served"),  # the re-send, on a connection opened for it
        (3, 1, "POST", "/c", "served"),
        (3, 2, "POST", "/d", "dropped_unread"),
        (4, 1, "POST", "/d", "served"),
    ]


async def test_a_server_that_closes_after_every_response_gets_a_new_connection_per_request() -> None:
    """After two requests in a row lost on connections it closed (uWSGI), none is offered it again."""
    app = CountingApp()
    with SimulatorServer(app, ConnectionPolicy()) as server:
        async with HttpClientFactory()(server.url) as client:
            for n, path in enumerate("abcdefgh", start=1):
                assert (await client.get(f"/{path}")).json() == {"n": n}
    assert outcomes(server.policy) == [
        (1, 1, "GET", "/a", "served"),
        (1, 2, "GET", "/b", "dropped_unread"),
        (2, 1, "GET", "/b", "served"),
        (3, 1, "GET", "/c", "served"),
        (3, 2, "GET", "/d", "dropped_unread"),  # the second in a row: the verdict
        (4, 1, "GET", "/d", "served"),
        *((n, 1, "GET", f"/{p}", "served") for n, p in enumerate("efgh", start=5)),
    ]


async def test_a_server_that_keeps_connections_alive_between_two_closes_keeps_its_pool() -> None:
    """A close now and then (an idle timeout) is no verdict: an answer on a reused connection in
    between starts the count again."""
    app = CountingApp()
    policy = ConnectionPolicy()
    with SimulatorServer(app, policy) as server:
        async with HttpClientFactory()(server.url) as client:
            for path, closing in zip("abcdefg", (True, True, False, False, True, True, True), strict=True):
                policy.close_after_response = closing
                assert (await client.get(f"/{path}")).status_code == 200
    assert outcomes(policy) == [
        (1, 1, "GET", "/a", "served"),
        (1, 2, "GET", "/b", "dropped_unread"),  # lost: one
        (2, 1, "GET", "/b", "served"),
        (3, 1, "GET", "/c", "served"),
        (3, 2, "GET", "/d", "served"),  # answered on a reused connection: the count starts again
        (3, 3, "GET", "/e", "dropped_unread"),  # lost: one, not two
        (4, 1, "GET", "/e", "served"),
        (5, 1, "GET", "/f", "served"),  # still offered a kept-alive connection
        (5, 2, "GET", "/g", "dropped_unread"),
        (6, 1, "GET", "/g", "served"),
    ]


@pytest.mark.parametrize(("drop", "error"), [("reset", httpx.ReadError), ("eof", httpx.RemoteProtocolError)])
async def test_the_simulator_is_unkind_to_a_plain_pool(drop: Any, error: type[Exception]) -> None:
    """Without the re-send, the second request on a connection fails: the mode is not a no-op."""
    app = CountingApp()
    with SimulatorServer(app, ConnectionPolicy(drop=drop)) as server:
        async with httpx.AsyncClient(base_url=server.url, transport=httpx.AsyncHTTPTransport()) as client:
            assert (await client.post("/a", json={})).status_code == 200
            with pytest.raises(error):
                await client.post("/b", json={})
    assert [p for _, p, _ in app.processed] == ["/a"]
    assert outcomes(server.policy)[-1] == (1, 2, "POST", "/b", "dropped_unread")


async def test_keep_alive_mode_reuses_connections() -> None:
    app = CountingApp()
    with SimulatorServer(app, ConnectionPolicy(close_after_response=False)) as server:
        async with HttpClientFactory()(server.url) as client:
            for path in ("/a", "/b", "/c"):
                assert (await client.get(path)).status_code == 200
    assert outcomes(server.policy) == [(1, i, "GET", p, "served") for i, p in enumerate(("/a", "/b", "/c"), start=1)]


async def test_a_post_dropped_after_processing_is_not_sent_again() -> None:
    app = CountingApp()
    policy = ConnectionPolicy()
    with SimulatorServer(app, policy) as server:
        async with HttpClientFactory()(server.url) as client:
            # On a fresh connection: processed, answer lost, not re-sent.
            policy.drop_after_processing("POST", "/v2/login/")
            with pytest.raises(httpx.ReadError) as first:
                await client.post("/v2/login/", json={"twofactor": "123456"})
            assert not was_resent(first.value)
            # Lost unread on a reused connection, re-sent, then processed and dropped: not sent a third time.
            assert (await client.post("/v2/checkcreds/", json={})).status_code == 200
            policy.drop_after_processing("POST", "/v2/login/")
            with pytest.raises(httpx.ReadError) as second:
                await client.post("/v2/login/", json={"twofactor": "654321"})
            assert was_resent(second.value)
    assert [(p, json.loads(b)) for _, p, b in app.processed] == [
        ("/v2/login/", {"twofactor": "123456"}),
        ("/v2/checkcreds/", {}),
        ("/v2/login/", {"twofactor": "654321"}),
    ]
    assert outcomes(policy) == [
        (1, 1, "POST", "/v2/login/", "dropped_after_processing"),
        (2, 1, "POST", "/v2/checkcreds/", "served"),
        (2, 2, "POST", "/v2/login/", "dropped_unread"),
        (3, 1, "POST", "/v2/login/", "dropped_after_processing"),
    ]
    host = f"127.0.0.1:{server.port}"
    assert describe_failure(first.value, host, action="sign-in").message() == (
        f"{host} closed the connection during sign-in before answering (ReadError). Try again; if it keeps "
        "happening, check the server's (or its reverse proxy's) logs."
    )
    assert describe_failure(second.value, host, action="sign-in").summary.startswith(
        f"{host} closed the connection during sign-in before answering; rmmbridge sent the request once more on a "
        "new connection and that failed too (ReadError"
    )


async def test_a_send_once_request_is_never_sent_again() -> None:
    app = CountingApp()
    with SimulatorServer(app) as server:
        async with HttpClientFactory()(server.url) as client:
            assert (await client.post("/a", json={})).status_code == 200
            with pytest.raises(httpx.ReadError) as caught:
                await client.post("/rotate", json={}, extensions={SEND_ONCE: True})
    assert not was_resent(caught.value)
    assert outcomes(server.policy) == [(1, 1, "POST", "/a", "served"), (1, 2, "POST", "/rotate", "dropped_unread")]


class DroppingServer:
    """A raw TCP server that reads each request and closes the connection without a byte of answer."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> DroppingServer:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            await reader.readuntil(b"\r\n\r\n")
            writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_a_failure_on_a_fresh_connection_is_not_sent_again() -> None:
    async with DroppingServer() as server, httpx.AsyncClient(transport=OutboundTransport()) as client:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await client.post(server.url + "/v2/login/", json={})
    assert server.connections == 1
    assert not was_resent(caught.value)
    assert "Cannot reach" not in describe_failure(caught.value, "h").message()


async def test_get_retry_policy_is_unchanged() -> None:
    """Idempotent reads keep ``with_retry``'s backoff for failures the transport does not re-send."""
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with DroppingServer() as server, httpx.AsyncClient(transport=OutboundTransport()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await with_retry(lambda: client.get(server.url + "/beta/v1/agent/"), RetryPolicy(attempts=4), sleep=sleep)
    assert server.connections == 4 and len(sleeps) == 3


async def test_cannot_reach_only_when_no_connection_was_made() -> None:
    url = f"http://127.0.0.1:{free_port()}/"  # nothing listens there
    async with httpx.AsyncClient(transport=OutboundTransport()) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(url)
    failure = describe_failure(caught.value, "127.0.0.1")
    assert not failure.connected
    assert failure.message().startswith("Cannot reach 127.0.0.1: ")
    assert failure.message().endswith("Check the address and that rmmbridge can reach the server.")


# --------------------------------------------------------------------------- address policy at connect time


async def test_private_addresses_are_refused_at_connect_time_when_the_operator_says_so() -> None:
    from rmmbridge.app import build_state
    from rmmbridge.config import Settings
    from tests.conftest import TEST_SECRET_KEY

    app = CountingApp()
    state = build_state(Settings(database_url="sqlite+aiosqlite:///:memory:", secret_key=TEST_SECRET_KEY,
                                 allow_private_provider_hosts=False))  # fmt: skip
    try:
        with SimulatorServer(app) as server:
            async with state.http() as client:
                # A literal address, and a name resolved by the transport itself (what it connects to).
                for url in (server.url, f"http://localhost:{server.port}"):
                    with pytest.raises(httpx.ConnectError, match="private-network address") as caught:
                        await client.get(url + "/")
            message = describe_failure(caught.value, "localhost").message()
            assert message.startswith(
                "Cannot reach localhost: localhost is a private-network address (the operator has disallowed "
                "private RMM hosts); rmmbridge does not connect there."
            )
            async with HttpClientFactory()(f"http://localhost:{server.port}") as client:  # allowed by default
                assert (await client.get("/")).status_code == 200
    finally:
        await state.engine.dispose()
    assert [p for _, p, _ in app.processed] == ["/"]


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/"])
async def test_link_local_and_metadata_addresses_are_never_connected_to(url: str) -> None:
    async with HttpClientFactory()() as client:
        with pytest.raises(httpx.ConnectError, match="link-local or metadata address; rmmbridge does not connect"):
            await client.get(url)
