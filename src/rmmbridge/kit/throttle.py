"""Backoff after repeated failures (wrong passwords, unknown tokens, guessed webhook secrets),
per key (an account, a source address), in memory, per process.

Per process is enough: the point is to make guessing slow and visible, and each worker slowing
its own share of guesses does that. Keys are bounded: when full, keys whose backoff has expired
are dropped; if every key is still backing off (a flood from many addresses), the oldest half go.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 10_000


@dataclass
class _Failures:
    count: int
    last: float
    blocked_until: float


class FailureThrottle:
    """``free`` failures are let through without delay; each further one doubles the wait
    (``base_s``, ``2·base_s``, … up to ``max_s``). A key without failures for ``forget_s`` starts over."""

    def __init__(
        self,
        *,
        free: int,
        base_s: float,
        max_s: float,
        forget_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.base_s, self.max_s, self.forget_s = free, base_s, max_s, forget_s
        self.clock = clock
        self._keys: dict[str, _Failures] = {}

    def wait(self, key: str) -> float | None:
        """Seconds ``key`` must still wait before its next attempt; ``None`` if it may try now."""
        entry = self._current(key)
        if entry is None:
            return None
        remaining = entry.blocked_until - self.clock()
        return remaining if remaining > 0 else None

    def failed(self, key: str) -> float | None:
        """Record a failure; returns the wait it imposes (``None`` while within ``free``)."""
        now = self.clock()
        entry = self._current(key)
        if entry is None:
            if len(self._keys) >= MAX_KEYS:
                self._make_room(now)
            entry = self._keys[key] = _Failures(0, now, float("-inf"))
        entry.count += 1
        entry.last = now
        excess = entry.count - self.free
        if excess <= 0:
            return None
        delay = min(self.max_s, self.base_s * 2 ** min(excess - 1, 32))
        entry.blocked_until = now + delay
        return delay

    def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)

    def failures(self, key: str) -> int:
        entry = self._current(key)
        return entry.count if entry else 0

    def _current(self, key: str) -> _Failures | None:
        entry = self._keys.get(key)
        if entry is not None and self.clock() - max(entry.last, entry.blocked_until) >= self.forget_s:
            del self._keys[key]
            return None
        return entry

    def _make_room(self, now: float) -> None:
        self._keys = {k: e for k, e in self._keys.items() if e.blocked_until > now}
        if len(self._keys) >= MAX_KEYS:
            oldest = sorted(self._keys, key=lambda k: self._keys[k].last)[: MAX_KEYS // 2]
            for k in oldest:
                del self._keys[k]
