"""Storage end to end: what goes into DuckDB comes back exactly (SPEC §1.1, §1.2, §1.10).

Close and reopen a DuckDB-file app and get back every document (schemaless and
typed fields, special floats, bytes, missing versus null, nested values, ids as
``nr.Id``), the indexes and the schema; ``app.sql`` with native column types,
read-only (also through EXPLAIN ANALYZE, WITH clauses and PRAGMAs), with ``?`` and
``$name`` parameters; ``set_schema`` refusals and normalization;
bulk import (list, pyarrow, pandas) and export (Parquet, JSON Lines).
"""

from __future__ import annotations

import itertools
import json
import math
import struct
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbreactive as nr
from nbreactive import v
from nbreactive.values import stored
from nbreactive.values.wire import from_wire
from tests.strategies import (
    byte_strings,
    convex_values,
    documents,
    float64s,
    int64s,
    same_value,
    strings,
)

_counter = itertools.count()


def _bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def exact(a: Any, b: Any) -> bool:
    """``same_value`` that also requires ``nr.Id`` on both sides, with the same table."""
    if type(a) is nr.Id or type(b) is nr.Id:
        return type(a) is type(b) and a == b and a.table == b.table
    if type(a) is list and type(b) is list:
        return len(a) == len(b) and all(exact(x, y) for x, y in zip(a, b))
    if type(a) is dict and type(b) is dict:
        return a.keys() == b.keys() and all(exact(a[k], b[k]) for k in a)
    return same_value(a, b)


def _fresh(tmp_path: Path) -> Path:
    return tmp_path / f"db{next(_counter)}.duckdb"


def _register(app: nr.App) -> None:
    @app.mutation
    def put(ctx, table, docs):
        return [ctx.db.insert(table, d) for d in docs]

    @app.query
    def everything(ctx, table):
        return ctx.db.query(table).collect()


def _jsonl_lines(path: Path) -> list[bytes]:
    """The records of a JSON Lines file (split on "\\n" only: U+0085 and U+2028 are data)."""
    data = path.read_bytes()
    assert data.endswith(b"\n") or data == b""
    return data.split(b"\n")[:-1]


def _all(app: nr.App, table: str) -> list[dict[str, Any]]:
    return app.run_query("everything", {"table": table})


HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ---------------------------------------------------------------------------
# schemaless round trip (hypothesis)
# ---------------------------------------------------------------------------


@HYPOTHESIS
@given(docs=st.lists(documents(), min_size=1, max_size=6))
def test_schemaless_documents_survive_close_and_reopen_exactly(tmp_path, docs):
    path = _fresh(tmp_path)
    with nr.App(path) as app:
        _register(app)
        ids = app.run_mutation("put", {"table": "stuff", "docs": docs})
        before = _all(app, "stuff")
        assert [d["_id"] for d in before] == ids
        for got, sent in zip(before, docs):
            body = {k: x for k, x in got.items() if k not in ("_id", "_creationTime")}
            assert same_value(body, sent), (body, sent)
    with nr.App(path) as again:
        _register(again)
        after = _all(again, "stuff")
        assert len(after) == len(before)
        for a, b in zip(after, before):
            assert exact(a, b), (a, b)
            assert a["_id"].table == "stuff"
        # and the JSON Lines export decodes to the same documents
        out = path.with_suffix(".jsonl")
        assert again.export_jsonl("stuff", out) == len(docs)
        lines = _jsonl_lines(out)
        assert len(lines) == len(after)
        for line, doc in zip(lines, after):
            assert same_value(from_wire(json.loads(line)), doc)


# ---------------------------------------------------------------------------
# typed fields round trip (hypothesis and named cases)
# ---------------------------------------------------------------------------

THINGS = nr.define_table(
    {
        "i": v.int64(),
        "f": v.float64(),
        "n": v.number(),
        "s": v.string(),
        "b": v.boolean(),
        "by": v.bytes(),
        "opt": v.optional(v.int64()),
        "nul": v.nullable(v.float64()),
        "anyv": v.optional(v.any()),
        "arr": v.array(v.any()),
        "obj": v.object({"k": v.any(), "o": v.optional(v.string())}),
        "ref": v.id("users"),
        "refs": v.array(v.id("users")),
        "maybe_ref": v.optional(v.union(v.id("users"), v.null())),
    }
)
SCHEMA = nr.define_schema(
    {
        "users": nr.define_table({"name": v.string()}),
        "things": THINGS.index("by_f", ["f"]).index("by_s_opt", ["s", "opt"]).index("by_i", ["i"]),
    }
)

_MISSING = object()


@st.composite
def things(draw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "i": draw(int64s),
        "f": draw(float64s),
        "n": draw(st.one_of(float64s, st.integers(-(2**53), 2**53))),
        "s": draw(strings),
        "b": draw(st.booleans()),
        "by": draw(byte_strings),
        "nul": draw(st.one_of(st.none(), float64s)),
        "arr": draw(st.lists(convex_values(8), max_size=4)),
        "obj": {"k": draw(convex_values(8))},
        "ref": draw(st.integers(0, 2)),  # an index into the users, replaced by a real id
        "refs": draw(st.lists(st.integers(0, 2), max_size=3)),
    }
    for name, strat in (
        ("opt", int64s),
        ("anyv", convex_values(8)),
        ("maybe_ref", st.one_of(st.none(), st.integers(0, 2))),
    ):
        value = draw(st.one_of(st.just(_MISSING), strat))
        if value is not _MISSING:
            doc[name] = value
    if draw(st.booleans()):
        doc["obj"]["o"] = draw(strings)
    return doc


def _with_user_ids(doc: dict[str, Any], users: list[nr.Id]) -> dict[str, Any]:
    out = dict(doc)
    out["ref"] = users[doc["ref"]]
    out["refs"] = [users[k] for k in doc["refs"]]
    if isinstance(out.get("maybe_ref"), int):
        out["maybe_ref"] = users[out["maybe_ref"]]
    return out


def _check_ids(doc: dict[str, Any]) -> None:
    assert type(doc["_id"]) is nr.Id and doc["_id"].table == "things"
    assert type(doc["ref"]) is nr.Id and doc["ref"].table == "users"
    assert all(type(r) is nr.Id and r.table == "users" for r in doc["refs"])
    if doc.get("maybe_ref") is not None:
        assert type(doc["maybe_ref"]) is nr.Id and doc["maybe_ref"].table == "users"


@HYPOTHESIS
@given(drawn=st.lists(things(), min_size=1, max_size=5))
def test_typed_fields_survive_close_and_reopen_exactly(tmp_path, drawn):
    path = _fresh(tmp_path)
    with nr.App(path) as app:
        app.set_schema(SCHEMA)
        _register(app)
        users = app.run_mutation(
            "put", {"table": "users", "docs": [{"name": f"u{k}"} for k in range(3)]}
        )
        docs = [_with_user_ids(d, users) for d in drawn]
        app.run_mutation("put", {"table": "things", "docs": docs})
        before = _all(app, "things")
        for got, sent in zip(before, docs):
            _check_ids(got)
            assert type(got["n"]) is float  # v.number() stores a float, even from an int
            assert float(sent["n"]) == got["n"] or math.isnan(got["n"])
            body = {k: x for k, x in got.items() if k not in ("_id", "_creationTime")}
            sent_norm = dict(sent, n=float(sent["n"]))
            assert same_value(body, sent_norm), (body, sent_norm)
    with nr.App(path) as again:
        _register(again)
        after = _all(again, "things")
        assert len(after) == len(before)
        for a, b in zip(after, before):
            assert exact(a, b), (a, b)
            _check_ids(a)


# (case, field, value) — each one stored, reopened and compared exactly
TYPED_CASES = [
    ("int64 min", "i", -(2**63)),
    ("int64 max", "i", 2**63 - 1),
    ("int64 above 2^53", "i", 2**53 + 1),
    ("float that looks whole stays float", "f", 3.0),
    ("negative zero keeps its sign", "f", -0.0),
    ("NaN", "f", math.nan),
    ("NaN with a payload", "f", struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_1234))[0]),
    ("negative NaN", "f", struct.unpack("<d", struct.pack("<Q", 0xFFF8_0000_0000_0000))[0]),
    ("+inf", "f", math.inf),
    ("-inf", "f", -math.inf),
    ("smallest subnormal", "f", 5e-324),
    ("number from int", "n", 7),
    ("empty string", "s", ""),
    ("string above the BMP", "s", "😀 é \x00 nul"),
    ("bytes with zeros", "by", b"\x00\xff\x00"),
    ("empty bytes", "by", b""),
    ("optional missing", "opt", _MISSING),
    ("optional present", "opt", 0),
    ("nullable null", "nul", None),
    ("nullable -0.0", "nul", -0.0),
    ("any: missing", "anyv", _MISSING),
    ("any: null (not missing)", "anyv", None),
    ("any: int stays int", "anyv", 1),
    ("any: float stays float", "anyv", 1.0),
    ("any: NaN", "anyv", math.nan),
    ("any: bytes", "anyv", b"\x01"),
    ("any: nested", "anyv", {"a": [1, 2.0, None, {"b": [b"x", [], {}]}], "c": -0.0}),
    ("array with mixed types", "arr", [1, 1.0, "1", b"1", True, None, [1], {"x": 1}]),
    ("nested arrays", "arr", [[[[[[[[[["deep"]]]]]]]]]]),
    ("object with null inside", "obj", {"k": None}),
    ("object with optional field", "obj", {"k": [], "o": "here"}),
    ("id list empty", "refs", []),
    ("maybe_ref null", "maybe_ref", None),
]

BASE_THING = {
    "i": 1,
    "f": 1.5,
    "n": 2.5,
    "s": "s",
    "b": False,
    "by": b"b",
    "nul": 1.0,
    "arr": [],
    "obj": {"k": 1},
    "ref": 0,
    "refs": [0, 1],
}


@pytest.fixture
def typed_file(tmp_path: Path) -> Iterator[tuple[Path, list[dict[str, Any]], list[dict[str, Any]]]]:
    """A file with one ``things`` document per TYPED_CASES entry; yields (path, sent, stored)."""
    path = tmp_path / "typed.duckdb"
    with nr.App(path) as app:
        app.set_schema(SCHEMA)
        _register(app)
        users = app.run_mutation(
            "put", {"table": "users", "docs": [{"name": f"u{k}"} for k in range(3)]}
        )
        sent = []
        for _, field, value in TYPED_CASES:
            doc = dict(BASE_THING)
            if value is _MISSING:
                doc.pop(field, None)
            else:
                doc[field] = value
            sent.append(_with_user_ids(doc, users))
        app.run_mutation("put", {"table": "things", "docs": sent})
        before = _all(app, "things")
    yield path, sent, before


@pytest.mark.parametrize(("case", "field", "value"), TYPED_CASES, ids=[c[0] for c in TYPED_CASES])
def test_typed_value_round_trip(typed_file, case, field, value):
    path, _, before = typed_file
    k = [c[0] for c in TYPED_CASES].index(case)
    with nr.App(path) as again:
        _register(again)
        after = _all(again, "things")[k]
    assert exact(after, before[k])
    _check_ids(after)
    if value is _MISSING:
        assert field not in after
    else:
        expected = float(value) if field == "n" else value
        assert same_value(after[field], expected), (after[field], expected)


NAN_COLUMNS = [
    ("negative NaN", 0xFFF8_0000_0000_0000),
    ("NaN with a payload", 0x7FF8_0000_0000_1234),
    ("negative zero", 0x8000_0000_0000_0000),
]


@pytest.mark.parametrize("pattern", [b for _, b in NAN_COLUMNS], ids=[n for n, _ in NAN_COLUMNS])
def test_float_column_holding_one_special_value_keeps_its_bits(tmp_path, pattern):
    # A native DOUBLE column whose values are all the same NaN: DuckDB may store the
    # segment as a constant at checkpoint time; the bits must still come back.
    value = struct.unpack("<d", struct.pack("<Q", pattern))[0]
    path = tmp_path / "nan.duckdb"
    schema = nr.define_schema({"m": nr.define_table({"f": v.float64()}).index("by_f", ["f"])})
    with nr.App(path) as app:
        app.set_schema(schema)
        _register(app)
        app.run_mutation("put", {"table": "m", "docs": [{"f": value}] * 3})
    with nr.App(path) as again:
        _register(again)
        got = [d["f"] for d in _all(again, "m")]
    assert [hex(_bits(x)) for x in got] == [hex(pattern)] * 3


def _deepest() -> Any:
    deep: Any = "bottom"
    for _ in range(15):  # the document itself is level 1: 16 levels in all (Convex's maximum)
        deep = [deep]
    return deep


def test_document_at_the_maximum_nesting_depth_survives_reopen(tmp_path):
    path = tmp_path / "deep.duckdb"
    deep = _deepest()

    def register(app: nr.App) -> None:
        @app.mutation
        def store_deep(ctx):
            return ctx.db.insert("deep", {"v": deep})

        @app.query
        def first(ctx):
            return ctx.db.query("deep").first()

    with nr.App(path) as app:
        register(app)
        app.run_mutation("store_deep")
        before = app.run_query("first")
    with nr.App(path) as again:
        register(again)
        after = again.run_query("first")
    assert exact(after, before)
    assert after["v"] == deep


def test_a_query_may_return_a_list_of_documents_at_the_maximum_depth():
    # Convex limits documents to 16 levels but function arguments and return values
    # to 64 (convex-semantics §1.3), so collect() of such documents can be returned.
    with nr.App() as app:
        _register(app)

        @app.mutation
        def store_deep(ctx):
            return ctx.db.insert("deep", {"v": _deepest()})

        store_deep()
        assert _all(app, "deep")[0]["v"] == _deepest()


def test_missing_and_null_differ_in_sql_too(typed_file):
    path, _, _ = typed_file
    with nr.App(path) as again:
        rows = again.sql("SELECT anyv FROM things").to_pylist()
    values = [r["anyv"] for r in rows]
    k_missing = [c[0] for c in TYPED_CASES].index("any: missing")
    k_null = [c[0] for c in TYPED_CASES].index("any: null (not missing)")
    assert values[k_missing] is None  # SQL NULL: the field is missing
    assert values[k_null] == "null"  # JSON null: the field holds null


# ---------------------------------------------------------------------------
# ids after reopening: the table their text names, and the same Python type
# ---------------------------------------------------------------------------

ID_UNIONS = nr.define_schema(
    {
        "users": nr.define_table({"name": v.string()}),
        "posts": nr.define_table({"title": v.string()}),
        "refs": nr.define_table(
            {
                "either": v.union(v.id("users"), v.id("posts")),
                "many": v.array(v.union(v.id("users"), v.id("posts"))),
                "by_key": v.record(v.string(), v.union(v.id("users"), v.id("posts"))),
                "or_text": v.union(v.id("users"), v.string()),
                "nullable": v.union(v.id("posts"), v.null()),
            }
        ),
        # documents that are a union of shapes: stored in one JSON column
        "shapes": nr.define_table(
            v.union(
                v.object({"kind": v.literal("u"), "ref": v.id("users")}),
                v.object({"kind": v.literal("p"), "ref": v.id("posts")}),
            )
        ),
    }
)


def _register_refs(app: nr.App) -> None:
    _register(app)

    @app.query
    def follow(ctx):
        d = ctx.db.query("refs").first()
        s = ctx.db.query("shapes").collect()
        return [
            ctx.db.get(d["either"])["title"],
            [sorted(ctx.db.get(r)) for r in d["many"]],
            ctx.db.get(d["by_key"]["p"])["title"],
            [ctx.db.get(x["ref"]) is not None for x in s],
        ]


def test_ids_in_unions_of_id_types_keep_their_table_after_reopen(tmp_path):
    path = tmp_path / "unions.duckdb"
    with nr.App(path) as app:
        app.set_schema(ID_UNIONS)
        _register_refs(app)
        [u] = app.run_mutation("put", {"table": "users", "docs": [{"name": "ann"}]})
        [p] = app.run_mutation("put", {"table": "posts", "docs": [{"title": "hello"}]})
        doc = {
            "either": p,
            "many": [u, p],
            "by_key": {"u": u, "p": str(p)},
            "or_text": str(p),  # a posts id is no users id: the v.string() member takes it
            "nullable": p,
        }
        app.run_mutation("put", {"table": "refs", "docs": [doc]})
        app.run_mutation(
            "put", {"table": "shapes", "docs": [{"kind": "u", "ref": u}, {"kind": "p", "ref": p}]}
        )
        before = _all(app, "refs") + _all(app, "shapes")
        followed = app.run_query("follow")
    got = before[0]
    assert [got["either"].table, [r.table for r in got["many"]]] == ["posts", ["users", "posts"]]
    assert type(got["or_text"]) is str and got["nullable"].table == "posts"
    assert [d["ref"].table for d in before[1:]] == ["users", "posts"]
    with nr.App(path) as again:
        _register_refs(again)
        after = _all(again, "refs") + _all(again, "shapes")
        assert len(after) == len(before)
        for a, b in zip(after, before):
            assert exact(a, b), (a, b)
        assert again.run_query("follow") == followed


def test_a_file_whose_data_does_not_fit_its_unchecked_schema_reopens_as_stored(tmp_path):
    # schema_validation=False keeps documents as they are: loading must neither fail on
    # them nor turn a string that is no id into one.
    path = tmp_path / "unchecked.duckdb"
    with nr.App(path) as app:
        _register(app)
        app.run_mutation("put", {"table": "t", "docs": [{"refs": [1, 2], "u": "hello"}]})
        app.set_schema(
            nr.define_schema(
                {
                    "users": nr.define_table({"name": v.string()}),
                    "t": nr.define_table(
                        {"refs": v.array(v.id("users")), "u": v.union(v.id("users"), v.null())}
                    ),
                },
                schema_validation=False,
            )
        )
        before = _all(app, "t")
    with nr.App(path) as again:
        _register(again)
        after = _all(again, "t")
    assert exact(after, before)
    assert [after[0]["refs"], type(after[0]["u"])] == [[1, 2], str]


# Where an Id is written, and the Python type the schema gives it there: an Id
# only in v.id positions, a plain str everywhere else.
UNTYPED = {
    "schemaless table": (None, lambda u: {"ref": u, "refs": [u], "m": {"k": u}}, str),
    "v.any() field": (v.any(), lambda u: {"ref": u, "refs": [u]}, str),
    "v.string() field": (v.string(), lambda u: u, str),
    "v.array(v.string())": (v.array(v.string()), lambda u: [u], str),
    "v.record(v.string(), v.any())": (v.record(v.string(), v.any()), lambda u: {"k": u}, str),
    "v.union(v.string(), v.id())": (v.union(v.string(), v.id("users")), lambda u: u, str),
    "v.union(v.id(), v.string())": (v.union(v.id("users"), v.string()), lambda u: u, nr.Id),
    "v.union(v.id(), v.null())": (v.union(v.id("users"), v.null()), lambda u: u, nr.Id),
    "v.id() field": (v.id("users"), lambda u: u, nr.Id),
    "v.array(v.id())": (v.array(v.id("users")), lambda u: [u], nr.Id),
}


def _types(value: Any) -> list[type]:
    if type(value) is dict:
        return [t for x in value.values() for t in _types(x)]
    if type(value) is list:
        return [t for x in value for t in _types(x)]
    return [type(value)]


@pytest.mark.parametrize("where", list(UNTYPED))
def test_an_id_has_the_type_its_schema_gives_before_and_after_reopen(tmp_path, where):
    validator, make, want = UNTYPED[where]
    tables: dict[str, Any] = {"users": nr.define_table({"name": v.string()})}
    if validator is not None:
        tables["t"] = nr.define_table({"a": validator})
    schema = nr.define_schema(tables, strict_table_name_types=False)

    def register(app: nr.App) -> None:
        _register(app)

        @app.mutation
        def rewrite(ctx, how):
            d = ctx.db.query("t").first()
            body = {k: x for k, x in d.items() if not k.startswith("_")}
            if how == "patch":
                ctx.db.patch(d["_id"], body)
            else:
                ctx.db.replace(d["_id"], body)

        @app.query
        def deref(ctx):
            d = ctx.db.query("t").first()
            return [ctx.db.get(r)["name"] for r in _refs(d)]

    def run(app: nr.App) -> list[Any]:
        register(app)
        app.set_schema(schema)
        [u] = app.run_mutation("put", {"table": "users", "docs": [{"name": "ann"}]})
        assert type(u) is nr.Id
        body = {"a": make(u)} if validator is not None else make(u)
        app.run_mutation("put", {"table": "t", "docs": [body]})
        got = _all(app, "t")
        for how in ("patch", "replace"):  # rewriting the stored document keeps its types
            app.run_mutation("rewrite", {"how": how})
            assert exact(_all(app, "t"), got)
        # a plain str id still reads its document
        assert app.run_query("deref") == ["ann"] * len(_refs(got[0]))
        return got

    with nr.App(tmp_path / "a.duckdb") as app:
        before = run(app)
    with nr.App() as memory:
        in_memory = run(memory)
    body = {k: x for k, x in before[0].items() if not k.startswith("_")}
    assert set(_types(body)) == {want}
    with nr.App(tmp_path / "a.duckdb") as again:
        register(again)
        after = _all(again, "t")
        assert again.run_query("deref") == ["ann"] * len(_refs(after[0]))
    assert exact(after, before)
    assert _types(in_memory[0]) == _types(before[0])


@pytest.mark.parametrize("where", [w for w in UNTYPED if UNTYPED[w][0] is not None])
def test_imports_and_set_schema_give_an_id_the_type_its_schema_gives(tmp_path, where):
    """The other two write paths: ``import_documents`` into a table with a schema, and
    ``set_schema`` over documents written before it."""
    validator, make, want = UNTYPED[where]
    users = nr.define_table({"name": v.string()})
    schema = nr.define_schema({"users": users, "t": nr.define_table({"a": validator}),
                               "later": nr.define_table({"a": validator})})
    path = tmp_path / "b.duckdb"
    with nr.App(path) as app:
        _register(app)
        app.set_schema(nr.define_schema({"users": users}, strict_table_name_types=False))
        [u] = app.run_mutation("put", {"table": "users", "docs": [{"name": "ann"}]})
        app.run_mutation("put", {"table": "later", "docs": [{"a": make(u)}]})
        app.set_schema(schema)
        app.import_documents("t", [{"a": make(u)}], progress=False)
        before = {t: _all(app, t) for t in ("t", "later")}
    for t in ("t", "later"):
        assert set(_types(before[t][0]["a"])) == {want}, t
    with nr.App(path) as again:
        _register(again)
        after = {t: _all(again, t) for t in ("t", "later")}
    for t in ("t", "later"):
        assert exact(after[t], before[t]), t


def _refs(doc: dict[str, Any]) -> list[str]:
    return [x for k, x in doc.items() if not k.startswith("_") for x in _leaves(x)]


def _leaves(value: Any) -> list[Any]:
    if type(value) is dict:
        return [y for x in value.values() for y in _leaves(x)]
    if type(value) is list:
        return [y for x in value for y in _leaves(x)]
    return [value]


def test_imported_ids_outside_id_fields_are_plain_strings():
    # App.import_documents into a table without a schema: the same rule as insert.
    with nr.App() as app:
        _register(app)
        [u] = app.run_mutation("put", {"table": "users", "docs": [{"name": "ann"}]})
        app.import_documents("t", [{"ref": u, "refs": [u]}], progress=False)
        [d] = _all(app, "t")
    assert [type(d["ref"]), type(d["refs"][0]), type(d["_id"])] == [str, str, nr.Id]


# ---------------------------------------------------------------------------
# indexes and schema after reopening
# ---------------------------------------------------------------------------

F_VALUES = [3.5, -0.0, 0.0, -math.inf, math.nan, 1e300, -2.0, math.inf]
F_ORDER = [-math.inf, -2.0, -0.0, 0.0, 3.5, 1e300, math.inf, math.nan]  # IEEE total order


def test_indexes_and_schema_after_reopen(tmp_path):
    path = tmp_path / "idx.duckdb"
    with nr.App(path) as app:
        app.set_schema(SCHEMA)
        _register(app)
        (user,) = app.run_mutation("put", {"table": "users", "docs": [{"name": "u"}]})
        docs = []
        for k, f in enumerate(F_VALUES):
            doc = dict(BASE_THING, f=f, i=k, s="ab"[k % 2], ref=user, refs=[])
            if k % 3:
                doc["opt"] = k
            docs.append(doc)
        app.run_mutation("put", {"table": "things", "docs": docs})

    with nr.App(path) as again:
        assert again.schema == SCHEMA
        assert again.tables() == ["things", "users"]

        @again.query
        def by_f(ctx, order):
            return [
                d["f"] for d in ctx.db.query("things").with_index("by_f").order(order).collect()
            ]

        @again.query
        def f_range(ctx):
            rng = ctx.db.query("things").with_index(
                "by_f", lambda q: q.gte("f", -0.0).lt("f", math.inf)
            )
            return [d["f"] for d in rng.collect()]

        @again.query
        def by_s_opt(ctx):
            return [
                [d["s"], d.get("opt")]
                for d in ctx.db.query("things").with_index("by_s_opt").collect()
            ]

        @again.query
        def missing_opt(ctx):
            q = ctx.db.query("things").with_index(
                "by_s_opt", lambda q: q.eq("s", "a").eq("opt", nr.UNDEFINED)
            )
            return [d["i"] for d in q.collect()]

        @again.query
        def by_i_desc(ctx):
            return [d["i"] for d in ctx.db.query("things").with_index("by_i").order("desc").take(3)]

        assert [_bits(x) for x in by_f(order="asc")] == [_bits(x) for x in F_ORDER]
        assert [_bits(x) for x in by_f(order="desc")] == [_bits(x) for x in reversed(F_ORDER)]
        assert [_bits(x) for x in f_range()] == [_bits(x) for x in [-0.0, 0.0, 3.5, 1e300]]
        # missing sorts before any value; then _creationTime
        assert by_s_opt() == [
            ["a", None],
            ["a", None],
            ["a", 2],
            ["a", 4],
            ["b", None],
            ["b", 1],
            ["b", 5],
            ["b", 7],
        ]
        assert missing_opt() == [0, 6]
        assert by_i_desc() == [7, 6, 5]


def test_index_added_by_set_schema_works_and_persists(tmp_path):
    path = tmp_path / "newidx.duckdb"
    plain = nr.define_schema({"pets": nr.define_table({"name": v.string(), "age": v.int64()})})
    indexed = nr.define_schema(
        {"pets": nr.define_table({"name": v.string(), "age": v.int64()}).index("by_age", ["age"])}
    )

    def oldest(app: nr.App) -> list[str]:
        @app.query
        def oldest_first(ctx):
            return [
                p["name"] for p in ctx.db.query("pets").with_index("by_age").order("desc").collect()
            ]

        return app.run_query("oldest_first")

    with nr.App(path) as app:
        app.set_schema(plain)
        _register(app)
        app.run_mutation(
            "put",
            {
                "table": "pets",
                "docs": [
                    {"name": "rex", "age": 3},
                    {"name": "tom", "age": 9},
                    {"name": "kit", "age": 1},
                ],
            },
        )
        app.set_schema(indexed)
        assert oldest(app) == ["tom", "rex", "kit"]
    with nr.App(path) as again:
        assert again.schema == indexed
        assert oldest(again) == ["tom", "rex", "kit"]


# ---------------------------------------------------------------------------
# app.sql
# ---------------------------------------------------------------------------


@pytest.fixture
def sql_app(tmp_path: Path) -> Iterator[nr.App]:
    with nr.App(tmp_path / "sql.duckdb") as app:
        app.set_schema(SCHEMA)
        _register(app)
        users = app.run_mutation(
            "put", {"table": "users", "docs": [{"name": "ann"}, {"name": "bob"}]}
        )
        app.run_mutation(
            "put",
            {
                "table": "things",
                "docs": [
                    dict(
                        BASE_THING,
                        i=k,
                        s=f"s{k}",
                        ref=users[k % 2],
                        refs=[users[0]],
                        arr=[k, "x"],
                        opt=k,
                    )
                    for k in range(5)
                ],
            },
        )
        yield app


NATIVE_ARROW_TYPES = [
    ("_id", pa.string()),
    ("_creationTime", pa.float64()),
    ("i", pa.int64()),
    ("f", pa.float64()),
    ("n", pa.float64()),
    ("s", pa.string()),
    ("b", pa.bool_()),
    ("by", pa.binary()),
    ("opt", pa.int64()),
    ("ref", pa.string()),
]


@pytest.mark.parametrize(
    ("column", "arrow_type"), NATIVE_ARROW_TYPES, ids=[c for c, _ in NATIVE_ARROW_TYPES]
)
def test_sql_returns_native_column_types_for_scalar_fields(sql_app, column, arrow_type):
    table = sql_app.sql("SELECT * FROM things")
    assert isinstance(table, pa.Table)
    assert table.schema.field(column).type == arrow_type


JSON_COLUMNS = ["nul", "anyv", "arr", "obj", "refs", "maybe_ref"]


def test_sql_stores_nested_and_union_fields_as_json(sql_app):
    types = {
        r["column_name"]: r["data_type"]
        for r in sql_app.sql(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
            ["things"],
        ).to_pylist()
    }
    for column in JSON_COLUMNS:
        assert types[column] == "JSON", (column, types[column])
    assert types["i"] == "BIGINT"
    assert types["f"] == "DOUBLE"
    assert types["s"] == "VARCHAR"
    assert types["b"] == "BOOLEAN"
    assert types["by"] == "BLOB"
    # JSON is queryable with DuckDB's JSON functions
    rows = sql_app.sql(
        "SELECT i, arr->>'$[1]' AS second, json_array_length(arr) AS n FROM things ORDER BY i"
    )
    assert rows.to_pylist()[0] == {"i": 0, "second": "x", "n": 2}


def test_sql_values_are_the_documents_values(sql_app):
    docs = {d["_id"]: d for d in _all(sql_app, "things")}
    rows = sql_app.sql(
        'SELECT "_id", "_creationTime", i, f, s, b, "by", ref FROM things'
    ).to_pylist()
    assert len(rows) == len(docs) == 5
    for r in rows:
        d = docs[r["_id"]]
        assert r["_creationTime"] == d["_creationTime"]
        assert (r["i"], r["f"], r["s"], r["b"], r["by"], r["ref"]) == (
            d["i"],
            d["f"],
            d["s"],
            d["b"],
            d["by"],
            d["ref"],
        )


def test_sql_on_a_schemaless_table_has_a_json_doc_column(tmp_path):
    with nr.App() as app:
        _register(app)
        app.run_mutation("put", {"table": "loose", "docs": [{"a": 1, "b": [1.5]}]})
        table = app.sql("SELECT * FROM loose")
        assert table.column_names == ["_id", "_creationTime", "_doc"]
        assert app.sql("SELECT (_doc->>'$.a')::BIGINT AS a FROM loose").to_pylist() == [{"a": 1}]


def test_sql_sees_every_acknowledged_write_immediately():
    with nr.App() as app:
        _register(app)
        for k in range(30):
            app.run_mutation("put", {"table": "loose", "docs": [{"k": k}]})
            assert app.sql("SELECT count(*) AS c FROM loose").to_pylist() == [{"c": k + 1}]


def test_sql_over_a_schema_table_without_documents_yet():
    with nr.App() as app:
        app.set_schema(SCHEMA)
        assert app.sql("SELECT count(*) AS c FROM things").to_pylist() == [{"c": 0}]


SQL_PARAMS = [
    ("list", "SELECT s FROM things WHERE i >= ? AND s <> ? ORDER BY i", [2, "s3"], ["s2", "s4"]),
    ("tuple", "SELECT s FROM things WHERE i = ?", (1,), ["s1"]),
    ("string param", "SELECT s FROM things WHERE s = ?", ["s4"], ["s4"]),
    ("no match", "SELECT s FROM things WHERE i > ?", [100], []),
]


@pytest.mark.parametrize(
    ("sql", "params", "expected"), [c[1:] for c in SQL_PARAMS], ids=[c[0] for c in SQL_PARAMS]
)
def test_sql_positional_parameters(sql_app, sql, params, expected):
    assert [r["s"] for r in sql_app.sql(sql, params).to_pylist()] == expected


def test_sql_named_parameters(sql_app):
    rows = sql_app.sql("SELECT s FROM things WHERE i >= $lo AND s <> $not ORDER BY i", {"lo": 2, "not": "s3"})
    assert [r["s"] for r in rows.to_pylist()] == ["s2", "s4"]


ITERABLE_SQL_PARAMS = [
    ("range", lambda: range(2, 4), ["s2", "s3"]),
    ("generator", lambda: (i for i in (2, 3)), ["s2", "s3"]),
    ("iterator", lambda: iter([2, 3]), ["s2", "s3"]),
    ("dict values", lambda: {"a": 2, "b": 3}.values(), ["s2", "s3"]),
]


@pytest.mark.parametrize(
    ("make", "expected"), [c[1:] for c in ITERABLE_SQL_PARAMS], ids=[c[0] for c in ITERABLE_SQL_PARAMS]
)
def test_sql_positional_parameters_from_any_iterable(sql_app, make, expected):
    """``params`` took any iterable (``list(params)``) before only lists and tuples
    were: ``range(1, 3)`` and generators keep working, in app.sql and ctx.db.sql."""
    sql = "SELECT s FROM things WHERE i >= ? AND i <= ? ORDER BY i"
    assert [r["s"] for r in sql_app.sql(sql, make()).to_pylist()] == expected

    @sql_app.query()
    def through_ctx(ctx: Any) -> list[str]:
        return [r["s"] for r in ctx.db.sql(sql, make())]

    assert through_ctx() == expected


def test_sql_named_parameters_from_any_mapping(sql_app):
    params = types.MappingProxyType({"i": 2})
    assert sql_app.sql("SELECT s FROM things WHERE i = $i", params).to_pylist() == [{"s": "s2"}]


BAD_SQL_PARAMS = [
    ("scalar", 5, "list or tuple"),
    ("string", "s1", r"got str 's1' \(one value, not a list of them: write \[value\]\)"),
    ("bytes", b"s1", "one value, not a list of them"),
    ("bytearray", bytearray(b"s1"), "one value, not a list of them"),
    ("memoryview", memoryview(b"s1"), "one value, not a list of them"),
    ("set", {1}, "a set has no order to bind the \\? placeholders by: pass a list"),
    ("frozenset", frozenset({1}), "a set has no order"),
    ("dict with a non-string key", {1: "s1"}, "keys are strings"),
    ("too many", [1, 2], "count mismatch"),
]


@pytest.mark.parametrize(
    ("params", "match"), [c[1:] for c in BAD_SQL_PARAMS], ids=[c[0] for c in BAD_SQL_PARAMS]
)
def test_sql_with_bad_params_is_a_sql_error(sql_app, params, match):
    """``params`` that are not an iterable or a dict once raised a raw ``TypeError``
    (``list(5)``), and a string was split into characters."""
    with pytest.raises(nr.SqlError, match=match):
        sql_app.sql("SELECT s FROM things WHERE i = ?", params)


def test_ctx_db_sql_takes_params_like_app_sql(sql_app):
    @sql_app.query(args={"params": v.any()})
    def things(ctx: Any, params: Any) -> list[str]:
        if isinstance(params, dict):
            return [r["s"] for r in ctx.db.sql("SELECT s FROM things WHERE i = $i", params)]
        return [r["s"] for r in ctx.db.sql("SELECT s FROM things WHERE i = ?", params)]

    assert things(params=[2]) == things(params={"i": 2}) == ["s2"]
    with pytest.raises(nr.SqlError, match="list or tuple"):
        things(params="s1")


def test_sql_params_may_be_numpy_scalars(sql_app):
    """Values taken from a DataFrame (``df.i.max()``) are NumPy scalars: DuckDB refused
    them with "Unable to transform python value of type <class 'numpy.int64'>"."""
    np = pytest.importorskip("numpy")
    sql = "SELECT s FROM things WHERE i >= ? AND s <> ? ORDER BY i"
    rows = sql_app.sql(sql, [np.int64(2), np.str_("s3")]).to_pylist()
    assert [r["s"] for r in rows] == ["s2", "s4"]
    rows = sql_app.sql("SELECT s FROM things WHERE f = $f AND b = $b", {"f": np.float64(1.5), "b": np.bool_(False)})
    assert len(rows) == 5


def test_sql_comparing_a_json_column_with_text_says_how(tmp_path):
    """A union of literals (``role``) is a JSON column: ``role = 'admin'`` failed with
    DuckDB's bare "Malformed JSON ... Input: "admin"", which names neither the column's
    type nor what to write instead."""
    with nr.App() as app:
        app.set_schema(nr.define_schema({"users": nr.define_table(
            {"role": v.union(v.literal("admin"), v.literal("user"))})}))
        app.import_documents("users", [{"role": "admin"}, {"role": "user"}], progress=False)
        for params, sql in [(None, "SELECT count(*) AS c FROM users WHERE role = 'admin'"),
                            (["admin"], "SELECT count(*) AS c FROM users WHERE role = ?")]:
            with pytest.raises(nr.SqlError) as info:
                app.sql(sql, params)
            assert "Malformed JSON" in str(info.value)  # DuckDB's own message stays
            assert "stored as JSON" in str(info.value)
            assert "e.g. field->>'$' = 'admin'" in str(info.value)
        # ... and what the message suggests works:
        rows = app.sql("SELECT count(*) AS c FROM users WHERE role->>'$' = 'admin'").to_pylist()
        assert rows == [{"c": 1}]


REFUSED_SQL = [
    ("INSERT", "INSERT INTO things (\"_id\", i) VALUES ('x', 1)"),
    ("UPDATE", "UPDATE things SET i = 99"),
    ("DELETE", "DELETE FROM things"),
    ("CREATE TABLE", "CREATE TABLE evil (x INT)"),
    ("CREATE TABLE AS", "CREATE TABLE evil AS SELECT * FROM things"),
    ("CREATE VIEW", "CREATE VIEW evil AS SELECT 1"),
    ("DROP", "DROP TABLE things"),
    ("ALTER", "ALTER TABLE things ADD COLUMN evil INT"),
    ("COPY TO", "COPY things TO '/tmp/nbreactive-evil.csv'"),
    ("COPY FROM", "COPY things FROM '/tmp/nbreactive-evil.csv'"),
    ("two statements", "SELECT 1; SELECT 2"),
    ("select then drop", "SELECT 1; DROP TABLE things"),
    ("ATTACH", "ATTACH ':memory:' AS evil"),
    ("SET", "SET threads = 1"),
    ("PRAGMA setting", "PRAGMA threads = 1"),
    ("CALL", "CALL pragma_table_info('things')"),
    # EXPLAIN ANALYZE runs the statement it explains; EXPLAIN is judged by it too
    ("EXPLAIN ANALYZE DELETE", "EXPLAIN ANALYZE DELETE FROM things"),
    ("EXPLAIN ANALYZE UPDATE", "EXPLAIN ANALYZE UPDATE things SET i = 99"),
    ("EXPLAIN ANALYZE INSERT", "EXPLAIN ANALYZE INSERT INTO things (\"_id\", i) VALUES ('x', 1)"),
    ("EXPLAIN ANALYZE CREATE", "EXPLAIN ANALYZE CREATE TABLE evil AS SELECT 1 AS a"),
    ("EXPLAIN (ANALYZE) DELETE", "EXPLAIN (ANALYZE, FORMAT json) DELETE FROM things"),
    ("EXPLAIN DELETE", "EXPLAIN DELETE FROM things"),
    ("EXPLAIN with comments", "EXPLAIN /* x */ ANALYZE -- y\n DELETE FROM things"),
    ("EXPLAIN(ANALYZE)", "EXPLAIN(ANALYZE) DELETE FROM things"),
    # a WITH clause may write although the statement is a SELECT
    ("WITH DELETE", "WITH d AS (DELETE FROM things RETURNING *) SELECT count(*) FROM d"),
    ("WITH UPDATE", "WITH u AS (UPDATE things SET i = 99 RETURNING *) SELECT * FROM u"),
    ("WITH INSERT", "WITH n AS (INSERT INTO things (\"_id\", i) VALUES ('x', 1) RETURNING *) SELECT * FROM n"),
    ("EXPLAIN ANALYZE WITH DELETE",
     "EXPLAIN ANALYZE WITH d AS (DELETE FROM things RETURNING *) SELECT * FROM d"),
    # PRAGMAs that change settings or the database (only reporting ones run)
    ("PRAGMA enable_profiling", "PRAGMA enable_profiling"),
    ("PRAGMA disable_optimizer", "PRAGMA disable_optimizer"),
    ("PRAGMA disable_checkpoint_on_shutdown", "PRAGMA disable_checkpoint_on_shutdown"),
    ("PRAGMA force_checkpoint", 'pragma "force_checkpoint"'),
    ("PRAGMA with a comment", "PRAGMA /* x */ enable_profiling"),
    ("empty", "   "),
    ("syntax error", "SELEC 1"),
    ("unknown table", "SELECT * FROM no_such_table"),
]


@pytest.mark.parametrize("sql", [c[1] for c in REFUSED_SQL], ids=[c[0] for c in REFUSED_SQL])
def test_sql_refuses_anything_but_one_read(sql_app, sql):
    before = sql_app.sql("SELECT * FROM things ORDER BY i").to_pylist()
    with pytest.raises(nr.SqlError) as info:
        sql_app.sql(sql)
    assert isinstance(info.value, nr.NbReactiveError)
    assert sql_app.sql("SELECT * FROM things ORDER BY i").to_pylist() == before
    names = [
        r["table_name"]
        for r in sql_app.sql("SELECT table_name FROM information_schema.tables").to_pylist()
    ]
    assert "evil" not in names
    assert sql_app.count("things") == 5


# Table functions that change settings or the database: a SELECT runs them, so they
# are refused by name (in the parse tree), whatever the spelling.
SIDE_EFFECT_SQL = [
    ("enable_profiling", "SELECT * FROM enable_profiling()", "enable_profiling()"),
    ("enable_profiling, upper case", 'FROM "ENABLE_PROFILING"()', "enable_profiling()"),
    ("enable_profiling in a subquery",
     "SELECT (SELECT count(*) FROM main.enable_profiling()) AS n", "enable_profiling()"),
    ("enable_profiling under EXPLAIN ANALYZE",
     "EXPLAIN ANALYZE SELECT * FROM enable_profiling()", "enable_profiling()"),
    ("enable_logging", "SELECT * FROM enable_logging()", "enable_logging()"),
    ("disable_profiling", "SELECT * FROM disable_profiling()", "disable_profiling()"),
    ("truncate_duckdb_logs", "SELECT * FROM truncate_duckdb_logs()", "truncate_duckdb_logs()"),
    ("checkpoint", "SELECT * FROM checkpoint()", "checkpoint()"),
    ("force_checkpoint", "FROM range(2), force_checkpoint()", "force_checkpoint()"),
    ("checkpoint under SUMMARIZE", "SUMMARIZE SELECT * FROM checkpoint()", "checkpoint()"),
    ("checkpoint and profiling",
     "SELECT * FROM checkpoint(), enable_profiling()",
     "table functions checkpoint() and enable_profiling(), which change"),
    ("json_execute_serialized_sql", "SELECT * FROM json_execute_serialized_sql($$x$$)",
     "json_execute_serialized_sql()"),
]


@pytest.mark.parametrize(
    ("sql", "fragment"), [c[1:] for c in SIDE_EFFECT_SQL], ids=[c[0] for c in SIDE_EFFECT_SQL]
)
def test_sql_refuses_table_functions_that_change_settings(sql_app, tmp_path, capfd, sql, fragment):
    wal = tmp_path / "sql.duckdb.wal"
    assert wal.exists() and wal.stat().st_size > 0  # the fixture's writes, not checkpointed
    wal_size = wal.stat().st_size
    settings = "SELECT current_setting('enable_profiling') AS p, current_setting('enable_logging') AS l"
    before = sql_app.sql(settings).to_pylist()
    capfd.readouterr()
    with pytest.raises(nr.SqlError, match="read-only") as info:
        sql_app.sql(sql)
    assert fragment in str(info.value)
    # Nothing changed: no profiling output for the next statement, the same settings,
    # and no checkpoint (which would have emptied the WAL into the database file).
    assert sql_app.sql("SELECT 1 AS one").to_pylist() == [{"one": 1}]
    assert capfd.readouterr() == ("", "")
    assert sql_app.sql(settings).to_pylist() == before
    assert wal.exists() and wal.stat().st_size == wal_size
    assert sql_app.count("things") == 5


def test_sql_json_execute_serialized_sql_cannot_delete(sql_app):
    """json_execute_serialized_sql ran a serialized writing WITH clause, which no word
    of the statement's text gives away."""
    tree = sql_app.sql(
        "SELECT json_serialize_sql('WITH d AS (DELETE FROM things RETURNING *) "
        "SELECT * FROM d') AS t"
    ).to_pylist()[0]["t"]
    with pytest.raises(nr.SqlError, match="json_execute_serialized_sql"):
        sql_app.sql("SELECT * FROM json_execute_serialized_sql(?)", [tree])
    assert sql_app.sql("SELECT count(*) AS c FROM things").to_pylist() == [{"c": 5}]


@pytest.mark.parametrize("sql", [
    "SELECT 'checkpoint' AS s",
    "SELECT 1 AS enable_profiling",
    "SELECT count(*) AS n FROM things WHERE s <> 'enable_logging()'",
])
def test_sql_runs_statements_that_only_name_those_functions(sql_app, sql):
    assert sql_app.sql(sql).num_rows == 1


def test_sql_never_writes_a_file(sql_app, tmp_path):
    """COPY ... TO writes a file even inside a READ ONLY transaction: refused by kind,
    also when EXPLAIN ANALYZE runs it or a WITH clause holds it."""
    for sql in [
        "COPY things TO '{}'",
        "EXPLAIN ANALYZE COPY things TO '{}'",
        "WITH c AS (COPY things TO '{}') SELECT * FROM c",
    ]:
        target = tmp_path / "out.csv"
        with pytest.raises(nr.SqlError, match="read-only"):
            sql_app.sql(sql.format(target))
        assert not target.exists(), sql


READ_ONLY_SQL = [
    ("EXPLAIN", "EXPLAIN SELECT * FROM things"),
    ("EXPLAIN ANALYZE", "EXPLAIN ANALYZE SELECT count(*) FROM things"),
    ("EXPLAIN options", "EXPLAIN (ANALYZE, FORMAT json) SELECT count(*) FROM things"),
    ("EXPLAIN of a parenthesized SELECT", "EXPLAIN (SELECT 1)"),
    ("EXPLAIN with comments", "EXPLAIN /* x */ ANALYZE -- y\n SELECT 1"),
    ("PRAGMA table_info", "PRAGMA table_info('things')"),
    ("PRAGMA version", "PRAGMA version"),
    ("PRAGMA database_size", "PRAGMA database_size"),
    ("pragma function", "SELECT * FROM pragma_table_info('things')"),
    ("DESCRIBE", "DESCRIBE things"),
    ("SUMMARIZE", "SUMMARIZE things"),
    ("WITH", "WITH x AS (SELECT i FROM things) SELECT count(*) FROM x"),
    ("write words in strings", "SELECT 'delete' AS insert_, s AS \"update\" FROM things WHERE s <> 'copy'"),
]


@pytest.mark.parametrize("sql", [c[1] for c in READ_ONLY_SQL], ids=[c[0] for c in READ_ONLY_SQL])
def test_sql_runs_statements_that_only_read(sql_app, sql):
    assert sql_app.sql(sql).num_rows > 0
    assert sql_app.count("things") == 5


def test_sql_refusal_message_points_to_mutations(sql_app):
    with pytest.raises(nr.SqlError, match="read-only") as info:
        sql_app.sql("UPDATE things SET i = 1")
    assert "mutation" in str(info.value)
    with pytest.raises(nr.SqlError, match="one statement"):
        sql_app.sql("SELECT 1; SELECT 2")


# ---------------------------------------------------------------------------
# set_schema on existing data
# ---------------------------------------------------------------------------

USERS_SCHEMA = nr.define_schema(
    {"users": nr.define_table({"name": v.string()}).index("by_name", ["name"])}
)


@pytest.mark.parametrize("where", ["memory", "file"])
def test_set_schema_refusal_lists_offenders_and_changes_nothing(tmp_path, where):
    path = None if where == "memory" else tmp_path / "refuse.duckdb"
    with nr.App(path) as app:
        _register(app)
        good, bad_type, missing, extra = app.run_mutation(
            "put",
            {
                "table": "users",
                "docs": [{"name": "ann"}, {"name": 3}, {"nick": "x"}, {"name": "bob", "extra": 1}],
            },
        )
        offenders = {bad_type, missing, extra}
        before = _all(app, "users")
        sql_before = app.sql('SELECT * FROM users ORDER BY "_id"').to_pylist()

        report = app.set_schema(USERS_SCHEMA, dry_run=True)
        assert not report.ok
        assert report.problem_count == 3
        assert {doc_id for _, doc_id, _ in report.problems} == offenders
        assert all(table == "users" for table, _, _ in report.problems)
        assert app.schema is None

        with pytest.raises(nr.SchemaError) as info:
            app.set_schema(USERS_SCHEMA)
        error = info.value
        assert isinstance(error, nr.NbReactiveError)
        assert {doc_id for _, doc_id, _ in error.report.problems} == offenders
        message = str(error)
        for doc_id in offenders:
            assert doc_id in message
        assert good not in message
        assert "name" in message and "extra" in message
        by_id = {doc_id: msg for _, doc_id, msg in error.report.problems}
        assert "v.string()" in by_id[bad_type]
        assert "name" in by_id[missing]
        assert "extra" in by_id[extra]

        # nothing changed: schema, documents, SQL layout; the table is still schemaless
        assert app.schema is None
        assert _all(app, "users") == before
        assert app.sql('SELECT * FROM users ORDER BY "_id"').to_pylist() == sql_before
        app.run_mutation("put", {"table": "users", "docs": [{"anything": [1, 2]}]})
        assert app.count("users") == 5

    if path is not None:
        with nr.App(path) as again:
            _register(again)
            assert again.schema is None
            assert again.count("users") == 5


def test_set_schema_dry_run_on_fitting_data_changes_nothing(tmp_path):
    with nr.App(tmp_path / "dry.duckdb") as app:
        _register(app)
        app.run_mutation("put", {"table": "users", "docs": [{"name": "ann"}, {"name": "bob"}]})
        report = app.set_schema(USERS_SCHEMA, dry_run=True)
        assert report.ok
        assert report.total_checked == 2
        assert app.schema is None
        app.run_mutation("put", {"table": "users", "docs": [{"not_a_name": 1}]})  # still schemaless
        report = app.set_schema(USERS_SCHEMA, dry_run=True)
        assert not report.ok
        assert report.problem_count == 1


def test_set_schema_refuses_a_table_missing_from_a_strict_schema():
    with nr.App() as app:
        _register(app)
        app.run_mutation("put", {"table": "orphans", "docs": [{"x": 1}]})
        with pytest.raises(nr.SchemaError, match="orphans"):
            app.set_schema(USERS_SCHEMA)
        assert app.schema is None
        assert app.count("orphans") == 1


PRICES = [10, 2.5, 7, -1, 7.0]


def test_set_schema_normalizes_nested_values_too(tmp_path):
    # ``==`` calls [1, 2] and [1.0, 2.0] equal: the check must look at types all the way down.
    path = str(tmp_path / "nested.duckdb")
    with nr.App(path) as app:

        @app.mutation
        def add(ctx):
            u = ctx.db.insert("users", {"name": "a"})
            ctx.db.insert("t", {"xs": [1, 2], "o": {"n": 3}, "refs": [str(u)]})

        add()
        app.set_schema(nr.define_schema({
            "users": nr.define_table({"name": v.string()}),
            "t": nr.define_table({"xs": v.array(v.float64()), "o": v.object({"n": v.float64()}),
                                  "refs": v.array(v.id("users"))}),
        }))

        @app.query
        def shapes(ctx):
            d = ctx.db.query("t").unique()
            return [type(x).__name__ for x in d["xs"]] + [type(d["o"]["n"]).__name__,
                                                          d["refs"][0].table]

        assert shapes() == ["float", "float", "float", "users"]
    with nr.App(path) as app:

        @app.query
        def shapes_again(ctx):
            d = ctx.db.query("t").unique()
            return [type(x).__name__ for x in d["xs"]] + [type(d["o"]["n"]).__name__]

        assert shapes_again() == ["float", "float", "float"]


def test_set_schema_normalizes_ints_to_floats_for_number_fields_and_rebuilds_indexes(tmp_path):
    path = tmp_path / "norm.duckdb"
    loose = nr.define_schema(
        {"products": nr.define_table({"price": v.any()}).index("by_price", ["price"])}
    )
    numeric = nr.define_schema(
        {"products": nr.define_table({"price": v.number()}).index("by_price", ["price"])}
    )

    def register(app: nr.App) -> None:
        @app.query
        def prices(ctx):
            return [p["price"] for p in ctx.db.query("products").with_index("by_price").collect()]

        @app.query(args={"price": v.any()})
        def priced(ctx, price):
            q = ctx.db.query("products").with_index("by_price", lambda q: q.eq("price", price))
            return len(q.collect())

    with nr.App(path) as app:
        _register(app)
        register(app)
        app.run_mutation("put", {"table": "products", "docs": [{"price": p} for p in PRICES]})
        app.set_schema(loose)
        # untyped: int64 sorts before float64, equality is type-exact
        got = app.run_query("prices")
        assert [type(p) for p in got] == [int, int, int, float, float]
        assert got == [-1, 7, 10, 2.5, 7.0]
        assert app.run_query("priced", {"price": 7}) == 1

        report = app.set_schema(numeric)
        assert report.ok
        got = app.run_query("prices")
        assert all(type(p) is float for p in got)
        assert got == [-1.0, 2.5, 7.0, 7.0, 10.0]
        assert app.run_query("priced", {"price": 7.0}) == 2
        types = app.sql(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'products' AND column_name = 'price'"
        )
        assert types.to_pylist() == [{"data_type": "DOUBLE"}]
        assert (
            app.sql("SELECT price FROM products ORDER BY price").column("price").to_pylist() == got
        )

        @app.mutation
        def add_int(ctx):
            return ctx.db.insert("products", {"price": 3})

        add_int()
        assert app.run_query("prices") == [-1.0, 2.5, 3.0, 7.0, 7.0, 10.0]

    with nr.App(path) as again:
        register(again)
        got = again.run_query("prices")
        assert got == [-1.0, 2.5, 3.0, 7.0, 7.0, 10.0]
        assert all(type(p) is float for p in got)
        assert again.schema == numeric


def test_int_literal_matches_float_in_a_number_field_index():
    numeric = nr.define_schema(
        {"products": nr.define_table({"price": v.number()}).index("by_price", ["price"])}
    )
    with nr.App() as app:
        app.set_schema(numeric)
        _register(app)
        app.run_mutation("put", {"table": "products", "docs": [{"price": 7}, {"price": 8.5}]})

        @app.query
        def at_seven(ctx):
            return len(
                ctx.db.query("products")
                .with_index("by_price", lambda q: q.eq("price", 7))
                .collect()
            )

        assert at_seven() == 1


# ---------------------------------------------------------------------------
# removing a schema, or part of it, and schema_validation=False
# ---------------------------------------------------------------------------

TYPED_T = nr.define_table({"x": v.float64()}).index("by_x", ["x"])
TYPED_U = nr.define_table({"y": v.string()})


def _bodies(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: x for k, x in d.items() if k not in ("_id", "_creationTime")} for d in docs]


def _columns(app: nr.App, table: str) -> list[str]:
    return app.sql(f"SELECT * FROM {table} LIMIT 0").column_names


@pytest.mark.parametrize(
    "removal",
    [
        pytest.param(None, id="set_schema(None)"),
        pytest.param(
            nr.define_schema({"u": TYPED_U}, strict_table_name_types=False), id="table-left-out"
        ),
        pytest.param(
            nr.define_schema({}, strict_table_name_types=False), id="empty-lenient-schema"
        ),
    ],
)
@pytest.mark.parametrize("where", ["memory", "file"])
def test_a_table_whose_schema_is_removed_is_rebuilt_schemaless(tmp_path, removal, where):
    # The DuckDB table must follow: a typed table left behind would refuse every later
    # write (and, in a file, make it impossible to reopen).
    path = _fresh(tmp_path) if where == "file" else None
    with nr.App(path) as app:
        _register(app)
        app.set_schema(nr.define_schema({"t": TYPED_T, "u": TYPED_U}))
        app.run_mutation("put", {"table": "t", "docs": [{"x": 1.0}]})
        app.run_mutation("put", {"table": "u", "docs": [{"y": "kept"}]})
        app.set_schema(removal)
        app.run_mutation("put", {"table": "t", "docs": [{"z": "free-form now"}]})
        assert _columns(app, "t") == ["_id", "_creationTime", "_doc"]
        assert app.sql("SELECT count(*) AS n FROM t").column("n").to_pylist() == [2]
        before = _all(app, "t")
        assert _bodies(before) == [{"x": 1.0}, {"z": "free-form now"}]
    if path is None:
        return
    with nr.App(path) as again:
        _register(again)
        assert exact(_all(again, "t"), before)
        assert _bodies(_all(again, "u")) == [{"y": "kept"}]
        again.run_mutation("put", {"table": "t", "docs": [{"w": 3}]})
        assert again.count("t") == 3


MISFITS: list[Any] = [5, True, "five", 2**53 + 1, None, [1.5], {"n": 1}, b"\x00"]


@pytest.mark.parametrize("where", ["memory", "file"])
def test_set_schema_without_validation_keeps_every_stored_value_exactly(tmp_path, where):
    # Nothing is checked, so the documents may hold anything: a document that does not
    # fit keeps every value exactly (a field the schema does not name, an explicit null,
    # "five" in a float64 field). One that fits is normalized as a write would store it
    # (the int 5 becomes 5.0): queries convert their literals by the same validators.
    path = _fresh(tmp_path) if where == "file" else None
    loose = nr.define_schema(
        {"a": nr.define_table({"x": v.float64(), "n": v.optional(v.id("a"))})},
        schema_validation=False,
    )
    with nr.App(path) as app:
        _register(app)
        docs = [{"x": m} for m in MISFITS] + [{"x": 1.5, "extra": "not in the schema"}]
        app.run_mutation("put", {"table": "a", "docs": docs})
        app.run_mutation("put", {"table": "a", "docs": [{"x": 0.5, "n": "not an id"}]})
        original = _all(app, "a")
        report = app.set_schema(loose)
        assert not report.validated
        fitting = {0: 5.0, 3: float(2**53 + 1)}  # MISFITS that v.float64() accepts
        expected = [
            {**d, "x": fitting[n]} if n in fitting else d for n, d in enumerate(original)
        ]
        assert exact(_all(app, "a"), expected)
        # Later writes and imports are not checked either (Convex's schemaValidation:
        # false), only required to be Convex values; they are stored the same way.
        app.run_mutation("put", {"table": "a", "docs": [{"x": 2.5}, {"x": "six", "more": 1}]})
        app.import_documents("a", [{"x": [7]}, {"y": None}], progress=False)

        @app.mutation(args={})
        def put_huge(ctx: Any) -> None:
            # (In "x" it would fit: v.float64() takes it as 2.0**64, as a checked write does.)
            ctx.db.insert("a", {"y": 2**64})

        with pytest.raises(nr.ValidationError, match="does not fit in int64"):
            put_huge()
        with pytest.raises(nr.BulkImportError):
            app.import_documents("a", [{"x": {1, 2}}], progress=False)
        # SQL: the table is stored like a schemaless one, one JSON column _doc.
        assert _columns(app, "a") == ["_id", "_creationTime", "_doc"]
        xs = app.sql("SELECT _doc->'x' AS x FROM a ORDER BY _creationTime").column("x")
        assert xs.to_pylist()[:2] == ["5.0", "true"]
        before = _all(app, "a")
        assert _bodies(before[len(original):]) == [
            {"x": 2.5}, {"x": "six", "more": 1}, {"x": [7]}, {"y": None}
        ]
    if path is None:
        return
    with nr.App(path) as again:
        _register(again)
        assert exact(_all(again, "a"), before)


PRICED = nr.define_table({"name": v.string(), "price": v.number()}).index("by_price", ["price"])


def _register_prices(app: nr.App) -> None:
    @app.query
    def below(ctx, limit):
        return [d["name"] for d in ctx.db.query("items")
                .with_index("by_price", lambda q: q.lt("price", limit)).collect()]

    @app.query
    def by_price(ctx):
        return [d["name"] for d in ctx.db.query("items").with_index("by_price").collect()]

    @app.query
    def filtered(ctx, limit):
        return [d["name"] for d in ctx.db.query("items")
                .filter(lambda q: q.lt(q.field("price"), limit)).collect()]

    @app.query
    def priced(ctx, price):
        return [d["name"] for d in ctx.db.query("items")
                .with_index("by_price", lambda q: q.eq("price", price)).collect()]


@pytest.mark.parametrize("how", ["mutation", "import", "set_schema"])
@pytest.mark.parametrize("where", ["memory", "file"])
def test_without_validation_a_number_field_compares_like_the_query_literals(tmp_path, how, where):
    # Query literals are converted by the schema's validators (4 -> 4.0 for v.number()),
    # so a document that fits must be stored normalized the same way: an int 5 left as is
    # would sort among the ints, before every float, and match q.lt("price", 4).
    path = _fresh(tmp_path) if where == "file" else None
    loose = nr.define_schema({"items": PRICED}, schema_validation=False)
    rows = [{"name": "five", "price": 5}, {"name": "three", "price": 3},
            {"name": "half", "price": 1.5}, {"name": "odd", "price": "n/a"}]
    with nr.App(path) as app:
        _register(app)
        _register_prices(app)
        if how == "set_schema":
            app.run_mutation("put", {"table": "items", "docs": rows})
            app.set_schema(loose)
        else:
            app.set_schema(loose)
            if how == "mutation":
                app.run_mutation("put", {"table": "items", "docs": rows})
            else:
                app.import_documents("items", rows, progress=False)
        for a in (app, None):
            if a is None:
                if path is None:
                    break
                app.close()
                a = app = nr.App(path)
                _register(a)
                _register_prices(a)
            docs = {d["name"]: d["price"] for d in _all(a, "items")}
            # The document that does not fit is kept as it is, unchecked.
            assert [(k, type(x)) for k, x in docs.items()] == [
                ("five", float), ("three", float), ("half", float), ("odd", str)]
            assert a.run_query("below", {"limit": 4}) == ["half", "three"]
            assert a.run_query("by_price", {}) == ["half", "three", "five", "odd"]
            assert a.run_query("filtered", {"limit": 4}) == ["three", "half"]
            assert a.run_query("priced", {"price": 5}) == ["five"]
        app.close()


@pytest.mark.parametrize(
    "removal",
    [
        pytest.param(None, id="set_schema(None)"),
        pytest.param(nr.define_schema({"users": nr.define_table({"name": v.string()})},
                                      strict_table_name_types=False), id="table-left-out"),
        pytest.param(nr.define_schema({
            "users": nr.define_table({"name": v.string()}),
            "posts": nr.define_table({"author": v.id("users"), "n": v.int64()}),
        }, schema_validation=False), id="validation-off-not-fitting"),
    ],
)
@pytest.mark.parametrize("where", ["memory", "file"])
def test_an_id_left_unchecked_by_a_schema_change_becomes_a_plain_str(tmp_path, removal, where):
    # Outside the v.id positions of a checked schema an id is stored as its text, which
    # is also what reading it back from disk gives: set_schema must not leave an Id in
    # memory that a reopen turns into a str.
    path = _fresh(tmp_path) if where == "file" else None
    with nr.App(path) as app:
        _register(app)
        app.set_schema(nr.define_schema({
            "users": nr.define_table({"name": v.string()}),
            "posts": nr.define_table({"author": v.id("users"), "refs": v.array(v.id("users"))}),
        }))
        [ann] = app.run_mutation("put", {"table": "users", "docs": [{"name": "ann"}]})
        app.run_mutation("put", {"table": "posts", "docs": [{"author": ann, "refs": [ann]}]})
        assert type(_all(app, "posts")[0]["author"]) is nr.Id
        app.set_schema(removal)
        [post] = _all(app, "posts")
        assert (type(post["author"]), type(post["refs"][0])) == (str, str)
        assert post["author"] == str(ann)
        assert type(post["_id"]) is nr.Id  # system fields keep their Id
    if path is None:
        return
    with nr.App(path) as again:
        _register(again)
        assert exact(_all(again, "posts"), [post])


def test_without_validation_an_id_in_a_document_that_fits_stays_an_id(tmp_path):
    # A document that fits an unchecked schema is normalized as a checked write would
    # store it: its v.id fields hold Ids, after set_schema, a write, and a reopen.
    path = _fresh(tmp_path)
    loose = nr.define_schema({
        "users": nr.define_table({"name": v.string()}),
        "posts": nr.define_table({"author": v.id("users")}),
    }, schema_validation=False)
    with nr.App(path) as app:
        _register(app)
        [ann] = app.run_mutation("put", {"table": "users", "docs": [{"name": "ann"}]})
        app.run_mutation("put", {"table": "posts", "docs": [{"author": ann}]})
        app.set_schema(loose)
        app.run_mutation("put", {"table": "posts", "docs": [{"author": str(ann)}]})
        before = _all(app, "posts")
        assert [type(d["author"]) for d in before] == [nr.Id, nr.Id]
    with nr.App(path) as again:
        _register(again)
        assert exact(_all(again, "posts"), before)


def test_turning_schema_validation_on_again_restores_typed_columns(tmp_path):
    path = _fresh(tmp_path)
    fields = {"x": v.float64(), "s": v.optional(v.string())}
    with nr.App(path) as app:
        _register(app)
        app.run_mutation("put", {"table": "a", "docs": [{"x": 5}, {"x": 1.5, "s": "b"}]})
        app.set_schema(nr.define_schema({"a": nr.define_table(fields)}, schema_validation=False))
        assert _columns(app, "a") == ["_id", "_creationTime", "_doc"]
        app.set_schema(nr.define_schema({"a": nr.define_table(fields)}))
        assert _columns(app, "a") == ["_id", "_creationTime", "x", "s"]
        assert app.sql("SELECT x FROM a ORDER BY x").column("x").to_pylist() == [1.5, 5.0]
    with nr.App(path) as again:
        _register(again)
        assert _bodies(_all(again, "a")) == [{"x": 5.0}, {"x": 1.5, "s": "b"}]
        assert type(_all(again, "a")[0]["x"]) is float


# ---------------------------------------------------------------------------
# bulk import
# ---------------------------------------------------------------------------

PEOPLE = nr.define_schema(
    {
        "people": nr.define_table(
            {"name": v.string(), "age": v.optional(v.int64()), "score": v.optional(v.float64())}
        ).index("by_age", ["age"]),
    },
    strict_table_name_types=False,
)


def _people_rows(kind: str) -> Any:
    names = ["ann", "bob", "cy"]
    ages = [30, None, 41]
    scores = [1.5, 2.0, None]
    if kind == "list":
        return [
            {k: x for k, x in {"name": n, "age": a, "score": s}.items() if x is not None}
            for n, a, s in zip(names, ages, scores)
        ]
    table = pa.table(
        {
            "name": pa.array(names, pa.string()),
            "age": pa.array(ages, pa.int64()),
            "score": pa.array(scores, pa.float64()),
        }
    )
    if kind == "pyarrow":
        return table
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"name": names, "age": pd.array(ages, dtype="Int64"), "score": scores})
    assert isinstance(frame, pd.DataFrame)
    return frame


@pytest.mark.parametrize("kind", ["list", "pyarrow", "pandas"])
@pytest.mark.parametrize("where", ["memory", "file"])
def test_import_documents(tmp_path, kind, where):
    path = None if where == "memory" else tmp_path / "import.duckdb"
    expected = [
        {"name": "ann", "age": 30, "score": 1.5},
        {"name": "bob", "score": 2.0},
        {"name": "cy", "age": 41},
    ]
    with nr.App(path) as app:
        app.set_schema(PEOPLE)
        _register(app)
        app.run_mutation("put", {"table": "people", "docs": [{"name": "first"}]})
        assert app.import_documents("people", _people_rows(kind)) == 3
        docs = _all(app, "people")
        assert [{k: x for k, x in d.items() if not k.startswith("_")} for d in docs] == [
            {"name": "first"},
            *expected,
        ]
        assert all(type(d["_id"]) is nr.Id and d["_id"].table == "people" for d in docs)
        times = [d["_creationTime"] for d in docs]
        assert times == sorted(times) and len(set(times)) == 4
        for d in docs:
            if "age" in d:
                assert type(d["age"]) is int
            if "score" in d:
                assert type(d["score"]) is float
        assert app.sql("SELECT count(*) AS c FROM people").to_pylist() == [{"c": 4}]

        @app.query
        def by_age(ctx):
            return [d["name"] for d in ctx.db.query("people").with_index("by_age").collect()]

        assert by_age() == ["first", "bob", "ann", "cy"]

        # and a mutation after the import sees and extends the same table
        app.run_mutation("put", {"table": "people", "docs": [{"name": "last", "age": 1}]})
        assert app.count("people") == 5
        snapshot = _all(app, "people")
    if path is not None:
        with nr.App(path) as again:
            _register(again)
            assert [exact(a, b) for a, b in zip(_all(again, "people"), snapshot)] == [True] * 5


def test_import_into_a_schemaless_table():
    with nr.App() as app:
        _register(app)
        rows = [{"a": 1, "nested": {"x": [1, 2.0, b"\x00"]}}, {"b": None}, {}]
        assert app.import_documents("loose", rows) == 3
        got = [{k: x for k, x in d.items() if not k.startswith("_")} for d in _all(app, "loose")]
        assert all(same_value(g, r) for g, r in zip(got, rows))


def _bad_import_cases() -> list[tuple[str, Any, list[int]]]:
    good = {"name": "ok"}
    return [
        (
            "wrong type in rows 1 and 3",
            [good, {"name": 1}, good, {"name": "x", "age": "old"}],
            [1, 3],
        ),
        ("missing required field", [{"age": 3}, good], [0]),
        ("extra field", [good, {"name": "x", "nope": 1}], [1]),
        ("system field", [good, {"name": "x", "_id": "abc"}], [1]),
        ("not a dict", [good, "just a string"], [1]),
        ("int64 out of range", [{"name": "x", "age": 2**63}], [0]),
        (
            "many bad rows: the first ones are reported",
            [{"name": k} for k in range(25)],
            list(range(10)),
        ),
        (
            "pyarrow column of the wrong type",
            pa.table({"name": pa.array(["a", "b"]), "age": pa.array([1.5, None], pa.float64())}),
            [0],
        ),
    ]


@pytest.mark.parametrize(
    ("rows", "bad_rows"),
    [c[1:] for c in _bad_import_cases()],
    ids=[c[0] for c in _bad_import_cases()],
)
def test_failed_import_reports_first_offending_rows_and_leaves_the_table_unchanged(
    tmp_path, rows, bad_rows
):
    path = tmp_path / "badimport.duckdb"
    with nr.App(path) as app:
        app.set_schema(PEOPLE)
        _register(app)
        app.run_mutation("put", {"table": "people", "docs": [{"name": "existing", "age": 5}]})
        before = _all(app, "people")
        sql_before = app.sql("SELECT * FROM people").to_pylist()
        with pytest.raises(nr.BulkImportError) as info:
            app.import_documents("people", rows)
        error = info.value
        assert isinstance(error, nr.NbReactiveError)
        assert [n for n, _ in error.problems] == bad_rows
        for n in bad_rows:
            assert f"row {n}" in str(error)
        assert _all(app, "people") == before
        assert app.sql("SELECT * FROM people").to_pylist() == sql_before
        assert app.count("people") == 1
    with nr.App(path) as again:
        assert again.count("people") == 1


# ---------------------------------------------------------------------------
# names that differ only in case
# ---------------------------------------------------------------------------
#
# DuckDB identifiers are case-insensitive, so tables Users and users, or columns name and
# Name, would be one. Such names are refused before anything is written (they used to
# fail in DuckDB: a durable insert with a raw catalog error; an in-memory app's background
# flush for good, so that every later app.sql and app.close raised StorageError).


def _twin_refused(call: Any, new: str, existing: str) -> None:
    with pytest.raises(nr.SchemaError) as info:
        call()
    message = str(info.value)
    assert f'Table "{new}" cannot be created: table "{existing}" already exists' in message
    assert "DuckDB table names are case-insensitive" in message
    assert f'Use "{existing}", or a name that differs from it in more than case.' in message


@pytest.mark.parametrize("where", ["memory", "file"])
def test_tables_differing_only_in_case_are_refused_and_the_app_stays_usable(tmp_path, where):
    path = None if where == "memory" else tmp_path / "case.duckdb"
    with nr.App(path) as app:
        _register(app)
        app.run_mutation("put", {"table": "other", "docs": [{"a": 0}]})
        app.run_mutation("put", {"table": "Users", "docs": [{"a": 1}]})
        _twin_refused(lambda: app.run_mutation("put", {"table": "users", "docs": [{"a": 2}]}),
                      "users", "Users")
        _twin_refused(lambda: app.import_documents("USERS", [{"a": 3}]), "USERS", "Users")
        loose = nr.define_schema(
            {"users": nr.define_table({"a": v.int64()})}, strict_table_name_types=False
        )
        _twin_refused(lambda: app.set_schema(loose), "users", "Users")
        assert app.schema is None
        # Nothing was written, and the app works: SQL (which waits for the in-memory
        # flush), further writes to the existing name, close.
        assert app.tables() == ["Users", "other"]
        assert app.sql("SELECT count(*) AS n FROM other").to_pylist() == [{"n": 1}]
        assert app.sql('SELECT count(*) AS n FROM "Users"').to_pylist() == [{"n": 1}]
        assert app.sql("SELECT count(*) AS n FROM users").to_pylist() == [{"n": 1}]  # the same
        app.run_mutation("put", {"table": "Users", "docs": [{"a": 4}]})
        assert [d["a"] for d in _all(app, "Users")] == [1, 4]
        assert _all(app, "users") == []
    if path is not None:
        with nr.App(path) as again:
            _register(again)
            assert again.tables() == ["Users", "other"]
            assert [d["a"] for d in _all(again, "Users")] == [1, 4]
            _twin_refused(
                lambda: again.run_mutation("put", {"table": "users", "docs": [{"a": 5}]}),
                "users", "Users",
            )
            assert again.sql('SELECT count(*) AS n FROM "Users"').to_pylist() == [{"n": 2}]


@pytest.mark.parametrize("where", ["memory", "file"])
def test_set_schema_refuses_to_store_a_table_whose_twin_exists(tmp_path, where):
    # A mutation that failed after inserting into "Draft" leaves no table, so "draft"
    # may be created; typing "Draft" in a schema would then create it in DuckDB.
    path = None if where == "memory" else tmp_path / "twin.duckdb"
    with nr.App(path) as app:
        _register(app)

        @app.mutation
        def fails(ctx):
            ctx.db.insert("Draft", {"a": 1})
            raise nr.AppError("no")

        with pytest.raises(nr.AppError):
            fails()
        app.run_mutation("put", {"table": "draft", "docs": [{"a": 2}]})
        schema = nr.define_schema(
            {"Draft": nr.define_table({"a": v.int64()})}, strict_table_name_types=False
        )
        _twin_refused(lambda: app.set_schema(schema), "Draft", "draft")
        assert app.schema is None
        assert app.tables() == ["draft"]
        assert app.sql("SELECT count(*) AS n FROM draft").to_pylist() == [{"n": 1}]
    if path is not None:
        with nr.App(path) as again:
            assert again.tables() == ["draft"] and again.schema is None


@pytest.mark.parametrize("where", ["memory", "file"])
def test_fields_differing_only_in_case_need_a_table_stored_as_json(tmp_path, where):
    path = None if where == "memory" else tmp_path / "fields.duckdb"
    # A schema cannot declare them: each top-level field is a column. define_table says
    # so, so set_schema never gets as far as DuckDB with such a table.
    with pytest.raises(nr.SchemaError, match="the fields 'name' and 'Name' differ only in case"):
        nr.define_table({"name": v.string(), "Name": v.int64()})
    doc = {"name": "x", "Name": 7, "profile": {"city": "a", "City": "b"}}
    with nr.App(path) as app:
        _register(app)
        # Without a schema the document is one JSON column: both fields are kept.
        app.run_mutation("put", {"table": "c", "docs": [doc]})
        assert app.sql("SELECT _doc FROM c").column("_doc").to_pylist() == [
            '{"name":"x","Name":7,"profile":{"city":"a","City":"b"}}'
        ]
        # infer_schema suggests a table that stays JSON, and set_schema takes it.
        inferred = app.infer_schema()
        assert inferred.table("c").document_validator == v.any()
        app.set_schema(inferred)
        # Nested fields are JSON in a typed table too, and may differ only in case.
        profile = v.object({"city": v.string(), "City": v.string()})
        typed = nr.define_schema(
            {"c": nr.define_table(v.any()), "t": nr.define_table({"profile": profile, "n": v.int64()})}
        )
        app.set_schema(typed)
        app.run_mutation("put", {"table": "t", "docs": [{"profile": doc["profile"], "n": 1}]})
        assert app.sql("SELECT n FROM t").to_pylist() == [{"n": 1}]
    if path is not None:
        with nr.App(path) as again:
            _register(again)
            assert again.schema == typed
            assert [{k: x for k, x in d.items() if not k.startswith("_")}
                    for d in _all(again, "c")] == [doc]
            assert [d["profile"] for d in _all(again, "t")] == [doc["profile"]]


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------


def test_export_parquet_round_trip(typed_file, tmp_path):
    path, _, before = typed_file
    out = tmp_path / "things.parquet"
    with nr.App(path) as app:
        assert app.export_parquet("things", out) == len(before)
    table = pq.read_table(out)
    assert table.num_rows == len(before)
    for column, arrow_type in NATIVE_ARROW_TYPES:
        assert table.schema.field(column).type == arrow_type, column
    rows = {r["_id"]: r for r in table.to_pylist()}
    for doc in before:
        row = rows[doc["_id"]]
        assert row["_creationTime"] == doc["_creationTime"]
        for field in ("i", "f", "n", "s", "b", "by", "opt", "ref"):
            if field in doc:
                assert same_value(row[field], str(doc[field]) if field == "ref" else doc[field]), (
                    field
                )
            else:
                assert row[field] is None
        for field in JSON_COLUMNS:
            if field in doc:
                assert same_value(stored.loads(row[field]), doc[field]), field
            else:
                assert row[field] is None


def test_export_jsonl_round_trip(typed_file, tmp_path):
    path, _, before = typed_file
    out = tmp_path / "things.jsonl"
    with nr.App(path) as app:
        assert app.export_jsonl("things", out) == len(before)
    lines = _jsonl_lines(out)
    decoded = [from_wire(json.loads(line)) for line in lines]
    assert len(decoded) == len(before)
    for got, doc in zip(decoded, before):  # both in _creationTime order
        assert same_value(got, doc), (got, doc)


def test_export_of_an_empty_or_unknown_table(tmp_path):
    """A table of the schema with no documents exports as an empty file, in both
    formats; a name that is no table (a typo) is refused by both, naming the tables."""
    with nr.App() as app:
        app.set_schema(nr.define_schema({"empty": nr.define_table({"x": v.int64()})}))
        assert app.export_jsonl("empty", tmp_path / "e.jsonl") == 0
        assert (tmp_path / "e.jsonl").read_text() == ""
        assert app.export_parquet("empty", tmp_path / "e.parquet") == 0
        for export, suffix in ((app.export_jsonl, "jsonl"), (app.export_parquet, "parquet")):
            with pytest.raises(nr.BulkImportError, match=r"no table 'nothing'.*'empty'"):
                export("nothing", tmp_path / f"n.{suffix}")
            assert not (tmp_path / f"n.{suffix}").exists()


def test_sql_on_a_schemaless_table_hints_at_the_json_column():
    with nr.App() as app:

        @app.mutation
        def add(ctx):
            ctx.db.insert("people", {"name": "ada", "n": 3})

        add()
        rows = app.sql("SELECT _doc->>'name' AS name, CAST(_doc->>'n' AS BIGINT) AS n FROM people")
        assert rows.to_pylist() == [{"name": "ada", "n": 3}]
        with pytest.raises(nr.SqlError, match=r"_doc->>'name'"):
            app.sql("SELECT name FROM people")


def test_jsonl_export_is_one_record_per_line_even_for_unicode_line_breaks(tmp_path):
    text = "a\u2028b\x85c\u2029d"
    with nr.App() as app:

        @app.mutation
        def add(ctx):
            ctx.db.insert("notes", {"s": text})

        add()
        path = tmp_path / "notes.jsonl"
        assert app.export_jsonl("notes", path) == 1
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert from_wire(json.loads(lines[0]))["s"] == text
