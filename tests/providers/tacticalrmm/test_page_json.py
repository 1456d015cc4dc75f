"""A listing page decoded row by row (``page_json.decode_page``) is ``json.loads`` exactly: the same
values, the same rows handed on, and a fault wherever ``json.loads`` finds one."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from typing import Any

import pytest

from rmmbridge.providers.tacticalrmm.page_json import MalformedPage, decode_page


def _expected(content: bytes) -> tuple[str, Any]:
    """What ``json.loads`` makes of ``content``, in ``decode_page``'s terms."""
    try:
        value = json.loads(content)
    except ValueError:
        return "malformed", None
    if isinstance(value, dict) and isinstance(value.get("results"), list):
        rows = [r for r in value.pop("results") if isinstance(r, dict)]
        ids = [r["id"] for r in rows if isinstance(r.get("id"), int) and not isinstance(r.get("id"), bool)]
        return "rows", (value, rows, ids)
    return "value", value


def _actual(content: bytes) -> tuple[str, Any]:
    try:
        page = decode_page(content, list)
    except MalformedPage as exc:
        assert isinstance(exc.__cause__, ValueError)
        return "malformed", None
    if page.has_rows:
        assert page.n_rows == len(page.consumed or [])
        return "rows", (page.value, page.consumed, page.ids)
    return "value", page.value


PAGES = [
    b'{"count": 2, "next": null, "previous": null, "results": [{"id": 1}, {"id": 2, "x": [1, {"a": null}]}]}',
    b' \n{"results":[],"count":0}\t',
    b'{"results": [1, "a", null, {"id": true}, {"id": 2.0}, {"id": 3}, [], {}], "count": 8}',
    b'{"count": 1, "results": [{"id": 1}], "next": "http://x/?page=2"}',
    b'{"results": null, "count": 0}',
    b'{"results": {"id": 1}, "count": 1}',
    b'{"results": 5, "results": [{"id": 1}], "count": 1}',  # the later array wins
    b'{"results": [{"id": 1}], "results": [{"id": 2}], "count": 1}',  # duplicate: the last
    b'{"results": [{"id": 1}], "results": null, "count": 1}',
    b'[{"id": 1}]',
    b'{"detail": "Invalid page."}',
    b"{}",
    b'"results"',
    b"\xef\xbb\xbf" + b'{"results": [{"id": 1}], "count": 1}',  # a UTF-8 BOM, as json.loads reads bytes
    '{"results": [{"id": 1, "name": "caf\u00e9 \\u00e9 \\ud83d\\ude00 \\ud800"}], "count": 1}'.encode(),
    '{"results": [{"id": 1}], "count": 1}'.encode("utf-16"),
    b'{"results": [{"id": 1, "n": NaN, "i": -Infinity, "f": 1.5e300, "b": 12345678901234567890}], "count": 1}',
    # malformed, each somewhere else
    b'{"results": [{"id": 1},], "count": 1}',
    b'{"results": [{"id": 1} {"id": 2}], "count": 1}',
    b'{"results": [{"id": 1}], "count": 1,}',
    b'{"results": [{"id": 1}], "count": 1} x',
    b'{"results": [{"id": 1}], "count": 1}}',
    b'{"results": [{"id": 1}, {"id": 2', b'{"results": [{"id": 1}]', b'{"results": [', b"{", b"",
    b'{results: []}', b'{"results" []}', b'{"results": [{"id": 01}]}', b'{"count": 1 "results": []}',
    b'{"results": [{"id": 1}], "count": 1e}', b'{"results": ["\x01"], "count": 1}',
    b'{"results": [{"id": ' + b"9" * 5000 + b"}], \"count\": 1}",  # too long an integer: ValueError
    b'{"results": [{"id": 1}], "count": 1}\x00', b'{"a": "\xff", "results": []}',
]


@pytest.mark.parametrize("content", PAGES)
def test_a_page_is_what_json_loads_makes_of_it(content: bytes) -> None:
    assert _actual(content) == _expected(content)


def test_any_cut_or_spliced_page_is_read_or_refused_as_json_loads_does() -> None:
    rng = random.Random(7)
    base = json.dumps({"count": 3, "next": None, "results": [
        {"id": 1, "wmi_detail": {"os": [[{"Caption": "Windows \"11\"", "n": [1, 2.5, None, True]}]]}},
        "stray", {"id": 2, "services": None}, {"id": False}]}, indent=rng.choice([None, 1])).encode()
    alphabet = [b",", b"]", b"[", b"{", b"}", b'"', b":", b" ", b"\\", b"1", b"null", b"\n"]
    for _ in range(4000):
        content = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(content) + 1)
            if rng.random() < 0.5:
                del content[at : at + rng.randint(1, 3)]
            else:
                content[at:at] = rng.choice(alphabet)
        assert _actual(bytes(content)) == _expected(bytes(content)), bytes(content)


def test_rows_are_decoded_as_the_consumer_asks_and_all_are_checked() -> None:
    seen: list[Any] = []

    def first_two(rows: Iterable[dict[str, Any]]) -> list[Any]:
        for row in rows:
            seen.append(row["id"])
            if len(seen) == 2:
                break
        return list(seen)

    page = decode_page(b'{"results": [{"id": 1}, {"id": 2}, {"id": 3}], "count": 3}', first_two)
    assert page.consumed == [1, 2] and page.n_rows == 3 and page.ids == [1, 2, 3]
    with pytest.raises(MalformedPage):  # the rows the consumer left are still read
        decode_page(b'{"results": [{"id": 1}, {"id": 2}, {"id": 3}, ], "count": 3}', first_two)


def test_a_fault_reaches_the_consumer_after_the_rows_before_it_and_an_error_of_its_own_is_its_own() -> None:
    seen: list[Any] = []

    def collect(rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            seen.append(row["id"])

    with pytest.raises(MalformedPage) as caught:
        decode_page(b'{"results": [{"id": 1}, {"id": 2}, {"id": ], "count": 3}', collect)
    assert seen == [1, 2] and isinstance(caught.value.__cause__, json.JSONDecodeError)

    def broken(rows: Iterable[dict[str, Any]]) -> None:
        for _ in rows:
            raise ValueError("the consumer's own bug")

    with pytest.raises(ValueError, match="own bug"):
        decode_page(b'{"results": [{"id": 1}], "count": 1}', broken)
