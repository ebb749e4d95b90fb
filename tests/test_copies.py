"""Copies handed to user code: mutating them never reaches the stored documents.

Reads copy stored documents with a copier built from the table's validator when the
schema is enforced (``Database.copier``); these tests mutate every kind of field of
what reads return — in queries, in mutations, through ``db.get``, every terminal —
and check the stored documents, in the working set and in DuckDB, are unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

import nbreactive as nr
from nbreactive import v
from nbreactive.values.copies import document_copier

FIELDS = {
    "name": v.string(),
    "n": v.int64(),
    "tags": v.array(v.string()),
    "maybe": v.optional(v.array(v.int64())),
    "either": v.union(v.string(), v.array(v.string())),
    "nested": v.object({"xs": v.array(v.int64()), "inner": v.object({"k": v.string()})}),
    "grid": v.array(v.array(v.int64())),
    "anything": v.any(),
    "rec": v.record(v.string(), v.array(v.string())),
}


def _doc(k: int) -> dict[str, Any]:
    return {
        "name": f"d{k}", "n": k, "tags": ["a", "b"], "either": ["x"] if k % 2 else "plain",
        "nested": {"xs": [1, 2], "inner": {"k": "v"}}, "grid": [[1], [2, 3]],
        "anything": {"deep": [{"z": [1]}]}, "rec": {"r": ["s"]},
        **({"maybe": [7]} if k % 3 else {}),
    }


def _vandalize(doc: dict[str, Any]) -> None:
    """Change every container inside ``doc`` in place, and the doc itself."""
    doc["tags"].append("vandal")
    if "maybe" in doc:
        doc["maybe"].append(-1)
    if isinstance(doc["either"], list):
        doc["either"].append("vandal")
    doc["nested"]["xs"].append(99)
    doc["nested"]["inner"]["k"] = "vandal"
    doc["grid"][0].append(99)
    doc["anything"]["deep"][0]["z"].append(99)
    doc["rec"]["r"].append("vandal")
    doc["name"] = "vandal"


@pytest.fixture(params=[True, False], ids=["validated", "unvalidated"])
def app(request, tmp_path):
    app = nr.App(str(tmp_path / "copies.duckdb"))
    app.set_schema(nr.define_schema({"docs": nr.define_table(FIELDS).index("by_n", ["n"])},
                                    schema_validation=request.param))
    app.import_documents("docs", [_doc(k) for k in range(6)], progress=False)
    yield app
    app.close()


def _stored(app: nr.App) -> list[dict[str, Any]]:
    # Typed columns, or one JSON column _doc when the schema is not enforced.
    return sorted(app.sql("SELECT * EXCLUDE (_id, _creationTime) FROM docs").to_pylist(),
                  key=repr)


def test_mutating_what_reads_return_changes_nothing_stored(app):
    before = _stored(app)

    @app.query()
    def vandal_query(ctx):
        q = ctx.db.query("docs")
        docs = q.collect()
        docs += q.with_index("by_n").take(3)
        docs += [q.with_index("by_n", lambda r: r.eq("n", 2)).unique()]
        docs += [q.order("desc").first()]
        docs += list(q.with_index("by_n", lambda r: r.gte("n", 3)))
        docs += q.paginate({"numItems": 2, "cursor": None})["page"]
        docs += [ctx.db.get(docs[0]["_id"])]
        for d in docs:
            _vandalize(d)
        return len(docs)

    @app.mutation()
    def vandal_mutation(ctx):
        docs = ctx.db.query("docs").collect()
        for d in docs:
            _vandalize(d)
        first = ctx.db.get(docs[0]["_id"])
        _vandalize(first)
        return len(docs)

    assert vandal_query() == 6 + 3 + 1 + 1 + 3 + 2 + 1
    assert vandal_mutation() == 6
    assert _stored(app) == before  # DuckDB
    # The working set too: a fresh read returns the original values.
    @app.query()
    def everything(ctx):
        return ctx.db.query("docs").with_index("by_n").collect()

    got = everything()
    assert [{k: x for k, x in d.items() if not k.startswith("_")} for d in got] == [
        _doc(k) for k in range(6)
    ]


def test_a_schema_change_rebuilds_the_copier(tmp_path):
    app = nr.App()
    app.set_schema(nr.define_schema({"t": nr.define_table({"x": v.string()})}))

    @app.mutation(args={"x": v.any()})
    def add(ctx, x):
        return ctx.db.insert("t", {"x": x})

    @app.query()
    def read_and_vandalize(ctx):
        docs = ctx.db.query("t").collect()
        for d in docs:
            if isinstance(d["x"], list):
                d["x"].append("vandal")
        return docs

    add(x="s")
    assert [d["x"] for d in read_and_vandalize()] == ["s"]  # the first copier is built
    app.set_schema(nr.define_schema({"t": nr.define_table({"x": v.union(v.string(), v.array(v.string()))})}))
    add(x=["a"])
    assert [d["x"] for d in read_and_vandalize()] == ["s", ["a", "vandal"]]

    @app.query()
    def plain(ctx):
        return [d["x"] for d in ctx.db.query("t").collect()]

    assert plain() == ["s", ["a"]]
    app.close()


@pytest.mark.parametrize(
    ("validator", "expect_dict_copy"),
    [
        (v.object({"a": v.string(), "b": v.int64(), "c": v.optional(v.float64())}), True),
        (v.object({"a": v.union(v.literal("x"), v.null(), v.id("t"), v.bytes())}), True),
        (v.object({"a": v.array(v.string())}), False),
        (v.object({"a": v.any()}), False),
        (v.union(v.object({"a": v.string()}), v.object({"b": v.string()})), False),
        (None, False),
    ],
)
def test_document_copier_shapes(validator, expect_dict_copy):
    copy = document_copier(validator)
    assert (copy is dict.copy) is expect_dict_copy


def test_document_copier_copies_every_container_it_may_meet():
    copy = document_copier(v.object({
        "tags": v.optional(v.array(v.string())),
        "mixed": v.union(v.int64(), v.array(v.int64())),
        "obj": v.object({"l": v.array(v.int64())}),
    }))
    doc = {"tags": ["a"], "mixed": [1], "obj": {"l": [1]}}
    out = copy(doc)
    assert out == doc
    assert out["tags"] is not doc["tags"] and out["mixed"] is not doc["mixed"]
    assert out["obj"] is not doc["obj"] and out["obj"]["l"] is not doc["obj"]["l"]
    assert copy({"mixed": 3, "obj": {"l": []}}) == {"mixed": 3, "obj": {"l": []}}  # optional missing


def test_documents_loaded_from_the_file_are_copied_too(tmp_path):
    path = str(tmp_path / "reopen.duckdb")
    schema = nr.define_schema({"docs": nr.define_table(FIELDS)})
    with nr.App(path) as app:
        app.set_schema(schema)
        app.import_documents("docs", [_doc(k) for k in range(4)], progress=False)
    with nr.App(path) as app:

        @app.query()
        def vandal(ctx):
            docs = ctx.db.query("docs").collect()
            for d in docs:
                _vandalize(d)
            _vandalize(ctx.db.get(docs[0]["_id"]))
            return len(docs)

        @app.query()
        def plain(ctx):
            return [{k: x for k, x in d.items() if not k.startswith("_")}
                    for d in ctx.db.query("docs").collect()]

        assert vandal() == 4
        assert sorted(plain(), key=lambda d: d["n"]) == [_doc(k) for k in range(4)]


def test_value_copier_copies_flat_rows_and_falls_back_for_the_rest():
    from nbreactive.values.copies import copy_value, value_copier

    flat = [{"a": 1, "b": "x"}, {"a": 2, "b": None}]
    copy = value_copier(flat)
    assert copy is not copy_value
    out = copy(flat)
    assert out == flat and all(o is not f for o, f in zip(out, flat))
    for value in ([{"a": [1]}], [{"a": 1}, 5], [[1]], {"a": [1]}, 3, "s", None, []):
        assert value_copier(value)(value) == value
    nested = [{"a": [1]}]
    assert value_copier(nested) is copy_value
    assert value_copier(nested)(nested)[0]["a"] is not nested[0]["a"]
    # An object: only its containers are copied, each by its own plan.
    result = {"n": 1, "rows": [{"a": 1}], "deep": {"xs": [[1]], "o": {"k": [2]}}, "s": "x"}
    out = value_copier(result)(result)
    assert out == result
    assert out["rows"] is not result["rows"] and out["rows"][0] is not result["rows"][0]
    assert out["deep"]["xs"][0] is not result["deep"]["xs"][0]
    assert out["deep"]["o"]["k"] is not result["deep"]["o"]["k"]


def test_subscribers_each_get_their_own_copy_of_a_live_result():
    import threading

    with nr.App() as app:
        app.set_schema(nr.define_schema({"t": nr.define_table({"a": v.int64(), "xs": v.optional(v.array(v.int64()))})}))

        @app.mutation(args={"a": v.int64(), "nested": v.boolean()})
        def add(ctx, a, nested):
            ctx.db.insert("t", {"a": a, **({"xs": [a]} if nested else {})})

        @app.query()
        def rows(ctx):
            return ctx.db.query("t").collect()

        seen: list[list[dict[str, Any]]] = []
        done = threading.Event()

        def vandal(value):  # changes what it got, rows and nested lists
            for d in value:
                d["a"] = -1
                if "xs" in d:
                    d["xs"].append(-1)

        def keep(value):
            seen.append(value)
            if len(value) == 2:
                done.set()

        sub = app.subscribe(rows)
        sub.on_change(vandal)
        sub.on_change(keep)
        add(a=1, nested=False)  # flat rows
        add(a=2, nested=True)   # a nested list: copied deeply
        assert done.wait(10)
        last = seen[-1]
        assert [d["a"] for d in last] == [1, 2] and last[1]["xs"] == [2]
        assert [d["a"] for d in sub.value] == [1, 2] and sub.value[1]["xs"] == [2]
