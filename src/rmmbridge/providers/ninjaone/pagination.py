"""The fail-closed ``after`` walk of NinjaOne's bare-array lists (reference/ninjaone.md §4.2, §10.1).

There is no Link header, no body cursor and no count: ``after`` is the last id of the previous page,
and the only normal end is an empty page. A short page is not the end (the server may cap
``pageSize`` silently), so one more request must come back empty. Anything odd — a non-array body,
a row without an integer id, ids not strictly ascending past ``after``, a repeated id, a runaway
walk — raises :class:`ProviderIncompleteError`: a raise means "incomplete", and nothing is marked
missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from itertools import pairwise
from typing import Any

from rmmbridge.providers.base import ProviderIncompleteError

from .client import NinjaClient

MAX_PAGES = 10_000


async def after_walk(
    client: NinjaClient, path: str, *, page_size: int, params: dict[str, Any] | None = None, what: str
) -> AsyncIterator[list[dict[str, Any]]]:
    after: int | None = None
    seen: set[int] = set()
    pages = 0
    while True:
        query = {**(params or {}), "pageSize": page_size}
        if after is not None:
            query["after"] = after
        _, rows = await client.request("GET", path, params=query)
        if not isinstance(rows, list):
            raise ProviderIncompleteError(
                f"NinjaOne sent something other than a list for the {what}", cause=type(rows).__name__
            )
        if not rows:
            return  # the only normal end
        ids: list[int] = []
        for row in rows:
            rid = row.get("id") if isinstance(row, dict) else None
            if not isinstance(rid, int) or isinstance(rid, bool):
                raise ProviderIncompleteError(f"a row of the {what} has no integer id; the walk cannot continue")
            ids.append(rid)
        floor = after if after is not None else -1
        if any(b <= a for a, b in pairwise(ids)) or ids[0] <= floor:
            raise ProviderIncompleteError(f"the {what} came back out of order after id {after}")
        if seen.intersection(ids):
            raise ProviderIncompleteError(f"the {what} repeated devices after id {after}")
        seen.update(ids)
        pages += 1
        if pages > MAX_PAGES:
            raise ProviderIncompleteError(f"the {what} did not end after {MAX_PAGES} pages")
        yield rows
        after = ids[-1]
