"""Walking a paginated Beta listing (sites, agents) so that it is complete or fails (reference §3.2).

- Page URLs are built from the stored base (``page=N&page_size=S``); ``next`` is only a "more
  pages" flag (it is absolute, built from the server's idea of its host and scheme, and repeats an
  oversized ``page_size``).
- A walk is complete only if every page succeeded, ``count`` stayed the same from the first page to
  the last, and the number of unique ids equals ``count``; otherwise
  :class:`ProviderIncompleteError` (page-number pagination over a live table can skip rows).
- Pages are yielded as they arrive; the verdict comes after the last. Page N+1 is requested as
  soon as page N's bytes are in — before N is decoded, normalized and written — so the server is
  never idle waiting for rmmbridge; a walk given ``prefetch=2`` (the device walk, when the
  connection has more than one request slot) also requests N+2, so a client with many pages takes
  two of the slots rather than one (the client's semaphore keeps the total). Memory holds at most
  ``prefetch + 1`` pages per walk. The probe's count gives the walk a first idea of how many pages
  follow; from page 1's count on, it knows. A prefetched page that
  fails raises when the caller asks for it, after the pages before it were handed out: the walk
  is then incomplete (a page past the end is a 404, "the listing shrank").
- JSON decoding and the caller's ``transform`` (e.g. normalization) run off the event loop: a
  multi-megabyte page parsed on it would stall the socket reads of the next page. A walk marked
  ``offload`` (a picklable transform that shrinks the page, like normalization) runs a big page's
  (``offload.worth_it``: a megabyte, or a few rows once a worker is up) in a worker process, on
  another core than the loop and the device writer — its probe too; everything else runs in a
  worker thread.
  The transform is fed the page's rows one at a time as they are decoded (``page_json``): a
  decoded row is normalized and dropped before the next is built, so the garbage collector never
  sees a whole page of rows at once.
- Page size adapts to row size (§9.2): when more than ``PROBE_SIZE`` rows are asked for, page 1 is
  first read with ``PROBE_SIZE`` rows; if that was everything, the walk is done, otherwise the bytes
  per row choose a page size that keeps a page under ``max_page_bytes`` (production-sized rows are
  ~95 KB: 1,000 of them would be ~95 MB to parse at once) and the walk starts over with it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from rmmbridge.kit import offload
from rmmbridge.providers.base import ProviderIncompleteError, ProviderRetriableError

from .client import TacticalClient, json_fault, malformed_json
from .page_json import DecodedPage, MalformedPage, decode_page
from .unused_fields import drop_flat_arrays

MAX_PAGE_SIZE = 1000
PROBE_SIZE = 100
PREFETCH_PAGES = 2  # at most, requests a walk sends ahead of the page it hands out (PageWalk.prefetch)
MAX_PAGE_BYTES = 20 * 1024 * 1024

Rows = list[dict[str, Any]]
T = TypeVar("T")


def _identity(rows: Iterable[dict[str, Any]]) -> Any:
    return list(rows)


@dataclass
class _Page:
    rows: Rows  # the decoded rows; emptied once transformed
    count: int
    more: bool
    size_bytes: int
    ids: list[int]
    n_rows: int
    items: Any = None  # transform(rows), when transformed


@dataclass
class PageWalk(Generic[T]):
    """One walk over ``path`` with fixed ``params``; iterate :meth:`pages`.

    ``transform`` turns one page's rows into what :meth:`pages` yields; it runs in a worker thread
    with the JSON decoding, so it must be pure (no I/O, no shared mutable state). It is given the
    rows as an iterable that decodes each row when asked for it (iterate it once); a malformed body
    raises from it, and whatever the transform returned is then discarded.
    """

    client: TacticalClient
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    page_size: int = MAX_PAGE_SIZE
    what: str = "listing"
    perm: str | None = None
    feature: str | None = None
    max_page_bytes: int = MAX_PAGE_BYTES
    transform: Callable[[Iterable[dict[str, Any]]], T] = _identity
    unused_arrays: tuple[str, ...] = ()  # row keys holding arrays nobody reads: never decoded
    offload: bool = False  # transform is picklable and worth a worker process (see the module doc)
    prefetch: int = 1  # pages requested ahead (1..PREFETCH_PAGES; more only helps with request slots to spare)
    count: int | None = None
    pages_read: int = 0
    page_size_used: int | None = None
    ids: set[int] = field(default_factory=set)

    async def _download(self, page: int, size: int) -> httpx.Response:
        """One page's response, body read (no decoding: that is :meth:`_decode`'s, in a thread)."""
        try:
            return await self.client.request(
                "GET",
                self.path,
                params={**self.params, "page": page, "page_size": size},
                perm=self.perm,
                feature=self.feature,
                ok_404=True,
            )
        except ProviderRetriableError as exc:
            raise self._failed(page, exc) from exc

    def _failed(self, page: int, exc: ProviderRetriableError) -> ProviderIncompleteError:
        return ProviderIncompleteError(
            f"The {self.what} is incomplete: page {page} failed ({exc.message})", cause=exc.cause or exc.message
        )

    async def _decoded(self, response: httpx.Response, page: int, transform: bool | None = True) -> _Page:
        """The page decoded; its rows transformed when ``transform``, or (``None``, the probe) when
        a worker process takes the page: there, a transform the walk may not keep (when more pages
        follow, the probe's rows are read again) costs the loop's process nothing."""
        big = transform is not False and self.offload and offload.worth_it(len(response.content))
        if transform is None:
            # Not to a worker still starting: run() would wait for its start-up, and the walk's
            # first request waits for the probe (pages() starts the workers for the pages after it).
            transform = big = big and offload.ready()
        consume: Callable[[Iterable[dict[str, Any]]], Any] = self.transform if transform else list
        run = offload.run if big else asyncio.to_thread
        read = await run(read_rows, response.content, self.unused_arrays, consume)
        try:
            return self._checked(response, read, page, transform)
        except ProviderRetriableError as exc:  # a truncated or malformed body
            raise self._failed(page, exc) from exc

    async def _fetch(self, page: int, size: int, *, transform: bool | None = True) -> _Page:
        return await self._decoded(await self._download(page, size), page, transform)

    def _checked(self, response: httpx.Response, read: DecodedPage[Any] | str, page: int, transform: bool) -> _Page:
        """The decoded page's envelope checked, its ids collected."""
        if isinstance(read, str):
            raise malformed_json(str(response.request.url), read)
        body = read.value
        if response.status_code == 404:  # JSON {"detail": "Invalid page."}: the listing shrank under us
            raise ProviderIncompleteError(
                f"The {self.what} is incomplete: page {page} no longer exists (records were removed while it "
                "was read); nothing is inferred from it",
                cause=str(body),
            )
        url = self.client.url(self.path)
        if not isinstance(body, dict) or not read.has_rows:
            raise self.client.unexpected(url)
        count = body.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise self.client.unexpected(url)
        # `next` is a flag only: page URLs always come from the stored base.
        more = bool(body.get("next")) and bool(read.n_rows)
        if transform:
            return _Page([], count, more, len(response.content), read.ids, read.n_rows, read.consumed)
        rows: Rows = read.consumed or []
        return _Page(rows, count, more, len(response.content), read.ids, read.n_rows)

    async def pages(self) -> AsyncIterator[T]:
        size = max(1, min(self.page_size, MAX_PAGE_SIZE))
        first: _Page | None = None
        # How many pages the walk will take. The probe's count gives a first guess, so page 2 can be
        # requested the moment page 1's bytes are in; page 1's own count then decides.
        max_pages: int | None = None
        if size > PROBE_SIZE:
            # A probe that goes to a worker process is transformed there: most clients of an MSP fit
            # in a probe, and one decoded here and transformed later ran all of that on the loop's
            # process. Otherwise it is transformed only if it is kept (see _decoded).
            probe = await self._fetch(1, PROBE_SIZE, transform=None)
            if not probe.more:
                size, first = PROBE_SIZE, probe  # that was the whole listing
            else:
                per_row = probe.size_bytes / max(1, probe.n_rows)
                fitting = max(PROBE_SIZE, min(size, int(self.max_page_bytes // max(per_row, 1.0))))
                if fitting == PROBE_SIZE:
                    size, first = PROBE_SIZE, probe  # keep walking at the probe's size
                else:
                    size = fitting  # start over with bigger pages; the probe's rows are re-read
                    max_pages = -(-probe.count // size)
                # An estimate, not a page: worth_it() would count it towards a burst of small pages.
                if self.offload and per_row * min(size, probe.count) >= offload.MIN_BYTES:
                    offload.warm()  # big pages follow: their decoder starts while page 1 downloads
            if first is not None and first.items is None:
                first.items = await asyncio.to_thread(self.transform, first.rows)
                first.rows = []
            del probe
        self.page_size_used = size
        page = 1
        # The next pages' requests, sent as soon as the current page's bytes are in (before they are
        # decoded and handed out). Two ahead when the connection has request slots to spare: a
        # client of many pages is then not walked one request at a time while the other walks are
        # done and the other slots stand idle.
        depth = max(1, min(self.prefetch, PREFETCH_PAGES))
        ahead: deque[asyncio.Task[httpx.Response]] = deque()
        requested = page  # the last page asked for

        def request_ahead() -> None:
            nonlocal requested
            while max_pages is not None and len(ahead) < depth and requested < max_pages:
                requested += 1
                ahead.append(asyncio.create_task(self._download(requested, size)))

        try:
            while True:
                if first is not None:
                    current, first = first, None
                else:
                    response = await ahead.popleft() if ahead else await self._download(page, size)
                    request_ahead()
                    current = await self._decoded(response, page)
                    del response
                if self.count is None:
                    self.count = current.count
                    max_pages = -(-current.count // current.n_rows) if current.n_rows else 1
                elif current.count != self.count:
                    raise ProviderIncompleteError(
                        f"The {self.what} changed while it was read (count {self.count} → {current.count}); it "
                        "is incomplete and will be read again on the next sync",
                        cause="count changed",
                    )
                assert max_pages is not None  # set from the first page
                self.ids.update(current.ids)
                self.pages_read += 1
                more = current.more
                if more:
                    # The first page's count tells how many follow: those are on their way while
                    # the caller ingests this one.
                    request_ahead()
                items = current.items
                del current
                yield items
                del items
                if not more:
                    break
                page += 1
                if page > max_pages:
                    raise ProviderIncompleteError(
                        f"The {self.what} announced more pages than its count allows ({self.count}); stopped at "
                        f"page {page - 1}",
                        cause="too many pages",
                    )
        finally:
            if ahead:
                for task in ahead:
                    task.cancel()
                await asyncio.wait(ahead)  # never leave a request (or its error) behind the walk
                for task in ahead:
                    if not task.cancelled():
                        task.exception()
        if len(self.ids) != self.count:
            raise ProviderIncompleteError(
                f"The {self.what} is incomplete: {len(self.ids)} distinct records read, Tactical counted {self.count}",
                cause="unique ids != count",
            )


def read_rows(
    content: bytes, unused_arrays: tuple[str, ...], consume: Callable[[Iterable[dict[str, Any]]], T]
) -> DecodedPage[T] | str:
    """A page body decoded, its rows fed to ``consume`` (as they are decoded: see the module doc).

    Runs in a worker thread or process, so it touches no shared state, and a malformed body comes
    back as a value — the exception ``json.loads`` raised, described (``<type>: <message>``) —
    since an exception's ``__cause__`` does not survive the trip between processes.
    """
    try:
        return decode_page(drop_flat_arrays(content, unused_arrays), consume)
    except MalformedPage as exc:
        return json_fault(exc.__cause__ or exc)
