"""Walking a paginated Beta listing (sites, agents) so that it is complete or fails (reference §3.2).

- Page URLs are built from the stored base (``page=N&page_size=S``); ``next`` is only a "more
  pages" flag (it is absolute, built from the server's idea of its host and scheme, and repeats an
  oversized ``page_size``).
- A walk is complete only if every page succeeded, ``count`` stayed the same from the first page to
  the last, and the number of unique ids equals ``count``; otherwise
  :class:`ProviderIncompleteError` (page-number pagination over a live table can skip rows).
- Pages are yielded as they arrive, so memory holds one page; the verdict comes after the last.
- Page size adapts to row size (§9.2): when more than ``PROBE_SIZE`` rows are asked for, page 1 is
  first read with ``PROBE_SIZE`` rows; if that was everything, the walk is done, otherwise the bytes
  per row choose a page size that keeps a page under ``max_page_bytes`` (production-sized rows are
  ~95 KB: 1,000 of them would be ~95 MB to parse at once) and the walk starts over with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rmmbridge.providers.base import ProviderIncompleteError, ProviderRetriableError

from .client import TacticalClient, decode_json

MAX_PAGE_SIZE = 1000
PROBE_SIZE = 100
MAX_PAGE_BYTES = 20 * 1024 * 1024


@dataclass
class _Page:
    rows: list[dict[str, Any]]
    count: int
    more: bool
    size_bytes: int


@dataclass
class PageWalk:
    """One walk over ``path`` with fixed ``params``; iterate :meth:`pages`."""

    client: TacticalClient
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    page_size: int = MAX_PAGE_SIZE
    what: str = "listing"
    perm: str | None = None
    feature: str | None = None
    max_page_bytes: int = MAX_PAGE_BYTES
    count: int | None = None
    pages_read: int = 0
    page_size_used: int | None = None
    ids: set[int] = field(default_factory=set)

    async def _fetch(self, page: int, size: int) -> _Page:
        url = self.client.url(self.path)
        try:
            response = await self.client.request(
                "GET",
                self.path,
                params={**self.params, "page": page, "page_size": size},
                perm=self.perm,
                feature=self.feature,
                ok_404=True,
            )
            body = decode_json(response)
        except ProviderRetriableError as exc:
            raise ProviderIncompleteError(
                f"The {self.what} is incomplete: page {page} failed ({exc.message})",
                cause=exc.cause or exc.message,
            ) from exc
        if response.status_code == 404:  # JSON {"detail": "Invalid page."}: the listing shrank under us
            raise ProviderIncompleteError(
                f"The {self.what} is incomplete: page {page} no longer exists (records were removed while it "
                "was read); nothing is inferred from it",
                cause=str(body),
            )
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise self.client.unexpected(url)
        count = body.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise self.client.unexpected(url)
        rows = [r for r in body["results"] if isinstance(r, dict)]
        # `next` is a flag only: page URLs always come from the stored base.
        return _Page(rows, count, bool(body.get("next")) and bool(rows), len(response.content))

    async def pages(self) -> AsyncIterator[list[dict[str, Any]]]:
        size = max(1, min(self.page_size, MAX_PAGE_SIZE))
        first: _Page | None = None
        if size > PROBE_SIZE:
            probe = await self._fetch(1, PROBE_SIZE)
            if not probe.more:
                size, first = PROBE_SIZE, probe  # that was the whole listing
            else:
                per_row = probe.size_bytes / max(1, len(probe.rows))
                fitting = max(PROBE_SIZE, min(size, int(self.max_page_bytes // max(per_row, 1.0))))
                if fitting == PROBE_SIZE:
                    size, first = PROBE_SIZE, probe  # keep walking at the probe's size
                else:
                    size = fitting  # start over with bigger pages; the probe's rows are re-read
            del probe
        self.page_size_used = size
        page = 1
        max_pages: int | None = None
        while True:
            current = first if first is not None else await self._fetch(page, size)
            first = None
            if self.count is None:
                self.count = current.count
                max_pages = -(-current.count // len(current.rows)) if current.rows else 1
            elif current.count != self.count:
                raise ProviderIncompleteError(
                    f"The {self.what} changed while it was read (count {self.count} → {current.count}); it is "
                    "incomplete and will be read again on the next sync",
                    cause="count changed",
                )
            for row in current.rows:
                pk = row.get("id")
                if isinstance(pk, int) and not isinstance(pk, bool):
                    self.ids.add(pk)
            self.pages_read += 1
            more = current.more
            rows = current.rows
            del current
            yield rows
            del rows
            if not more:
                break
            page += 1
            if max_pages is not None and page > max_pages:
                raise ProviderIncompleteError(
                    f"The {self.what} announced more pages than its count allows ({self.count}); stopped at page "
                    f"{page - 1}",
                    cause="too many pages",
                )
        if len(self.ids) != self.count:
            raise ProviderIncompleteError(
                f"The {self.what} is incomplete: {len(self.ids)} distinct records read, Tactical counted {self.count}",
                cause="unique ids != count",
            )
