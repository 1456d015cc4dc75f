"""`rmmbridge simulate tacticalrmm` closes kept-alive connections like uWSGI unless told not to.

Run as a real process on a real port; a plain httpx pool (no re-send) shows what the server does to
the second request on a connection.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS
from tests.support.live_server import free_port


@contextmanager
def simulator(*flags: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rmmbridge", "simulate", "tacticalrmm", "--port", str(port), "--agents", "5",
         "--clients", "1", *flags],
        env={**os.environ, "NO_COLOR": "1"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/", timeout=2)  # a connection of its own, closed by the client
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the simulator did not start: {proc.communicate()[0]}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def two_requests_on_one_connection(url: str) -> list[int | str]:
    results: list[int | str] = []
    with httpx.Client(base_url=url, headers={"X-API-KEY": DEFAULT_CREDENTIALS.api_key}) as client:
        for _ in range(2):
            try:
                results.append(client.get("/beta/v1/client/").status_code)
            except httpx.TransportError as exc:
                results.append(type(exc).__name__)
    return results


@pytest.mark.parametrize(("flags", "expected"), [((), [200, "ReadError"]), (("--keep-connections",), [200, 200])])
def test_simulate_closes_connections_by_default(flags: tuple[str, ...], expected: list[int | str]) -> None:
    with simulator(*flags) as url:
        assert two_requests_on_one_connection(url) == expected
