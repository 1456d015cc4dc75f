"""DRF ``PageNumberPagination`` as Tactical's Beta API configures it (reference §3.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from .responses import ApiError

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def _replace_query_param(url: str, key: str, value: object) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params[key] = [str(value)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment))


def _remove_query_param(url: str, key: str) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params.pop(key, None)
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment))


def page_size_of(query: Mapping[str, str]) -> int:
    """``_positive_int(page_size, strict=True, cutoff=1000)``, falling back to 100 on any error."""
    raw = query.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_PAGE_SIZE
    if value <= 0:
        return DEFAULT_PAGE_SIZE
    return min(value, MAX_PAGE_SIZE)


@dataclass
class Page(Generic[T]):
    count: int
    next: str | None
    previous: str | None
    items: Sequence[T]


def paginate(items: Sequence[T], query: Mapping[str, str], absolute_url: str) -> Page[T]:
    """Slice ``items`` for the requested page; 404 ``{"detail": "Invalid page."}`` when it does not exist."""
    size = page_size_of(query)
    count = len(items)
    num_pages = max(1, -(-count // size))
    raw = query.get("page") or "1"
    if raw == "last":
        number = num_pages
    else:
        try:
            number = int(raw)
        except ValueError:
            raise ApiError(404, {"detail": "Invalid page."}) from None
        if number < 1 or (number > num_pages and not (number == 1 and count == 0)):
            raise ApiError(404, {"detail": "Invalid page."})
    start = (number - 1) * size
    next_url = _replace_query_param(absolute_url, "page", number + 1) if number < num_pages else None
    if number <= 1:
        previous_url = None
    elif number == 2:
        previous_url = _remove_query_param(absolute_url, "page")
    else:
        previous_url = _replace_query_param(absolute_url, "page", number - 1)
    return Page(count, next_url, previous_url, items[start : start + size])
