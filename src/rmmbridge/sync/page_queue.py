"""The pages between a sync's walkers and its one writer, bounded by the records they hold.

A bound in pages (it was four) held four 1,000-agent pages of a big client, or four pages of a few
dozen agents of an MSP's small clients: the writer then wrote ~300 records per transaction, paying
each transaction's dozen statements three times as often, and the walkers, blocked on a queue
holding 300 records, left the RMM server idle. Bounded in records, the queue holds as many small
pages as make a few writes, and no more big ones than before; memory stays bounded either way.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PageQueue(Generic[T]):
    """FIFO of pages holding at most ``capacity`` records (``weight`` of a page), and its end.

    A page larger than the whole room goes in alone, once the queue is empty: a queue that could
    never take it would stop the sync. The end (``None``) weighs nothing and is always taken in.
    """

    def __init__(self, capacity: int, weight: Callable[[T], int]) -> None:
        self._capacity = capacity
        self._weight = weight
        self._items: deque[tuple[T | None, int]] = deque()
        self._held = 0
        self._changed = asyncio.Condition()

    @property
    def held(self) -> int:
        """Records queued now."""
        return self._held

    async def put(self, item: T | None) -> None:
        """Queue ``item`` (``None``: the end), waiting while it does not fit."""
        n = 0 if item is None else self._weight(item)
        async with self._changed:
            await self._changed.wait_for(
                lambda: item is None or self._held == 0 or self._held + n <= self._capacity
            )
            self._items.append((item, n))
            self._held += n
            self._changed.notify_all()

    async def take(self, records: int) -> list[T] | None:
        """The oldest page (waiting for one) with the pages queued behind it, while together they
        hold at most ``records``; ``None`` once the end is reached. Never waits for more pages."""
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._items))
            first, total = self._items[0]
            if first is None:
                return None  # the end stays queued: every later take sees it too
            self._items.popleft()
            batch = [first]
            while self._items:
                item, n = self._items[0]
                if item is None or total + n > records:
                    break
                self._items.popleft()
                batch.append(item)
                total += n
            self._held -= total
            self._changed.notify_all()
            return batch


__all__ = ["PageQueue"]
