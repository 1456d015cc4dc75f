"""Walking a Gateway connection (``endpoints``, ``computerGroups``) so it is complete or fails (§4.3).

- Forward paging with ``first``/``after``; the end is decided only by ``hasNextPage`` and then verified:
  the number of distinct ids must equal ``totalRecords``.
- Raised as incomplete: ``totalRecords`` changing mid-walk, a duplicate id, ``hasNextPage`` with a missing
  or repeated ``endCursor``, more pages than the total allows (runaway), a broken page, an execution error
  on a page that continues a walk (typically an expired cursor), and a final count below or above the
  total (a short listing).
- Each of those restarts the walk cleanly from ``after: null`` (new collection, new total, new id set) at
  most ``max_restarts`` times; then :class:`ProviderIncompleteError` — never a silently short list. Ids
  already handed out before a restart are not handed out again.
- An execution error on the first page (``after: null``) is not a cursor problem: it is raised as is.
- One page of prefetch: page k+1 is requested before page k is handed to the consumer, so a slow
  consumer does not hold an idle cursor (bounded memory: two pages).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rmmbridge.providers.base import ProviderIncompleteError

from .gateway import GatewayQueryError, TaniumGateway

DEFAULT_MAX_RESTARTS = 1


class _Restart(Exception):
    def __init__(self, reason: str, cause: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


@dataclass
class _Page:
    nodes: list[dict[str, Any]]
    total: int
    has_next: bool
    end_cursor: Any


@dataclass
class CursorWalk:
    """One complete walk of ``connection`` (a root field) with ``document`` and fixed ``variables``."""

    gateway: TaniumGateway
    document: str
    op: str
    connection: str = "endpoints"
    variables: Mapping[str, Any] = field(default_factory=dict)
    page_size: int = 500
    what: str = "endpoint listing"
    max_restarts: int = DEFAULT_MAX_RESTARTS
    total: int | None = None  # the total of the attempt that completed (or is running)
    restarts: int = 0
    pages_read: int = 0

    async def pages(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Lists of nodes (each with a string ``id``); raises when the walk cannot be proven complete."""
        handed_out: set[str] = set()
        while True:
            try:
                async with contextlib.aclosing(self._attempt()) as attempt:
                    async for nodes in attempt:
                        fresh = [n for n in nodes if n["id"] not in handed_out]
                        handed_out.update(n["id"] for n in fresh)
                        yield fresh
                return
            except _Restart as exc:
                if self.restarts >= self.max_restarts:
                    raise ProviderIncompleteError(
                        f"The Tanium {self.what} is incomplete: {exc.reason}"
                        + (
                            f" (also after {self.restarts} restart{'s' if self.restarts != 1 else ''})"
                            if self.restarts
                            else ""
                        )
                        + ". Nothing is inferred from it; the next sync reads it again.",
                        cause=exc.cause,
                    ) from None
                self.restarts += 1

    async def _fetch(self, after: Any) -> _Page:
        variables = {**self.variables, "first": self.page_size, "after": after}
        try:
            data = await self.gateway.query(self.document, variables, op=self.op)
        except GatewayQueryError as exc:
            if after is None:
                raise
            raise _Restart(f"a page failed ({exc.message}); the cursor may have expired", "cursor error") from exc
        except ProviderIncompleteError as exc:
            raise _Restart(exc.message, "broken page") from exc
        conn = data.get(self.connection)
        if not isinstance(conn, Mapping):
            raise _Restart(f"the Gateway returned no {self.connection} connection", "broken page")
        total = conn.get("totalRecords")
        edges = conn.get("edges")
        info = conn.get("pageInfo")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise _Restart("the page has no totalRecords", "broken page")
        if not isinstance(edges, list) or not isinstance(info, Mapping):
            raise _Restart("the page has no edges or pageInfo", "broken page")
        nodes: list[dict[str, Any]] = []
        for edge in edges:
            node = edge.get("node") if isinstance(edge, Mapping) else None
            if not isinstance(node, Mapping):
                raise _Restart("a page has an edge without a node", "broken page")
            raw_id = node.get("id")
            if not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or not str(raw_id).strip():
                raise _Restart("a page has a node without an id", "broken page")
            eid = str(raw_id).strip()
            # A copy only when the id needs normalizing (an int, padding): most pages need none.
            nodes.append(node if raw_id == eid and isinstance(node, dict) else {**node, "id": eid})
        return _Page(nodes, total, bool(info.get("hasNextPage")), info.get("endCursor"))

    async def _attempt(self) -> AsyncGenerator[list[dict[str, Any]], None]:
        seen: set[str] = set()
        self.total = None
        limit: int | None = None
        pages = 0
        after: Any = None
        pending: asyncio.Future[_Page] | None = None
        try:
            page = await self._fetch(None)
            while True:
                if self.total is None:
                    self.total = page.total
                    limit = math.ceil(page.total / max(1, len(page.nodes))) + 2
                elif page.total != self.total:
                    raise _Restart(
                        f"the collection changed while it was read (totalRecords {self.total} → {page.total})",
                        "total changed",
                    )
                for node in page.nodes:
                    if node["id"] in seen:
                        raise _Restart(f"id {node['id']} was listed twice", "duplicate id")
                    seen.add(node["id"])
                pages += 1
                self.pages_read += 1
                if page.has_next:
                    cursor = page.end_cursor
                    if cursor is None or cursor == "":
                        raise _Restart("the Gateway said there are more pages but gave no cursor", "null cursor")
                    if cursor == after:
                        raise _Restart("the Gateway returned the same cursor twice", "repeated cursor")
                    if limit is not None and pages >= limit:
                        raise _Restart(f"more pages than {self.total} records allow (runaway paging)", "runaway paging")
                    after = cursor
                    pending = asyncio.ensure_future(self._fetch(after))
                yield page.nodes
                if not page.has_next:
                    break
                assert pending is not None
                page = await pending
                pending = None
            if len(seen) != self.total:
                raise _Restart(
                    f"{len(seen)} distinct records were listed but the Gateway counted {self.total}",
                    "short listing" if len(seen) < (self.total or 0) else "count mismatch",
                )
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            elif pending is not None:
                with contextlib.suppress(BaseException):
                    pending.exception()  # retrieved: no "exception never retrieved" warning
