"""Checking existing documents against a schema (``check_documents``) and its report."""

from __future__ import annotations

from typing import Any

import pytest

from nbreactive.errors import SchemaError
from nbreactive.schema import SchemaCheckReport, check_documents, define_schema, define_table
from nbreactive.values.model import Id
from nbreactive.values.validators import v

SCHEMA = define_schema(
    {
        "posts": define_table(
            {
                "title": v.string(),
                "tags": v.array(v.string()),
                "authorId": v.optional(v.id("users")),
            }
        ),
        "users": define_table({"name": v.string()}),
    }
)


def _doc(i: int, **fields: Any) -> dict[str, Any]:
    return {"_id": f"k{i}", "_creationTime": 1000.0 + i, **fields}


def _post(i: int, **fields: Any) -> dict[str, Any]:
    return _doc(i, **{"title": f"t{i}", "tags": [], **fields})


CASES: list[tuple[str, dict[str, list[Any]], list[tuple[str, str | None, str]]]] = [
    ("empty", {}, []),
    ("fits", {"posts": [_post(1), _post(2, tags=["a"])], "users": [_doc(3, name="a")]}, []),
    (
        "array-element",
        {"posts": [_post(1), _post(2, tags=["a", "b", 3])]},
        [("posts", "k2", ".tags[2]: expected v.string(), got 3 (int64)")],
    ),
    (
        "missing-field",
        {"users": [_doc(1)]},
        [
            (
                "users",
                "k1",
                'Object is missing the required field "name". Consider wrapping the field '
                "validator in v.optional(...) if this is expected.",
            )
        ],
    ),
    (
        "extra-field",
        {"users": [_doc(1, name="a", age=3)]},
        [("users", "k1", 'Object contains extra field "age" that is not in the validator.')],
    ),
    (
        "several-tables",
        {"posts": [_post(1, title=None)], "users": [_doc(2, name=1.5)]},
        [
            ("posts", "k1", ".title: expected v.string(), got None (null)"),
            ("users", "k2", ".name: expected v.string(), got 1.5 (float64)"),
        ],
    ),
    (
        "undefined-table",
        {"drafts": [_doc(1, x=1), _doc(2)], "posts": [_post(3)]},
        [
            (
                "drafts",
                None,
                "the table holds 2 documents but is not in the schema; add it to the schema "
                "(nr.infer_schema can suggest a definition), delete its documents, or pass "
                "strict_table_name_types=False to define_schema",
            )
        ],
    ),
    ("undefined-empty-table", {"drafts": []}, []),
    (
        "not-a-dict",
        {"users": ["oops"]},
        [("users", None, "not a document (a dict): 'oops'")],
    ),
]


@pytest.mark.parametrize(
    ("documents", "problems"), [pytest.param(d, p, id=name) for name, d, p in CASES]
)
def test_check_documents(
    documents: dict[str, list[Any]], problems: list[tuple[str, str | None, str]]
) -> None:
    report = check_documents(SCHEMA, documents)
    assert report.problems == problems
    assert report.ok is (not problems)
    assert report.problem_count == len(problems)
    defined = {t for t in documents if t in SCHEMA.tables}
    assert set(report.checked) == defined
    assert report.total_checked == sum(len(documents[t]) for t in defined)


def test_documents_are_not_modified() -> None:
    doc = _post(1, tags=("a",))
    check_documents(SCHEMA, {"posts": [doc]})
    assert doc == _post(1, tags=("a",))


def test_iterables_are_streamed() -> None:
    report = check_documents(SCHEMA, {"posts": (_post(i) for i in range(5)), "x": iter([{}])})
    assert report.checked == {"posts": 5}
    assert report.undefined_tables == {"x": 1}


def test_ids_are_checked_with_resolve_id() -> None:
    def resolve(text: str) -> str | None:
        return "users" if text.startswith("u") else "posts"

    docs = {
        "posts": [
            _post(1, authorId="u7"),
            _post(2, authorId="p1"),
            _post(3, authorId=Id("u", "users")),
        ]
    }
    report = check_documents(SCHEMA, docs, resolve_id=resolve)
    assert report.problems == [
        ("posts", "k2", ".authorId: expected v.id(\"users\"), got 'p1' (string)")
    ]
    # Without resolve_id, any non-empty string passes as an id.
    assert check_documents(SCHEMA, docs).ok


def test_lenient_schema_leaves_other_tables_schemaless() -> None:
    schema = define_schema({"posts": SCHEMA.table("posts")}, strict_table_name_types=False)
    report = check_documents(schema, {"drafts": [_doc(1, x=1)], "posts": [_post(2)]})
    assert report.ok
    assert report.undefined_tables == {"drafts": 1}


def test_schema_validation_off_checks_nothing() -> None:
    schema = define_schema({"users": SCHEMA.table("users")}, schema_validation=False)
    report = check_documents(schema, {"users": [_doc(1)], "other": [_doc(2)]})
    assert report.ok and not report.validated and report.checked == {}
    assert str(report) == (
        "Schema validation is off (schema_validation=False): no document was checked."
    )


def test_max_problems_keeps_counting() -> None:
    docs = {"users": [_doc(i, name=i) for i in range(30)]}
    report = check_documents(SCHEMA, docs, max_problems=10)
    assert len(report.problems) == 10 and report.problem_count == 30 and report.truncated
    assert str(report).splitlines()[-1] == "  ... and 20 more (only the first 10 are kept)"


def test_str() -> None:
    report = check_documents(
        SCHEMA,
        {
            "posts": [_post(1), _post(2, tags=["a", "b", 3])],
            "users": [_doc(3, name="x")],
            "drafts": [_doc(4)],
        },
    )
    assert str(report) == (
        "Schema check failed: 2 problems in 2 tables (checked 3 documents in 2 tables).\n"
        "  posts k2: .tags[2]: expected v.string(), got 3 (int64)\n"
        "  drafts: the table holds 1 document but is not in the schema; add it to the schema "
        "(nr.infer_schema can suggest a definition), delete its documents, or pass "
        "strict_table_name_types=False to define_schema"
    )
    ok = check_documents(SCHEMA, {"users": [_doc(1, name="a")]})
    assert str(ok) == "Schema check passed: checked 1 document in 1 table; every document fits."


def test_markdown() -> None:
    report = check_documents(SCHEMA, {"users": [_doc(i, name=i) for i in range(60)], "x": [{}]})
    text = report._repr_markdown_()
    lines = text.splitlines()
    assert lines[0] == (
        "**Schema check failed: 61 problems in 2 tables (checked 60 documents in 1 table).**"
    )
    assert "| users | `k0` | .name: expected v.string(), got 0 (int64) |" in lines
    assert lines[-1] == "*... and 11 more; `print(report)` lists the first 61.*"
    table_rows = [line for line in lines if line.startswith("| users") or line.startswith("| x")]
    assert len(table_rows) == 50
    pipes = check_documents(SCHEMA, {"users": [_doc(1, name="a", **{"a|b": 1})]})
    assert 'extra field "a\\|b" that' in pipes._repr_markdown_()  # the cell stays one cell


def test_raise_if_problems() -> None:
    check_documents(SCHEMA, {}).raise_if_problems()
    report = check_documents(SCHEMA, {"users": [_doc(1)]})
    with pytest.raises(SchemaError) as info:
        report.raise_if_problems()
    assert info.value.report is report
    assert str(info.value).startswith(
        "The schema does not fit the existing documents; nothing was changed."
    )
    assert "users k1: Object is missing" in str(info.value)


def test_report_defaults() -> None:
    report = SchemaCheckReport()
    assert report.ok and not report.truncated and report.total_checked == 0


def test_100k_documents() -> None:
    # Timings belong in benchmarks/; this pins that a large check completes and finds
    # the one bad document at the end.
    docs = [_post(i, tags=["a", "b"], authorId=Id(f"u{i}", "users")) for i in range(100_000)]
    docs[99_999]["tags"] = [1]
    report = check_documents(SCHEMA, {"posts": docs})
    assert report.checked == {"posts": 100_000}
    assert report.problems == [("posts", "k99999", ".tags[0]: expected v.string(), got 1 (int64)")]
