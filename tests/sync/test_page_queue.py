"""The device sync's page queue: bounded by the records it holds, FIFO, its end always taken in."""

from __future__ import annotations

import asyncio

import pytest

from rmmbridge.sync.page_queue import PageQueue


def queue(capacity: int) -> PageQueue[list[int]]:
    return PageQueue(capacity, len)


async def blocked(coro: object) -> asyncio.Task[None]:
    """``coro`` started; asserts it is still waiting after the loop had time to run it."""
    task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert not task.done()
    return task


async def test_many_small_pages_fit_where_few_big_ones_do() -> None:
    q = queue(1000)
    for _ in range(20):  # twenty pages of 50 records: the room a page count of four never gave
        await asyncio.wait_for(q.put([0] * 50), 1)
    assert q.held == 1000
    waiting = await blocked(q.put([0] * 50))
    assert len(await q.take(1000) or []) == 20  # everything queued, in one take
    await asyncio.wait_for(waiting, 1)
    assert q.held == 50


async def test_take_gives_pages_in_order_up_to_its_records_and_never_waits_for_more() -> None:
    q = queue(10_000)
    for n in (300, 300, 300, 300, 200):
        await q.put(list(range(n)))
    assert [len(p) for p in await q.take(1000) or []] == [300, 300, 300]
    assert [len(p) for p in await q.take(1000) or []] == [300, 200]
    assert q.held == 0
    await q.put([1] * 5)
    assert await asyncio.wait_for(q.take(1000), 1) == [[1] * 5]  # one page: taken, not held back


async def test_the_first_page_is_taken_even_when_it_is_larger_than_a_take() -> None:
    q = queue(10_000)
    await q.put([0] * 1500)
    await q.put([0] * 10)
    assert [len(p) for p in await q.take(1000) or []] == [1500]
    assert [len(p) for p in await q.take(1000) or []] == [10]


async def test_a_page_larger_than_the_room_goes_in_alone() -> None:
    q = queue(100)
    await q.put([0] * 10)
    big = await blocked(q.put([0] * 500))  # waits for an empty queue, not for room it cannot get
    assert await q.take(1000) == [[0] * 10]
    await asyncio.wait_for(big, 1)
    assert q.held == 500
    small = await blocked(q.put([0]))
    assert [len(p) for p in await q.take(1000) or []] == [500]
    await asyncio.wait_for(small, 1)


async def test_the_end_is_always_taken_in_and_comes_after_the_pages_before_it() -> None:
    q = queue(1)
    await q.put([0] * 30)  # over the room (a queue of one record): in alone
    await asyncio.wait_for(q.put(None), 1)  # the end never waits, even on a queue over its room
    assert await q.take(1000) == [[0] * 30]
    assert await q.take(1000) is None
    assert await q.take(1000) is None  # and stays the end


async def test_pages_after_the_end_are_not_merged_across_it() -> None:
    q = queue(1000)
    await q.put([1])
    await q.put(None)
    assert await q.take(1000) == [[1]]
    assert await q.take(1000) is None


@pytest.mark.parametrize("records", [1, 999])
async def test_a_walker_blocked_on_a_full_queue_can_be_cancelled(records: int) -> None:
    q = queue(records)
    await q.put([0] * records)
    task = await blocked(q.put([0] * records))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert q.held == records
    assert await q.take(10_000) == [[0] * records]
