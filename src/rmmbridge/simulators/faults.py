"""Fault injection shared by every RMM simulator.

A simulator holds one mutable :class:`FaultPlan`; tests (or the ``/_sim/faults`` control route a
simulator may expose) change it between requests. Each fault is matched against a request by a
small predicate so a test can say "the third page of agents fails with a 500" precisely, and each
fault can be limited to a number of hits so retries can be exercised ("fail twice, then succeed").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["status", "slow", "rate_limit", "truncate", "malformed", "expire_token", "stall"]


@dataclass
class Fault:
    """One injected fault.

    ``path_contains`` and ``query_contains`` select the requests it applies to (substring match on
    the URL path and the raw query string); ``times`` is how many matching requests it hits before
    it is spent (``None`` = forever).
    """

    kind: FaultKind
    path_contains: str = ""
    query_contains: str = ""
    method: str | None = None
    status: int = 500
    delay_s: float = 0.0
    retry_after_s: int = 1
    times: int | None = None
    hits: int = 0

    def matches(self, method: str, path: str, query: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return self.path_contains in path and self.query_contains in query


@dataclass
class FaultPlan:
    """The faults currently armed on a simulator."""

    faults: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def take(self, method: str, path: str, query: str) -> list[Fault]:
        """Return (and count a hit on) every fault that applies to this request."""
        hit = [f for f in self.faults if f.matches(method, path, query)]
        for f in hit:
            f.hits += 1
        return hit


STALL_S = 3600.0  # a "stall" without ``delay_s``: far beyond any client's timeout


async def apply_stall(faults: list[Fault]) -> None:
    """A response that stalls (``stall``): the server accepted the request and then says nothing for
    ``delay_s`` (default an hour), so only the client's own timeout ends the wait."""
    stall = [f.delay_s or STALL_S for f in faults if f.kind == "stall"]
    if stall:
        await asyncio.sleep(max(stall))


async def apply_delay(faults: list[Fault]) -> None:
    """Sleep for the longest ``slow`` fault among ``faults``."""
    delay = max((f.delay_s for f in faults if f.kind == "slow"), default=0.0)
    if delay:
        await asyncio.sleep(delay)


def truncate_body(body: bytes) -> bytes:
    """Cut a JSON body in half, as a proxy that drops the connection mid-response would."""
    return body[: max(1, len(body) // 2)]


MALFORMED_BODY = b'{"count": 3, "results": [{"id": 1,, }'
