from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from rmmbridge.delivery.worker import DeliveryWorker

from .support import Receiver, TestClock


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def clock(state: Any, monkeypatch: pytest.MonkeyPatch) -> TestClock:
    fake = TestClock()
    monkeypatch.setattr(state, "clock", fake)
    return fake


@pytest_asyncio.fixture
async def worker(state: Any) -> AsyncIterator[DeliveryWorker]:
    w = DeliveryWorker(state, nats_url="")
    yield w
    await w.aclose()
