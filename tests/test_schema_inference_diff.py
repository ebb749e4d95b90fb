"""Schema inference from documents, and the readable diff of two schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbreactive as nr
from nbreactive.schema import (
    Schema,
    SchemaDiff,
    check_documents,
    define_schema,
    define_table,
    diff_schemas,
    infer_schema,
)
from nbreactive.schema.diff import SchemaChange, is_subtype
from nbreactive.values.model import Id
from nbreactive.values.validators import Validator, v
from tests.strategies import documents


def _resolve(text: str) -> str | None:
    """Ids in these tests: ``u…`` are users, ``p…`` posts, anything else is no id."""
    if text.startswith("u") and text[1:].isdigit():
        return "users"
    if text.startswith("p") and text[1:].isdigit():
        return "posts"
    return None


# ---------------------------------------------------------------------------
# inference
# ---------------------------------------------------------------------------

INFERENCE: list[tuple[str, list[dict[str, Any]], Validator]] = [
    (
        "scalars",
        [{"a": 1, "b": 1.5, "c": "s", "d": True, "e": None, "f": b"x"}],
        v.object(
            {
                "a": v.int64(),
                "b": v.float64(),
                "c": v.string(),
                "d": v.boolean(),
                "e": v.null(),
                "f": v.bytes(),
            }
        ),
    ),
    (
        "mixed-types-become-a-union",
        [{"a": 1}, {"a": "x"}, {"a": False}],
        v.object({"a": v.union(v.string(), v.int64(), v.boolean())}),
    ),
    (
        "int64-and-float64-stay-distinct",
        [{"a": 1}, {"a": 2.5}],
        v.object({"a": v.union(v.float64(), v.int64())}),
    ),
    (
        "null-goes-last",
        [{"a": None}, {"a": "x"}],
        v.object({"a": v.union(v.string(), v.null())}),
    ),
    (
        "missing-means-optional",
        [{"a": 1, "b": 2}, {"a": 3}],
        v.object({"a": v.int64(), "b": v.optional(v.int64())}),
    ),
    (
        "nested-objects-merge",
        [{"o": {"x": 1, "y": "a"}}, {"o": {"x": 2, "z": [1]}}],
        v.object(
            {
                "o": v.object(
                    {
                        "x": v.int64(),
                        "y": v.optional(v.string()),
                        "z": v.optional(v.array(v.int64())),
                    }
                )
            }
        ),
    ),
    (
        "array-of-element-unions",
        [{"a": [1, "x"]}, {"a": [None]}],
        v.object({"a": v.array(v.union(v.string(), v.int64(), v.null()))}),
    ),
    ("only-empty-arrays", [{"a": []}], v.object({"a": v.array(v.any())})),
    (
        "array-of-objects",
        [{"a": [{"x": 1}, {"y": True}]}],
        v.object(
            {"a": v.array(v.object({"x": v.optional(v.int64()), "y": v.optional(v.boolean())}))}
        ),
    ),
    (
        "ids-of-one-table",
        [{"author": "u1"}, {"author": "u2"}],
        v.object({"author": v.id("users")}),
    ),
    (
        "ids-of-two-tables",
        [{"ref": "u1"}, {"ref": "p2"}],
        v.object({"ref": v.union(v.id("users"), v.id("posts"))}),
    ),
    (
        "ids-mixed-with-plain-strings",
        [{"ref": "u1"}, {"ref": "hello"}, {"ref": "u3"}],
        v.object({"ref": v.string()}),
    ),
    (
        "id-objects-know-their-table",
        # (an Id whose text is an id of its table: v.id checks the text, not the label)
        [{"ref": Id("p9", "posts")}],
        v.object({"ref": v.id("posts")}),
    ),
    (
        "many-distinct-strings-no-literals",
        [{"s": f"value {i}"} for i in range(200)],
        v.object({"s": v.string()}),
    ),
    (
        "map-like-keys-become-a-record",
        [{"m": {"2024-01-01": 3, "2024-01-02": 4.5}}],
        v.object({"m": v.record(v.string(), v.union(v.float64(), v.int64()))}),
    ),
    (
        "many-keys-become-a-record",
        [{"m": {f"k{i}": i for i in range(65)}}],
        v.object({"m": v.record(v.string(), v.int64())}),
    ),
    (
        "64-keys-stay-an-object",
        [{"m": {f"k{i}": i for i in range(64)}}],
        v.object({"m": v.object({f"k{i}": v.int64() for i in range(64)})}),
    ),
    (
        "system-fields-ignored",
        [{"_id": "k1", "_creationTime": 1.0, "a": 1}],
        v.object({"a": v.int64()}),
    ),
    ("empty-table-accepts-anything", [], v.any()),
    # Each top-level field would be a DuckDB column, and "name" and "Name" cannot both
    # be one: define_table refuses them, so the table keeps one JSON column (v.any()).
    ("top-level-fields-differing-only-in-case", [{"name": "a"}, {"Name": 1}], v.any()),
    (
        "nested-fields-differing-only-in-case",
        [{"o": {"name": "a", "Name": 1}}],
        v.object({"o": v.object({"name": v.string(), "Name": v.int64()})}),
    ),
    ("documents-without-fields", [{"_id": "k1", "_creationTime": 1.0}], v.object({})),
]


@pytest.mark.parametrize(
    ("docs", "expected"), [pytest.param(d, e, id=name) for name, d, e in INFERENCE]
)
def test_infer(docs: list[dict[str, Any]], expected: Validator) -> None:
    schema = infer_schema({"t": docs}, resolve_id=_resolve)
    assert schema.table("t").document_validator == expected
    assert check_documents(schema, {"t": docs}, resolve_id=_resolve).ok


def test_infer_several_tables_and_skips_system_tables() -> None:
    schema = infer_schema(
        {
            "users": [{"name": "Ada", "age": 36}, {"name": "Alan"}],
            "posts": [{"title": "Hi", "author": "u1"}],
            "_storage": [{"sha256": "x"}],
        },
        resolve_id=_resolve,
    )
    assert schema.to_python() == (
        "nr.define_schema({\n"
        '    "users": nr.define_table({\n'
        '        "name": v.string(),\n'
        '        "age": v.optional(v.int64()),\n'
        "    }),\n"
        '    "posts": nr.define_table({\n'
        '        "title": v.string(),\n'
        '        "author": v.id("users"),\n'
        "    }),\n"
        "})"
    )


def test_without_resolve_id_ids_are_strings() -> None:
    schema = infer_schema({"t": [{"ref": "u1"}]})
    assert schema.table("t").document_validator == v.object({"ref": v.string()})


@settings(max_examples=150, deadline=None)
@given(st.lists(documents(), max_size=6))
def test_every_document_fits_its_inferred_schema(docs: list[dict[str, Any]]) -> None:
    schema = infer_schema({"t": docs})
    report = check_documents(schema, {"t": docs})
    assert report.ok, str(report)
    # ... and the inferred schema is a normal one: it pastes and stores.
    assert eval(schema.to_python(), {"nr": nr, "v": v}) == schema
    assert Schema.from_json(json.loads(json.dumps(schema.to_json()))) == schema


# ---------------------------------------------------------------------------
# is_subtype
# ---------------------------------------------------------------------------

SUBTYPES: list[tuple[str, Validator, Validator, bool]] = [
    ("same", v.string(), v.string(), True),
    ("anything-in-any", v.array(v.int64()), v.any(), True),
    ("any-in-something", v.any(), v.string(), False),
    ("id-in-string", v.id("users"), v.string(), True),
    ("string-in-id", v.string(), v.id("users"), False),
    ("id-other-table", v.id("users"), v.id("posts"), False),
    ("literal-in-base", v.literal("a"), v.string(), True),
    ("int-literal-in-int64", v.literal(1), v.int64(), True),
    ("int-literal-in-float64", v.literal(1), v.float64(), False),
    ("bool-literal", v.literal(True), v.boolean(), True),
    ("member-in-union", v.string(), v.union(v.string(), v.null()), True),
    ("union-in-member", v.union(v.string(), v.null()), v.string(), False),
    ("union-reordered", v.union(v.null(), v.string()), v.union(v.string(), v.null()), True),
    ("int64-not-in-float64", v.int64(), v.float64(), False),
    ("required-in-optional", v.string(), v.optional(v.string()), True),
    ("optional-in-required", v.optional(v.string()), v.string(), False),
    ("arrays", v.array(v.id("t")), v.array(v.string()), True),
    (
        "object-new-optional-field",
        v.object({"a": v.string()}),
        v.object({"a": v.string(), "b": v.optional(v.int64())}),
        True,
    ),
    (
        "object-new-required-field",
        v.object({"a": v.string()}),
        v.object({"a": v.string(), "b": v.int64()}),
        False,
    ),
    (
        "object-dropped-field",
        v.object({"a": v.string(), "b": v.int64()}),
        v.object({"a": v.string()}),
        False,
    ),
    (
        "object-in-record",
        v.object({"a": v.int64(), "b": v.optional(v.int64())}),
        v.record(v.string(), v.int64()),
        True,
    ),
    ("record-in-object", v.record(v.string(), v.int64()), v.object({}), False),
    (
        "records",
        v.record(v.id("t"), v.literal(1)),
        v.record(v.string(), v.int64()),
        True,
    ),
]


@pytest.mark.parametrize(
    ("a", "b", "expected"), [pytest.param(a, b, e, id=name) for name, a, b, e in SUBTYPES]
)
def test_is_subtype(a: Validator, b: Validator, expected: bool) -> None:
    assert is_subtype(a, b) is expected


# ---------------------------------------------------------------------------
# diff
# ---------------------------------------------------------------------------

OLD = define_schema(
    {
        "posts": define_table(
            {
                "title": v.string(),
                "tags": v.array(v.string()),
                "legacy": v.string(),
                "status": v.union(v.literal("draft"), v.literal("live")),
                "n": v.int64(),
                "kind": v.union(v.string(), v.null()),
                "vec": v.array(v.float64()),
            }
        )
        .index("by_title", ["title"])
        .index("by_status", ["status"])
        .search_index("search_title", search_field="title")
        .vector_index("by_vec", vector_field="vec", dimensions=4),
        "drafts": define_table({"body": v.string()}).index("by_body", ["body"]),
        "free": define_table(v.any()),
    }
)

NEW = define_schema(
    {
        "posts": define_table(
            {
                "title": v.string(),
                "tags": v.array(v.union(v.string(), v.int64())),
                "status": v.literal("live"),
                "n": v.float64(),
                "kind": v.union(v.null(), v.string()),
                "subtitle": v.optional(v.string()),
                "rank": v.int64(),
                "vec": v.array(v.float64()),
            }
        )
        .index("by_title", ["title", "n"])
        .index("by_rank", ["rank"])
        .search_index("search_title", search_field="title", filter_fields=["status"])
        .vector_index("by_vec", vector_field="vec", dimensions=8),
        "free": define_table(v.object({"x": v.string()})),
        "comments": define_table({"body": v.string(), "postId": v.id("posts")})
        .index("by_post", ["postId"])
        .search_index("search_body", search_field="body"),
    },
    schema_validation=False,
)

EXPECTED_DIFF = """\
~ schema_validation: True → False
~ posts.tags: v.array(v.string()) → v.array(v.union(v.string(), v.int64()))  (widens)
- posts.legacy: v.string()  (narrows)
~ posts.status: v.union(v.literal("draft"), v.literal("live")) → v.literal("live")  (narrows)
~ posts.n: v.int64() → v.float64()  (both)
~ posts.kind: v.union(v.string(), v.null()) → v.union(v.null(), v.string())  (equivalent)
+ posts.subtitle: v.optional(v.string())  (widens)
+ posts.rank: v.int64()  (narrows)
~ index posts.by_title ["title"] → ["title", "n"]
- index posts.by_status ["status"]
+ index posts.by_rank ["rank"]
~ search index posts.search_title search_field="title" → search_field="title", filter_fields=["status"]
~ vector index posts.by_vec vector_field="vec", dimensions=4 → vector_field="vec", dimensions=8
- table drafts
-   drafts.body: v.string()
-   index drafts.by_body ["body"]
~ free documents: v.any() → v.object({"x": v.string()})  (narrows)
+ table comments
+   comments.body: v.string()
+   comments.postId: v.id("posts")
+   index comments.by_post ["postId"]
+   search index comments.search_body search_field="body\""""


def test_diff_text() -> None:
    diff = diff_schemas(OLD, NEW)
    assert str(diff) == EXPECTED_DIFF
    assert OLD.diff(NEW) == diff
    assert diff.narrows and not diff.is_empty and diff
    assert repr(diff) == "<SchemaDiff: 16 changes>"
    assert diff._repr_markdown_() == f"```diff\n{EXPECTED_DIFF}\n```"


def test_diff_changes_are_structured() -> None:
    changes = diff_schemas(OLD, NEW).changes
    assert changes[0] == SchemaChange(
        "changed", "setting", None, "schema_validation", "True", "False"
    )
    assert (
        SchemaChange(
            "changed", "field", "posts", "n", old="v.int64()", new="v.float64()", effect="both"
        )
        in changes
    )
    assert SchemaChange("removed", "table", "drafts") in changes
    assert SchemaChange("added", "index", "posts", "by_rank", new='["rank"]') in changes
    kinds = {(c.action, c.kind) for c in changes}
    assert ("changed", "search_index") in kinds and ("changed", "vector_index") in kinds
    assert ("changed", "document") in kinds and ("added", "table") in kinds


@pytest.mark.parametrize(
    ("old", "new", "text", "narrows"),
    [
        pytest.param(OLD, OLD, "No changes.", False, id="same"),
        pytest.param(
            define_schema({"t": define_table({"a": v.string(), "b": v.int64()})}),
            define_schema({"t": define_table({"b": v.int64(), "a": v.string()})}),
            "No changes.",
            False,
            id="field-order-only",
        ),
        pytest.param(
            None,
            define_schema({"t": define_table({"a": v.string()}).index("by_a", ["a"])}),
            '+ table t\n+   t.a: v.string()\n+   index t.by_a ["a"]',
            False,
            id="from-nothing",
        ),
        pytest.param(
            define_schema({"t": define_table({"a": v.string()}).index("by_a", ["a"])}),
            None,
            '- table t\n-   t.a: v.string()\n-   index t.by_a ["a"]',
            False,  # without a schema every table holds any document
            id="to-nothing",
        ),
        pytest.param(
            define_schema({"t": define_table({"a": v.string()}), "u": define_table({})},
                          strict_table_name_types=False),
            define_schema({"u": define_table({})}, strict_table_name_types=False),
            "- table t\n-   t.a: v.string()",
            False,  # a lenient schema lets t hold any document
            id="removed-from-a-lenient-schema",
        ),
        pytest.param(
            define_schema({"t": define_table({"a": v.string()})}),
            define_schema({"t": define_table({"a": v.optional(v.string())})}),
            "~ t.a: v.string() → v.optional(v.string())  (widens)",
            False,
            id="made-optional",
        ),
        pytest.param(
            define_schema({"t": define_table({"a": v.optional(v.string())})}),
            define_schema({"t": define_table({"a": v.string()})}),
            "~ t.a: v.optional(v.string()) → v.string()  (narrows)",
            True,
            id="made-required",
        ),
        pytest.param(
            define_schema({"t": define_table({})}),
            define_schema({"t": define_table({})}, strict_table_name_types=False),
            "~ strict_table_name_types: True → False",
            False,
            id="setting",
        ),
        pytest.param(
            define_schema({"t": define_table(v.union(v.object({"a": v.string()}), v.object({})))}),
            define_schema({"t": define_table(v.any())}),
            '~ t documents: v.union(v.object({"a": v.string()}), v.object({})) → v.any()  (widens)',
            False,
            id="union-document",
        ),
    ],
)
def test_diff_cases(old: Schema | None, new: Schema | None, text: str, narrows: bool) -> None:
    diff = diff_schemas(old, new)
    assert str(diff) == text
    assert diff.narrows is narrows
    assert diff.is_empty is (text == "No changes.")


def test_app_diff_schema_to_no_schema() -> None:
    """``app.set_schema(None)`` is allowed, but ``app.diff_schema(None)`` (what would that
    change?) raised AttributeError: 'NoneType' object has no attribute 'tables'."""
    app = nr.App()
    app.set_schema(define_schema({"t": define_table({"a": v.string()})}))
    diff = app.diff_schema(None)
    assert str(diff) == "- table t\n-   t.a: v.string()" and not diff.narrows
    app.close()


def test_empty_diff_markdown() -> None:
    diff = diff_schemas(OLD, OLD)
    assert isinstance(diff, SchemaDiff)
    assert diff._repr_markdown_() == "*No changes.*" and not diff
