"""Mutations are transactions, end to end (SPEC §1.3-1.5; convex-semantics §1.1, §4.1, §4.2, §2.5).

Atomicity (in memory and in the DuckDB file, after reopening), reads of a
mutation's own writes, nested mutations as sub-transactions, read-only queries,
``_creationTime`` order, ``patch``/``replace``/``delete`` rules, copies handed to
user code, the frozen clock and seeded randomness, transaction limits, and many
threads committing at once.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import math
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nbreactive as nr
from nbreactive import v

SCHEMA = nr.define_schema(
    {
        "items": nr.define_table(
            {"n": v.int64(), "tag": v.optional(v.string()), "tags": v.optional(v.array(v.string()))}
        ).index("by_n", ["n"]),
    },
    strict_table_name_types=False,  # other tables are schemaless
)


def _register(app: nr.App) -> None:
    """The functions every app in this file has."""

    @app.mutation(args={"n": v.int64()})
    def add(ctx, n):
        return ctx.db.insert("items", {"n": n})

    @app.query
    def ns(ctx):
        return [d["n"] for d in ctx.db.query("items").with_index("by_n").collect()]

    @app.query
    def get(ctx, id):
        return ctx.db.get(id)


@pytest.fixture(params=["memory", "file"])
def app(request, tmp_path: Path) -> Iterator[nr.App]:
    path = None if request.param == "memory" else tmp_path / "tx.duckdb"
    with nr.App(path) as a:
        a.set_schema(SCHEMA)
        _register(a)
        yield a


def _reopen(app: nr.App) -> nr.App:
    """Close a durable app and open its file again (with the same functions)."""
    app.close()
    again = nr.App(app.path)
    _register(again)
    return again


def _state(app: nr.App) -> dict[str, Any]:
    """Everything observable about the data: documents (via a query), counts, SQL rows."""

    @app.query(name="_state:items")
    def all_items(ctx):
        return sorted(ctx.db.query("items").collect(), key=lambda d: d["_id"])

    sql_rows = sorted(
        app.sql('SELECT "_id", n, tag FROM items').to_pylist(), key=lambda r: r["_id"]
    )
    return {"docs": app.run_query("_state:items"), "count": app.count("items"), "sql": sql_rows}


# ---------------------------------------------------------------------------
# atomicity
# ---------------------------------------------------------------------------


def test_failed_mutation_leaves_no_trace(app):
    keep = app.functions["add"](n=1)
    doomed_patch = app.functions["add"](n=2)
    doomed_delete = app.functions["add"](n=3)
    before = _state(app)

    class Boom(Exception):
        pass

    @app.mutation
    def several_writes_then_raise(ctx):
        ctx.db.insert("items", {"n": 10})
        ctx.db.insert("items", {"n": 11, "tag": "x"})
        ctx.db.patch(doomed_patch, {"n": 20, "tag": "patched"})
        ctx.db.replace(keep, {"n": 100})
        ctx.db.delete(doomed_delete)
        ctx.db.insert("ghost_table", {"anything": True})
        assert len(ctx.db.query("items").collect()) == 4  # the writes happened inside
        raise Boom("after several writes")

    with pytest.raises(Boom):
        several_writes_then_raise()

    after = _state(app)
    assert after == before
    assert app.run_query("ns") == [1, 2, 3]
    assert app.count("ghost_table") == 0

    # a later successful mutation does not drag the failed writes in with it
    app.functions["add"](n=4)
    assert app.run_query("ns") == [1, 2, 3, 4]
    assert sorted(r["n"] for r in app.sql("SELECT n FROM items").to_pylist()) == [1, 2, 3, 4]

    if app.path is not None:  # and on disk, after reopening the file
        with _reopen(app) as again:
            assert again.run_query("ns") == [1, 2, 3, 4]
            assert again.count("items") == 4
            assert sorted(r["n"] for r in again.sql("SELECT n FROM items").to_pylist()) == [
                1,
                2,
                3,
                4,
            ]
            assert "ghost_table" not in again.tables()
            assert again.run_query("get", {"id": doomed_delete})["n"] == 3
            assert again.run_query("get", {"id": doomed_patch})["n"] == 2
            assert "tag" not in again.run_query("get", {"id": doomed_patch})
            assert again.count("ghost_table") == 0
            assert "ghost_table" not in again.tables()
    else:
        # the table the failed mutation tried to create does not show up either
        assert "ghost_table" not in app.tables()


def test_failed_mutation_in_a_new_table_leaves_no_table(app):
    @app.mutation
    def create_then_fail(ctx):
        ctx.db.insert("brand_new", {"x": 1})
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        create_then_fail()
    assert app.count("brand_new") == 0
    assert "brand_new" not in app.tables()
    with pytest.raises(nr.SqlError):
        app.sql("SELECT * FROM brand_new")


def test_a_table_name_differing_only_in_case_is_refused_before_anything_is_written(app):
    # DuckDB table names are case-insensitive: "items" and "Items" would be one table,
    # and the second used to fail only when the batch reached DuckDB.
    app.functions["add"](n=1)
    before = _state(app)

    @app.mutation
    def put(ctx, tables):
        return [ctx.db.insert(t, {"n": 5}) for t in tables]

    def refused(tables, new, existing):
        with pytest.raises(nr.SchemaError) as info:
            put(tables=tables)
        message = str(info.value)
        assert f'Table "{new}" cannot be created: table "{existing}" already exists' in message
        assert "case-insensitive" in message

    refused(["items", "Items"], "Items", "items")  # the first insert is rolled back too
    refused(["Notes", "notes"], "notes", "Notes")  # both new, in one mutation
    # A name only a failed mutation wrote to never existed: its twin may be created ...
    put(tables=["notes"])
    refused(["Notes"], "Notes", "notes")  # ... and then the name is taken.

    @app.mutation
    def inner(ctx):
        ctx.db.insert("Drafts", {"x": 1})
        raise nr.AppError("rolled back")

    @app.mutation
    def outer(ctx):
        with contextlib.suppress(nr.AppError):
            inner()
        ctx.db.insert("drafts", {"x": 2})  # "Drafts" was rolled back: free
        ctx.db.insert("Drafts", {"x": 3})  # but now "drafts" exists in this mutation

    with pytest.raises(nr.SchemaError, match='table "drafts" already exists'):
        outer()

    assert _state(app) == before
    assert app.tables() == ["items", "notes"]
    assert app.sql("SELECT count(*) AS c FROM notes").to_pylist() == [{"c": 1}]
    if app.path is not None:
        with _reopen(app) as again:
            assert _state(again) == before
            assert again.tables() == ["items", "notes"]

            @again.mutation
            def put_again(ctx, table):
                ctx.db.insert(table, {})

            with pytest.raises(nr.SchemaError, match='table "notes" already exists'):
                put_again(table="NOTES")


def test_an_id_means_the_table_its_text_encodes_not_its_label(app):
    """``nr.Id(text, "other")`` is a hand-made label: get, patch, replace and delete
    go by the table the text encodes, as Convex does, and a table given explicitly
    that the text contradicts is refused."""
    item = app.run_mutation("add", {"n": 1})
    mislabelled = nr.Id(str(item), "notes")

    @app.mutation(args={})
    def edit(ctx: Any) -> Any:
        ctx.db.patch(mislabelled, {"n": 2})
        return ctx.db.get(mislabelled)["n"]

    @app.query(args={})
    def get_as_notes(ctx: Any) -> Any:
        return ctx.db.get("notes", mislabelled)

    assert app.run_query("get", {"id": mislabelled})["_id"] == item
    assert edit() == 2
    with pytest.raises(nr.ValidationError, match="is an id of table 'items', not of table 'notes'"):
        get_as_notes()

    @app.mutation(args={})
    def remove(ctx: Any) -> None:
        ctx.db.delete(mislabelled)

    remove()
    assert app.run_query("get", {"id": item}) is None


def test_validation_error_midway_aborts_the_whole_mutation(app):
    @app.mutation
    def half_valid(ctx):
        ctx.db.insert("items", {"n": 1})
        ctx.db.insert("items", {"n": "not an int"})

    with pytest.raises(nr.ValidationError):
        half_valid()
    assert app.count("items") == 0
    assert app.run_query("ns") == []


def test_successful_mutation_is_durable(tmp_path):
    path = tmp_path / "ok.duckdb"
    with nr.App(path) as app:
        app.set_schema(SCHEMA)
        _register(app)
        ids = [app.functions["add"](n=n) for n in range(5)]
    with nr.App(path) as again:
        _register(again)
        assert again.run_query("ns") == [0, 1, 2, 3, 4]
        assert [again.run_query("get", {"id": i})["n"] for i in ids] == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------------
# a mutation reads its own writes
# ---------------------------------------------------------------------------


def test_reads_inside_a_mutation_see_its_own_writes(app):
    for n in (1, 5, 9):
        app.functions["add"](n=n)

    @app.mutation
    def read_own_writes(ctx):
        seen: dict[str, Any] = {}
        new_id = ctx.db.insert("items", {"n": 4, "tag": "new"})
        seen["get after insert"] = ctx.db.get(new_id)["tag"]
        seen["range after insert"] = [
            d["n"]
            for d in ctx.db.query("items")
            .with_index("by_n", lambda q: q.gte("n", 2).lte("n", 8))
            .collect()
        ]
        ctx.db.insert("items", {"n": 6})
        seen["range after second insert"] = [
            d["n"]
            for d in ctx.db.query("items")
            .with_index("by_n", lambda q: q.gte("n", 2).lte("n", 8))
            .collect()
        ]
        seen["desc"] = [
            d["n"] for d in ctx.db.query("items").with_index("by_n").order("desc").collect()
        ]
        ctx.db.patch(new_id, {"n": 7})
        seen["get after patch"] = ctx.db.get(new_id)["n"]
        seen["range after patch"] = [
            d["n"]
            for d in ctx.db.query("items").with_index("by_n", lambda q: q.gt("n", 5)).collect()
        ]
        seen["eq after patch"] = [
            d["_id"]
            for d in ctx.db.query("items").with_index("by_n", lambda q: q.eq("n", 7)).collect()
        ] == [new_id]
        first = ctx.db.query("items").with_index("by_n").first()
        ctx.db.delete(first["_id"])
        seen["get after delete"] = ctx.db.get(first["_id"])
        seen["all after delete"] = [
            d["n"] for d in ctx.db.query("items").with_index("by_n").collect()
        ]
        seen["creation order"] = [d["n"] for d in ctx.db.query("items").collect()]
        seen["unique"] = (
            ctx.db.query("items").with_index("by_n", lambda q: q.eq("n", 6)).unique()["n"]
        )
        return seen

    seen = read_own_writes()
    assert seen == {
        "get after insert": "new",
        "range after insert": [4, 5],
        "range after second insert": [4, 5, 6],
        "desc": [9, 6, 5, 4, 1],
        "get after patch": 7,
        "range after patch": [6, 7, 9],
        "eq after patch": True,
        "get after delete": None,
        "all after delete": [5, 6, 7, 9],
        "creation order": [5, 9, 7, 6],
        "unique": 6,
    }
    assert app.run_query("ns") == [5, 6, 7, 9]


def test_reads_see_earlier_committed_mutations_immediately(app):
    # with group commit, an earlier mutation may not have reached DuckDB yet
    for n in range(20):
        app.functions["add"](n=n)
        assert app.run_query("ns")[-1] == n

    @app.mutation
    def total(ctx):
        return sum(d["n"] for d in ctx.db.query("items").collect())

    assert total() == sum(range(20))


# ---------------------------------------------------------------------------
# nested mutations are sub-transactions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["direct call", "app.run_mutation"])
def test_nested_mutation_that_raises_is_rolled_back_and_outer_commits(app, how):
    existing = app.functions["add"](n=0)

    @app.mutation(name="inner:fails", args={"n": v.int64()})
    def inner(ctx, n):
        ctx.db.insert("items", {"n": n})
        ctx.db.patch(existing, {"tag": "inner"})
        ctx.db.insert("other", {"from": "inner"})
        raise nr.AppError({"inner": n})

    @app.mutation(name="inner:ok", args={"n": v.int64()})
    def inner_ok(ctx, n):
        return ctx.db.insert("items", {"n": n})

    @app.mutation
    def outer(ctx):
        ctx.db.insert("items", {"n": 1})
        try:
            if how == "direct call":
                inner(n=2)
            else:
                app.run_mutation("inner:fails", {"n": 2})
        except nr.AppError as e:
            caught = e.data
        ok_id = inner_ok(n=3) if how == "direct call" else app.run_mutation("inner:ok", {"n": 3})
        ctx.db.insert("items", {"n": 4})
        return {
            "caught": caught,
            "visible": [d["n"] for d in ctx.db.query("items").with_index("by_n").collect()],
            "tag": ctx.db.get(existing).get("tag"),
            "ok": ctx.db.get(ok_id)["n"],
        }

    out = outer()
    assert out == {"caught": {"inner": 2}, "visible": [0, 1, 3, 4], "tag": None, "ok": 3}
    assert app.run_query("ns") == [0, 1, 3, 4]
    assert "tag" not in app.run_query("get", {"id": existing})
    assert app.count("other") == 0
    assert sorted(r["n"] for r in app.sql("SELECT n FROM items").to_pylist()) == [0, 1, 3, 4]


def test_nested_mutation_error_not_caught_aborts_everything(app):
    @app.mutation
    def inner(ctx):
        ctx.db.insert("items", {"n": 2})
        raise ValueError("inner")

    @app.mutation
    def outer(ctx):
        ctx.db.insert("items", {"n": 1})
        inner()

    with pytest.raises(ValueError):
        outer()
    assert app.count("items") == 0


def test_outer_failure_rolls_back_a_nested_success(app):
    @app.mutation
    def inner(ctx):
        ctx.db.insert("items", {"n": 2})

    @app.mutation
    def outer(ctx):
        inner()
        raise RuntimeError("outer fails after the nested call")

    with pytest.raises(RuntimeError):
        outer()
    assert app.count("items") == 0


# ---------------------------------------------------------------------------
# queries are read-only
# ---------------------------------------------------------------------------

WRITES = [
    ("insert", lambda db, i: db.insert("items", {"n": 1})),
    ("patch", lambda db, i: db.patch(i, {"n": 2})),
    ("replace", lambda db, i: db.replace(i, {"n": 2})),
    ("delete", lambda db, i: db.delete(i)),
]


@pytest.mark.parametrize("write", [w for _, w in WRITES], ids=[n for n, _ in WRITES])
def test_a_query_cannot_write(app, write):
    existing = app.functions["add"](n=0)

    @app.query
    def tries_to_write(ctx, id):
        write(ctx.db, id)

    with pytest.raises(nr.FunctionError) as info:
        tries_to_write(id=existing)
    assert "read-only" in str(info.value)
    assert app.run_query("ns") == [0]


def test_a_query_cannot_call_a_mutation(app):
    @app.query
    def sneaky(ctx):
        return app.functions["add"](n=1)

    with pytest.raises(nr.FunctionError, match="read-only"):
        sneaky()
    assert app.count("items") == 0


# ---------------------------------------------------------------------------
# _creationTime
# ---------------------------------------------------------------------------


def test_creation_time_strictly_increasing_within_and_across_mutations(app):
    @app.mutation(args={"k": v.int64()})
    def several(ctx, k):
        ids = [ctx.db.insert("items", {"n": k * 10 + j}) for j in range(5)]
        return [ctx.db.get(i)["_creationTime"] for i in ids]

    times: list[float] = []
    for k in range(20):
        batch = several(k=k)
        assert all(a < b for a, b in itertools.pairwise(batch)), batch
        times.extend(batch)
    assert all(a < b for a, b in itertools.pairwise(times))
    assert all(isinstance(t, float) and math.isfinite(t) and 0 < t < 2**53 for t in times)
    # milliseconds since the epoch, close to now
    assert abs(times[-1] - time.time() * 1000) < 60_000

    # the default order (by_creation_time) is insertion order
    @app.query
    def in_creation_order(ctx):
        return [d["n"] for d in ctx.db.query("items").collect()]

    assert in_creation_order() == [k * 10 + j for k in range(20) for j in range(5)]


def test_creation_time_keeps_increasing_after_reopen(tmp_path):
    path = tmp_path / "ct.duckdb"
    with nr.App(path) as app:
        app.set_schema(SCHEMA)
        _register(app)
        first = app.run_query("get", {"id": app.functions["add"](n=1)})["_creationTime"]
    with nr.App(path) as again:
        _register(again)
        second = again.run_query("get", {"id": again.functions["add"](n=2)})["_creationTime"]
    assert second > first


# ---------------------------------------------------------------------------
# patch, replace, delete
# ---------------------------------------------------------------------------


def test_patch_merges_shallowly_and_undefined_removes_a_field(app):
    doc_id = app.functions["add"](n=1)

    @app.mutation
    def tag(ctx, id):
        ctx.db.patch(id, {"tag": "a", "tags": ["x", "y"]})

    @app.mutation
    def untag(ctx, id):
        ctx.db.patch(id, {"tag": nr.UNDEFINED, "n": 2})

    tag(id=doc_id)
    doc = app.run_query("get", {"id": doc_id})
    assert (doc["n"], doc["tag"], doc["tags"]) == (1, "a", ["x", "y"])
    untag(id=doc_id)
    doc = app.run_query("get", {"id": doc_id})
    assert "tag" not in doc
    assert (doc["n"], doc["tags"]) == (2, ["x", "y"])
    assert app.sql('SELECT tag FROM items WHERE "_id" = ?', [doc_id]).to_pylist() == [{"tag": None}]


def test_patch_undefined_of_an_absent_field_is_a_no_op(app):
    doc_id = app.functions["add"](n=1)

    @app.mutation
    def untag(ctx, id):
        ctx.db.patch(id, {"tag": nr.UNDEFINED})

    before = app.run_query("get", {"id": doc_id})
    untag(id=doc_id)
    assert app.run_query("get", {"id": doc_id}) == before


def test_patch_undefined_on_a_schemaless_table(app):
    @app.mutation
    def make(ctx):
        i = ctx.db.insert("loose", {"a": 1, "b": {"c": 2}})
        ctx.db.patch(i, {"a": nr.UNDEFINED})
        return ctx.db.get(i)

    doc = make()
    assert "a" not in doc and doc["b"] == {"c": 2}


def test_replace_keeps_system_fields_and_drops_the_rest(app):
    doc_id = app.functions["add"](n=1)

    @app.mutation
    def tag(ctx, id):
        ctx.db.patch(id, {"tag": "a"})

    @app.mutation
    def swap(ctx, id):
        ctx.db.replace(id, {"n": 5})

    tag(id=doc_id)
    before = app.run_query("get", {"id": doc_id})
    swap(id=doc_id)
    after = app.run_query("get", {"id": doc_id})
    assert after == {"_id": doc_id, "_creationTime": before["_creationTime"], "n": 5}
    assert type(after["_id"]) is nr.Id and after["_id"].table == "items"


def test_replace_may_repeat_the_system_fields_unchanged(app):
    doc_id = app.functions["add"](n=1)

    @app.mutation
    def swap(ctx, id):
        doc = ctx.db.get(id)
        doc["n"] = 2
        ctx.db.replace(id, doc)

    swap(id=doc_id)
    assert app.run_query("get", {"id": doc_id})["n"] == 2


MISSING_OPS = [
    ("patch", lambda db, i: db.patch(i, {"n": 1})),
    ("replace", lambda db, i: db.replace(i, {"n": 1})),
    ("delete", lambda db, i: db.delete(i)),
    ("patch with table", lambda db, i: db.patch("items", i, {"n": 1})),
    ("delete with table", lambda db, i: db.delete("items", i)),
]


@pytest.mark.parametrize("op", [o for _, o in MISSING_OPS], ids=[n for n, _ in MISSING_OPS])
def test_write_to_a_missing_document_is_document_not_found(app, op):
    gone = app.functions["add"](n=1)
    keep = app.functions["add"](n=2)

    @app.mutation
    def remove(ctx, id):
        ctx.db.delete(id)

    remove(id=gone)

    @app.mutation
    def write_missing(ctx, id):
        ctx.db.insert("items", {"n": 3})
        op(ctx.db, id)

    with pytest.raises(nr.DocumentNotFoundError) as info:
        write_missing(id=gone)
    assert isinstance(info.value, nr.NbReactiveError)
    assert gone in str(info.value)
    assert app.run_query("ns") == [2]
    assert app.run_query("get", {"id": keep})["n"] == 2


def test_deleted_in_the_same_mutation_then_written_is_not_found(app):
    doc_id = app.functions["add"](n=1)

    @app.mutation
    def delete_then_patch(ctx, id):
        ctx.db.delete(id)
        ctx.db.patch(id, {"n": 2})

    with pytest.raises(nr.DocumentNotFoundError):
        delete_then_patch(id=doc_id)
    assert app.run_query("ns") == [1]


SYSTEM_WRITES = [
    ("insert _id", lambda db, i, doc: db.insert("items", {"n": 1, "_id": i})),
    ("insert _creationTime", lambda db, i, doc: db.insert("items", {"n": 1, "_creationTime": 1.0})),
    ("schemaless insert _id", lambda db, i, doc: db.insert("loose", {"a": 1, "_id": i})),
    (
        "schemaless insert _creationTime",
        lambda db, i, doc: db.insert("loose", {"_creationTime": 5.0}),
    ),
    ("patch _id", lambda db, i, doc: db.patch(i, {"_id": doc["other"]})),
    ("patch _creationTime", lambda db, i, doc: db.patch(i, {"_creationTime": 1.0})),
    (
        "patch _creationTime to undefined",
        lambda db, i, doc: db.patch(i, {"_creationTime": nr.UNDEFINED}),
    ),
    ("replace _id", lambda db, i, doc: db.replace(i, {"n": 1, "_id": doc["other"]})),
    ("replace _creationTime", lambda db, i, doc: db.replace(i, {"n": 1, "_creationTime": 1.0})),
]


@pytest.mark.parametrize("write", [w for _, w in SYSTEM_WRITES], ids=[n for n, _ in SYSTEM_WRITES])
def test_writing_system_fields_is_refused(app, write):
    doc_id = app.functions["add"](n=1)
    other = app.functions["add"](n=2)
    before = app.run_query("get", {"id": doc_id})

    @app.mutation
    def bad(ctx, id, other):
        write(ctx.db, id, {"other": other})

    with pytest.raises(nr.ValidationError) as info:
        bad(id=doc_id, other=other)
    assert "_id" in str(info.value) or "_creationTime" in str(info.value)
    assert app.run_query("get", {"id": doc_id}) == before
    assert app.count("items") == 2
    assert app.count("loose") == 0


# ---------------------------------------------------------------------------
# documents handed to user code are copies
# ---------------------------------------------------------------------------


def test_documents_returned_to_user_code_are_copies(app):
    doc_id = app.functions["add"](n=1)

    @app.mutation
    def tag(ctx, id):
        ctx.db.patch(id, {"tags": ["a"]})

    tag(id=doc_id)

    @app.query
    def tamper_in_query(ctx, id):
        d = ctx.db.get(id)
        d["n"] = 99
        d["tags"].append("q")
        for d2 in ctx.db.query("items").collect():
            d2["tags"].append("q2")
            d2["extra"] = 1
        return ctx.db.get(id)

    @app.mutation
    def tamper_in_mutation(ctx, id):
        d = ctx.db.get(id)
        d["n"] = 77
        d["tags"].append("m")
        first = ctx.db.query("items").with_index("by_n").first()
        first["tags"].append("m2")
        return ctx.db.get(id)

    expected = {"n": 1, "tags": ["a"]}
    seen = tamper_in_query(id=doc_id)
    assert {k: seen[k] for k in expected} == expected and "extra" not in seen
    seen = tamper_in_mutation(id=doc_id)
    assert {k: seen[k] for k in expected} == expected

    from_notebook = app.run_query("get", {"id": doc_id})
    from_notebook["tags"].append("notebook")
    from_notebook["n"] = 5
    listed = app.run_query("ns")
    listed.append(1000)
    stored = app.run_query("get", {"id": doc_id})
    assert {k: stored[k] for k in expected} == expected
    assert app.run_query("ns") == [1]


def test_documents_passed_to_insert_patch_replace_are_copied(app):
    tags = ["a"]
    nested = {"inner": [1]}

    @app.mutation
    def write(ctx):
        i = ctx.db.insert("items", {"n": 1, "tags": tags})
        j = ctx.db.insert("loose", {"nested": nested})
        tags.append("after insert")
        nested["inner"].append(2)
        return [i, j]

    i, j = write()

    @app.query
    def read(ctx, i, j):
        return [ctx.db.get(i)["tags"], ctx.db.get(j)["nested"]]

    assert read(i=i, j=j) == [["a"], {"inner": [1]}]

    patch_tags = ["p"]

    @app.mutation
    def patch(ctx, i):
        ctx.db.patch(i, {"tags": patch_tags})
        patch_tags.append("after patch")
        return ctx.db.get(i)["tags"]

    assert patch(i=i) == ["p"]
    assert read(i=i, j=j)[0] == ["p"]


def test_arguments_are_not_aliased_into_documents(app):
    @app.mutation(args={"tags": v.array(v.string())})
    def store(ctx, tags):
        i = ctx.db.insert("items", {"n": 1, "tags": tags})
        tags.append("mutated arg")
        return i

    tags = ["x"]
    i = store(tags=tags)
    assert tags == ["x"]
    assert app.run_query("get", {"id": i})["tags"] == ["x"]


# ---------------------------------------------------------------------------
# determinism: frozen clock, seeded randomness
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["query", "mutation"])
def test_clock_is_frozen_inside_a_call_and_equals_ctx_now(app, kind):
    deco = getattr(app, kind)

    @deco
    def clock(ctx):
        t0 = time.time()
        ns0 = time.time_ns()
        time.sleep(0.02)
        t1 = time.time()
        ns1 = time.time_ns()
        return {
            "t0": t0,
            "t1": t1,
            "ns_equal": ns0 == ns1,
            "now_matches": ctx.now == datetime.datetime.fromtimestamp(t0, tz=datetime.UTC),
            "now_is_utc": ctx.now.tzinfo is not None
            and ctx.now.utcoffset() == datetime.timedelta(0),
        }

    before = time.time()
    out = clock()
    after = time.time()
    assert out["t0"] == out["t1"]
    assert out["ns_equal"]
    assert out["now_matches"]
    assert out["now_is_utc"]
    assert before <= out["t0"] <= after
    # and the clock is real again outside
    t = time.time()
    time.sleep(0.002)
    assert time.time() > t


def test_clock_advances_between_calls(app):
    @app.query
    def now(ctx):
        return time.time()

    first = now()
    time.sleep(0.01)
    assert now() > first


def test_creation_time_of_a_mutation_uses_its_frozen_clock(app):
    @app.mutation
    def stamp(ctx):
        i = ctx.db.insert("items", {"n": 1})
        return [time.time(), ctx.db.get(i)["_creationTime"]]

    t, ct = stamp()
    assert ct >= t * 1000.0
    assert ct - t * 1000.0 < 1000


@pytest.mark.parametrize("kind", ["query", "mutation"])
def test_seeded_randomness_inside_handlers(app, kind):
    import uuid

    deco = getattr(app, kind)

    @deco
    def draws(ctx):
        return {
            "random": [random.random() for _ in range(5)],
            "randint": random.randint(1, 10**9),
            "choice": random.choice(["a", "b", "c"]),
            "uuid": str(uuid.uuid4()),
            "ctx_random": ctx.random.random(),
        }

    results = []
    for _ in range(5):
        results.append(draws())
        time.sleep(0.001)
    for r in results:
        assert all(0.0 <= x < 1.0 for x in r["random"])
        assert len(set(r["random"])) == 5  # successive draws differ
        assert 1 <= r["randint"] <= 10**9
        assert r["choice"] in "abc"
        assert uuid.UUID(r["uuid"]).version == 4
    if kind == "mutation":
        # two calls may differ (they are seeded per call, not with a constant)
        assert len({tuple(r["random"]) for r in results}) > 1
    else:
        # As in Convex, a query's result is cached until a commit touches what it
        # read: randomness does not make it uncacheable (time does; see above).
        assert len({tuple(r["random"]) for r in results}) == 1
        assert app._reactor.stats["cache_hits"] == 4


def test_other_threads_keep_the_real_clock_while_a_handler_runs(app):
    in_handler = threading.Event()
    sampled = threading.Event()
    samples: dict[str, Any] = {}

    def other_thread() -> None:
        in_handler.wait(10)
        a = time.time()
        time.sleep(0.02)
        b = time.time()
        samples["times"] = (a, b)
        samples["randoms"] = [random.random() for _ in range(3)]
        sampled.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    try:

        @app.mutation
        def slow(ctx):
            frozen = time.time()
            in_handler.set()
            sampled.wait(10)
            return [frozen, time.time()]

        frozen, still = slow()
    finally:
        worker.join(10)
    a, b = samples["times"]
    assert frozen == still
    assert b > a >= frozen  # the other thread saw a running clock
    assert b - a >= 0.015
    assert len(set(samples["randoms"])) == 3


# ---------------------------------------------------------------------------
# transaction limits
# ---------------------------------------------------------------------------


@pytest.fixture
def limited() -> Iterator[nr.App]:
    with nr.App(limits=nr.TransactionLimits(documents_scanned=10, documents_written=10)) as a:
        yield a


def test_query_scanning_more_than_the_limit_fails(limited):
    app = limited

    @app.mutation(args={"k": v.int64()})
    def fill(ctx, k):
        for n in range(k):
            ctx.db.insert("items", {"n": n})

    @app.query(args={"k": v.int64()})
    def read(ctx, k):
        return len(ctx.db.query("items").take(k))

    @app.query
    def read_filtered(ctx):
        # filtered-out documents count as scanned
        return ctx.db.query("items").filter(lambda q: q.eq(q.field("n"), -1)).collect()

    @app.query
    def read_all(ctx):
        return len(ctx.db.query("items").collect())

    @app.query
    def read_twice(ctx):  # the second range brings the query over the limit
        q = ctx.db.query("items")
        return len(q.take(6)) + len(q.order("desc").take(5))

    fill(k=10)
    assert read(k=10) == 10
    assert read_filtered() == []
    assert read_all() == 10
    fill(k=1)
    assert app.count("items") == 11
    assert read(k=10) == 10  # stops at the 10th match
    for call in (lambda: read(k=11), read_filtered, read_all, read_twice):
        with pytest.raises(nr.LimitExceededError) as info:
            call()
        assert "Too many documents read" in str(info.value)
        assert "limit: 10" in str(info.value)
        assert isinstance(info.value, nr.NbReactiveError)


def test_reads_made_while_a_query_iterator_is_paused_all_count(limited):
    # 6 documents, a limit of 10: each of these reads 12.
    app = limited

    @app.mutation
    def fill(ctx):
        for k in range(6):
            ctx.db.insert("items", {"k": k})

    @app.query
    def iterate_and_get(ctx):
        for d in ctx.db.query("items"):
            ctx.db.get(d["_id"])

    @app.query
    def interleaved(ctx):
        return sum(1 for _ in zip(ctx.db.query("items"), ctx.db.query("items").order("desc")))

    @app.query
    def iterate_and_take(ctx):
        for _ in ctx.db.query("items"):
            ctx.db.query("items").first()

    fill()
    for call in (iterate_and_get, interleaved, iterate_and_take):
        with pytest.raises(nr.LimitExceededError, match="Too many documents read"):
            call()


def test_queries_reading_more_bytes_than_the_limit_fail():
    # Each document is ~1 KiB: 10 fit in 12 KiB, 13 do not.
    with nr.App(limits=nr.TransactionLimits(bytes_read=12 * 1024)) as app:
        app.import_documents("items", [{"n": n, "pad": "x" * 1000} for n in range(13)],
                             progress=False)

        @app.query(args={"k": v.int64()})
        def take(ctx, k):
            return len(ctx.db.query("items").take(k))

        @app.query
        def collect(ctx):
            return len(ctx.db.query("items").collect())

        assert take(k=10) == 10
        for call in (lambda: take(k=13), collect):
            with pytest.raises(nr.LimitExceededError, match="Too many bytes read"):
                call()


def test_mutation_scanning_more_than_the_limit_fails_and_commits_nothing(limited):
    app = limited

    @app.mutation
    def fill(ctx):
        for n in range(6):
            ctx.db.insert("items", {"n": n})

    fill()
    fill()

    @app.mutation
    def read_all_then_write(ctx):
        ctx.db.insert("items", {"n": 100})
        return len(ctx.db.query("items").collect())

    with pytest.raises(nr.LimitExceededError, match="Too many documents read"):
        read_all_then_write()
    assert app.count("items") == 12


def test_mutation_writing_more_than_the_limit_fails_and_commits_nothing(limited):
    app = limited

    @app.mutation(args={"k": v.int64()})
    def fill(ctx, k):
        for n in range(k):
            ctx.db.insert("items", {"n": n})

    fill(k=10)
    assert app.count("items") == 10
    with pytest.raises(nr.LimitExceededError) as info:
        fill(k=11)
    assert "Too many writes" in str(info.value)
    assert "limit: 10" in str(info.value)
    assert app.count("items") == 10


def test_limits_cover_nested_calls(limited):
    app = limited

    @app.mutation
    def five(ctx):
        for n in range(5):
            ctx.db.insert("items", {"n": n})

    @app.mutation
    def three_times(ctx):
        five()
        five()
        five()

    with pytest.raises(nr.LimitExceededError, match="Too many writes"):
        three_times()
    assert app.count("items") == 0


def test_limits_must_be_positive_ints():
    with pytest.raises(ValueError):
        nr.TransactionLimits(documents_scanned=0)
    with pytest.raises(TypeError):
        nr.App(limits={"documents_scanned": 10})  # type: ignore[arg-type]


def test_default_limits_are_convex_values():
    limits = nr.TransactionLimits()
    assert limits.documents_scanned == 32_000
    assert limits.documents_written == 16_000
    assert limits.index_ranges_read == 4_096
    assert limits.bytes_read == limits.bytes_written == 16 * 1024 * 1024


# ---------------------------------------------------------------------------
# concurrency
# ---------------------------------------------------------------------------

THREADS = 8
PER_THREAD = 200


@pytest.mark.timeout(60)
def test_concurrent_mutations_all_commit_with_no_lost_updates(tmp_path):
    path = tmp_path / "busy.duckdb"
    schema = nr.define_schema(
        {
            "counters": nr.define_table({"name": v.string(), "value": v.int64()}),
            "hits": nr.define_table({"worker": v.int64(), "i": v.int64()}),
        }
    )
    with nr.App(path) as app:
        app.set_schema(schema)

        @app.mutation
        def setup(ctx):
            return ctx.db.insert("counters", {"name": "hits", "value": 0})

        counter = setup()

        @app.mutation(args={"worker": v.int64(), "i": v.int64()})
        def hit(ctx, worker, i):
            doc = ctx.db.get(counter)  # read ...
            ctx.db.patch(counter, {"value": doc["value"] + 1})  # ... modify, write
            ctx.db.insert("hits", {"worker": worker, "i": i})

        @app.query
        def value(ctx):
            return ctx.db.get(counter)["value"]

        errors: list[BaseException] = []
        start = threading.Barrier(THREADS)

        def work(worker: int) -> None:
            try:
                start.wait(10)
                for i in range(PER_THREAD):
                    hit(worker=worker, i=i)
            except BaseException as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(50)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        total = THREADS * PER_THREAD
        assert app.count("hits") == total
        assert value() == total
        assert app.sql("SELECT count(*) AS c FROM hits").to_pylist() == [{"c": total}]
        pairs = app.sql("SELECT count(DISTINCT (worker, i)) AS c FROM hits").to_pylist()
        assert pairs == [{"c": total}]

    with nr.App(path) as again:
        assert again.count("hits") == total
        assert again.sql("SELECT value FROM counters").to_pylist() == [{"value": total}]
