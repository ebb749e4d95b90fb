"""The data structures behind invalidation: ``IntervalIndex`` (stabbing queries over
half-open byte intervals), ``ReadSet`` (a query run's normalized reads) and
``DependencyIndex`` (owners by table, index interval, point and whole table).

Table-driven unit cases first, then hypothesis state machines that check each
structure against a naive model (a plain set of intervals / a dict of read sets).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from nbreactive.reactive.intervals import IntervalIndex
from nbreactive.reactive.readset import DependencyIndex, ReadSet, write_keys
from nbreactive.values.keys import encode_key, prefix_end

# ---------------------------------------------------------------------------
# IntervalIndex: unit cases
# ---------------------------------------------------------------------------

Iv = tuple[bytes, bytes, str]  # (lo, hi, owner)


def stab(idx: IntervalIndex, key: bytes) -> Counter[Hashable]:
    return Counter(idx.stab(key))


def naive_stab(intervals: set[Iv], key: bytes) -> Counter[Hashable]:
    return Counter(o for lo, hi, o in intervals if lo <= key < hi)


def check_layers(idx: IntervalIndex) -> None:
    """Every layer is non-empty, sorted, and its intervals are pairwise disjoint and
    non-empty; ``_where`` names exactly the intervals held, in the right layer."""
    seen = set()
    for layer in idx._layers:
        assert layer.los, "an empty layer was left behind"
        assert len(layer.los) == len(layer.his) == len(layer.owners)
        for j, (lo, hi, owners) in enumerate(zip(layer.los, layer.his, layer.owners, strict=True)):
            assert lo < hi
            assert owners, "an interval without owners was left behind"
            if j:
                assert layer.his[j - 1] <= lo, "overlap (or disorder) within a layer"
            assert idx._where[(lo, hi)] is layer
            seen.add((lo, hi))
    assert seen == set(idx._where)
    assert len(idx) == len(seen)


STAB_CASES: list[tuple[str, list[Iv], bytes, list[str]]] = [
    ("empty index", [], b"a", []),
    ("inside", [(b"a", b"c", "x")], b"b", ["x"]),
    ("at lo (closed)", [(b"a", b"c", "x")], b"a", ["x"]),
    ("at hi (open)", [(b"a", b"c", "x")], b"c", []),
    ("just below hi", [(b"a", b"c", "x")], b"bzzz", ["x"]),
    ("below lo", [(b"b", b"c", "x")], b"a", []),
    ("prefix of lo is below it", [(b"ab", b"c", "x")], b"a", []),
    ("extension of lo is inside", [(b"a", b"b", "x")], b"a\x00", ["x"]),
    ("empty key", [(b"", b"\x01", "x")], b"", ["x"]),
    ("whole space", [(b"", b"\xff", "x")], b"\xfe\xff\xff", ["x"]),
    ("nested", [(b"a", b"z", "wide"), (b"m", b"n", "narrow")], b"m", ["wide", "narrow"]),
    ("nested, outside the inner", [(b"a", b"z", "wide"), (b"m", b"n", "narrow")], b"n", ["wide"]),
    ("touching: key at the seam", [(b"a", b"m", "left"), (b"m", b"z", "right")], b"m", ["right"]),
    ("identical, two owners", [(b"a", b"c", "x"), (b"a", b"c", "y")], b"b", ["x", "y"]),
    ("one owner, two intervals", [(b"a", b"c", "x"), (b"b", b"d", "x")], b"b", ["x", "x"]),
    ("same owner twice, same interval", [(b"a", b"c", "x"), (b"a", b"c", "x")], b"b", ["x"]),
    ("empty interval ignored", [(b"b", b"b", "x")], b"b", []),
    ("reversed interval ignored", [(b"c", b"a", "x")], b"b", []),
    (
        "prefix range [P, P+0xFF)",
        [(encode_key(("a",)), prefix_end(encode_key(("a",))), "x")],
        encode_key(("a", 5)),
        ["x"],
    ),
    (
        "prefix range excludes the next value",
        [(encode_key(("a",)), prefix_end(encode_key(("a",))), "x")],
        encode_key(("a\x00",)),
        [],
    ),
]


@pytest.mark.parametrize(
    ("intervals", "key", "expected"),
    [pytest.param(ivs, k, exp, id=name) for name, ivs, k, exp in STAB_CASES],
)
def test_stab(intervals: list[Iv], key: bytes, expected: list[str]) -> None:
    idx = IntervalIndex()
    for lo, hi, owner in intervals:
        idx.add(lo, hi, owner)
    assert stab(idx, key) == Counter(expected)
    check_layers(idx)


REMOVE_CASES: list[tuple[str, list[Iv], list[Iv], list[tuple[bytes, list[str]]], int]] = [
    # (name, added, removed, [(key, owners stabbed)], distinct intervals left)
    ("remove the only one", [(b"a", b"c", "x")], [(b"a", b"c", "x")], [(b"b", [])], 0),
    (
        "remove unknown interval: no-op",
        [(b"a", b"c", "x")],
        [(b"a", b"d", "x")],
        [(b"b", ["x"])],
        1,
    ),
    ("remove unknown owner: no-op", [(b"a", b"c", "x")], [(b"a", b"c", "y")], [(b"b", ["x"])], 1),
    ("remove from an empty index", [], [(b"a", b"c", "x")], [(b"b", [])], 0),
    (
        "remove an empty interval: no-op",
        [(b"a", b"c", "x")],
        [(b"b", b"b", "x")],
        [(b"b", ["x"])],
        1,
    ),
    (
        "one of two owners of an identical interval",
        [(b"a", b"c", "x"), (b"a", b"c", "y")],
        [(b"a", b"c", "x")],
        [(b"b", ["y"])],
        1,
    ),
    (
        "both owners: the slot goes",
        [(b"a", b"c", "x"), (b"a", b"c", "y")],
        [(b"a", b"c", "x"), (b"a", b"c", "y")],
        [(b"b", [])],
        0,
    ),
    ("twice: second is a no-op", [(b"a", b"c", "x")], [(b"a", b"c", "x")] * 2, [(b"b", [])], 0),
    (
        "the wide one under narrow ones",
        [(b"a", b"z", "wide"), (b"b", b"c", "n1"), (b"d", b"e", "n2")],
        [(b"a", b"z", "wide")],
        [(b"b", ["n1"]), (b"d", ["n2"]), (b"x", [])],
        2,
    ),
    (
        "a narrow one beside the wide one",
        [(b"a", b"z", "wide"), (b"b", b"c", "n1"), (b"d", b"e", "n2")],
        [(b"b", b"c", "n1")],
        [(b"b", ["wide"]), (b"d", ["wide", "n2"])],
        2,
    ),
    (
        "a same-lo different-hi sibling stays",
        [(b"a", b"c", "x"), (b"a", b"d", "x")],
        [(b"a", b"c", "x")],
        [(b"b", ["x"]), (b"c", ["x"])],
        1,
    ),
]


@pytest.mark.parametrize(
    ("added", "removed", "probes", "left"),
    [pytest.param(a, r, p, n, id=name) for name, a, r, p, n in REMOVE_CASES],
)
def test_remove(
    added: list[Iv], removed: list[Iv], probes: list[tuple[bytes, list[str]]], left: int
) -> None:
    idx = IntervalIndex()
    for lo, hi, owner in added:
        idx.add(lo, hi, owner)
    for lo, hi, owner in removed:
        idx.remove(lo, hi, owner)
    for key, expected in probes:
        assert stab(idx, key) == Counter(expected), key
    assert len(idx) == left
    check_layers(idx)


def test_len_counts_distinct_intervals_not_owners() -> None:
    idx = IntervalIndex()
    for owner in range(100):
        idx.add(b"a", b"b", owner)
    assert len(idx) == 1
    assert idx.layers == 1
    assert set(idx.intervals()) == {(b"a", b"b", frozenset(range(100)))}
    assert stab(idx, b"a") == Counter(range(100))


def test_disjoint_intervals_need_one_layer() -> None:
    idx = IntervalIndex()
    keys = [encode_key((f"user{n:05d}",)) for n in range(2000)]
    for n, k in enumerate(reversed(keys)):  # any insertion order
        idx.add(k, prefix_end(k), n)
    assert idx.layers == 1
    assert len(idx) == 2000
    # wide ranges (whole-table scans) add one layer each, whatever the narrow ones
    for w in range(3):
        idx.add(b"", b"\xff", f"wide{w}")
    assert idx.layers == 2  # identical wide intervals share a slot
    idx.add(b"", b"\xfe", "wide-other")
    assert idx.layers == 3
    assert stab(idx, keys[7]) == Counter([1992, "wide0", "wide1", "wide2", "wide-other"])
    check_layers(idx)
    # removing the wide ones gives their layers back
    for w in range(3):
        idx.remove(b"", b"\xff", f"wide{w}")
    idx.remove(b"", b"\xfe", "wide-other")
    assert idx.layers == 1
    check_layers(idx)


def test_touching_intervals_share_a_layer() -> None:
    idx = IntervalIndex()
    bounds = [bytes([b]) for b in range(1, 60)]
    for lo, hi in itertools.pairwise(bounds):
        idx.add(lo, hi, lo)
    assert idx.layers == 1
    for lo in bounds[:-1]:
        assert stab(idx, lo) == Counter([lo])


def test_nested_intervals_layer_per_depth() -> None:
    idx = IntervalIndex()
    depth = 10
    for d in range(depth):
        idx.add(bytes([d]), bytes([100 - d]), d)
    assert idx.layers == depth
    assert stab(idx, bytes([50])) == Counter(range(depth))
    assert stab(idx, bytes([5])) == Counter(range(6))
    assert stab(idx, bytes([95])) == Counter(range(5))  # hi = 100 - d is open
    check_layers(idx)


def test_intervals_lists_every_slot_with_its_owners() -> None:
    idx = IntervalIndex()
    idx.add(b"a", b"c", "x")
    idx.add(b"a", b"c", "y")
    idx.add(b"b", b"d", "x")
    idx.add(b"e", b"e", "ignored")
    assert sorted(idx.intervals()) == [
        (b"a", b"c", frozenset({"x", "y"})),
        (b"b", b"d", frozenset({"x"})),
    ]


def test_owners_of_any_hashable_type() -> None:
    idx = IntervalIndex()
    owners: list[Hashable] = [1, "1", (1,), frozenset({1}), None, 1.5]
    for o in owners:
        idx.add(b"a", b"b", o)
    assert stab(idx, b"a") == Counter(owners)


# ---------------------------------------------------------------------------
# IntervalIndex: model-based (hypothesis)
# ---------------------------------------------------------------------------

# Short byte strings over a tiny alphabet make overlaps, identical intervals, touching
# ends, prefixes and empty intervals all common.
short_bytes = st.binary(max_size=3).map(lambda b: bytes(x % 4 for x in b))
owners_st = st.sampled_from(["p", "q", "r", "s"])


class IntervalIndexMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.idx = IntervalIndex()
        self.model: set[Iv] = set()

    added = Bundle("added")

    @rule(target=added, lo=short_bytes, hi=short_bytes, owner=owners_st)
    def add(self, lo: bytes, hi: bytes, owner: str) -> Iv:
        self.idx.add(lo, hi, owner)
        if lo < hi:
            self.model.add((lo, hi, owner))
        return (lo, hi, owner)

    @rule(iv=added, other_owner=owners_st)
    def add_same_interval_other_owner(self, iv: Iv, other_owner: str) -> None:
        lo, hi, _ = iv
        self.idx.add(lo, hi, other_owner)
        if lo < hi:
            self.model.add((lo, hi, other_owner))

    @rule(iv=consumes(added))
    def remove_added(self, iv: Iv) -> None:
        self.idx.remove(*iv)
        self.model.discard(iv)

    @rule(lo=short_bytes, hi=short_bytes, owner=owners_st)
    def remove_any(self, lo: bytes, hi: bytes, owner: str) -> None:
        # mostly unknown intervals or owners: a no-op
        self.idx.remove(lo, hi, owner)
        self.model.discard((lo, hi, owner))

    @rule(key=short_bytes)
    def stab_matches_model(self, key: bytes) -> None:
        assert stab(self.idx, key) == naive_stab(self.model, key)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def stab_at_the_ends(self, data: st.DataObject) -> None:
        lo, hi, _ = data.draw(st.sampled_from(sorted(self.model)))
        for key in (lo, hi, lo + b"\x00", hi + b"\x00"):
            assert stab(self.idx, key) == naive_stab(self.model, key), key

    @invariant()
    def same_intervals(self) -> None:
        grouped: dict[tuple[bytes, bytes], set[str]] = {}
        for lo, hi, o in self.model:
            grouped.setdefault((lo, hi), set()).add(o)
        got = {(lo, hi): set(owners) for lo, hi, owners in self.idx.intervals()}
        assert got == grouped
        assert len(self.idx) == len(grouped)

    @invariant()
    def layers_are_well_formed(self) -> None:
        check_layers(self.idx)
        # first fit never needs more layers than distinct intervals
        assert self.idx.layers <= len(self.idx)


IntervalIndexMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestIntervalIndexModel = IntervalIndexMachine.TestCase


# ---------------------------------------------------------------------------
# ReadSet.build and covers
# ---------------------------------------------------------------------------

R = tuple[str, str, bytes, bytes]

BUILD_CASES: list[tuple[str, list[R], list[R]]] = [
    ("nothing", [], []),
    ("one", [("t", "i", b"a", b"c")], [("t", "i", b"a", b"c")]),
    ("empty dropped", [("t", "i", b"b", b"b")], []),
    ("reversed dropped", [("t", "i", b"c", b"a")], []),
    (
        "empty beside a real one",
        [("t", "i", b"a", b"a"), ("t", "i", b"b", b"c")],
        [("t", "i", b"b", b"c")],
    ),
    (
        "overlapping merged",
        [("t", "i", b"a", b"c"), ("t", "i", b"b", b"d")],
        [("t", "i", b"a", b"d")],
    ),
    ("touching merged", [("t", "i", b"a", b"b"), ("t", "i", b"b", b"c")], [("t", "i", b"a", b"c")]),
    (
        "contained absorbed",
        [("t", "i", b"a", b"z"), ("t", "i", b"c", b"d")],
        [("t", "i", b"a", b"z")],
    ),
    ("duplicates once", [("t", "i", b"a", b"c")] * 3, [("t", "i", b"a", b"c")]),
    (
        "disjoint kept, sorted",
        [("t", "i", b"x", b"y"), ("t", "i", b"a", b"b")],
        [("t", "i", b"a", b"b"), ("t", "i", b"x", b"y")],
    ),
    (
        "a gap of one key is not merged",
        [("t", "i", b"a", b"b"), ("t", "i", b"b\x00", b"c")],
        [("t", "i", b"a", b"b"), ("t", "i", b"b\x00", b"c")],
    ),
    (
        "chain merged through a bridge",
        [("t", "i", b"a", b"b"), ("t", "i", b"c", b"d"), ("t", "i", b"b", b"c")],
        [("t", "i", b"a", b"d")],
    ),
    (
        "same lo, longest wins",
        [("t", "i", b"a", b"b"), ("t", "i", b"a", b"e"), ("t", "i", b"a", b"c")],
        [("t", "i", b"a", b"e")],
    ),
    (
        "other index not merged",
        [("t", "i", b"a", b"c"), ("t", "j", b"b", b"d")],
        [("t", "i", b"a", b"c"), ("t", "j", b"b", b"d")],
    ),
    (
        "other table not merged",
        [("u", "i", b"a", b"c"), ("t", "i", b"b", b"d")],
        [("t", "i", b"b", b"d"), ("u", "i", b"a", b"c")],
    ),
    (
        "interleaved indexes",
        [
            ("t", "i", b"a", b"b"),
            ("t", "j", b"a", b"b"),
            ("t", "i", b"b", b"c"),
            ("t", "j", b"x", b"y"),
        ],
        [("t", "i", b"a", b"c"), ("t", "j", b"a", b"b"), ("t", "j", b"x", b"y")],
    ),
    ("empty lo", [("t", "i", b"", b"a"), ("t", "i", b"a", b"\xff")], [("t", "i", b"", b"\xff")]),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [pytest.param(r, e, id=name) for name, r, e in BUILD_CASES]
)
def test_readset_build_merges(raw: list[R], expected: list[R]) -> None:
    rs = ReadSet.build(raw)
    assert rs.intervals == tuple(expected)
    assert rs == ReadSet.build(list(reversed(raw)))  # order of reads does not matter
    assert hash(rs) == hash(ReadSet.build(raw))
    assert bool(rs) == bool(expected)


@st.composite
def raw_reads(draw: st.DrawFn) -> list[R]:
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(["t", "u"]), st.sampled_from(["i", "j"]), short_bytes, short_bytes
            ),
            max_size=12,
        )
    )


@settings(max_examples=300, deadline=None)
@given(raw=raw_reads(), key=short_bytes)
def test_readset_build_covers_exactly_the_raw_union(raw: list[R], key: bytes) -> None:
    rs = ReadSet.build(raw)
    for t in ("t", "u"):
        for i in ("i", "j"):
            want = any(rt == t and ri == i and lo <= key < hi for rt, ri, lo, hi in raw)
            got = any(rt == t and ri == i and lo <= key < hi for rt, ri, lo, hi in rs.intervals)
            assert got == want
    # normalized: sorted, non-empty, and per index neither overlapping nor touching
    assert list(rs.intervals) == sorted(rs.intervals)
    assert all(lo < hi for _, _, lo, hi in rs.intervals)
    for (t1, i1, _, hi1), (t2, i2, lo2, _) in itertools.pairwise(rs.intervals):
        if (t1, i1) == (t2, i2):
            assert hi1 < lo2
    assert ReadSet.build(rs.intervals) == rs  # idempotent


def test_readset_points_and_tables() -> None:
    rs = ReadSet.build([], points=[("t", "id1"), ("t", "id1"), ("u", "id2")], tables=["s", "s"])
    assert rs.points == frozenset({("t", "id1"), ("u", "id2")})
    assert rs.tables == frozenset({"s"})
    assert rs.tables_read() == {"t", "u", "s"}
    assert bool(rs)
    assert not ReadSet()
    assert not ReadSet.build([("t", "i", b"a", b"a")])
    assert ReadSet.build([("t", "i", b"a", b"b")]).tables_read() == {"t"}


COVER_RS = ReadSet.build(
    [
        ("msgs", "by_ch", b"b", b"d"),
        ("msgs", "by_ch", b"f", b"g"),
        ("msgs", "by_time", b"m", b"\xff"),
    ],
    points=[("msgs", "id7"), ("users", "u1")],
    tables=["logs"],
)

COVER_CASES: list[tuple[str, str, str, dict[str, list[bytes]], bool]] = [
    # (name, table, id, index -> old/new keys, covered)
    ("key inside", "msgs", "x", {"by_ch": [b"c"]}, True),
    ("key at lo", "msgs", "x", {"by_ch": [b"b"]}, True),
    ("key at hi", "msgs", "x", {"by_ch": [b"d"]}, False),
    ("key in the gap", "msgs", "x", {"by_ch": [b"e"]}, False),
    ("key in the second interval", "msgs", "x", {"by_ch": [b"f\x00"]}, True),
    ("old key outside, new inside (move in)", "msgs", "x", {"by_ch": [b"a", b"c"]}, True),
    ("old key inside, new outside (move out)", "msgs", "x", {"by_ch": [b"c", b"z"]}, True),
    ("both outside", "msgs", "x", {"by_ch": [b"a", b"e"]}, False),
    ("other index of the interval", "msgs", "x", {"by_other": [b"c"]}, False),
    ("second index hit", "msgs", "x", {"by_ch": [b"a"], "by_time": [b"n"]}, True),
    ("no keys at all", "msgs", "x", {}, False),
    ("point read hit", "msgs", "id7", {}, True),
    ("point read of another table", "users", "id7", {}, False),
    ("point in another table", "users", "u1", {"by_ch": [b"c"]}, True),
    ("same key, other table", "users", "x", {"by_ch": [b"c"]}, False),
    ("whole table", "logs", "anything", {}, True),
    ("unread table", "zzz", "id7", {"by_ch": [b"c"]}, False),
]


@pytest.mark.parametrize(
    ("table", "doc_id", "keys", "covered"),
    [pytest.param(t, i, k, c, id=name) for name, t, i, k, c in COVER_CASES],
)
def test_readset_covers(
    table: str, doc_id: str, keys: dict[str, list[bytes]], covered: bool
) -> None:
    assert COVER_RS.covers(table, doc_id, keys) is covered


WRITE_KEYS_CASES: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None, list[bytes]]] = [
    ("insert", None, {"k": b"n"}, [b"n"]),
    ("delete", {"k": b"o"}, None, [b"o"]),
    ("update, key kept", {"k": b"o"}, {"k": b"o"}, [b"o"]),
    ("update, key moved", {"k": b"o"}, {"k": b"n"}, [b"o", b"n"]),
    ("nothing", None, None, []),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [pytest.param(o, n, e, id=name) for name, o, n, e in WRITE_KEYS_CASES],
)
def test_write_keys(
    old: dict[str, Any] | None, new: dict[str, Any] | None, expected: list[bytes]
) -> None:
    assert write_keys("idx", lambda d: d["k"], old, new) == expected


# ---------------------------------------------------------------------------
# DependencyIndex: unit cases and a model
# ---------------------------------------------------------------------------

Doc = dict[str, Any]


def doc(doc_id: str, **keys: bytes) -> Doc:
    """A fake document: its key in index ``i`` is ``keys[i]`` (see ``key_fn``)."""
    return {"_id": doc_id, "keys": keys}


def key_fn(table: str, index: str) -> Callable[[Doc], bytes] | None:
    if index == "dropped":  # an index no longer in the schema: its keys are unknown
        return None
    return lambda d: d["keys"].get(index, b"")


def hits(
    deps: DependencyIndex, table: str, doc_id: str, old: Doc | None, new: Doc | None
) -> set[Hashable]:
    out: set[Hashable] = set()
    deps.hit_by_write(table, doc_id, old, new, key_fn, out)
    return out


def test_dependency_index_by_interval_point_and_table() -> None:
    deps = DependencyIndex()
    chan_a = ReadSet.build([("m", "by_ch", b"a", b"a\xff")])
    chan_b = ReadSet.build([("m", "by_ch", b"b", b"b\xff")])
    get_x = ReadSet.build([], points=[("m", "x")])
    sql_m = ReadSet.build([], tables=["m"])
    other = ReadSet.build([("o", "by_ch", b"a", b"a\xff")])
    for owner, rs in [("A", chan_a), ("B", chan_b), ("X", get_x), ("S", sql_m), ("O", other)]:
        deps.add(owner, rs)
    assert len(deps) == 5

    cases: list[tuple[str, str, Doc | None, Doc | None, set[str]]] = [
        ("m", "y", None, doc("y", by_ch=b"a1"), {"A", "S"}),
        ("m", "y", doc("y", by_ch=b"a1"), doc("y", by_ch=b"b1"), {"A", "B", "S"}),
        ("m", "x", doc("x", by_ch=b"c"), doc("x", by_ch=b"c"), {"X", "S"}),
        ("m", "y", doc("y", by_ch=b"c"), None, {"S"}),
        ("o", "y", None, doc("y", by_ch=b"a"), {"O"}),
        ("o", "x", None, doc("x", by_ch=b"z"), set()),  # same id, other table
        ("zzz", "x", None, doc("x", by_ch=b"a"), set()),
        ("m", "y", None, None, {"S"}),  # no keys: only whole-table readers
    ]
    for table, doc_id, old, new, expected in cases:
        assert hits(deps, table, doc_id, old, new) == expected, (table, doc_id, old, new)

    assert deps.owners_of_table("m") == {"A", "B", "X", "S"}
    assert deps.owners_of_table("o") == {"O"}
    assert deps.owners_of_table("zzz") == set()
    assert deps.owners_of_table("*") == {"A", "B", "X", "S", "O"}

    for owner, rs in [("A", chan_a), ("B", chan_b), ("X", get_x), ("S", sql_m), ("O", other)]:
        deps.remove(owner, rs)
    assert len(deps) == 0
    assert deps.stats() == {"owners": 0, "tables": {}, "sql_readers": {}}
    assert hits(deps, "m", "x", None, doc("x", by_ch=b"a")) == set()


def test_dependency_index_shared_read_sets_and_partial_removal() -> None:
    deps = DependencyIndex()
    rs = ReadSet.build([("m", "i", b"a", b"c")], points=[("m", "p")], tables=["s"])
    deps.add(1, rs)
    deps.add(2, rs)
    stats = deps.stats()["tables"]
    assert stats["m"]["indexes"]["i"] == {"intervals": 1, "layers": 1}  # one shared slot
    assert stats["m"]["points"] == 1 and deps.stats()["sql_readers"] == {"s": 2}
    deps.remove(1, rs)
    assert hits(deps, "m", "q", None, doc("q", i=b"b")) == {2}
    assert hits(deps, "m", "p", None, None) == {2}
    assert hits(deps, "s", "q", None, None) == {2}
    deps.remove(1, rs)  # again: no-op
    deps.remove(3, rs)  # never added: no-op
    assert len(deps) == 1
    deps.remove(2, rs)
    assert deps.stats() == {"owners": 0, "tables": {}, "sql_readers": {}}


def test_dependency_index_ignores_indexes_without_key_function() -> None:
    deps = DependencyIndex()
    deps.add("q", ReadSet.build([("m", "dropped", b"", b"\xff"), ("m", "kept", b"a", b"b")]))
    assert hits(deps, "m", "x", None, doc("x", dropped=b"a", kept=b"z")) == set()
    assert hits(deps, "m", "x", None, doc("x", dropped=b"a", kept=b"a")) == {"q"}
    assert deps.owners_of_table("m") == {"q"}


def test_dependency_index_owner_with_empty_read_set() -> None:
    deps = DependencyIndex()
    deps.add("nothing", ReadSet())
    assert len(deps) == 1
    assert deps.owners_of_table("*") == {"nothing"}
    assert deps.owners_of_table("m") == set()
    deps.remove("nothing", ReadSet())
    assert len(deps) == 0


TABLES = ["t", "u"]
INDEXES = ["i", "j", "dropped"]
IDS = ["d0", "d1", "d2"]
OWNERS = ["A", "B", "C", "D"]


@st.composite
def read_sets(draw: st.DrawFn) -> ReadSet:
    intervals = draw(
        st.lists(
            st.tuples(st.sampled_from(TABLES), st.sampled_from(INDEXES), short_bytes, short_bytes),
            max_size=4,
        )
    )
    points = draw(st.lists(st.tuples(st.sampled_from(TABLES), st.sampled_from(IDS)), max_size=2))
    tables = draw(st.lists(st.sampled_from(TABLES), max_size=1))
    return ReadSet.build(intervals, points, tables)


maybe_doc = st.one_of(
    st.none(),
    st.builds(
        lambda i, j, dropped: {"i": i, "j": j, "dropped": dropped},
        short_bytes,
        short_bytes,
        short_bytes,
    ),
)


class DependencyIndexMachine(RuleBasedStateMachine):
    """The engine's use: an owner's read set is replaced (remove old, add new) or dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.deps = DependencyIndex()
        self.model: dict[str, ReadSet] = {}

    @rule(owner=st.sampled_from(OWNERS), rs=read_sets())
    def set_read_set(self, owner: str, rs: ReadSet) -> None:
        old = self.model.get(owner)
        if old is not None:
            self.deps.remove(owner, old)
        self.deps.add(owner, rs)
        self.model[owner] = rs

    @rule(owner=st.sampled_from(OWNERS))
    def drop(self, owner: str) -> None:
        old = self.model.pop(owner, None)
        if old is not None:
            self.deps.remove(owner, old)

    @rule(table=st.sampled_from(TABLES), doc_id=st.sampled_from(IDS), old=maybe_doc, new=maybe_doc)
    def write(
        self, table: str, doc_id: str, old: dict[str, bytes] | None, new: dict[str, bytes] | None
    ) -> None:
        old_doc = None if old is None else doc(doc_id, **old)
        new_doc = None if new is None else doc(doc_id, **new)
        keys: dict[str, list[bytes]] = {}
        for index in INDEXES:
            kf = key_fn(table, index)
            if kf is not None:
                keys[index] = write_keys(index, kf, old_doc, new_doc)
        expected = {o for o, rs in self.model.items() if rs.covers(table, doc_id, keys)}
        assert hits(self.deps, table, doc_id, old_doc, new_doc) == expected

    @rule(table=st.sampled_from([*TABLES, "*", "zzz"]))
    def owners_of_table(self, table: str) -> None:
        if table == "*":
            expected = set(self.model)
        else:
            expected = {o for o, rs in self.model.items() if table in rs.tables_read()}
        assert self.deps.owners_of_table(table) == expected

    @invariant()
    def sizes(self) -> None:
        assert len(self.deps) == len(self.model)
        stats = self.deps.stats()
        # no table, index or point is kept once nobody reads it
        read = set().union(
            *({t for t, *_ in rs.intervals} | {t for t, _ in rs.points} for rs in self.model.values())
        )
        assert set(stats["tables"]) == read
        sql_read = set().union(*(rs.tables for rs in self.model.values()))
        assert set(stats["sql_readers"]) == {t.lower() for t in sql_read}
        for t, s in stats["tables"].items():
            live = {i for rs in self.model.values() for tt, i, _, _ in rs.intervals if tt == t}
            assert set(s["indexes"]) == live
            assert s["points"] == len(
                {i for rs in self.model.values() for tt, i in rs.points if tt == t}
            )


DependencyIndexMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDependencyIndexModel = DependencyIndexMachine.TestCase
