"""Pagination: cursors as key positions, options, endCursor pages, invalid cursors.

Cases follow convex-backend ``crates/isolate/src/tests/query.rs::test_pagination``
and convex-semantics §2.6 / §12.3 case 6. nbreactive allows several ``paginate``
calls per function (Convex allows one).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from fake_reader import FakeReader

from nbreactive.errors import InvalidCursorError, QueryError
from nbreactive.query import Query
from nbreactive.query.pagination import decode_cursor, encode_cursor


@pytest.fixture
def reader() -> FakeReader:
    r = FakeReader()
    r.define("items", indexes={"by_n": ["n"]})
    r.define("other", indexes={"by_n": ["n"]})
    return r


def fill(r: FakeReader, values: range | list[int]) -> dict[int, str]:
    return {n: r.insert("items", {"n": n}) for n in values}


def ns(result: dict[str, Any]) -> list[int]:
    return [d["n"] for d in result["page"]]


def page(query: Query, num: int, cursor: str | None, **extra: Any) -> dict[str, Any]:
    return query.paginate({"numItems": num, "cursor": cursor, **extra})


def by_n(r: FakeReader) -> Query:
    return Query(r, "items").with_index("by_n")


def pages(query: Query, num: int) -> list[list[int]]:
    out = []
    cursor = None
    while True:
        result = page(query, num, cursor)
        out.append(ns(result))
        if result["isDone"]:
            return out
        cursor = result["continueCursor"]


# ---------------------------------------------------------------------------
# Convex's test_pagination
# ---------------------------------------------------------------------------


def test_convex_pagination_walkthrough(reader: FakeReader) -> None:
    table = Query(reader, "items")
    first = page(table, 1, None)
    assert first["page"] == [] and first["isDone"] is True
    done_cursor = first["continueCursor"]
    assert isinstance(done_cursor, str)

    again = page(table, 1, done_cursor)
    assert again["page"] == [] and again["isDone"] is True

    reader.insert("items", {"n": 1})
    reader.insert("items", {"n": 2})
    one = page(table, 1, None)
    assert ns(one) == [1] and one["isDone"] is False
    two = page(table, 1, one["continueCursor"])
    assert ns(two) == [2] and two["isDone"] is False  # a full page does not peek ahead
    three = page(table, 1, two["continueCursor"])
    assert three["page"] == [] and three["isDone"] is True

    # The cursor taken at the end of the empty table is still at the end.
    still = page(table, 1, done_cursor)
    assert still["page"] == [] and still["isDone"] is True


def test_filtered_pagination_counts_matches(reader: FakeReader) -> None:
    ids = fill(reader, range(6))
    query = by_n(reader).filter(lambda q: q.eq(q.field("_id"), ids[4]))
    result = page(query, 1, None)
    assert ns(result) == [4] and result["isDone"] is False
    assert page(query, 1, result["continueCursor"])["isDone"] is True


PAGE_CASES: list[tuple[str, Callable[[FakeReader], Query], int, list[list[int]]]] = [
    ("asc pages of 3", by_n, 3, [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]),
    ("desc pages of 4", lambda r: by_n(r).order("desc"), 4, [[9, 8, 7, 6], [5, 4, 3, 2], [1, 0]]),
    ("exact fit leaves an empty last page", by_n, 5, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], []]),
    (
        "index range",
        lambda r: Query(r, "items").with_index("by_n", lambda q: q.gte("n", 3).lt("n", 7)),
        3,
        [[3, 4, 5], [6]],
    ),
    (
        "filter",
        lambda r: by_n(r).filter(lambda q: q.eq(q.mod(q.field("n"), 3), 0)),
        2,
        [[0, 3], [6, 9], []],
    ),
]


@pytest.mark.parametrize(
    ("make", "num", "expected"),
    [pytest.param(m, n, e, id=name) for name, m, n, e in PAGE_CASES],
)
def test_pages(
    reader: FakeReader, make: Callable[[FakeReader], Query], num: int, expected: list[list[int]]
) -> None:
    fill(reader, range(10))
    assert pages(make(reader), num) == expected


def test_several_paginate_calls_in_one_function(reader: FakeReader) -> None:
    fill(reader, range(4))
    a = page(by_n(reader), 2, None)
    b = page(Query(reader, "items"), 3, None)
    assert ns(a) == [0, 1] and ns(b) == [0, 1, 2]


# ---------------------------------------------------------------------------
# cursors are positions: stable under concurrent inserts and deletes
# ---------------------------------------------------------------------------


def test_stable_under_insert_and_delete_between_pages(reader: FakeReader) -> None:
    ids = fill(reader, [0, 10, 20, 30, 40, 50, 60, 70])
    query = by_n(reader)
    first = page(query, 3, None)
    assert ns(first) == [0, 10, 20]

    reader.delete("items", ids[10])  # on the page already returned
    reader.delete("items", ids[30])  # on the next page, not seen yet
    reader.insert("items", {"n": 5})  # before the cursor: never shows up
    reader.insert("items", {"n": 20})  # ties the cursor's n, but sorts after it (_creationTime)
    reader.insert("items", {"n": 35})  # after the cursor: shows up in order

    rest = []
    cursor = first["continueCursor"]
    while True:
        result = page(query, 3, cursor)
        rest += ns(result)
        if result["isDone"]:
            break
        cursor = result["continueCursor"]
    assert rest == [20, 35, 40, 50, 60, 70]


def test_deleting_the_cursor_document_does_not_break_the_cursor(reader: FakeReader) -> None:
    ids = fill(reader, range(6))
    first = page(by_n(reader), 2, None)
    reader.delete("items", ids[1])  # the document the cursor points after
    assert ns(page(by_n(reader), 2, first["continueCursor"])) == [2, 3]


def test_desc_cursor_is_stable(reader: FakeReader) -> None:
    fill(reader, [10, 20, 30, 40])
    query = by_n(reader).order("desc")
    first = page(query, 2, None)
    assert ns(first) == [40, 30]
    reader.insert("items", {"n": 35})  # above the cursor in a desc scan: skipped
    reader.insert("items", {"n": 25})
    assert ns(page(query, 5, first["continueCursor"])) == [25, 20, 10]


# ---------------------------------------------------------------------------
# endCursor: the page covers (cursor, endCursor] and grows or shrinks
# ---------------------------------------------------------------------------


def test_end_cursor_page_grows_and_shrinks(reader: FakeReader) -> None:
    ids = fill(reader, [0, 10, 20, 30, 40])
    query = by_n(reader)
    first = page(query, 2, None)
    second = page(query, 2, first["continueCursor"])
    assert ns(second) == [20, 30]
    end = second["continueCursor"]

    reader.insert("items", {"n": 25})
    grown = page(query, 2, first["continueCursor"], endCursor=end)
    assert ns(grown) == [20, 25, 30]  # more than numItems: the end is fixed
    assert grown["continueCursor"] == end and grown["isDone"] is False

    reader.delete("items", ids[20])
    reader.delete("items", ids[30])
    shrunk = page(query, 2, first["continueCursor"], endCursor=end)
    assert ns(shrunk) == [25]

    head = page(query, 5, None, endCursor=first["continueCursor"])
    assert ns(head) == [0, 10]


def test_end_cursor_at_the_end(reader: FakeReader) -> None:
    fill(reader, range(3))
    query = by_n(reader).order("desc")
    last = page(query, 10, None)
    assert ns(last) == [2, 1, 0] and last["isDone"] is True
    reader.insert("items", {"n": -1})
    again = page(query, 1, None, endCursor=last["continueCursor"])
    assert ns(again) == [2, 1, 0, -1] and again["isDone"] is True


# ---------------------------------------------------------------------------
# maximumRowsRead / maximumBytesRead
# ---------------------------------------------------------------------------


def test_maximum_rows_read_stops_early_at_a_scanned_key(reader: FakeReader) -> None:
    fill(reader, range(10))
    query = by_n(reader).filter(lambda q: q.gte(q.field("n"), 7))
    first = page(query, 5, None, maximumRowsRead=4)
    assert first["page"] == [] and first["isDone"] is False
    assert reader.scanned == 4
    second = page(query, 5, first["continueCursor"], maximumRowsRead=4)
    assert ns(second) == [7] and second["isDone"] is False
    third = page(query, 5, second["continueCursor"], maximumRowsRead=4)
    assert ns(third) == [8, 9] and third["isDone"] is True


def test_maximum_bytes_read(reader: FakeReader) -> None:
    fill(reader, range(10))
    result = page(by_n(reader), 10, None, maximumBytesRead=1)
    assert ns(result) == [0] and result["isDone"] is False


# ---------------------------------------------------------------------------
# options and invalid cursors
# ---------------------------------------------------------------------------

OPTION_ERRORS: list[tuple[str, Any, str]] = [
    ("numItems zero", {"numItems": 0, "cursor": None}, '"numItems" must be at least 1, got 0'),
    ("numItems negative", {"numItems": -2, "cursor": None}, "must be at least 1"),
    ("numItems too large", {"numItems": 32_001, "cursor": None}, "more than the 32000"),
    ("numItems not a number", {"numItems": "5", "cursor": None}, '"numItems" must be an integer'),
    ("numItems bool", {"numItems": True, "cursor": None}, '"numItems" must be an integer'),
    ("numItems fractional", {"numItems": 2.5, "cursor": None}, '"numItems" must be an integer'),
    ("missing cursor", {"numItems": 5}, 'needs both "numItems" and "cursor"'),
    (
        "unknown option",
        {"numItems": 5, "cursor": None, "num_items": 5},
        "unknown option(s) ['num_items']",
    ),
    ("not a dict", 5, "paginate() takes a dict"),
    (
        "maximumRowsRead zero",
        {"numItems": 5, "cursor": None, "maximumRowsRead": 0},
        '"maximumRowsRead" must be at least 1',
    ),
]


@pytest.mark.parametrize(
    ("opts", "message"),
    [pytest.param(o, m, id=name) for name, o, m in OPTION_ERRORS],
)
def test_option_errors(reader: FakeReader, opts: Any, message: str) -> None:
    with pytest.raises(QueryError) as info:
        by_n(reader).paginate(opts)
    assert message in str(info.value)


def test_integral_float_num_items_and_id_are_accepted(reader: FakeReader) -> None:
    fill(reader, range(3))
    result = by_n(reader).paginate({"numItems": 2.0, "cursor": None, "id": 7})
    assert ns(result) == [0, 1]


def cursor_of(query: Query) -> str:
    return str(query.paginate({"numItems": 1, "cursor": None})["continueCursor"])


WRONG_QUERY_CASES: list[
    tuple[str, Callable[[FakeReader], Query], Callable[[FakeReader], Query], str]
] = [
    (
        "another table",
        lambda r: Query(r, "other").with_index("by_n"),
        by_n,
        "it belongs to a query on other.by_n; this one reads items.by_n",
    ),
    (
        "another index",
        lambda r: Query(r, "items"),
        by_n,
        "it belongs to a query on items.by_creation_time; this one reads items.by_n",
    ),
    (
        "another order",
        by_n,
        lambda r: by_n(r).order("desc"),
        "it belongs to a query on items.by_n with a different range, order or filters",
    ),
    (
        "another filter",
        by_n,
        lambda r: by_n(r).filter(lambda q: q.gt(q.field("n"), 1)),
        "it belongs to a query on items.by_n with a different range, order or filters",
    ),
    (
        "another range value (1 vs 1.0)",
        lambda r: Query(r, "items").with_index("by_n", lambda q: q.gt("n", 1)),
        lambda r: Query(r, "items").with_index("by_n", lambda q: q.gt("n", 1.0)),
        "it belongs to a query on items.by_n with a different range, order or filters",
    ),
]


@pytest.mark.parametrize(
    ("source", "target", "detail"),
    [pytest.param(s, t, d, id=name) for name, s, t, d in WRONG_QUERY_CASES],
)
def test_cursor_from_another_query(
    reader: FakeReader,
    source: Callable[[FakeReader], Query],
    target: Callable[[FakeReader], Query],
    detail: str,
) -> None:
    fill(reader, range(3))
    reader.insert("other", {"n": 1})
    cursor = cursor_of(source(reader))
    with pytest.raises(InvalidCursorError) as info:
        page(target(reader), 1, cursor)
    assert str(info.value) == (
        f"This cursor was returned by a different query ({detail}). Cursors are only valid "
        "for the exact query that produced them; start again with cursor None."
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


CORRUPT_CASES: list[tuple[str, Any, str]] = [
    (
        "not base64",
        "!!!not a cursor!!!",
        "This cursor is not valid: it is not in the cursor format",
    ),
    ("too short", _b64(b"\x01abc"), "This cursor is not valid: it is too short"),
    ("empty", "", "This cursor is not valid"),
    ("unknown version", _b64(b"\x09" + b"\x00" * 12), "different version of nbreactive"),
    (
        "bad kind",
        _b64(b"\x01" + b"\x00" * 8 + b"\x07\x00"),
        "This cursor is not valid: it is damaged",
    ),
    ("not a string", 12, '"cursor" must be a cursor string returned by paginate() or None'),
]


@pytest.mark.parametrize(
    ("cursor", "message"),
    [pytest.param(c, m, id=name) for name, c, m in CORRUPT_CASES],
)
def test_corrupt_cursors(reader: FakeReader, cursor: Any, message: str) -> None:
    with pytest.raises(InvalidCursorError) as info:
        page(by_n(reader), 1, cursor)
    assert message in str(info.value)


def test_end_cursor_must_match_the_query_too(reader: FakeReader) -> None:
    fill(reader, range(3))
    other = cursor_of(Query(reader, "items"))
    with pytest.raises(InvalidCursorError, match="returned by a different query"):
        page(by_n(reader), 1, None, endCursor=other)


def test_cursor_round_trip(reader: FakeReader) -> None:
    plan = by_n(reader).plan()
    key = b"\x04\x80\x00\x00\x00\x00\x00\x00\x01"
    assert decode_cursor(encode_cursor(plan, key), plan).after == key
    assert decode_cursor(encode_cursor(plan, None), plan).is_end
    assert "=" not in encode_cursor(plan, key)
