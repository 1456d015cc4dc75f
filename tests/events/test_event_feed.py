"""The event feed (``/api/v1/events``): cursor pagination that never skips an event whose
transaction commits after a follower has read past later events."""

from __future__ import annotations

import uuid

import pytest

from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.db import unit_of_work


async def _follow(http, tenant, cursor: str | None, **params) -> tuple[list[dict], str | None]:
    query = {"limit": 2, **params, **({"cursor": cursor} if cursor else {})}
    r = await http.get("/api/v1/events", params=query, headers=tenant.headers("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    return body["items"], body["next_cursor"]


async def _write(state, tenant_id, event_type: str, n: int = 1) -> None:
    async with unit_of_work(state.sessionmaker) as s:
        await write_events(s, [event_row(tenant_id, event_type, "test", uuid.uuid4(), {}, utcnow()) for _ in range(n)])


async def test_pages_follow_in_order_and_the_cursor_resumes(http, state, tenant):
    await _write(state, tenant.tenant_id, "test.first", 3)
    await _write(state, tenant.tenant_id, "test.second", 2)
    seen, cursor = [], None
    for _ in range(5):
        items, cursor = await _follow(http, tenant, cursor, event_type=None)
        seen += [i["event_type"] for i in items if i["event_type"].startswith("test.")]
        if not items:
            break
    assert seen == ["test.first"] * 3 + ["test.second"] * 2
    items, again = await _follow(http, tenant, cursor)
    assert items == [] and again == cursor  # caught up: the cursor stays put
    await _write(state, tenant.tenant_id, "test.third")
    items, _ = await _follow(http, tenant, cursor)
    assert [i["event_type"] for i in items] == ["test.third"]
    r = await http.get("/api/v1/events", params={"cursor": "not-a-cursor"}, headers=tenant.headers("viewer"))
    assert r.status_code == 422


async def test_an_event_committed_late_is_not_skipped(http, state, tenant, backend):
    """Transaction A writes its event first but commits last; B commits in between, and a
    follower reads in between. Ordered by time, the follower would read past A's event before it
    exists and never see it. No sleeps: on PostgreSQL B commits while A is open (A's open xid
    holds the feed back); on SQLite writers take turns, so B can only follow A's commit."""
    _, cursor = await _follow(http, tenant, None, limit=500)
    seen: list[str] = []
    async with state.sessionmaker() as a:
        await a.connection()  # begin (on SQLite: take the write lock now)
        await write_events(a, [event_row(tenant.tenant_id, "test.late", "test", "a", {}, utcnow())])
        if backend == "postgres":
            await _write(state, tenant.tenant_id, "test.early")
        items, cursor = await _follow(http, tenant, cursor, limit=500)
        assert items == []  # B's event is behind A's open transaction: not shown yet
        await a.commit()
    if backend == "sqlite":
        await _write(state, tenant.tenant_id, "test.early")
    for _ in range(2):
        items, cursor = await _follow(http, tenant, cursor, limit=500)
        seen += [i["event_type"] for i in items]
    assert sorted(seen) == ["test.early", "test.late"]


async def test_a_transaction_open_in_another_database_does_not_stall_the_feed(http, state, tenant, backend):
    """Issue #14 item 7: the horizon was the snapshot's cluster-wide xmin, so an idle transaction
    in any other database of the server hid every new event for as long as it lasted."""
    if backend != "postgres":
        pytest.skip("one database per SQLite file")
    import asyncpg

    from tests.conftest import PG_ADMIN_DSN

    _, cursor = await _follow(http, tenant, None, limit=500)
    elsewhere = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)  # the server's maintenance database
    try:
        assert await elsewhere.fetchval("SELECT current_database()") != state.engine.url.database
        async with elsewhere.transaction():
            await elsewhere.fetchval("SELECT txid_current()")  # an xid older than the event's
            await _write(state, tenant.tenant_id, "test.while-another-database-waits")
            items, cursor = await _follow(http, tenant, cursor, limit=500)
            assert [i["event_type"] for i in items] == ["test.while-another-database-waits"]
    finally:
        await elsewhere.close()
