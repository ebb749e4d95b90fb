"""Query terminals and builder rules: collect/take/first/unique/count/iteration.

Also what each terminal records as its read (``Reader.record_read``), the order
rules of the builder (convex-js ``query_impl.ts``) and convex-semantics §12.3 case 5.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fake_reader import FakeReader

from nbreactive.errors import LimitExceededError, QueryError
from nbreactive.query import Query
from nbreactive.values.keys import encode_key


@pytest.fixture
def reader() -> FakeReader:
    """``items``: n = 0..9 inserted in order, index ``by_n``; ``empty``: no documents."""
    r = FakeReader()
    r.define("items", indexes={"by_n": ["n"]})
    r.define("empty", indexes={"by_n": ["n"]})
    for n in range(10):
        r.insert("items", {"n": n, "even": n % 2 == 0, "tags": [n]})
    return r


def ns(docs: list[dict[str, Any]]) -> list[int]:
    return [d["n"] for d in docs]


def items(r: FakeReader) -> Query:
    return Query(r, "items")


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------

RESULT_CASES: list[tuple[str, Callable[[Query], Any], Any]] = [
    ("collect in creation order", lambda q: ns(q.collect()), list(range(10))),
    ("collect desc", lambda q: ns(q.order("desc").collect()), list(range(9, -1, -1))),
    ("take", lambda q: ns(q.take(3)), [0, 1, 2]),
    ("take more than there are", lambda q: ns(q.take(50)), list(range(10))),
    ("take zero", lambda q: q.take(0), []),
    ("take desc", lambda q: ns(q.order("desc").take(2)), [9, 8]),
    (
        "filter then take counts matches",
        lambda q: ns(q.filter(lambda f: f.eq(f.field("even"), False)).take(3)),
        [1, 3, 5],
    ),
    ("first", lambda q: q.first()["n"], 0),
    ("first desc", lambda q: q.order("desc").first()["n"], 9),
    (
        "first after a filter",
        lambda q: q.filter(lambda f: f.gt(f.field("n"), 6)).first()["n"],
        7,
    ),
    (
        "first with no match is None",
        lambda q: q.filter(lambda f: f.gt(f.field("n"), 99)).first(),
        None,
    ),
    (
        "unique of one",
        lambda q: q.with_index("by_n", lambda r: r.eq("n", 4)).unique()["n"],
        4,
    ),
    (
        "unique of none is None",
        lambda q: q.with_index("by_n", lambda r: r.eq("n", 40)).unique(),
        None,
    ),
    ("count", lambda q: q.count(), 10),
    ("count with filter", lambda q: q.filter(lambda f: f.eq(f.field("even"), True)).count(), 5),
    ("iteration", lambda q: ns(list(q.with_index("by_n").order("desc"))), list(range(9, -1, -1))),
    (
        "index range and filter and order",
        lambda q: ns(
            q.with_index("by_n", lambda r: r.gte("n", 2).lt("n", 8))
            .order("desc")
            .filter(lambda f: f.eq(f.field("even"), True))
            .collect()
        ),
        [6, 4, 2],
    ),
    ("full table scan", lambda q: ns(q.full_table_scan().take(2)), [0, 1]),
]


@pytest.mark.parametrize(
    ("run", "expected"),
    [pytest.param(fn, e, id=name) for name, fn, e in RESULT_CASES],
)
def test_results(reader: FakeReader, run: Callable[[Query], Any], expected: Any) -> None:
    assert run(items(reader)) == expected


def test_first_on_an_empty_table_is_none(reader: FakeReader) -> None:
    assert Query(reader, "empty").first() is None
    assert Query(reader, "empty").unique() is None
    assert Query(reader, "empty").collect() == []


def test_unique_with_two_matches_names_them(reader: FakeReader) -> None:
    ids = [d["_id"] for d in items(reader).take(2)]
    with pytest.raises(QueryError) as info:
        items(reader).unique()
    assert str(info.value) == (
        f"unique() query returned more than one result from table items: [{ids[0]}, {ids[1]}, ...]"
    )


def test_unique_reads_at_most_two(reader: FakeReader) -> None:
    with pytest.raises(QueryError):
        items(reader).unique()
    assert reader.scanned == 2


def test_filter_before_take_is_not_take_before_filter(reader: FakeReader) -> None:
    """Convex ``test_filter_first``: filters run during the scan, limits after them."""
    odd = items(reader).filter(lambda f: f.eq(f.field("even"), False))
    assert odd.first()["n"] == 1  # type: ignore[index]
    assert reader.scanned == 2  # stopped at the first match
    first_then_filter = [d for d in items(reader).take(1) if not d["even"]]
    assert first_then_filter == []


def test_results_are_copies(reader: FakeReader) -> None:
    doc = items(reader).first()
    assert doc is not None
    doc["tags"].append("changed")
    doc["n"] = 100
    stored = reader.get("items", doc["_id"])
    assert stored["tags"] == [0] and stored["n"] == 0
    assert items(reader).first() == {**doc, "n": 0, "tags": [0]}


@pytest.mark.parametrize("n", [-1, 1.5, "3", True, None])
def test_take_requires_a_non_negative_int(reader: FakeReader, n: Any) -> None:
    with pytest.raises(QueryError, match="Arg 1 `n` to `take` must be a non-negative integer"):
        items(reader).take(n)


def test_take_and_paginate_accept_numpy_integers(reader: FakeReader) -> None:
    """A count read from a DataFrame is a NumPy integer: an integer all the same."""
    np = pytest.importorskip("numpy")
    assert ns(items(reader).take(np.int64(2))) == [0, 1]
    page = items(reader).paginate({"numItems": np.int32(3), "cursor": None})
    assert ns(page["page"]) == [0, 1, 2]
    with pytest.raises(QueryError, match="non-negative"):
        items(reader).take(np.int64(-1))
    with pytest.raises(QueryError, match="must be an integer"):
        items(reader).paginate({"numItems": np.float64(2.5), "cursor": None})


def test_iteration_is_lazy(reader: FakeReader) -> None:
    seen = []
    for doc in items(reader):
        seen.append(doc["n"])
        if len(seen) == 3:
            break
    assert seen == [0, 1, 2]
    assert reader.scanned == 3


def test_queries_are_reusable(reader: FakeReader) -> None:
    base = items(reader).filter(lambda f: f.eq(f.field("even"), True))
    assert ns(base.take(2)) == [0, 2]
    assert ns(base.collect()) == [0, 2, 4, 6, 8]
    assert ns(base.order("desc").take(1)) == [8]
    assert ns(base.filter(lambda f: f.gt(f.field("n"), 5)).collect()) == [6, 8]
    assert ns(base.collect()) == [0, 2, 4, 6, 8]


def test_repr_shows_the_chain(reader: FakeReader) -> None:
    query = (
        items(reader)
        .with_index("by_n", lambda r: r.gt("n", 1))
        .order("desc")
        .filter(lambda f: f.eq(f.field("even"), True))
    )
    assert repr(query) == (
        'db.query("items").with_index("by_n", lambda q: q.gt("n", 1)).order("desc")'
        '.filter(lambda q: q.eq(q.field("even"), True))'
    )


def test_limit_errors_propagate_and_still_record(reader: FakeReader) -> None:
    reader.max_scanned = 4
    with pytest.raises(LimitExceededError):
        items(reader).collect()
    assert len(reader.reads) == 1


# ---------------------------------------------------------------------------
# builder order rules
# ---------------------------------------------------------------------------

BUILDER_ERRORS: list[tuple[str, Callable[[Query], Any], str]] = [
    (
        "with_index after order",
        lambda q: q.order("desc").with_index("by_n"),
        'with_index() must come first, right after db.query("items") and before order() and '
        'filter(): write db.query("items").with_index(...).order(...).filter(...).',
    ),
    (
        "full_table_scan after filter",
        lambda q: q.filter(lambda f: f.eq(f.field("n"), 1)).full_table_scan(),
        "full_table_scan() must come first",
    ),
    (
        "two sources",
        lambda q: q.with_index("by_n").with_index("by_n"),
        'This query already has a source (.with_index("by_n")); a query reads from exactly one.',
    ),
    (
        "order twice",
        lambda q: q.order("asc").order("desc"),
        "Queries may only specify order at most once",
    ),
    ("bad order", lambda q: q.order("up"), 'order() takes "asc" or "desc", got \'up\'.'),
    (
        "search order",
        lambda q: q.with_search_index("search_body", lambda s: s).order("desc"),
        "Search queries must always be in relevance order. Can not set order manually.",
    ),
    (
        "search is not available yet",
        lambda q: q.with_search_index("search_body", lambda s: s).collect(),
        'Full-text search (with_search_index("search_body", ...)) is not available yet in this '
        "version of nbreactive.",
    ),
    ("filter without a function", lambda q: q.filter(3), "filter() takes a function of q"),
    ("index name not a string", lambda q: q.with_index(3), "with_index() takes the index name"),
    ("unknown table", lambda q: Query(q._reader, "nope").collect(), 'Table "nope" not found.'),
]


@pytest.mark.parametrize(
    ("build", "message"),
    [pytest.param(fn, m, id=name) for name, fn, m in BUILDER_ERRORS],
)
def test_builder_errors(reader: FakeReader, build: Callable[[Query], Any], message: str) -> None:
    with pytest.raises(QueryError) as info:
        build(items(reader))
    assert message in str(info.value)


def test_filter_then_order_is_allowed(reader: FakeReader) -> None:
    query = items(reader).filter(lambda f: f.lt(f.field("n"), 3)).order("desc")
    assert ns(query.collect()) == [2, 1, 0]


# ---------------------------------------------------------------------------
# what each terminal records as read
# ---------------------------------------------------------------------------


def key(r: FakeReader, n: int) -> bytes:
    doc_id = next(d["_id"] for d in Query(r, "items").collect() if d["n"] == n)
    r.reads.clear()
    return r.key_of("items", "by_n", doc_id)


ALL = (b"", b"\xff")
N_GE_2 = encode_key([2])


def unique_that_fails(query: Query) -> None:
    with pytest.raises(QueryError, match="more than one result"):
        query.unique()


def read_cases() -> list[Any]:
    """(name, run, expected interval as a function of the reader)."""

    def idx(q: Query) -> Query:
        return q.with_index("by_n")

    def ranged(q: Query) -> Query:
        return q.with_index("by_n", lambda r: r.gte("n", 2))

    return [
        ("collect: whole range", lambda q: idx(q).collect(), lambda r: ALL),
        ("count: whole range", lambda q: idx(q).count(), lambda r: ALL),
        ("collect of a range", lambda q: ranged(q).collect(), lambda r: (N_GE_2, b"\xff")),
        (
            "take asc stops after the last key",
            lambda q: idx(q).take(3),
            lambda r: (b"", key(r, 2) + b"\x00"),
        ),
        (
            "take desc starts at the last key",
            lambda q: idx(q).order("desc").take(3),
            lambda r: (key(r, 7), b"\xff"),
        ),
        (
            "first asc on a range",
            lambda q: ranged(q).first(),
            lambda r: (N_GE_2, key(r, 2) + b"\x00"),
        ),
        (
            "first desc on a range",
            lambda q: ranged(q).order("desc").first(),
            lambda r: (key(r, 9), b"\xff"),
        ),
        (
            "filtered first covers the skipped keys",
            lambda q: idx(q).filter(lambda f: f.eq(f.field("n"), 4)).first(),
            lambda r: (b"", key(r, 4) + b"\x00"),
        ),
        (
            "unique reads two",
            lambda q: unique_that_fails(idx(q)),
            lambda r: (b"", key(r, 1) + b"\x00"),
        ),
        (
            "take that runs to the end reads everything",
            lambda q: ranged(q).take(50),
            lambda r: (N_GE_2, b"\xff"),
        ),
        ("take(0) reads nothing", lambda q: idx(q).take(0), lambda r: (b"", b"")),
        (
            "desc take(0) reads nothing",
            lambda q: idx(q).order("desc").take(0),
            lambda r: (b"\xff", b"\xff"),
        ),
        (
            "empty range reads nothing",
            lambda q: q.with_index("by_n", lambda r: r.gt("n", 5).lt("n", 1)).collect(),
            lambda r: (encode_key([5]) + b"\xff", encode_key([5]) + b"\xff"),
        ),
        (
            "paginate asc",
            lambda q: idx(q).paginate({"numItems": 2, "cursor": None}),
            lambda r: (b"", key(r, 1) + b"\x00"),
        ),
        (
            "paginate desc",
            lambda q: idx(q).order("desc").paginate({"numItems": 2, "cursor": None}),
            lambda r: (key(r, 8), b"\xff"),
        ),
        (
            "paginate to the end",
            lambda q: ranged(q).paginate({"numItems": 100, "cursor": None}),
            lambda r: (N_GE_2, b"\xff"),
        ),
    ]


@pytest.mark.parametrize(
    ("run", "interval"),
    [pytest.param(run, iv, id=name) for name, run, iv in read_cases()],
)
def test_record_read(
    reader: FakeReader,
    run: Callable[[Query], Any],
    interval: Callable[[FakeReader], tuple[bytes, bytes]],
) -> None:
    run(items(reader))
    reads = list(reader.reads)
    lo, hi = interval(reader)
    assert reads == [("items", "by_n", lo, hi)]


def test_iteration_records_what_it_read(reader: FakeReader) -> None:
    for doc in items(reader).with_index("by_n"):
        if doc["n"] == 3:
            break
    reads = list(reader.reads)
    assert reads == [("items", "by_n", b"", key(reader, 3) + b"\x00")]

    list(items(reader).with_index("by_n").order("desc"))
    assert reader.reads == [("items", "by_n", b"", b"\xff")]


def test_full_scan_reads_by_creation_time(reader: FakeReader) -> None:
    items(reader).collect()
    assert reader.reads == [("items", "by_creation_time", b"", b"\xff")]


def test_plan_describes_the_query(reader: FakeReader) -> None:
    plan = (
        items(reader)
        .with_index("by_n", lambda r: r.eq("n", 3))
        .order("desc")
        .filter(lambda f: f.eq(f.field("even"), False))
        .plan()
    )
    assert plan.source == "index" and plan.index == "by_n" and plan.order == "desc"
    assert plan.describe() == 'items by_n: n == 3 desc, filter q.eq(q.field("even"), False)'
    assert items(reader).plan().describe() == "items full table scan asc"
    same = (
        items(reader)
        .with_index("by_n", lambda r: r.eq("n", 3))
        .order("desc")
        .filter(lambda f: f.eq(f.field("even"), False))
        .plan()
    )
    assert plan.fingerprint() == same.fingerprint()
    assert plan == same and len({plan, same}) == 1
    assert plan != items(reader).with_index("by_n", lambda r: r.eq("n", 3)).plan()
