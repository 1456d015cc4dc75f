"""The real Tactical server's serving cost: per-request and per-row time, and a small worker pool.

Tactical runs under uWSGI with a few workers (4 by default) on a small VM that also serves the
MSP's own dashboard. A request holds one worker for a fixed cost (authentication, filters, the
count query: ~26 ms) plus a cost per row its view serializes (~0.55 ms per 7.3 KB Beta agent row
on an idle server, up to ~2 ms under load; the ``/agents/`` table row is 1.0 ms where a Beta row
is 2.4 ms under the same conditions). Requests beyond the worker count queue for a worker.

:class:`ServingCostGate` models that at the ASGI level, around the simulator: a request waits for
a worker, runs the view, then holds its worker until its modelled cost has passed before the
response starts (the view's own CPU time counts towards it), and keeps it while the body is sent.
The cost is paid as *time* (``sleep``), never as CPU: the simulator shares the machine with the
client it measures.

Views declare what they serialize with :func:`charge_rows` (``charge_rows("beta_agent", n)``);
any view can, with a row kind the model prices (unknown kinds cost nothing). Off by default:
only a simulator built with ``serving_cost=`` pays it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Idle-server costs per row kind. The /agents/ table is 1.0/2.4 of a Beta row in the issue's
# measurement under load; the same proportion is applied to the idle Beta row cost.
BETA_AGENT_ROW_S = 0.00055
ROW_COSTS: Mapping[str, float] = MappingProxyType({
    "beta_agent": BETA_AGENT_ROW_S,
    "agents_table": BETA_AGENT_ROW_S * 1.0 / 2.4,
})
REQUEST_S = 0.026
WORKERS = 4
LOG_SIZE = 10_000  # served requests remembered (bounded: a long-running demo must not grow)


@dataclass(frozen=True)
class ServingCostModel:
    """What serving a request costs the real server. ``load`` scales row costs (1.0 = idle server;
    ~3.6 reproduces the ~2 ms per Beta row seen under load)."""

    request_s: float = REQUEST_S
    row_s: Mapping[str, float] = field(default_factory=lambda: ROW_COSTS)
    workers: int = WORKERS
    load: float = 1.0

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("a server has at least one worker")
        if self.request_s < 0 or self.load < 0 or any(v < 0 for v in self.row_s.values()):
            raise ValueError("serving costs cannot be negative")

    def cost_s(self, rows: Mapping[str, int]) -> float:
        return self.request_s + self.load * sum(self.row_s.get(kind, 0.0) * n for kind, n in rows.items())


@dataclass
class RequestCost:
    """The rows one request's view serialized, by kind (filled through :func:`charge_rows`)."""

    rows: dict[str, int] = field(default_factory=dict)

    def charge(self, kind: str, count: int) -> None:
        self.rows[kind] = self.rows.get(kind, 0) + max(0, count)


_current: ContextVar[RequestCost | None] = ContextVar("tactical_sim_request_cost", default=None)


def charge_rows(kind: str, count: int) -> None:
    """Declare that the current request serializes ``count`` rows of ``kind`` (no-op when unmodelled)."""
    cost = _current.get()
    if cost is not None:
        cost.charge(kind, count)


@dataclass(frozen=True, slots=True)
class ServedRequest:
    """One request as the model served it; times on the gate's clock (seconds)."""

    method: str
    path: str
    query: str
    arrived: float
    started: float  # a worker took it
    responded: float  # the response started (cost paid)
    finished: float  # the body was sent, the worker free again
    cost_s: float
    rows: int

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


class ServingCostGate:
    """Applies a :class:`ServingCostModel` to every request it passes to ``app``.

    ``clock`` and ``sleep`` are injectable so tests can drive time themselves.
    """

    def __init__(
        self,
        model: ServingCostModel,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.model = model
        self.clock = clock
        self.sleep = sleep
        self.log: deque[ServedRequest] = deque(maxlen=LOG_SIZE)
        self.serving = 0
        self.queued = 0
        self._workers: asyncio.Semaphore | None = None

    @property
    def workers(self) -> asyncio.Semaphore:
        # Created on first use, inside the event loop that serves (uvicorn starts its own).
        if self._workers is None:
            self._workers = asyncio.Semaphore(self.model.workers)
        return self._workers

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        arrived = self.clock()
        self.queued += 1
        try:
            await self.workers.acquire()
        finally:
            self.queued -= 1
        self.serving += 1
        started = self.clock()
        cost = RequestCost()
        responded: list[float] = []

        async def send_after_cost(message: Message) -> None:
            if message["type"] == "http.response.start":
                remaining = self.model.cost_s(cost.rows) - (self.clock() - started)
                if remaining > 0:
                    await self.sleep(remaining)
                responded.append(self.clock())
            await send(message)

        token = _current.set(cost)
        try:
            await app(scope, receive, send_after_cost)
        finally:
            _current.reset(token)
            self.serving -= 1
            self.workers.release()
            finished = self.clock()
            self.log.append(ServedRequest(
                scope.get("method", "GET"), scope.get("path", ""), scope.get("query_string", b"").decode("latin-1"),
                arrived, started, responded[0] if responded else finished, finished,
                self.model.cost_s(cost.rows), sum(cost.rows.values()),
            ))  # fmt: skip

    def summary(self) -> dict[str, Any]:
        m = self.model
        return {
            "request_s": m.request_s, "row_s": dict(m.row_s), "workers": m.workers, "load": m.load,
            "serving": self.serving, "queued": self.queued, "logged": len(self.log),
        }  # fmt: skip


__all__ = [
    "ROW_COSTS",
    "RequestCost",
    "ServedRequest",
    "ServingCostGate",
    "ServingCostModel",
    "charge_rows",
]
