"""Decoding a listing page (``{"count", "next", "previous", "results": [...]}``) one row at a time.

``json.loads`` of a whole page builds every row before the first is normalized: a 1,000-row page
is tens of thousands of lists and dicts alive at once, so the cyclic garbage collector walks them
in its young generations, promotes them to the oldest one and then runs full collections over
the whole process heap because of them — measured 20-30 % of the device sync's fetch-side CPU
(``gc.disable()`` in ``bench.sync``'s fetch phase: 0.25-0.33 → 0.18-0.26 ms per agent). JSON
values hold no cycles; the collector's work on them is wasted.

Here the ``results`` array is decoded row by row with the ``json`` module's own scanner and each
row is handed to the consumer (normalization) before the next is decoded: a row's objects die
young, and only what the consumer keeps (the snapshots) lives on. The values are exactly those of
``json.loads`` (same scanner, same decoder settings), and so are the errors: whatever
``json.loads`` rejects raises :class:`MalformedPage` here (the same whitespace rule, separators
and "Extra data" check), possibly after the consumer saw the rows before the fault — consumers
are pure, their result is then discarded. A duplicate ``results`` key (``json.loads``
keeps the last) and a top-level value that is not an object are left to ``json.loads``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from json.decoder import JSONDecodeError, scanstring  # type: ignore[attr-defined]  # public in CPython, not in typeshed
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_DECODER = json.JSONDecoder()  # json.loads's own defaults
_WS = re.compile(r"[ \t\n\r]*")  # json's whitespace
_ROWS_KEY = "results"


class _Fallback(Exception):
    """A shape left to ``json.loads`` (a duplicate ``results`` key)."""


class MalformedPage(Exception):
    """The body is not JSON: what ``json.loads`` raised (a ``ValueError``) is the ``__cause__``.

    Not a ``ValueError`` itself, so that it passes through the consumer (which sees it raised by
    the rows it iterates) and an error of the consumer's own is never taken for a malformed body.
    """


@dataclass
class DecodedPage(Generic[T]):
    """A page as ``json.loads`` would give it, minus the ``results`` rows, which went to ``consume``."""

    value: Any  # the top-level value; when ``has_rows``, its ``results`` is left out
    has_rows: bool = False  # an object whose ``results`` is an array
    consumed: T | None = None  # consume(the array's dict elements), when ``has_rows``
    n_rows: int = 0  # dict elements of ``results``
    ids: list[int] = field(default_factory=list)  # their integer ``id`` values (not booleans)


def decode_page(content: bytes, consume: Callable[[Iterable[dict[str, Any]]], T]) -> DecodedPage[T]:
    """``content`` decoded; the dict rows of its ``results`` array fed to ``consume`` one at a time,
    each decoded only when ``consume`` asks for it. Raises :class:`MalformedPage` where
    ``json.loads`` would raise; the consumer's own exceptions pass unchanged."""
    try:
        text = content.decode(json.detect_encoding(content), "surrogatepass")  # as json.loads does bytes
    except ValueError as exc:  # UnicodeDecodeError
        raise MalformedPage(str(exc)) from exc
    start = _skip(text, 0)
    if text.startswith("{", start):
        try:
            return _object_page(text, start + 1, consume)
        except _Fallback:
            pass
    value = _decoded(json.loads, text)
    page: DecodedPage[T] = DecodedPage(value)
    if isinstance(value, dict) and isinstance(value.get(_ROWS_KEY), list):
        feed = _Feed(_listed(value.pop(_ROWS_KEY)))
        page.has_rows, page.consumed = True, feed.consume(consume)
        page.n_rows, page.ids = feed.n_rows, feed.ids
    return page


def _decoded(decode: Callable[..., Any], *args: Any) -> Any:
    """``decode(*args)``, a ``ValueError`` (JSONDecodeError, an integer too long to convert) raised
    as :class:`MalformedPage`."""
    try:
        return decode(*args)
    except ValueError as exc:
        raise MalformedPage(str(exc)) from exc


def _malformed(message: str, text: str, at: int) -> MalformedPage:
    error = JSONDecodeError(message, text, at)
    malformed = MalformedPage(str(error))
    malformed.__cause__ = error
    return malformed


def _object_page(text: str, at: int, consume: Callable[[Iterable[dict[str, Any]]], T]) -> DecodedPage[T]:
    """The top-level object whose ``{`` is just before ``at``, parsed as ``json``'s object parser does."""
    page: DecodedPage[T] = DecodedPage({})
    value: dict[str, Any] = page.value
    at = _skip(text, at)
    if text.startswith("}", at):
        return _end(text, at + 1, page)
    while True:
        if not text.startswith('"', at):
            raise _malformed("Expecting property name enclosed in double quotes", text, at)
        key, at = _decoded(scanstring, text, at + 1, True)
        at = _skip(text, at)
        if not text.startswith(":", at):
            raise _malformed("Expecting ':' delimiter", text, at)
        at = _skip(text, at + 1)
        if key == _ROWS_KEY and text.startswith("[", at):
            if page.has_rows:
                raise _Fallback  # json.loads keeps the last of duplicate keys
            value.pop(key, None)  # an earlier non-array "results" is overridden, as by json.loads
            feed = _Feed(_array_rows(text, at + 1))
            page.has_rows, page.consumed = True, feed.consume(consume)
            page.n_rows, page.ids, at = feed.n_rows, feed.ids, feed.end
        else:
            if key == _ROWS_KEY and page.has_rows:
                raise _Fallback  # a later non-array "results" would win
            value[key], at = _decoded(_DECODER.raw_decode, text, at)
        at = _skip(text, at)
        if text.startswith("}", at):
            return _end(text, at + 1, page)
        if not text.startswith(",", at):
            raise _malformed("Expecting ',' delimiter", text, at)
        at = _skip(text, at + 1)


def _skip(text: str, at: int) -> int:
    return _WS.match(text, at).end()  # type: ignore[union-attr]


def _end(text: str, at: int, page: DecodedPage[T]) -> DecodedPage[T]:
    at = _skip(text, at)
    if at != len(text):
        raise _malformed("Extra data", text, at)
    return page


def _array_rows(text: str, at: int) -> Iterator[tuple[Any, int]]:
    """Each element of the array whose ``[`` is just before ``at``, with the index after it; the last
    yield's index is after the closing ``]``, with the element ``_CLOSED``. Faults are raised into
    the consumer's loop as :class:`MalformedPage`."""
    at = _skip(text, at)
    if text.startswith("]", at):
        yield _CLOSED, at + 1
        return
    while True:
        element, at = _decoded(_DECODER.raw_decode, text, at)
        at = _skip(text, at)
        yield element, at
        if text.startswith("]", at):
            yield _CLOSED, at + 1
            return
        if not text.startswith(",", at):
            raise _malformed("Expecting ',' delimiter", text, at)
        at = _skip(text, at + 1)


_CLOSED = object()


def _listed(rows: list[Any]) -> Iterator[tuple[Any, int]]:
    """An already decoded array, in :func:`_array_rows`' shape."""
    for row in rows:
        yield row, -1
    yield _CLOSED, -1


class _Feed:
    """The array's dict elements for ``consume``, counted and their ids collected on the way."""

    def __init__(self, elements: Iterator[tuple[Any, int]]) -> None:
        self._elements = elements
        self.n_rows = 0
        self.ids: list[int] = []
        self.end = -1

    def consume(self, consume: Callable[[Iterable[dict[str, Any]]], T]) -> T:
        rows = self._rows()
        result = consume(rows)
        for _ in rows:  # what the consumer left: still decoded, counted and checked
            pass
        return result

    def _rows(self) -> Iterator[dict[str, Any]]:
        for element, at in self._elements:
            if element is _CLOSED:
                self.end = at
                return
            if isinstance(element, dict):
                self.n_rows += 1
                pk = element.get("id")
                if isinstance(pk, int) and not isinstance(pk, bool):
                    self.ids.append(pk)
                yield element
