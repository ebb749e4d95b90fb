"""Regression tests for semantic defects found in the review of values/, schema/ and query/.

Each test reproduces one defect through the public API (or the public helpers the
layer exports); see the review report for root causes and proposed fixes.
"""

from __future__ import annotations

import contextlib

import pytest

import nbreactive as nr
from nbreactive import v
from nbreactive.errors import NbReactiveError, ValidationError
from nbreactive.schema.diff import diff_schemas

LONE_SURROGATE = "bad \ud800 text"


def _deep_list(levels: int) -> object:
    x: object = 1
    for _ in range(levels):
        x = [x]
    return x


@contextlib.contextmanager
def _app():
    app = nr.App()
    try:
        yield app
    finally:
        # A defect may have left the app unable to flush; closing must not hide the
        # assertion that failed.
        with contextlib.suppress(NbReactiveError):
            app.close()


# -- 1. v.string() (and every str fast path) accepts lone surrogates --------------------


@pytest.mark.parametrize(
    "validator, value",
    [
        (v.string(), LONE_SURROGATE),
        (v.optional(v.string()), LONE_SURROGATE),
        (v.nullable(v.string()), LONE_SURROGATE),
        (v.object({"s": v.string()}), {"s": LONE_SURROGATE}),
        (v.array(v.string()), [LONE_SURROGATE]),
        (v.record(v.string(), v.string()), {"k": LONE_SURROGATE}),
    ],
)
def test_string_validators_refuse_lone_surrogates(validator, value):
    # Convex strings are UTF-8 with no unpaired surrogates (reference §1.3);
    # normalize_value/v.any() refuse them, the typed validators must too.
    with pytest.raises(ValidationError):
        validator.validate(value)


def test_insert_with_lone_surrogate_under_schema_is_refused_and_table_stays_readable():
    with _app() as app:
        app.set_schema(nr.define_schema({"t": nr.define_table({"s": v.string()})}))

        @app.mutation(args={"s": v.string()})
        def add(ctx, s):
            return ctx.db.insert("t", {"s": s})

        @app.query
        def everything(ctx):
            return ctx.db.query("t").collect()

        with pytest.raises(ValidationError):
            add(s=LONE_SURROGATE)
        # Whatever happened above, the table must not be poisoned for later reads.
        assert everything() == []


def test_lone_surrogate_insert_does_not_break_the_store_of_record():
    # The committed-in-memory document cannot be written to DuckDB: from then on
    # app.sql() and app.close() fail with StorageError for the whole app.
    with _app() as app:
        app.set_schema(nr.define_schema({"t": nr.define_table({"s": v.string()})}))

        @app.mutation(args={"s": v.string()})
        def add(ctx, s):
            return ctx.db.insert("t", {"s": s})

        with contextlib.suppress(ValidationError):
            add(s=LONE_SURROGATE)
        add(s="fine")
        rows = app.sql("SELECT count(*) AS n FROM t").to_pylist()
        assert rows == [{"n": 1}]


# -- 2. nesting limit bypassed by typed container validators ----------------------------


def test_schema_validated_document_cannot_exceed_the_nesting_limit():
    # 4 typed array levels + 20 levels inside v.any(): 21 levels of nesting inside the
    # document, far beyond Convex's 16. Without a schema the same document is refused.
    deep = _deep_list(20)
    with _app() as app:

        @app.mutation
        def add(ctx, doc):
            return ctx.db.insert("t", doc)

        with pytest.raises(ValidationError, match="nested"):
            add(doc={"n": deep})  # schemaless: refused

    with _app() as app:
        nested = v.array(v.array(v.array(v.array(v.any()))))
        app.set_schema(nr.define_schema({"t": nr.define_table({"n": nested})}))

        @app.mutation
        def add2(ctx, doc):
            return ctx.db.insert("t", doc)

        with pytest.raises(ValidationError, match="nested"):
            add2(doc={"n": deep})


def test_v_any_field_counts_nesting_from_the_document_like_schemaless_tables():
    doc = {"a": _deep_list(16)}  # the document dict + 16 lists = 17 levels
    with _app() as app:

        @app.mutation
        def add(ctx, doc):
            return ctx.db.insert("t", doc)

        with pytest.raises(ValidationError, match="nested"):
            add(doc=doc)

    with _app() as app:
        app.set_schema(nr.define_schema({"t": nr.define_table({"a": v.any()})}))

        @app.mutation
        def add2(ctx, doc):
            return ctx.db.insert("t", doc)

        with pytest.raises(ValidationError, match="nested"):
            add2(doc=doc)


# -- 3. v.union(v.float64(), v.int64()) turns an int64 into a float64 -------------------


def test_union_of_float64_and_int64_keeps_an_int_as_int64():
    out = v.union(v.float64(), v.int64()).validate(5)
    assert type(out) is int and out == 5
    # Member order must not change the type of the stored value.
    out2 = v.union(v.int64(), v.float64()).validate(5)
    assert type(out2) is type(out)


def test_setting_the_inferred_schema_does_not_change_stored_int64_values():
    with _app() as app:

        @app.mutation
        def add(ctx, docs):
            return [ctx.db.insert("t", d) for d in docs]

        @app.query
        def values(ctx):
            return [d["n"] for d in ctx.db.query("t").collect()]

        add(docs=[{"n": 5}, {"n": 2.5}])
        app.set_schema(app.infer_schema())  # "every given document fits"
        got = values()
        assert [type(x) for x in got] == [int, float], got


# -- 4. schema diff calls a narrowing change "widens" -----------------------------------


def test_diff_object_to_record_of_ids_is_not_reported_as_widening():
    old = nr.define_schema(
        {"users": nr.define_table({"name": v.string()}),
         "t": nr.define_table({"f": v.object({"a": v.string()})})}
    )
    new = nr.define_schema(
        {"users": nr.define_table({"name": v.string()}),
         "t": nr.define_table({"f": v.record(v.id("users"), v.string())})}
    )
    diff = diff_schemas(old, new)
    (change,) = [c for c in diff.changes if c.name == "f"]
    # {"f": {"a": "x"}} fits the old schema and fails the new one ("a" is not a users id).
    assert change.effect in ("narrows", "both"), str(diff)
    assert diff.narrows


def test_int_literal_matches_a_float_in_a_union_that_cannot_hold_int64():
    # v.union(v.number(), v.string()) stores 7 as 7.0 (it has no int64 member), so an
    # int literal compared with that field is taken as a float, as for v.number().
    with nr.App() as app:
        app.set_schema(
            nr.define_schema(
                {"t": nr.define_table({"p": v.union(v.number(), v.string())}).index("by_p", ["p"])}
            )
        )

        @app.mutation
        def add(ctx):
            ctx.db.insert("t", {"p": 7})
            ctx.db.insert("t", {"p": "seven"})

        @app.query
        def by_range(ctx):
            return [d["p"] for d in ctx.db.query("t").with_index("by_p", lambda q: q.eq("p", 7)).collect()]

        @app.query
        def by_filter(ctx):
            return [d["p"] for d in ctx.db.query("t").filter(lambda q: q.eq(q.field("p"), 7)).collect()]

        add()
        assert by_range() == [7.0]
        assert by_filter() == [7.0]
