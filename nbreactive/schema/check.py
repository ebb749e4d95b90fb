"""Checking existing documents against a schema: ``check_documents`` → a report.

Setting a schema on an app that already holds data validates every document first
and refuses the schema unless they all fit (Convex's schema push, reference §2.1); a
dry run shows the same report without changing anything. The report lists each
offending document and why::

    Schema check failed: 2 problems in 1 table (checked 3 documents in 2 tables).
      posts k57a…: .tags[2]: expected v.string(), got 3 (int64)
      posts k57b…: Object is missing the required field "title". ...

The loop is a plain validation loop: strings are built only for documents that fail,
so 100k conforming documents cost about what validating them costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nbreactive.errors import SchemaError, ValidationError
from nbreactive.schema.definition import Schema
from nbreactive.values.model import short_repr
from nbreactive.values.validators import ResolveId

__all__ = ["SchemaCheckReport", "check_documents"]

#: Rows of problems shown by ``_repr_markdown_`` (``str(report)`` shows all it kept).
_MARKDOWN_ROWS = 50


@dataclass
class SchemaCheckReport:
    """What ``check_documents`` found.

    Attributes:
        problems: ``(table, _id, message)`` per offending document, at most
            ``max_problems`` of them (``_id`` is None for a problem about a whole
            table). ``message`` starts with the path inside the document.
        problem_count: every problem found, including those not kept in ``problems``.
        checked: documents checked per table.
        undefined_tables: tables that hold documents but are not in the schema →
            their document count. A problem when the schema is strict about table
            names; otherwise those tables stay schemaless.
        validated: False when the schema has ``schema_validation=False``, in which
            case no document was checked.
    """

    problems: list[tuple[str, str | None, str]] = field(default_factory=list)
    problem_count: int = 0
    checked: dict[str, int] = field(default_factory=dict)
    undefined_tables: dict[str, int] = field(default_factory=dict)
    validated: bool = True
    max_problems: int = 1000

    @property
    def ok(self) -> bool:
        """True when every document fits the schema."""
        return self.problem_count == 0

    @property
    def truncated(self) -> bool:
        """True when more problems were found than ``problems`` keeps."""
        return self.problem_count > len(self.problems)

    @property
    def total_checked(self) -> int:
        """Documents checked, over all tables."""
        return sum(self.checked.values())

    def _add(self, table: str, doc_id: str | None, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < self.max_problems:
            self.problems.append((table, doc_id, message))

    def raise_if_problems(self, what: str = "The schema") -> None:
        """Raise ``SchemaError`` (with ``.report`` = this report) unless ``ok``.

        Example::

            check_documents(schema, docs).raise_if_problems()
        """
        if not self.ok:
            raise SchemaError(
                f"{what} does not fit the existing documents; nothing was changed. "
                f"Fix the documents or the schema (or set schema_validation=False).\n{self}",
                report=self,
            )

    def _summary(self) -> str:
        tables = len(self.checked)
        checked = (
            f"checked {self.total_checked:,} document{_s(self.total_checked)} in "
            f"{tables} table{_s(tables)}"
        )
        if not self.validated:
            return "Schema validation is off (schema_validation=False): no document was checked."
        if self.ok:
            return f"Schema check passed: {checked}; every document fits."
        bad_tables = len({t for t, _, _ in self.problems})
        return (
            f"Schema check failed: {self.problem_count:,} problem{_s(self.problem_count)} "
            f"in {bad_tables}{'+' if self.truncated else ''} table{_s(bad_tables)} ({checked})."
        )

    def __str__(self) -> str:
        lines = [self._summary()]
        for table, doc_id, message in self.problems:
            lines.append(f"  {table} {doc_id}: {message}" if doc_id else f"  {table}: {message}")
        if self.truncated:
            more = self.problem_count - len(self.problems)
            lines.append(f"  ... and {more:,} more (only the first {self.max_problems:,} are kept)")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        lines = [f"**{self._summary()}**"]
        if self.problems:
            lines += ["", "| table | _id | problem |", "|---|---|---|"]
            for table, doc_id, message in self.problems[:_MARKDOWN_ROWS]:
                shown = f"`{doc_id}`" if doc_id else "(table)"
                lines.append(f"| {table} | {shown} | {_md(message)} |")
            hidden = self.problem_count - min(len(self.problems), _MARKDOWN_ROWS)
            if hidden:
                lines += [
                    "",
                    f"*... and {hidden:,} more; `print(report)` lists the first "
                    f"{min(self.max_problems, self.problem_count):,}.*",
                ]
        return "\n".join(lines)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _md(text: str) -> str:
    """Message text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def check_documents(
    schema: Schema,
    documents_by_table: Mapping[str, Iterable[dict[str, Any]]],
    *,
    resolve_id: ResolveId | None = None,
    max_problems: int = 1000,
) -> SchemaCheckReport:
    """Check existing documents against ``schema``.

    Each document is validated like an insert would be (``TableDefinition.
    validate_document``) after its ``_id`` and ``_creationTime`` are set aside.
    Tables that hold documents but are not in the schema are a problem when the
    schema has ``strict_table_name_types`` (the default). With
    ``schema_validation=False`` nothing is checked (the report says so).

    Args:
        schema: the schema to check against.
        documents_by_table: table name → its documents (with system fields). Any
            iterable works, so a caller can stream documents.
        resolve_id: ``resolve_id(text) -> table | None`` so ``v.id("t")`` fields can
            check that their strings are ids of ``t``.
        max_problems: how many problems to keep (all are counted).

    Returns:
        A ``SchemaCheckReport``; ``report.ok`` tells whether everything fits.

    Cost: one validation per document; strings are built only for failures.

    Example::

        report = check_documents(schema, {"posts": [{"_id": "k1", "_creationTime": 1.0,
                                                      "title": 3}]})
        print(report)
        # Schema check failed: 1 problem in 1 table (checked 1 document in 1 table).
        #   posts k1: .title: expected v.string(), got 3 (int64)
    """
    report = SchemaCheckReport(max_problems=max_problems, validated=schema.schema_validation)
    if not schema.schema_validation:
        return report
    for table_name, documents in documents_by_table.items():
        table = schema.tables.get(table_name)
        if table is None:
            # Count without validating: the table has no definition to check against.
            count = sum(1 for _ in documents)
            if count:
                report.undefined_tables[table_name] = count
                if schema.strict_table_name_types:
                    report._add(
                        table_name,
                        None,
                        f"the table holds {count:,} document{_s(count)} but is not in the "
                        "schema; add it to the schema (nr.infer_schema can suggest a "
                        "definition), delete its documents, or pass "
                        "strict_table_name_types=False to define_schema",
                    )
            continue
        validate = table.validate_document
        n = 0
        for doc in documents:
            n += 1
            if type(doc) is not dict:
                report._add(table_name, None, f"not a document (a dict): {short_repr(doc)}")
                continue
            user = doc.copy()
            doc_id = user.pop("_id", None)
            user.pop("_creationTime", None)
            try:
                validate(user, resolve_id=resolve_id)
            except ValidationError as e:
                report._add(table_name, None if doc_id is None else str(doc_id), str(e))
        report.checked[table_name] = n
    return report
