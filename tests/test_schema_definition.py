"""Schema definitions: builders, every definition error, document validation, round trips.

Tables of named cases (pytest ids) for the rules of Convex's reference §1.2, §2.1 and §3:
each case builds something invalid and pins the exact message the user reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import nbreactive as nr
from nbreactive.errors import QueryError, SchemaError, ValidationError
from nbreactive.schema import (
    IndexDefinition,
    Schema,
    SearchIndexDefinition,
    TableDefinition,
    VectorIndexDefinition,
    define_schema,
    define_table,
)
from nbreactive.values.model import UNDEFINED, Id
from nbreactive.values.validators import v


def _blog() -> Schema:
    """The schema of SPEC §1.2, plus a vector index."""
    return define_schema(
        {
            "users": define_table(
                {
                    "name": v.string(),
                    "email": v.string(),
                    "role": v.union(v.literal("admin"), v.literal("user")),
                }
            ).index("by_email", ["email"]),
            "posts": define_table(
                {
                    "title": v.string(),
                    "authorId": v.id("users"),
                    "published": v.boolean(),
                    "tags": v.array(v.string()),
                    "score": v.optional(v.float64()),
                    "meta": v.optional(v.object({"views": v.int64(), "extra": v.any()})),
                    "counts": v.optional(v.record(v.string(), v.int64())),
                    "embedding": v.optional(v.array(v.float64())),
                }
            )
            .index("by_author", ["authorId"])
            .index("by_published", ["published", "publishedAt"])
            .search_index("search_posts", search_field="title", filter_fields=["published"])
            .vector_index("by_embedding", vector_field="embedding", dimensions=3),
        }
    )


def _table() -> TableDefinition:
    return define_table({"a": v.string(), "n": v.int64(), "emb": v.array(v.float64())})


# ---------------------------------------------------------------------------
# definition errors
# ---------------------------------------------------------------------------

LONG = "x" * 65


def _many_indexes(n: int) -> TableDefinition:
    t = _table()
    for i in range(n):
        t.index(f"i{i}", ["a"])
    return t


def _many_search(n: int) -> TableDefinition:
    t = _table()
    for i in range(n):
        t.search_index(f"s{i}", search_field="a")
    return t


def _many_vector(n: int) -> TableDefinition:
    t = _table()
    for i in range(n):
        t.vector_index(f"vec{i}", vector_field="emb", dimensions=2)
    return t


CASE_TWIN_FIELDS = (
    "define_table(): the fields '{a}' and '{b}' differ only in case. Each top-level field of "
    "a table is a DuckDB column, and DuckDB column names are case-insensitive, so SQL could "
    "not tell the two apart. Rename one of them, or nest them in an object field (nested "
    "fields are stored as JSON and may differ only in case), or declare the table "
    "define_table(v.any()), which stores documents as one JSON column like a table without "
    "a schema."
)
CASE_TWIN_TABLES = (
    "define_schema(): the tables '{a}' and '{b}' differ only in case. DuckDB table names are "
    "case-insensitive, so the two would be one table (and SQL could not tell them apart); "
    "give them names that differ in more than case."
)

DEFINITION_ERRORS: list[tuple[str, Callable[[], Any], str]] = [
    # -- define_table ---------------------------------------------------------------
    (
        "table-field-_id",
        lambda: define_table({"_id": v.string()}),
        "define_table(): invalid field: '_id' is a system field, added to every document "
        "automatically; remove it",
    ),
    (
        "table-field-_creationTime",
        lambda: define_table({"_creationTime": v.float64()}),
        "define_table(): invalid field: '_creationTime' is a system field, added to every "
        "document automatically; remove it",
    ),
    (
        "table-field-underscore",
        lambda: define_table({"_secret": v.string()}),
        "define_table(): invalid field: '_secret' starts with '_', which is reserved for "
        "system fields; rename it",
    ),
    (
        "table-field-not-identifier",
        lambda: define_table({"2fast": v.string()}),
        "define_table(): invalid field: '2fast' is not a valid top-level field name: start "
        "with a letter and use only ASCII letters, digits and '_'",
    ),
    (
        "table-field-too-long",
        lambda: define_table({LONG: v.string()}),
        "define_table(): invalid field: 'xxxxxxxxxxxxxxxxxxxx'... is 65 characters long, "
        "more than the 64 allowed for top-level fields",
    ),
    (
        "table-field-empty",
        lambda: define_table({"": v.string()}),
        "define_table(): invalid field: field names must not be empty",
    ),
    (
        "table-field-not-str",
        lambda: define_table({1: v.string()}),  # type: ignore[dict-item]
        "define_table(): invalid field: field names must be strings, got 1 (int64)",
    ),
    (
        "table-object-with-system-field",
        lambda: define_table(v.object({"_id": v.string()})),
        "define_table(): invalid field: '_id' is a system field, added to every document "
        "automatically; remove it",
    ),
    # DuckDB column names are case-insensitive: "name" and "Name" would be one column.
    (
        "table-fields-differing-only-in-case",
        lambda: define_table({"name": v.string(), "age": v.int64(), "Name": v.int64()}),
        CASE_TWIN_FIELDS.format(a="name", b="Name"),
    ),
    (
        "table-object-fields-differing-only-in-case",
        lambda: define_table(v.object({"userId": v.string(), "USERID": v.string()})),
        CASE_TWIN_FIELDS.format(a="userId", b="USERID"),
    ),
    (
        "table-not-a-document-validator",
        lambda: define_table(v.string()),
        "define_table() takes a dict of field validators, v.object({...}), a v.union of "
        "objects or v.any(); got v.string(), which cannot describe a document",
    ),
    (
        "table-union-of-non-objects",
        lambda: define_table(v.union(v.object({"a": v.string()}), v.string())),
        "define_table(): a union document validator must be a union of v.object(...) "
        "validators; v.string() is not an object validator",
    ),
    (
        "table-optional-document",
        lambda: define_table(v.optional(v.object({}))),
        "define_table() takes a dict of field validators, v.object({...}), a v.union of "
        "objects or v.any(); got v.optional(v.object({})), which cannot describe a document",
    ),
    (
        "table-not-a-dict",
        lambda: define_table(42),  # type: ignore[arg-type]
        "define_table() takes a dict of field validators or a v.object(...), got 42 (int64)",
    ),
    (
        "table-field-not-a-validator",
        lambda: define_table({"a": "string"}),  # type: ignore[dict-item]
        "v.object() field 'a' must be a validator such as v.string(), got 'string'",
    ),
    (
        "table-field-uncalled-validator",
        lambda: define_table({"a": v.string}),  # type: ignore[dict-item]
        "v.object() field 'a' must be a validator such as v.string(), got v.string: "
        "call it, v.string()",
    ),
    (
        "table-field-python-type",
        lambda: define_table({"a": int}),  # type: ignore[dict-item]
        "v.object() field 'a' must be a validator such as v.string(), got <class 'int'>: "
        "for a Python int write v.int64() (or v.number() for any number)",
    ),
    (
        "array-of-python-type",
        lambda: v.array(str),  # type: ignore[arg-type]
        "v.array(element) must be a validator such as v.string(), got <class 'str'>: "
        "for a Python str write v.string()",
    ),
    # -- index names ------------------------------------------------------------------
    (
        "index-name-space",
        lambda: _table().index("by a", ["a"]),
        "Invalid index name 'by a': use only ASCII letters, digits and '_', starting with a "
        "letter.",
    ),
    (
        "index-name-underscore",
        lambda: _table().index("_by_a", ["a"]),
        "Invalid index name '_by_a': names starting with '_' are reserved for the system.",
    ),
    (
        "index-name-too-long",
        lambda: _table().index(LONG, ["a"]),
        f"Invalid index name '{LONG}': it is 65 characters long, more than the 64 allowed.",
    ),
    (
        "index-name-empty",
        lambda: _table().index("", ["a"]),
        "Invalid index name '': it is empty.",
    ),
    (
        "index-name-not-str",
        lambda: _table().index(7, ["a"]),  # type: ignore[arg-type]
        "Invalid index name 7: expected a string, got int64",
    ),
    (
        "index-name-by_id",
        lambda: _table().index("by_id", ["a"]),
        "index 'by_id': the name 'by_id' is reserved for the built-in index; choose another name",
    ),
    (
        "index-name-by_creation_time",
        lambda: _table().search_index("by_creation_time", search_field="a"),
        "search index 'by_creation_time': the name 'by_creation_time' is reserved for the "
        "built-in index; choose another name",
    ),
    (
        "index-name-duplicate",
        lambda: _table().index("by_a", ["a"]).index("by_a", ["n"]),
        "index 'by_a': the table already has an index named 'by_a'; index names must be "
        "unique per table",
    ),
    (
        "index-name-duplicate-across-kinds",
        lambda: _table().index("by_a", ["a"]).search_index("by_a", search_field="a"),
        "search index 'by_a': the table already has an index named 'by_a'; index names must "
        "be unique per table",
    ),
    # -- index fields -----------------------------------------------------------------
    (
        "index-fields-bare-string",
        lambda: _table().index("by_a", "a"),  # type: ignore[arg-type]
        "index 'by_a': index fields must be a list of field paths, e.g. ['a'], not a single string",
    ),
    (
        "index-fields-not-a-list",
        lambda: _table().index("by_a", 3),  # type: ignore[arg-type]
        "index 'by_a': index fields must be a list of field paths, got 3",
    ),
    (
        "index-fields-empty",
        lambda: _table().index("by_nothing", []),
        "index 'by_nothing': an index needs at least one field; every table already has "
        "by_creation_time for ordering by creation time",
    ),
    (
        "index-fields-16",
        lambda: _table().index("wide", [f"f{i}" for i in range(16)]),
        "index 'wide': 16 index fields, more than the 15 allowed (16 counting the implicit "
        "_creationTime)",
    ),
    (
        "index-fields-duplicate",
        lambda: _table().index("by_a", ["a", "n", "a"]),
        "index 'by_a': field 'a' is listed twice in index fields",
    ),
    (
        "index-field-_creationTime",
        lambda: _table().index("by_a", ["a", "_creationTime"]),
        "index 'by_a': \"_creationTime\" cannot be an index field: every index already ends "
        "with _creationTime (then _id); remove it",
    ),
    (
        "index-field-_id",
        lambda: _table().index("by_a", ["_id"]),
        "index 'by_a': \"_id\" cannot be an index field: every index already ends with "
        "_creationTime, then _id; use the built-in by_id index to look up by id",
    ),
    (
        "index-field-underscore",
        lambda: _table().index("by_a", ["_a"]),
        "index 'by_a': invalid field path '_a': '_a' starts with '_', which is reserved for "
        "system fields; rename it",
    ),
    (
        "index-field-empty-segment",
        lambda: _table().index("by_a", ["a..b"]),
        "index 'by_a': invalid field path 'a..b': object keys must not be empty",
    ),
    (
        "index-field-leading-dot",
        lambda: _table().index("by_a", [".a"]),
        "index 'by_a': invalid field path '.a': field names must not be empty",
    ),
    (
        "index-field-dollar-segment",
        lambda: _table().index("by_a", ["a.$b"]),
        "index 'by_a': invalid field path 'a.$b': object key '$b' starts with '$', which is "
        "reserved for encoding values",
    ),
    (
        "index-field-not-str",
        lambda: _table().index("by_a", [1]),  # type: ignore[list-item]
        "index 'by_a': field paths must be strings, got 1 (int64)",
    ),
    (
        "indexes-33",
        lambda: _many_indexes(33),
        "index 'i32': a table can have at most 32 indexes (database, search and vector "
        "indexes together)",
    ),
    (
        "indexes-33-mixed-kinds",
        lambda: (
            _many_indexes(28)
            .search_index("s", search_field="a")
            .vector_index("vec", vector_field="emb", dimensions=2)
            .index("x1", ["n"])
            .index("x2", ["n"])
            .index("x3", ["n"])
        ),
        "index 'x3': a table can have at most 32 indexes (database, search and vector "
        "indexes together)",
    ),
    # -- search indexes ---------------------------------------------------------------
    (
        "search-5",
        lambda: _many_search(5),
        "search index 's4': a table can have at most 4 search indexes",
    ),
    (
        "search-field-not-string",
        lambda: _table().search_index("s", search_field="n"),
        "search index 's': the search field 'n' must be a string field, but the table "
        "declares it as v.int64()",
    ),
    (
        "search-field-system",
        lambda: _table().search_index("s", search_field="_creationTime"),
        "search index 's': \"_creationTime\" cannot be an index field: every index already "
        "ends with _creationTime (then _id); remove it",
    ),
    (
        "search-filter-fields-17",
        lambda: _table().search_index(
            "s", search_field="a", filter_fields=[f"f{i}" for i in range(17)]
        ),
        "search index 's': 17 filter fields, more than the 16 allowed",
    ),
    (
        "search-filter-fields-string",
        lambda: _table().search_index("s", search_field="a", filter_fields="n"),
        "search index 's': filter fields must be a list of field paths, e.g. ['n'], not a "
        "single string",
    ),
    (
        "search-filter-fields-duplicate",
        lambda: _table().search_index("s", search_field="a", filter_fields=["n", "n"]),
        "search index 's': field 'n' is listed twice in filter fields",
    ),
    # -- vector indexes ---------------------------------------------------------------
    (
        "vector-5",
        lambda: _many_vector(5),
        "vector index 'vec4': a table can have at most 4 vector indexes",
    ),
    (
        "vector-dimensions-1",
        lambda: _table().vector_index("vec", vector_field="emb", dimensions=1),
        "vector index 'vec': dimensions must be an int from 2 to 4096, got 1",
    ),
    (
        "vector-dimensions-4097",
        lambda: _table().vector_index("vec", vector_field="emb", dimensions=4097),
        "vector index 'vec': dimensions must be an int from 2 to 4096, got 4097",
    ),
    (
        "vector-dimensions-str",
        lambda: _table().vector_index("vec", vector_field="emb", dimensions="8"),  # type: ignore[arg-type]
        "vector index 'vec': dimensions must be an int from 2 to 4096, got '8'",
    ),
    (
        "vector-dimensions-bool",
        lambda: _table().vector_index("vec", vector_field="emb", dimensions=True),
        "vector index 'vec': dimensions must be an int from 2 to 4096, got True",
    ),
    (
        "vector-field-not-array-of-floats",
        lambda: _table().vector_index("vec", vector_field="a", dimensions=2),
        "vector index 'vec': the vector field 'a' must be declared as v.array(v.float64()), "
        "but the table declares it as v.string()",
    ),
    (
        "vector-filter-fields-17",
        lambda: _table().vector_index(
            "vec", vector_field="emb", dimensions=2, filter_fields=[f"f{i}" for i in range(17)]
        ),
        "vector index 'vec': 17 filter fields, more than the 16 allowed",
    ),
    # -- define_schema ----------------------------------------------------------------
    (
        "schema-table-name-underscore",
        lambda: define_schema({"_users": define_table({})}),
        "Invalid table name '_users': names starting with '_' are reserved for the system.",
    ),
    (
        "schema-table-name-underscores-only",
        lambda: define_schema({"___": define_table({})}),
        "Invalid table name '___': names starting with '_' are reserved for the system.",
    ),
    (
        "schema-table-name-space",
        lambda: define_schema({"my table": define_table({})}),
        "Invalid table name 'my table': use only ASCII letters, digits and '_', starting with "
        "a letter.",
    ),
    (
        "schema-table-name-too-long",
        lambda: define_schema({LONG: define_table({})}),
        f"Invalid table name '{LONG}': it is 65 characters long, more than the 64 allowed.",
    ),
    (
        "schema-tables-differing-only-in-case",
        lambda: define_schema(
            {"Users": define_table({}), "posts": define_table({}), "users": define_table({})}
        ),
        CASE_TWIN_TABLES.format(a="Users", b="users"),
    ),
    (
        "schema-table-not-wrapped",
        lambda: define_schema({"users": {"name": v.string()}}),  # type: ignore[dict-item]
        "table 'users': expected a table definition, got {'name': v.string()}; wrap the "
        "fields in nr.define_table(...)",
    ),
    (
        "schema-table-not-a-definition",
        lambda: define_schema({"users": 3}),  # type: ignore[dict-item]
        "table 'users': expected a table definition, got 3",
    ),
    (
        "schema-not-a-dict",
        lambda: define_schema([define_table({})]),  # type: ignore[arg-type]
        "define_schema() takes a dict of table name → define_table(...), got [nr.define_table({})]",
    ),
    (
        "schema-frozen-table",
        lambda: define_schema({"t": _table()}).table("t").index("late", ["a"]),
        "table 't', index 'late': table 't' belongs to a schema and can no longer change; "
        "add indexes to the define_table(...) chain before define_schema",
    ),
]


@pytest.mark.parametrize(
    ("build", "message"),
    [pytest.param(b, m, id=name) for name, b, m in DEFINITION_ERRORS],
)
def test_definition_errors(build: Callable[[], Any], message: str) -> None:
    with pytest.raises(SchemaError) as info:
        build()
    assert str(info.value) == message


def test_too_many_tables() -> None:
    table = define_table({})
    with pytest.raises(SchemaError, match="at most 10000 tables, got 10001"):
        define_schema({f"t{i}": table for i in range(10_001)})


# ---------------------------------------------------------------------------
# what valid definitions hold
# ---------------------------------------------------------------------------


def test_limits_that_are_allowed() -> None:
    t = _table()
    t.index("wide", [f"f{i}" for i in range(15)])  # 15 + _creationTime = 16
    for i in range(4):
        t.search_index(f"s{i}", search_field="a", filter_fields=[f"f{j}" for j in range(16)])
        t.vector_index(f"vec{i}", vector_field="emb", dimensions=4096 if i else 2)
    for i in range(32 - 9):
        t.index(f"i{i}", ["a.b.c"])  # dotted paths are fine, declared or not
    assert len(t.indexes) + len(t.search_indexes) + len(t.vector_indexes) == 32


def test_builders_chain_and_record_definitions() -> None:
    posts = _blog().table("posts")
    assert posts.name == "posts"
    assert list(posts.indexes) == ["by_author", "by_published"]
    assert posts.indexes["by_published"] == IndexDefinition(
        "by_published", ("published", "publishedAt")
    )
    assert posts.search_indexes == {
        "search_posts": SearchIndexDefinition("search_posts", "title", ("published",))
    }
    assert posts.vector_indexes == {
        "by_embedding": VectorIndexDefinition("by_embedding", "embedding", 3, ())
    }


def test_define_schema_copies_tables() -> None:
    table = define_table({"a": v.string()})
    schema = define_schema({"t": table})
    table.index("later", ["a"])  # the user's builder can still change ...
    assert table.name is None
    assert "later" not in schema.table("t").indexes  # ... the schema does not


def test_search_and_vector_fields_may_be_undeclared_or_loosely_typed() -> None:
    t = define_table(
        {
            "body": v.optional(v.union(v.string(), v.null())),
            "anything": v.any(),
            "vec": v.union(v.array(v.float64()), v.null()),
        }
    )
    t.search_index("s1", search_field="body")
    t.search_index("s2", search_field="anything")
    t.search_index("s3", search_field="not_declared")
    t.vector_index("v1", vector_field="vec", dimensions=2)
    t.vector_index("v2", vector_field="anything", dimensions=2)
    assert len(t.search_indexes) == 3 and len(t.vector_indexes) == 2


def test_only_names_that_become_duckdb_identifiers_must_differ_in_more_than_case() -> None:
    # Each top-level field of a v.object table is a column and each table a DuckDB table;
    # everything else is stored as JSON, where "name" and "Name" are two keys.
    nested = define_table({"profile": v.object({"name": v.string(), "Name": v.int64()})})
    rec = define_table({"counts": v.record(v.string(), v.int64())})
    union = define_table(
        v.union(v.object({"name": v.string(), "Name": v.int64()}), v.object({"x": v.null()}))
    )
    schema = define_schema(
        {"nested": nested, "rec": rec, "union": union, "anything": define_table(v.any())}
    )
    assert Schema.from_json(json.loads(json.dumps(schema.to_json()))) == schema
    doc = {"name": "x", "Name": 1}
    assert schema.table("union").validate_document(doc) == doc
    assert nested.validate_document({"profile": doc}) == {"profile": doc}
    # Case-only differences elsewhere in a schema are no problem either.
    t = define_table({"name": v.string()}).index("by_name", ["name"]).index("BY_NAME", ["name"])
    assert list(define_schema({"users": t, "users2": define_table({})}).table("users").indexes) == [
        "by_name",
        "BY_NAME",
    ]


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        pytest.param("by_author", ("authorId", "_creationTime", "_id"), id="user-index"),
        pytest.param(
            "by_published", ("published", "publishedAt", "_creationTime", "_id"), id="two-fields"
        ),
        pytest.param("by_creation_time", ("_creationTime", "_id"), id="by_creation_time"),
        pytest.param("by_id", ("_id",), id="by_id"),
    ],
)
def test_index_fields(index: str, expected: tuple[str, ...]) -> None:
    assert _blog().table("posts").index_fields(index) == expected


@pytest.mark.parametrize(
    ("index", "message"),
    [
        pytest.param("nope", "Index posts.nope not found.", id="unknown"),
        pytest.param(
            "search_posts",
            "Index posts.search_posts is a search index; query it with with_search_index, "
            "not with_index.",
            id="search-index",
        ),
        pytest.param(
            "by_embedding",
            "Index posts.by_embedding is a vector index; query it with vector_search, "
            "not with_index.",
            id="vector-index",
        ),
    ],
)
def test_index_fields_errors(index: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        _blog().table("posts").index_fields(index)
    assert str(info.value) == message


def test_schema_table_lookup() -> None:
    schema = _blog()
    assert "posts" in schema and "nope" not in schema
    with pytest.raises(QueryError) as info:
        schema.table("nope")
    assert str(info.value) == "Table 'nope' is not in the schema; its tables are: users, posts."


@pytest.mark.parametrize(
    ("strict", "table", "allowed"),
    [
        pytest.param(True, "posts", True, id="strict-known"),
        pytest.param(True, "other", False, id="strict-unknown"),
        pytest.param(False, "posts", True, id="lenient-known"),
        pytest.param(False, "other", True, id="lenient-unknown"),
    ],
)
def test_allows_table(strict: bool, table: str, allowed: bool) -> None:
    schema = define_schema({"posts": define_table({})}, strict_table_name_types=strict)
    assert schema.allows_table(table) is allowed


READS_OF_A_TABLE = {
    "collect": lambda q: q.collect(),
    "first": lambda q: q.first(),
    "take": lambda q: q.take(1),
    "count": lambda q: q.count(),
    "filter": lambda q: q.filter(lambda f: f.eq(f.field("x"), 1)).collect(),
    "by_creation_time": lambda q: q.with_index("by_creation_time").collect(),
    "paginate": lambda q: q.paginate({"numItems": 1, "cursor": None}),
}


@pytest.mark.parametrize("read", list(READS_OF_A_TABLE), ids=list(READS_OF_A_TABLE))
def test_reading_a_table_a_strict_schema_does_not_list_is_refused(read: str) -> None:
    """Writing to a misspelt table is refused, but reading it quietly gave [] (a live
    widget stayed empty forever), although ``Query.plan`` says an unknown table raises:
    under a strict schema the table can never hold a document."""
    app = nr.App()
    app.set_schema(nr.define_schema({"posts": nr.define_table({"x": v.int64()})}))

    @app.query(args={"table": v.string()})
    def reads(ctx: Any, table: str) -> Any:
        return READS_OF_A_TABLE[read](ctx.db.query(table))

    with pytest.raises(QueryError) as info:
        reads(table="post")
    assert str(info.value).startswith('Table "post" is not in the schema')
    assert "posts" in str(info.value) and "strict_table_name_types=False" in str(info.value)
    reads(table="posts")  # the table the schema lists reads as before
    app.close()


def test_app_count_of_a_table_a_strict_schema_does_not_list_is_refused() -> None:
    """app.count("post") under a schema of "posts" answered 0, as if the table were empty."""
    app = nr.App()
    app.set_schema(nr.define_schema({"posts": nr.define_table({"x": v.int64()})}))
    with pytest.raises(QueryError, match='Table "post" is not in the schema'):
        app.count("post")
    assert app.count("posts") == 0
    assert app.count("_scheduled_functions") == 0
    app.close()


def test_reading_tables_outside_a_lenient_schema_or_without_one_finds_nothing() -> None:
    for schema in (None, nr.define_schema({"posts": nr.define_table({"x": v.int64()})},
                                          strict_table_name_types=False)):
        app = nr.App()
        app.set_schema(schema)

        @app.query()
        def reads(ctx: Any) -> Any:
            jobs = ctx.db.system.query("_scheduled_functions").collect()
            return ctx.db.query("post").collect(), jobs

        assert reads() == [[], []]
        app.close()


# ---------------------------------------------------------------------------
# field_validator
# ---------------------------------------------------------------------------

_UNION_TABLE = define_table(
    v.union(
        v.object({"kind": v.literal("a"), "x": v.string(), "shared": v.int64()}),
        v.object({"kind": v.literal("b"), "x": v.float64(), "shared": v.int64()}),
    )
)


@pytest.mark.parametrize(
    ("table", "path", "expected"),
    [
        pytest.param(None, "title", v.string(), id="plain"),
        pytest.param(None, "score", v.float64(), id="optional-unwrapped"),
        pytest.param(None, "meta.views", v.int64(), id="nested-through-optional"),
        pytest.param(None, "meta.extra", None, id="nested-any"),
        pytest.param(None, "meta.nope", None, id="nested-unknown"),
        pytest.param(None, "counts.anything", v.int64(), id="record-values"),
        pytest.param(None, "publishedAt", None, id="undeclared"),
        pytest.param(None, "title.deeper", None, id="into-a-scalar"),
        pytest.param(_UNION_TABLE, "shared", v.int64(), id="union-same"),
        pytest.param(_UNION_TABLE, "x", v.union(v.string(), v.float64()), id="union-differs"),
        pytest.param(define_table(v.any()), "a", None, id="any-document"),
        # a v.any() member before the object members may take any value: nothing is known
        # of the field (a query's int literal must then stay an int); after them, the
        # object members decide, as they do when a value is written
        pytest.param(define_table({"o": v.union(v.any(), v.object({"k": v.float64()}))}),
                     "o.k", None, id="union-any-first"),
        pytest.param(define_table({"o": v.optional(v.union(v.any(),
                                                           v.object({"k": v.float64()})))}),
                     "o.k", None, id="optional-union-any-first"),
        pytest.param(define_table({"o": v.union(v.object({"k": v.float64()}), v.any())}),
                     "o.k", v.float64(), id="union-any-last"),
        pytest.param(define_table({"o": v.union(v.object({"k": v.float64()}), v.null())}),
                     "o.k", v.float64(), id="union-with-null"),
    ],
)
def test_field_validator(table: TableDefinition | None, path: str, expected: Any) -> None:
    table = table or _blog().table("posts")
    assert table.field_validator(path) == expected


def test_system_and_full_document_validators() -> None:
    users = _blog().table("users")
    assert users.system_fields_validator() == v.object(
        {"_id": v.id("users"), "_creationTime": v.float64()}
    )
    full = users.full_document_validator()
    doc = {
        "name": "a",
        "email": "e",
        "role": "user",
        "_id": Id("k1", "users"),
        "_creationTime": 1.0,
    }
    assert full.validate(doc) == doc
    with pytest.raises(SchemaError, match="no name yet"):
        define_table({}).system_fields_validator()


# ---------------------------------------------------------------------------
# validate_document
# ---------------------------------------------------------------------------

_POST = {"title": "Hi", "authorId": "u1", "published": True, "tags": ["a"]}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        pytest.param(_POST, _POST, id="minimal"),
        pytest.param(
            {**_POST, "tags": ("a", "b"), "score": 3, "meta": UNDEFINED},
            {**_POST, "tags": ["a", "b"], "score": 3.0},
            id="normalized",
        ),
        pytest.param(
            {**_POST, "meta": {"views": 2, "extra": [1, (2,)]}, "counts": {"x y": 1}},
            {**_POST, "meta": {"views": 2, "extra": [1, [2]]}, "counts": {"x y": 1}},
            id="nested",
        ),
    ],
)
def test_validate_document_accepts(doc: dict[str, Any], expected: dict[str, Any]) -> None:
    out = _blog().table("posts").validate_document(doc)
    assert out == expected
    assert type(out["authorId"]) is Id and out["authorId"].table == "users"
    assert type(out.get("score", 0.0)) is float


@pytest.mark.parametrize(
    ("doc", "message", "path"),
    [
        pytest.param(
            {**_POST, "tags": ["a", "b", 3]},
            ".tags[2]: expected v.string(), got 3 (int64)",
            ".tags[2]",
            id="array-element",
        ),
        pytest.param(
            {**_POST, "meta": {"views": 1.5, "extra": None}},
            ".meta.views: expected v.int64(), got 1.5 (float64)",
            ".meta.views",
            id="nested-field",
        ),
        pytest.param(
            {**_POST, "counts": {"a": "1"}},
            ".counts.a: expected v.int64(), got '1' (string)",
            ".counts.a",
            id="record-value",
        ),
        pytest.param(
            {"title": "Hi", "authorId": "u1", "published": True},
            'Object is missing the required field "tags". Consider wrapping the field '
            "validator in v.optional(...) if this is expected.",
            "",
            id="missing-field",
        ),
        pytest.param(
            {**_POST, "subtitle": "x"},
            'Object contains extra field "subtitle" that is not in the validator.',
            "",
            id="extra-field",
        ),
        pytest.param(
            {**_POST, "_id": "k1"},
            '._id: field "_id" is set by the system; remove it from the document',
            "._id",
            id="system-_id",
        ),
        pytest.param(
            {**_POST, "_creationTime": 1.0},
            '._creationTime: field "_creationTime" is set by the system; remove it from the '
            "document",
            "._creationTime",
            id="system-_creationTime",
        ),
        pytest.param(
            [("title", "Hi")],
            "a document must be a dict, got [('title', 'Hi')] (array)",
            "",
            id="not-a-dict",
        ),
        pytest.param(
            {**_POST, "authorId": 5},
            '.authorId: expected v.id("users"), got 5 (int64)',
            ".authorId",
            id="id-type",
        ),
    ],
)
def test_validate_document_errors(doc: Any, message: str, path: str) -> None:
    with pytest.raises(ValidationError) as info:
        _blog().table("posts").validate_document(doc)
    assert str(info.value) == message
    assert info.value.path == path


def test_validate_document_resolves_ids() -> None:
    posts = _blog().table("posts")

    def resolve(text: str) -> str | None:
        return "users" if text.startswith("u") else "posts"

    assert posts.validate_document(_POST, resolve_id=resolve)["authorId"] == "u1"
    with pytest.raises(ValidationError) as info:
        posts.validate_document({**_POST, "authorId": "p1"}, resolve_id=resolve)
    assert str(info.value) == ".authorId: expected v.id(\"users\"), got 'p1' (string)"


@pytest.mark.parametrize(
    ("doc", "result"),
    [
        pytest.param({"kind": "a", "x": "s", "shared": 1}, None, id="first-member"),
        pytest.param(
            {"kind": "b", "x": 2, "shared": 1},
            {"kind": "b", "x": 2.0, "shared": 1},
            id="second-member",
        ),
        pytest.param({"kind": "c", "x": "s", "shared": 1}, ValidationError, id="no-member"),
    ],
)
def test_validate_document_union_table(doc: dict[str, Any], result: Any) -> None:
    if result is ValidationError:
        with pytest.raises(ValidationError, match=r"^expected v\.union\(v\.object"):
            _UNION_TABLE.validate_document(doc)
    else:
        assert _UNION_TABLE.validate_document(doc) == (result or doc)


@pytest.mark.parametrize(
    ("doc", "outcome"),
    [
        pytest.param({"a": (1, 2), "b": UNDEFINED}, {"a": [1, 2]}, id="normalized"),
        pytest.param(
            {"_x": 1},
            # a bad key is reported at the object holding it (here the document itself)
            "field name '_x' starts with '_', which is reserved for system fields; "
            "rename the field",
            id="underscore-field",
        ),
        pytest.param(
            {"_id": 1},
            '._id: field "_id" is set by the system; remove it from the document',
            id="system-field",
        ),
    ],
)
def test_validate_document_any_table(doc: dict[str, Any], outcome: Any) -> None:
    table = define_table(v.any())
    if isinstance(outcome, str):
        with pytest.raises(ValidationError) as info:
            table.validate_document(doc)
        assert str(info.value) == outcome
    else:
        assert table.validate_document(doc) == outcome


# ---------------------------------------------------------------------------
# JSON, Python source, equality, display
# ---------------------------------------------------------------------------

EVERY_VALIDATOR = {
    "s": v.string(),
    "f": v.float64(),
    "n": v.number(),
    "i": v.int64(),
    "b": v.boolean(),
    "z": v.null(),
    "by": v.bytes(),
    "any": v.any(),
    "ref": v.id("users"),
    "ls": v.literal('a "quoted" ü'),
    "li": v.literal(-(2**63)),
    "lf": v.literal(1.5),
    "lnan": v.literal(float("nan")),
    "lb": v.literal(False),
    "opt": v.optional(v.string()),
    "arr": v.array(v.array(v.int64())),
    "vec": v.array(v.float64()),
    "obj": v.object({"x": v.optional(v.object({"y": v.bytes()})), "odd key": v.null()}),
    "rec": v.record(v.string(), v.float64()),
    "recid": v.record(v.id("users"), v.boolean()),
    "uni": v.union(v.string(), v.int64(), v.null()),
    "nul": v.nullable(v.array(v.any())),
}


def _every_kind_schema(**options: bool) -> Schema:
    return define_schema(
        {
            "users": define_table({"name": v.string()}),
            "kinds": define_table(EVERY_VALIDATOR)
            .index("by_s", ["s"])
            .index("by_nested", ["obj.x.y", "i"])
            .search_index("search_s", search_field="s", filter_fields=["i", "b"])
            .search_index("search_plain", search_field="ls")
            .vector_index("by_vec", vector_field="vec", dimensions=8, filter_fields=["s"]),
            "union": define_table(
                v.union(v.object({"a": v.string()}), v.object({"b": v.optional(v.int64())}))
            ),
            "free": define_table(v.any()),
            "empty": define_table({}),
        },
        **options,
    )


SCHEMAS = [
    pytest.param(_blog, id="blog"),
    pytest.param(_every_kind_schema, id="every-kind"),
    pytest.param(lambda: _every_kind_schema(schema_validation=False), id="no-validation"),
    pytest.param(lambda: _every_kind_schema(strict_table_name_types=False), id="lenient"),
    pytest.param(lambda: define_schema({}), id="empty"),
]


@pytest.mark.parametrize("make", SCHEMAS)
def test_json_round_trip(make: Callable[[], Schema]) -> None:
    schema = make()
    text = json.dumps(schema.to_json(), allow_nan=False)  # plain JSON: storable in _nr_meta
    again = Schema.from_json(json.loads(text))
    assert again == schema
    assert again.to_json() == schema.to_json()
    assert list(again.tables) == list(schema.tables)


@pytest.mark.parametrize("make", SCHEMAS)
def test_to_python_execs_back(make: Callable[[], Schema]) -> None:
    schema = make()
    source = schema.to_python()
    again = eval(source, {"nr": nr, "v": v})
    assert again == schema
    assert again.to_python() == source
    assert repr(schema) == source


def test_to_python_layout() -> None:
    schema = define_schema(
        {
            "users": define_table({"name": v.string(), "age": v.optional(v.int64())})
            .index("by_name", ["name"])
            .search_index("search_name", search_field="name"),
            "free": define_table(v.any()),
        },
        schema_validation=False,
    )
    assert schema.to_python() == (
        "nr.define_schema({\n"
        '    "users": nr.define_table({\n'
        '        "name": v.string(),\n'
        '        "age": v.optional(v.int64()),\n'
        "    })\n"
        '    .index("by_name", ["name"])\n'
        '    .search_index("search_name", search_field="name"),\n'
        '    "free": nr.define_table(v.any()),\n'
        "}, schema_validation=False)"
    )


def test_json_shape_is_convex_like() -> None:
    data = _blog().to_json()
    users = data["tables"][0]
    assert users == {
        "tableName": "users",
        "indexes": [{"indexDescriptor": "by_email", "fields": ["email"]}],
        "searchIndexes": [],
        "vectorIndexes": [],
        "documentType": v.object(
            {
                "name": v.string(),
                "email": v.string(),
                "role": v.union(v.literal("admin"), v.literal("user")),
            }
        ).to_json(),
    }
    assert data["schemaValidation"] is True and data["strictTableNameTypes"] is True


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param([], "not a schema JSON object: []", id="not-a-dict"),
        pytest.param(
            {"tables": [{"x": 1}]}, "malformed table in schema JSON: {'x': 1}", id="no-name"
        ),
        pytest.param(
            {"tables": [{"tableName": "t", "indexes": [{"fields": ["a"]}]}]},
            "malformed table JSON (KeyError: 'indexDescriptor')",
            id="index-without-name",
        ),
        pytest.param(
            {"tables": [{"tableName": "t", "documentType": {"type": "weird"}}]},
            "unknown validator type 'weird' in {'type': 'weird'}",
            id="bad-validator",
        ),
        pytest.param(
            {
                "tables": [
                    {"tableName": "t", "indexes": [{"indexDescriptor": "by_id", "fields": ["a"]}]}
                ]
            },
            "index 'by_id': the name 'by_id' is reserved for the built-in index; choose another name",
            id="rules-checked-again",
        ),
        pytest.param(
            {"tables": [{"tableName": "t"}, {"tableName": "T"}]},
            CASE_TWIN_TABLES.format(a="t", b="T"),
            id="tables-differing-only-in-case",
        ),
        pytest.param(
            {
                "tables": [
                    {
                        "tableName": "t",
                        "documentType": v.object({"a": v.string(), "A": v.string()}).to_json(),
                    }
                ]
            },
            CASE_TWIN_FIELDS.format(a="a", b="A"),
            id="fields-differing-only-in-case",
        ),
    ],
)
def test_from_json_errors(data: Any, message: str) -> None:
    with pytest.raises(SchemaError) as info:
        Schema.from_json(data)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        pytest.param(_blog, _blog, True, id="same"),
        pytest.param(
            lambda: define_schema({"t": define_table({"a": v.string(), "b": v.int64()})}),
            lambda: define_schema({"t": define_table({"b": v.int64(), "a": v.string()})}),
            True,
            id="field-order-ignored",
        ),
        pytest.param(
            lambda: define_schema({"t": define_table({"a": v.string()})}),
            lambda: define_schema({"t": define_table({"a": v.optional(v.string())})}),
            False,
            id="optional-differs",
        ),
        pytest.param(
            lambda: define_schema({"t": define_table({"a": v.string()}).index("i", ["a"])}),
            lambda: define_schema({"t": define_table({"a": v.string()})}),
            False,
            id="index-differs",
        ),
        pytest.param(
            lambda: define_schema({"t": define_table({})}),
            lambda: define_schema({"t": define_table({})}, schema_validation=False),
            False,
            id="setting-differs",
        ),
        pytest.param(
            lambda: define_schema({"t": define_table({})}),
            lambda: define_schema({"u": define_table({})}),
            False,
            id="table-name-differs",
        ),
    ],
)
def test_structural_equality(a: Callable[[], Schema], b: Callable[[], Schema], equal: bool) -> None:
    assert (a() == b()) is equal


def test_markdown() -> None:
    text = _blog()._repr_markdown_()
    assert "**posts**" in text
    assert "| `tags` | `v.array(v.string())` |" in text
    assert "`by_published` (published, publishedAt)" in text
    assert "`search_posts` (search `title`)" in text
    assert "`by_embedding` (vector `embedding`, 3 dims)" in text
    lit = define_schema({"t": define_table({"a": v.literal("x|y")})})._repr_markdown_()
    assert '`v.literal("x\\|y")`' in lit
    assert define_schema({})._repr_markdown_() == "*Empty schema (no tables).*"
    off = define_schema({"t": define_table(v.any())}, schema_validation=False)._repr_markdown_()
    assert "| *(document)* | `v.any()` |" in off and "*schema validation is off*" in off


def test_public_names_reach_nbreactive() -> None:
    assert nr.define_schema is define_schema and nr.define_table is define_table
