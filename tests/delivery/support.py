"""A webhook receiver on a real loopback port, a test clock, and helpers to emit and deliver."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.db import unit_of_work
from tests.support.live_server import LiveServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """Answers each POST with the next scripted (status, headers), then ``default``; records all."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    default: int = 200
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: LiveServer | None = None

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.received.append(Received(dict(request.headers), body, time.time()))
                status, headers = self.script.pop(0) if self.script else (self.default, {})
            if self.delay_s:
                import asyncio

                await asyncio.sleep(self.delay_s)
            return PlainTextResponse(f"answer {status}", status_code=status, headers=headers)

        async def health(request: Request) -> Response:
            return PlainTextResponse("ok")

        return Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/healthz", health)])

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url + "/hook"

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(r.headers["webhook-id"] for r in self.received)

    def __enter__(self) -> Receiver:
        self.server = LiveServer(self.app()).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.__exit__(*exc)


class TestClock:
    __test__ = False

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


async def emit_events(
    state: Any, tenant_id: uuid.UUID, n: int, event_type: str = "asset.created", **payload: Any
) -> list[str]:
    rows = [
        event_row(
            tenant_id,
            event_type,
            "asset",
            uuid.uuid4(),
            {"external_id": f"d{i}", "name": f"pc-{i}", **payload},
            state.clock(),
        )
        for i in range(n)
    ]
    async with unit_of_work(state.sessionmaker) as session:
        await write_events(session, rows)
    return [str(r["id"]) for r in rows]


async def drain(worker: Any, rounds: int = 50) -> int:
    """Step the worker until a pass does nothing."""
    total = 0
    for _ in range(rounds):
        done = await worker.step()
        total += done
        if not done:
            return total
    return total
