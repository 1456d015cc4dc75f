"""storage/copy.py: COPY-based writes on PostgreSQL, executemany on SQLite, the same results."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rmmbridge.kit.ids import uuid7
from rmmbridge.storage.copy import copy_insert, copy_update, copy_upsert
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import EventOutbox
from rmmbridge.storage.models.base import table_of

OUTBOX = table_of(EventOutbox)
NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
KEY = ["tenant_id", "id"]


def _event(tenant_id: uuid.UUID, event_id: uuid.UUID, payload: Any, at: datetime = NOW) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "id": event_id, "event_type": "copy.test", "entity_type": "test",
            "entity_id": "x", "payload": payload, "created_at": at, "tx_id": 1}


async def _payloads(db: Any, tenant_id: uuid.UUID) -> dict[uuid.UUID, Any]:
    rows = await db.execute(select(OUTBOX.c.id, OUTBOX.c.payload).where(
        OUTBOX.c.tenant_id == tenant_id, OUTBOX.c.event_type == "copy.test"))
    return dict(rows.all())


async def test_upsert_claims_only_new_keys_and_updates_named_columns(state, tenant, db) -> None:
    t = tenant.tenant_id
    ids = [uuid7() for _ in range(5)]
    async with unit_of_work(state.sessionmaker) as s:
        won = await copy_upsert(s, OUTBOX, [_event(t, i, {"v": 1}) for i in ids[:3]], KEY, returning=["id"])
        # Twice in one transaction: the staging table was emptied by the first move.
        again = await copy_upsert(s, OUTBOX, [_event(t, i, {"v": 2}) for i in ids[2:]], KEY, returning=["id"])
    assert {r[0] for r in won} == set(ids[:3])
    assert {r[0] for r in again} == set(ids[3:])  # ids[2] was taken: DO NOTHING, not returned
    async with unit_of_work(state.sessionmaker) as s:
        await copy_upsert(s, OUTBOX, [_event(t, ids[0], {"v": 3})], KEY, update=["payload"])
    assert await _payloads(db, t) == {ids[0]: {"v": 3}, ids[1]: {"v": 1}, ids[2]: {"v": 1},
                                      ids[3]: {"v": 2}, ids[4]: {"v": 2}}


async def test_insert_keeps_json_and_times_and_rolls_back_with_its_transaction(state, tenant, db) -> None:
    t = tenant.tenant_id
    payloads = [{}, {"name": ["old", "néw"]}, {"ips": [["10.0.0.1"], []], "n": None}, [], None]
    ids = [uuid7() for _ in payloads]
    rows = [_event(t, i, p, NOW + timedelta(seconds=n)) for n, (i, p) in enumerate(zip(ids, payloads, strict=True))]
    async with unit_of_work(state.sessionmaker) as s:
        await copy_insert(s, OUTBOX, rows)
    assert await _payloads(db, t) == dict(zip(ids, payloads, strict=True))
    stored = dict((await db.execute(select(OUTBOX.c.id, OUTBOX.c.created_at).where(OUTBOX.c.tenant_id == t))).all())
    assert [stored[i] for i in ids] == [NOW + timedelta(seconds=n) for n in range(len(ids))]

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with unit_of_work(state.sessionmaker) as s:
            await copy_insert(s, OUTBOX, [_event(t, uuid7(), {"lost": True})])
            raise Boom
    assert len(await _payloads(db, t)) == len(ids)


async def test_missing_columns_take_their_python_defaults_and_naive_times_are_utc(state, tenant, db) -> None:
    # COPY bypasses SQLAlchemy: a column the rows leave out must still get the model's default
    # (here the outbox id, a uuid7, and the payload, {}), and a naive datetime is UTC by convention.
    t = tenant.tenant_id
    naive = datetime(2026, 5, 6, 7, 8, 9)
    rows = [{"tenant_id": t, "event_type": "copy.test", "entity_type": "test", "entity_id": str(n),
             "created_at": naive, "tx_id": 1} for n in range(3)]
    async with unit_of_work(state.sessionmaker) as s:
        await copy_insert(s, OUTBOX, rows)
    stored = (await db.execute(select(OUTBOX.c.id, OUTBOX.c.payload, OUTBOX.c.created_at).where(
        OUTBOX.c.tenant_id == t, OUTBOX.c.event_type == "copy.test"))).all()
    assert len({row[0] for row in stored}) == 3 and all(row[0].version == 7 for row in stored)
    assert [row[1] for row in stored] == [{}, {}, {}]
    assert {row[2] for row in stored} == {naive.replace(tzinfo=UTC)}


async def test_update_sets_each_rows_columns_by_key_and_leaves_others(state, tenant, db) -> None:
    t = tenant.tenant_id
    ids = [uuid7() for _ in range(4)]
    async with unit_of_work(state.sessionmaker) as s:
        await copy_insert(s, OUTBOX, [_event(t, i, {"v": n}) for n, i in enumerate(ids)])
    async with unit_of_work(state.sessionmaker) as s:
        # Two rows changed, each to its own values; a key that matches nothing changes nothing.
        await copy_update(s, OUTBOX, [{"tenant_id": t, "id": ids[1], "payload": {"v": "one"}, "entity_id": "b"},
                                      {"tenant_id": t, "id": ids[3], "payload": [], "entity_id": "d"},
                                      {"tenant_id": t, "id": uuid7(), "payload": {"v": "none"}, "entity_id": "z"}],
                          ("tenant_id", "id"))
        # Twice in one transaction: the staging table was emptied by the first update.
        await copy_update(s, OUTBOX, [{"tenant_id": t, "id": ids[0], "payload": {"v": "zero"}, "entity_id": "a"}],
                          ("tenant_id", "id"))
    assert await _payloads(db, t) == {ids[0]: {"v": "zero"}, ids[1]: {"v": "one"}, ids[2]: {"v": 2}, ids[3]: []}
    entity = dict((await db.execute(select(OUTBOX.c.id, OUTBOX.c.entity_id).where(OUTBOX.c.tenant_id == t))).all())
    assert [entity[i] for i in ids] == ["a", "b", "x", "d"]


async def test_rows_for_one_key_twice_leave_the_last_as_an_executemany_would(state, tenant, db) -> None:
    # Two devices of one machine give two rows for one asset in one page: PostgreSQL refuses to
    # touch a row twice in one statement, so the writer keeps the last row per key.
    t = tenant.tenant_id
    ids = [uuid7() for _ in range(2)]
    async with unit_of_work(state.sessionmaker) as s:
        await copy_upsert(s, OUTBOX, [_event(t, ids[0], {"v": 1}), _event(t, ids[0], {"v": 2}),
                                      _event(t, ids[1], {"v": 3})], KEY, update=["payload"])
    assert await _payloads(db, t) == {ids[0]: {"v": 2}, ids[1]: {"v": 3}}
    async with unit_of_work(state.sessionmaker) as s:
        await copy_update(s, OUTBOX, [{"tenant_id": t, "id": ids[1], "payload": {"v": "first"}},
                                      {"tenant_id": t, "id": ids[1], "payload": {"v": "last"}}], ("tenant_id", "id"))
    assert await _payloads(db, t) == {ids[0]: {"v": 2}, ids[1]: {"v": "last"}}
