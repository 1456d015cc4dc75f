"""kit/heap.py: the start-up heap is exempt from full collections; later cycles are still freed."""

from __future__ import annotations

import gc
import weakref

from rmmbridge.kit.heap import settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_settle_heap_freezes_what_exists_and_still_collects_later_cycles() -> None:
    before = gc.get_freeze_count()
    try:
        settle_heap()
        assert gc.get_freeze_count() > before  # the modules' objects are in the permanent generation
        later = _Node()
        gone = weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None  # a cycle made after start-up is still found
    finally:
        gc.unfreeze()  # the test process keeps its usual collector
