"""A lean HTTP/1.1 load generator for the benchmarks.

The benchmark shares two cores with the server it measures, so the generator must cost little:
httpx spends milliseconds of CPU per request, which at a few hundred requests/s would take a
whole core from the server. This client keeps one keep-alive connection per in-flight slot,
writes pre-encoded requests and parses only the status line and ``Content-Length`` — a few tens
of microseconds per request.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


class _Connection(asyncio.Protocol):
    """One keep-alive connection; ``request`` sends a request and waits for its whole response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[int] | None = None
        self._status = 0
        self._need: int | None = None  # bytes of the whole response, once the head is parsed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc or ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        self._buffer.extend(data)
        if self._need is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
            self._status = int(head[0].split(" ", 2)[1])
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            self._need = end + 4 + length
        if len(self._buffer) >= self._need:
            del self._buffer[: self._need]
            self._need = None
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(self._status)

    async def request(self, payload: bytes) -> int:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return await self._waiter


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else 0.0

        return {
            "requests": len(lat),
            "seconds": round(self.seconds, 2),
            "rps": round(len(lat) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else 0.0,
            "statuses": self.statuses,
        }


def encode_post(url: str, body: Any, headers: dict[str, str]) -> bytes:
    parts = urlsplit(url)
    data = json.dumps(body).encode()
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


async def post_load(
    url: str,
    make_body: Callable[[], Any],
    headers: dict[str, str],
    seconds: float,
    concurrency: int,
    total: int | None = None,
) -> LoadResult:
    """Keep ``concurrency`` POSTs in flight for ``seconds`` (or until ``total`` were sent); every
    response is timed."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    result = LoadResult()
    deadline = time.perf_counter() + seconds
    remaining = [total if total is not None else -1]

    async def worker() -> None:
        _, conn = await loop.create_connection(_Connection, parts.hostname, parts.port or 80)
        try:
            while time.perf_counter() < deadline and remaining[0] != 0:
                remaining[0] -= 1
                payload = encode_post(url, make_body(), headers)
                started = time.perf_counter()
                status = await conn.request(payload)
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            if conn.transport is not None:
                conn.transport.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result
