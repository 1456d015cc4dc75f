"""A server error answers 500 and leaves the keep-alive connection usable (issue #14 item 4)."""

from __future__ import annotations

import httpx
import pytest

from rmmbridge.app import create_app
from tests.conftest import build_test_registry
from tests.support.live_server import LiveServer


class Boom(RuntimeError):
    pass


@pytest.fixture(scope="module")
def server(settings_factory):
    app = create_app(settings_factory(), start_background=False, registry=build_test_registry())

    async def boom() -> None:
        raise Boom("a bug in a route")

    app.add_api_route("/api/v1/boom", boom, include_in_schema=False)
    with LiveServer(app) as live:
        yield live


def test_the_next_request_on_the_same_connection_works(server):
    connections: list[object] = []

    def remember(response: httpx.Response) -> None:
        connections.append(response.extensions["network_stream"])

    with httpx.Client(base_url=server.url, event_hooks={"response": [remember]}) as client:
        first = client.get("/api/v1/boom")
        assert first.status_code == 500
        assert first.headers["content-type"].startswith("application/problem+json")
        assert first.json()["type"].endswith("/internal-error")
        second = client.get("/healthz")
        assert second.status_code == 200
        third = client.get("/api/v1/boom")
        assert third.status_code == 500
    assert connections[0] is connections[1] is connections[2], "the connection was closed after the 500"
