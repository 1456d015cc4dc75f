"""Issue #14 item 13: under ``serve``'s configuration, a client slow to send its headers or its
body gets 408 and loses the connection; oversized headers are refused."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn
from structlog.testing import capture_logs

from rmmbridge.app import create_app
from rmmbridge.web.serving import uvicorn_config
from tests.support.live_server import LiveServer


class ServedApp(LiveServer):
    """The app under exactly the uvicorn configuration ``rmmbridge serve`` uses."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        self.app = create_app(settings, start_background=False)
        super().__init__(self.app)
        config = uvicorn_config(self.app, settings, host="127.0.0.1", port=self.port)
        config.lifespan = "off"
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)


@pytest.fixture
def served(settings_factory):  # type: ignore[no-untyped-def]
    settings = settings_factory(http_header_timeout_s=0.3, http_body_timeout_s=0.3, http_max_header_bytes=4096)
    with ServedApp(settings) as server:
        yield server


def exchange(port: int, *parts: bytes) -> bytes:
    """Send ``parts``, then read until the server closes (at most 10 s: a server without read
    timeouts never closes, and the test fails on the socket timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for part in parts:
            sock.sendall(part)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_a_connection_that_never_sends_is_closed(served):
    assert exchange(served.port).startswith(b"HTTP/1.1 408 ")


def test_slow_headers_get_408(served):
    assert exchange(served.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n").startswith(b"HTTP/1.1 408 ")


def test_a_slow_body_gets_408(served):
    head = (
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    with capture_logs() as logs:
        assert exchange(served.port, head, b"email=a%40b.example&pass").startswith(b"HTTP/1.1 408 ")
        deadline = time.monotonic() + 5  # the handler learns of the close on the server's thread
        while not any(e["event"] == "client_disconnected" for e in logs) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert [e["event"] for e in logs if e["log_level"] in ("error", "critical")] == []
    assert any(e["event"] == "client_disconnected" for e in logs)


def test_complete_requests_are_answered_and_kept_alive(served):
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    received = exchange(served.port, request, request, last)
    assert received.count(b"HTTP/1.1 200 OK") == 3 and b" 408 " not in received


def test_oversized_headers_are_refused(served):
    # The limit applies to headers still incomplete in the buffer (a client feeding them slowly).
    start = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 8000
    assert exchange(served.port, start).startswith(b"HTTP/1.1 400 ")
