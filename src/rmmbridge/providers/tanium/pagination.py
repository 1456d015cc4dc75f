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
- A *field* error (an error whose path lies inside the connection's ``edges``) is not a cursor problem
  either: on a non-null field it nulls the whole page (GraphQL null propagation), so the page is asked
  again with the narrower ``fallback`` document, which the rest of the walk keeps using (its nodes carry
  ``NARROWED: True``); without a fallback the walk fails as incomplete, naming the field. A nulled page is
  never counted as empty.
- Every ``endpoints`` walk is sorted by id (Tanium's order is otherwise undefined). A collection lives at
  most an hour however busy the walk, so when a cursor dies after progress was made the walk resumes with a
  new collection of the ids *after* the last one handed out (``id GT last``, the listing's own filter kept):
  the prefix was proven complete by the first collection, the rest by the new one. Resumes that make
  progress do not count against ``max_restarts``; each is logged (``tanium_walk_resumed``).
- One page of prefetch: page k+1 is requested before page k is handed to the consumer, so a slow
  consumer does not hold an idle cursor (bounded memory: two pages).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from rmmbridge.providers.base import ProviderIncompleteError

from .gateway import GatewayQueryError, TaniumGateway

log = structlog.get_logger(__name__)

DEFAULT_MAX_RESTARTS = 1
MAX_RESUMES = 10  # ten hours of collections: a walk that keeps resuming is broken, not slow
NARROWED = "_narrowed"  # key set on nodes read with the fallback document


def _operation_name(document: str) -> str:
    found = re.match(r"\s*query\s+(\w+)", document)
    assert found, "walk documents are named queries"
    return found.group(1)


class _FieldError(Exception):
    def __init__(self, error: GatewayQueryError) -> None:
        super().__init__(error.message)
        self.error = error
        self.fields = sorted({".".join(str(p) for p in path if not isinstance(p, int)) for path in error.paths})


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
    fallback: str | None = None  # a narrower document for pages a field error nulled
    total: int | None = None  # the listing's total (the resumed part's total plus what came before)
    restarts: int = 0
    resumes: int = 0
    pages_read: int = 0
    narrowed_by: list[str] | None = None  # the failing fields, once the walk uses the fallback
    _prefix: int = 0  # ids handed out before the collection being read (a resumed walk)
    _after_id: str | None = None

    def __post_init__(self) -> None:
        if self.connection == "endpoints":
            # Cursors only make sense over a defined order (and resuming needs it to be by id).
            assert 'sort: [{ path: "id"' in self.document, f"{self.op} walks endpoints without sort by id"

    async def pages(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Lists of nodes (each with a string ``id``); raises when the walk cannot be proven complete."""
        handed_out: set[str] = set()
        last_id: str | None = None
        while True:
            progress = len(handed_out)
            try:
                async with contextlib.aclosing(self._attempt()) as attempt:
                    async for nodes in attempt:
                        fresh = [n for n in nodes if n["id"] not in handed_out]
                        handed_out.update(n["id"] for n in fresh)
                        if nodes:
                            last_id = nodes[-1]["id"]
                        yield fresh
                return
            except _FieldError as exc:
                raise ProviderIncompleteError(
                    f"The Tanium {self.what} is incomplete: a field error on {', '.join(exc.fields) or 'a field'} "
                    f"nulled a whole page ({exc.error.message}) and there is no narrower query to fall back to. "
                    "Nothing is inferred from it; the next sync reads it again.",
                    cause="field error",
                ) from None
            except _Restart as exc:
                resumable = (
                    self.connection == "endpoints"
                    and exc.cause == "cursor error"
                    and last_id is not None
                    and last_id.isdigit()
                    and len(handed_out) > progress
                    and self.resumes < MAX_RESUMES
                )
                if resumable:
                    self.resumes += 1
                    self._prefix = len(handed_out)
                    self._after_id = last_id
                    log.warning(
                        "tanium_walk_resumed",
                        what=self.what,
                        after_id=last_id,
                        listed=len(handed_out),
                        reason=exc.reason,
                    )
                    continue
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
                # A plain restart reads everything again from a new collection.
                self._prefix, self._after_id = 0, None

    def _variables(self, after: Any) -> dict[str, Any]:
        variables = {**self.variables, "first": self.page_size, "after": after}
        if self._after_id is not None:
            rest = {"path": "id", "op": "GT", "value": self._after_id}
            listing = variables.get("filter")
            variables["filter"] = {"filters": [listing, rest]} if listing else rest
        return variables

    def _is_field_error(self, exc: GatewayQueryError) -> bool:
        return any(len(path) > 2 and path[0] == self.connection and path[1] == "edges" for path in exc.paths)

    async def _fetch(self, after: Any) -> _Page:
        variables = self._variables(after)
        document, op = self.document, self.op
        if self.narrowed_by is not None and self.fallback is not None:
            document, op = self.fallback, _operation_name(self.fallback)
        try:
            data = await self.gateway.query(document, variables, op=op)
        except GatewayQueryError as exc:
            if not self._is_field_error(exc):
                if after is None:
                    raise
                raise _Restart(f"a page failed ({exc.message}); the cursor may have expired", "cursor error") from exc
            if self.fallback is None or self.narrowed_by is not None:
                raise _FieldError(exc) from exc
            # The same page again, without the selection that failed: the cursor is still good.
            self.narrowed_by = _FieldError(exc).fields
            log.warning("tanium_walk_narrowed", what=self.what, fields=self.narrowed_by, reason=exc.message)
            return await self._fetch(after)
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
            if self.narrowed_by is not None and document is self.fallback:
                nodes[-1][NARROWED] = True
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
                    self.total = page.total + self._prefix
                    limit = math.ceil(page.total / max(1, len(page.nodes))) + 2
                elif page.total + self._prefix != self.total:
                    raise _Restart(
                        "the collection changed while it was read "
                        f"(totalRecords {self.total - self._prefix} → {page.total})",
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
            counted = (self.total or 0) - self._prefix
            if len(seen) != counted:
                raise _Restart(
                    f"{len(seen)} distinct records were listed but the Gateway counted {counted}",
                    "short listing" if len(seen) < counted else "count mismatch",
                )
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            elif pending is not None:
                with contextlib.suppress(BaseException):
                    pending.exception()  # retrieved: no "exception never retrieved" warning
