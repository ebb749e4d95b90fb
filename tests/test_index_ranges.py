"""Index ranges: Convex's rules, exact error messages, byte intervals, missing fields.

Cases mirror convex-backend ``crates/isolate/src/tests/query.rs`` (``test_index_ranges``,
``test_index_range_errors``) and convex-semantics §1.5, §2.2, §12.3 cases 2-3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fake_reader import FakeReader

from nbreactive.errors import QueryError
from nbreactive.query import IndexBound, IndexRangeBuilder, Query
from nbreactive.query.index_range import format_value
from nbreactive.values.keys import encode_key, encode_value
from nbreactive.values.model import UNDEFINED
from nbreactive.values.validators import v

Range = Callable[[IndexRangeBuilder], IndexRangeBuilder]


@pytest.fixture(scope="module")
def convex_table() -> FakeReader:
    """Convex's ``test_index_ranges`` data: 35 rows over ``by_a_b``.

    For a in 1..5: one row without b, one with b null, five with b = 1..5.
    """
    r = FakeReader()
    r.define("myTable", indexes={"by_a_b": ["a", "b"]})
    for a in range(1, 6):
        r.insert("myTable", {"a": a})
        r.insert("myTable", {"a": a, "b": None})
        for b in range(1, 6):
            r.insert("myTable", {"a": a, "b": b})
    return r


COUNT_CASES: list[tuple[str, Range | None, int]] = [
    ("whole index", None, 35),
    ("one field equality", lambda q: q.eq("a", 1), 7),
    ("two field equality", lambda q: q.eq("a", 1).eq("b", 2), 1),
    ("eq null matches only null", lambda q: q.eq("a", 1).eq("b", None), 1),
    ("eq UNDEFINED matches only missing", lambda q: q.eq("a", 1).eq("b", UNDEFINED), 1),
    ("equalities out of call order", lambda q: q.eq("b", 2).eq("a", 1), 1),
    ("exclusive range on first field", lambda q: q.gt("a", 2).lt("a", 4), 7),
    ("inclusive range on first field", lambda q: q.gte("a", 2).lte("a", 4), 21),
    ("exclusive range on second field", lambda q: q.eq("a", 1).gt("b", 2).lt("b", 4), 1),
    ("inclusive range on second field", lambda q: q.eq("a", 1).gte("b", 2).lte("b", 4), 3),
    ("range out of call order", lambda q: q.gte("b", 2).eq("a", 1).lte("b", 4), 3),
    ("gt UNDEFINED on first field: all present", lambda q: q.gt("a", UNDEFINED), 35),
    ("gt UNDEFINED on second field: b present", lambda q: q.eq("a", 1).gt("b", UNDEFINED), 6),
    ("gte null is present too", lambda q: q.eq("a", 1).gte("b", None), 6),
    ("gt null excludes null and missing", lambda q: q.eq("a", 1).gt("b", None), 5),
    ("lte null is missing or null", lambda q: q.eq("a", 1).lte("b", None), 2),
    ("lt null is only missing", lambda q: q.eq("a", 1).lt("b", None), 1),
    ("int64 bound excludes every float", lambda q: q.eq("a", 1).gt("b", 1.5), 0),
    ("empty range", lambda q: q.gt("a", 4).lt("a", 2), 0),
    (
        "eq on _creationTime after all fields",
        lambda q: q.eq("a", 1).eq("b", 1).gt("_creationTime", 0.0),
        1,
    ),
]


@pytest.mark.parametrize(
    ("range_fn", "expected"),
    [pytest.param(fn, n, id=name) for name, fn, n in COUNT_CASES],
)
def test_index_range_counts(
    convex_table: FakeReader, range_fn: Range | None, expected: int
) -> None:
    q = Query(convex_table, "myTable").with_index("by_a_b", range_fn)
    assert len(q.collect()) == expected
    assert q.count() == expected


def test_missing_and_null_are_different_keys(convex_table: FakeReader) -> None:
    q = Query(convex_table, "myTable")
    missing = q.with_index("by_a_b", lambda r: r.eq("a", 3).eq("b", UNDEFINED)).unique()
    null = q.with_index("by_a_b", lambda r: r.eq("a", 3).eq("b", None)).unique()
    assert missing is not None and "b" not in missing
    assert null is not None and null["b"] is None


# ---------------------------------------------------------------------------
# errors: Convex's exact messages
# ---------------------------------------------------------------------------

BY_A_B = 'myTable.by_a_b with fields ["a", "b", "_creationTime"]'

ERROR_CASES: list[tuple[str, Range, str]] = [
    (
        "index fields out of order",
        lambda q: q.eq("b", 1),
        "Tried to query index myTable.by_a_b but the query didn't use the index fields in "
        'order.\nIndex fields: ["a", "b", "_creationTime"]\nQuery fields: ["b"]\n'
        "First incorrect field: b\n",
    ),
    (
        "eq field not in index",
        lambda q: q.eq("c", 1),
        f'The index range included a comparison with "c", but {BY_A_B} doesn\'t index this field.',
    ),
    (
        "lt field not in index",
        lambda q: q.lt("c", 1),
        f'The index range included a comparison with "c", but {BY_A_B} doesn\'t index this field.',
    ),
    (
        "two lower bounds",
        lambda q: q.gt("a", 2).gte("a", 1),
        'Already defined lower bound in index range. Can\'t add "a" >= 1.',
    ),
    (
        "two upper bounds",
        lambda q: q.lt("a", 2).lte("a", 1.5),
        'Already defined upper bound in index range. Can\'t add "a" <= 1.5.',
    ),
    (
        "two equalities name the first value",
        lambda q: q.eq("a", 2).eq("a", 1),
        'Already defined equality bound in index range. Can\'t add "a" == 2.',
    ),
    (
        "equality and inequality on one field",
        lambda q: q.eq("a", 2).gt("a", 1),
        'Already defined inequality bound in index range. Can\'t add "a" == 2.',
    ),
    (
        "bounds on different fields",
        lambda q: q.gt("a", 2).lt("b", 1),
        "Upper and lower bounds in `range` can only be applied to a single index field. "
        'This query against index myTable.by_a_b attempted to set a range bound on both "a" '
        'and "b". Consider using `filter` instead.',
    ),
    (
        "equality after a bound",
        lambda q: q.gt("a", 1).eq("b", 2),
        "Tried to query index myTable.by_a_b but the query didn't use the index fields in "
        'order.\nIndex fields: ["a", "b", "_creationTime"]\nQuery fields: ["b", "a"]\n'
        "First incorrect field: b\n",
    ),
    (
        "skipping a field to reach _creationTime",
        lambda q: q.eq("a", 1).gt("_creationTime", 0.0),
        'Query fields: ["a", "_creationTime"]\nFirst incorrect field: _creationTime\n',
    ),
    (
        "a value that is not a Convex value",
        lambda q: q.eq("a", {1, 2}),
        'Invalid value in the index range of myTable.by_a_b: q.eq("a", ...)',
    ),
]


@pytest.mark.parametrize(
    ("range_fn", "message"),
    [pytest.param(fn, msg, id=name) for name, fn, msg in ERROR_CASES],
)
def test_index_range_errors(convex_table: FakeReader, range_fn: Range, message: str) -> None:
    q = Query(convex_table, "myTable").with_index("by_a_b", range_fn)
    with pytest.raises(QueryError) as info:
        q.collect()
    assert message in str(info.value)


def test_float_values_print_like_convex() -> None:
    r = FakeReader()
    r.define("myTable", indexes={"by_a_b": ["a", "b"]}, validators={"a": v.float64()})
    q = Query(r, "myTable").with_index("by_a_b", lambda q: q.eq("a", 2).eq("a", 1))
    with pytest.raises(QueryError, match=r'Can\'t add "a" == 2\.0\.$'):
        q.collect()


def test_unknown_index() -> None:
    r = FakeReader()
    r.define("myTable")
    with pytest.raises(QueryError, match=r"^Index myTable\.by_a_b not found\.$"):
        Query(r, "myTable").with_index("by_a_b").collect()


def test_range_function_must_return_the_builder() -> None:
    r = FakeReader()
    r.define("t", indexes={"by_a": ["a"]})
    with pytest.raises(QueryError, match="must return the builder"):
        Query(r, "t").with_index("by_a", lambda q: None)  # type: ignore[arg-type,return-value]


def test_builder_is_immutable() -> None:
    base = IndexRangeBuilder().eq("a", 1)
    one = base.gt("b", 1)
    two = base.lt("b", 5)
    assert [e.kind for e in base.expressions] == ["eq"]
    assert [e.kind for e in one.expressions] == ["eq", "gt"]
    assert [e.kind for e in two.expressions] == ["eq", "lt"]
    assert repr(one) == 'q.eq("a", 1).gt("b", 1)'


# ---------------------------------------------------------------------------
# byte intervals
# ---------------------------------------------------------------------------

FIELDS = ("a", "b", "_creationTime", "_id")
P = encode_key([1])

INTERVAL_CASES: list[tuple[str, Range, bytes, bytes]] = [
    ("no range", lambda q: q, b"", b"\xff"),
    ("eq only", lambda q: q.eq("a", 1), P, P + b"\xff"),
    ("gte", lambda q: q.eq("a", 1).gte("b", "x"), P + encode_value("x"), P + b"\xff"),
    ("gt", lambda q: q.eq("a", 1).gt("b", "x"), P + encode_value("x") + b"\xff", P + b"\xff"),
    ("lt", lambda q: q.eq("a", 1).lt("b", "x"), P, P + encode_value("x")),
    ("lte", lambda q: q.eq("a", 1).lte("b", "x"), P, P + encode_value("x") + b"\xff"),
    (
        "gt and lte",
        lambda q: q.gt("a", 1).lte("a", 3),
        encode_value(1) + b"\xff",
        encode_value(3) + b"\xff",
    ),
]


@pytest.mark.parametrize(
    ("range_fn", "lo", "hi"),
    [pytest.param(fn, lo, hi, id=name) for name, fn, lo, hi in INTERVAL_CASES],
)
def test_byte_intervals(range_fn: Range, lo: bytes, hi: bytes) -> None:
    compiled = range_fn(IndexRangeBuilder()).compile("t", "by_a_b", FIELDS)
    assert (compiled.lo, compiled.hi) == (lo, hi)


def test_interval_holds_exactly_the_matching_keys() -> None:
    rng = IndexRangeBuilder().eq("a", 1).gt("b", 2).lte("b", 4).compile("t", "i", FIELDS)
    values: list[Any] = [UNDEFINED, None, 1, 2, 3, 4, 5, 2.5, "s", [2], {"x": 1}]
    for a in (0, 1, 2):
        for b in values:
            key = encode_key([a, b, 1.0, "id"])
            inside = a == 1 and type(b) is int and 2 < b <= 4
            assert rng.contains(key) is inside, (a, b)


def test_range_records_its_parts() -> None:
    rng = IndexRangeBuilder().gte("b", 2).eq("a", 1).lt("b", 9).compile("t", "by_a_b", FIELDS)
    assert rng.eq == (("a", 1),)
    assert rng.lower == IndexBound("b", ">=", 2)
    assert rng.upper == IndexBound("b", "<", 9)


# ---------------------------------------------------------------------------
# int → float for float64 fields, _creationTime, system indexes
# ---------------------------------------------------------------------------


@pytest.fixture
def prices() -> FakeReader:
    r = FakeReader()
    r.define(
        "items",
        indexes={
            "by_price": ["price"],
            "by_n": ["n"],
            "by_maybe": ["maybe"],
            "by_xs": ["xs"],
            "by_o": ["o"],
            "by_either": ["either"],
        },
        validators={
            "price": v.float64(),
            "maybe": v.union(v.float64(), v.null()),
            "xs": v.array(v.number()),
            "o": v.object({"x": v.number()}),
            "either": v.union(v.int64(), v.float64()),
        },
    )
    # As the validators store them: numbers in float64 positions are floats.
    r.insert(
        "items", {"price": 7.0, "n": 7.0, "maybe": 7.0, "xs": [7.0], "o": {"x": 7.0}, "either": 7}
    )
    r.insert(
        "items",
        {"price": 8.5, "n": 7, "maybe": None, "xs": [8.5], "o": {"x": 8.5}, "either": 7.0},
    )
    return r


COERCION_CASES: list[tuple[str, str, Range, int]] = [
    ("int matches float in a float64 field", "by_price", lambda q: q.eq("price", 7), 1),
    ("int bound on a float64 field", "by_price", lambda q: q.gte("price", 7).lt("price", 9), 2),
    ("untyped field stays type-exact (int)", "by_n", lambda q: q.eq("n", 7), 1),
    ("untyped field stays type-exact (float)", "by_n", lambda q: q.eq("n", 7.0), 1),
    ("nullable float64 field coerces too", "by_maybe", lambda q: q.eq("maybe", 7), 1),
    ("int inside an array value", "by_xs", lambda q: q.eq("xs", [7]), 1),
    ("ints inside array bounds", "by_xs", lambda q: q.gte("xs", [7]).lt("xs", [9]), 2),
    ("int inside an object value", "by_o", lambda q: q.eq("o", {"x": 7}), 1),
    # Both an int64 and a float64 are storable there: the int means the int64.
    ("int64|float64 field keeps the int", "by_either", lambda q: q.eq("either", 7), 1),
    ("int64|float64 field, float literal", "by_either", lambda q: q.eq("either", 7.0), 1),
    ("int64|float64 field, int bound", "by_either", lambda q: q.gt("either", 7), 1),
]


@pytest.mark.parametrize(
    ("index", "range_fn", "expected"),
    [pytest.param(i, fn, n, id=name) for name, i, fn, n in COERCION_CASES],
)
def test_int_to_float_for_float64_fields(
    prices: FakeReader, index: str, range_fn: Range, expected: int
) -> None:
    assert len(Query(prices, "items").with_index(index, range_fn).collect()) == expected


def test_creation_time_and_id_indexes(prices: FakeReader) -> None:
    docs = Query(prices, "items").collect()
    first, second = docs
    by_time = Query(prices, "items").with_index(
        "by_creation_time", lambda q: q.gt("_creationTime", int(first["_creationTime"]))
    )
    assert [d["_id"] for d in by_time.collect()] == [second["_id"]]
    by_id = Query(prices, "items").with_index("by_id", lambda q: q.eq("_id", second["_id"]))
    assert by_id.unique() == second


def test_tie_break_is_fields_then_creation_time_then_id() -> None:
    r = FakeReader()
    r.define("t", indexes={"by_a": ["a"]})
    r.insert("t", {"a": 1, "_id": "z", "_creationTime": 5.0})
    r.insert("t", {"a": 1, "_id": "b", "_creationTime": 5.0})
    r.insert("t", {"a": 1, "_id": "y", "_creationTime": 3.0})
    r.insert("t", {"a": 0, "_id": "x", "_creationTime": 9.0})
    r.insert("t", {"_id": "w", "_creationTime": 10.0})
    ids = [d["_id"] for d in Query(r, "t").with_index("by_a").collect()]
    assert ids == ["w", "x", "y", "b", "z"]
    desc = [d["_id"] for d in Query(r, "t").with_index("by_a").order("desc").collect()]
    assert desc == list(reversed(ids))


def test_describe() -> None:
    rng = (
        IndexRangeBuilder()
        .eq("authorId", "j57abcdefghijklmnopqrstuvwxyz0123456")
        .gt("_creationTime", 1.7e12)
        .compile("posts", "by_author", ("authorId", "_creationTime", "_id"))
    )
    assert rng.describe() == (
        'by_author: authorId == "j57abcdefghijklmnopqrstu…", _creationTime > 1700000000000.0'
    )
    whole = IndexRangeBuilder().compile("posts", "by_author", ("authorId", "_creationTime", "_id"))
    assert whole.describe() == "by_author"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(UNDEFINED, "undefined", id="undefined"),
        pytest.param(None, "null", id="null"),
        pytest.param(True, "true", id="bool"),
        pytest.param(5, "5", id="int64"),
        pytest.param(5.0, "5.0", id="float64"),
        pytest.param(1e20, "1e20", id="float64 exponent"),
        pytest.param(float("nan"), "NaN", id="nan"),
        pytest.param(float("-inf"), "-inf", id="-inf"),
        pytest.param('a"b', '"a\\"b"', id="string"),
        pytest.param([1, 2.0], "[1, 2.0]", id="array"),
        pytest.param({"k": "v"}, '{k: "v"}', id="object"),
    ],
)
def test_format_value(value: Any, text: str) -> None:
    assert format_value(value) == text
