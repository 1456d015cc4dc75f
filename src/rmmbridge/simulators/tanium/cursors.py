"""Materialized collections and their opaque cursors (reference §4.3).

A first page (``after``/``before`` null) materializes the filtered collection: its member ids are frozen, so
``totalRecords`` stays fixed for the whole walk. Cursors are base64 of ``<kind>:<collection>:<index>`` and are
bound to the query kind and to the filter/scope they were issued for. A collection lives ``ttl_s`` (5 minutes)
after the most recent use of any of its cursors and at most ``max_lifetime_s`` (1 hour) after it was created,
however busy the walk (the real ``endpoints`` description: "usable for 5 minutes after the most recent
request in the cursored results, with a maximum lifetime of 1 hour"); after either every cursor of it is
rejected.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

CURSOR_ERROR_MESSAGE = "cursor is expired or invalid"


class CursorError(Exception):
    """A cursor that is malformed, expired, or used with another query or filter."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{CURSOR_ERROR_MESSAGE}: {detail}")
        self.detail = detail


@dataclass
class Collection:
    id: str
    kind: str
    key: str
    items: tuple[str, ...]
    created: datetime
    last_used: datetime


@dataclass(frozen=True)
class PageWindow:
    start: int
    end: int


class CursorStore:
    def __init__(self, ttl_s: float, max_lifetime_s: float = 3600.0) -> None:
        self.ttl = timedelta(seconds=ttl_s)
        self.max_lifetime = timedelta(seconds=max_lifetime_s)
        self._collections: dict[str, Collection] = {}
        self._counter = 0

    @property
    def opened(self) -> int:
        """How many collections were ever opened (a per-collection seed)."""
        return self._counter

    def _dead(self, coll: Collection, now: datetime) -> bool:
        return now - coll.last_used > self.ttl or now - coll.created > self.max_lifetime

    def __len__(self) -> int:
        return len(self._collections)

    def open(self, kind: str, key: str, items: tuple[str, ...], now: datetime) -> Collection:
        self._purge(now)
        self._counter += 1
        coll = Collection(f"{self._counter}", kind, key, items, now, now)
        self._collections[coll.id] = coll
        return coll

    def resolve(self, cursor: str, kind: str, key: str, now: datetime) -> tuple[Collection, int]:
        """The collection and item index a cursor points at; refreshes the collection's TTL."""
        coll_kind, coll_id, index = decode_cursor(cursor)
        if coll_kind != kind:
            raise CursorError(f"cursor belongs to {coll_kind}, not {kind}")
        coll = self._collections.get(coll_id)
        if coll is None:
            raise CursorError("unknown collection")
        if self._dead(coll, now):
            del self._collections[coll_id]
            idle = now - coll.last_used > self.ttl
            raise CursorError("collection expired" if idle else "collection exceeded its maximum lifetime of 1 hour")
        if coll.key != key:
            raise CursorError("cursor was issued for a different filter")
        if not 0 <= index < len(coll.items):
            raise CursorError("cursor out of range")
        coll.last_used = now
        return coll, index

    def expire_all(self) -> None:
        self._collections.clear()

    def _purge(self, now: datetime) -> None:
        dead = [cid for cid, c in self._collections.items() if self._dead(c, now)]
        for cid in dead:
            del self._collections[cid]


def encode_cursor(coll: Collection, index: int) -> str:
    return base64.b64encode(f"{coll.kind}:{coll.id}:{index}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str, int]:
    try:
        kind, coll_id, index = base64.b64decode(cursor.encode(), validate=True).decode().split(":")
        return kind, coll_id, int(index)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise CursorError("malformed cursor") from exc


def window(total: int, after: int | None, before: int | None, first: int | None, last: int | None) -> PageWindow:
    """Relay slicing: items after ``after`` and before ``before``, then the first/last N of those."""
    start = after + 1 if after is not None else 0
    end = before if before is not None else total
    end = max(start, end)
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    return PageWindow(start, end)
