"""Run an app on a real loopback port in a background thread (for schemathesis, browsers, and
simulators that must behave like a real server, connections included)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from rmmbridge.simulators.connections import ConnectionPolicy, protocol_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``app`` under uvicorn; with ``connections``, the server treats connections as that policy says."""

    def __init__(self, app: Any, connections: ConnectionPolicy | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = connections
        http: Any = protocol_for(connections) if connections is not None else "auto"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
                                http=http)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.ready():
                return self
            time.sleep(0.05)
        raise RuntimeError("live server did not start")

    def ready(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class SimulatorServer(LiveServer):
    """A simulator on a loopback port, closing kept-alive connections like uWSGI unless told not to."""

    def __init__(self, app: Any, connections: ConnectionPolicy | None = None) -> None:
        self.policy = connections if connections is not None else ConnectionPolicy()
        super().__init__(app, self.policy)

    def ready(self) -> bool:
        return bool(self.server.started)  # listening; probing over HTTP would add to its exchange log


def run_coroutine(coro: Any) -> Any:
    """Run a coroutine to completion on a fresh loop in another thread (from sync test code)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")
