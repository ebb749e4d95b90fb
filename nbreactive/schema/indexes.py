"""Index definitions: ``IndexDefinition``, ``SearchIndexDefinition``, ``VectorIndexDefinition``.

The immutable values a ``TableDefinition`` holds for its indexes, the limits Convex puts
on them (reference §2.1, §3), and the checks of the field paths and field types they
name. ``TableDefinition.index``, ``.search_index`` and ``.vector_index`` (in
``definition``) apply these checks; the per-table rules (unique names, how many indexes
a table may have) stay with the table.

Index keys: every user index is keyed by ``(*fields, "_creationTime", "_id")``;
``by_creation_time`` by ``("_creationTime", "_id")``; ``by_id`` by ``("_id",)``.

Imports flow one way: ``definition`` → ``indexes`` → ``fields``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nbreactive.errors import SchemaError
from nbreactive.schema.fields import _top_field_problem
from nbreactive.values.model import _nested_key_problem, short_repr, type_name
from nbreactive.values.validators import Validator

__all__ = [
    "BY_CREATION_TIME",
    "BY_ID",
    "MAX_FILTER_FIELDS",
    "MAX_INDEXES_PER_TABLE",
    "MAX_INDEX_FIELDS",
    "MAX_SEARCH_INDEXES",
    "MAX_VECTOR_DIMENSIONS",
    "MAX_VECTOR_INDEXES",
    "MIN_VECTOR_DIMENSIONS",
    "IndexDefinition",
    "SearchIndexDefinition",
    "VectorIndexDefinition",
]

#: The implicit index on ``_id`` (used by ``db.get``).
BY_ID = "by_id"
#: The implicit index on ``_creationTime`` (used when a query names no index).
BY_CREATION_TIME = "by_creation_time"
_RESERVED_INDEX_NAMES = (BY_ID, BY_CREATION_TIME)

#: Indexes per table, counting search and vector indexes (not the two implicit ones).
MAX_INDEXES_PER_TABLE = 32
#: Fields per index, counting the implicit ``_creationTime``: so 15 user fields.
MAX_INDEX_FIELDS = 16
#: Search indexes per table.
MAX_SEARCH_INDEXES = 4
#: Vector indexes per table.
MAX_VECTOR_INDEXES = 4
#: Filter fields per search or vector index.
MAX_FILTER_FIELDS = 16
#: Smallest and largest vector dimensions.
MIN_VECTOR_DIMENSIONS = 2
MAX_VECTOR_DIMENSIONS = 4096


# ---------------------------------------------------------------------------
# index definitions (immutable values)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexDefinition:
    """A database index: ``name`` and its user ``fields`` (dotted paths, in order).

    The key of a document in the index is ``(*fields, _creationTime, _id)``; see
    ``TableDefinition.index_fields``.
    """

    name: str
    fields: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Convex's JSON: ``{"indexDescriptor": name, "fields": [...]}``."""
        return {"indexDescriptor": self.name, "fields": list(self.fields)}

    def to_python(self) -> str:
        """The builder call that defines this index, e.g. ``.index("by_x", ["x"])``."""
        return f".index({_code(self.name)}, {_code(list(self.fields))})"


@dataclass(frozen=True)
class SearchIndexDefinition:
    """A full-text search index over one string field, with equality filter fields."""

    name: str
    search_field: str
    filter_fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Convex's JSON: ``{"indexDescriptor", "searchField", "filterFields"}``."""
        return {
            "indexDescriptor": self.name,
            "searchField": self.search_field,
            "filterFields": list(self.filter_fields),
        }

    def to_python(self) -> str:
        """The builder call that defines this index."""
        extra = f", filter_fields={_code(list(self.filter_fields))}" if self.filter_fields else ""
        return f".search_index({_code(self.name)}, search_field={_code(self.search_field)}{extra})"


@dataclass(frozen=True)
class VectorIndexDefinition:
    """A vector index over an array-of-float64 field of ``dimensions`` elements."""

    name: str
    vector_field: str
    dimensions: int
    filter_fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Convex's JSON: ``{"indexDescriptor", "vectorField", "dimensions", "filterFields"}``."""
        return {
            "indexDescriptor": self.name,
            "vectorField": self.vector_field,
            "dimensions": self.dimensions,
            "filterFields": list(self.filter_fields),
        }

    def to_python(self) -> str:
        """The builder call that defines this index."""
        extra = f", filter_fields={_code(list(self.filter_fields))}" if self.filter_fields else ""
        return (
            f".vector_index({_code(self.name)}, vector_field={_code(self.vector_field)}, "
            f"dimensions={self.dimensions}{extra})"
        )


def _code(x: Any) -> str:
    """A str or list of str as Python code (JSON string syntax is valid Python)."""
    return json.dumps(x, ensure_ascii=False)


# ---------------------------------------------------------------------------
# field path checks
# ---------------------------------------------------------------------------


def _check_field_path(where: str, path: Any) -> str:
    """Check a dotted field path used in an index definition and return it."""
    if not isinstance(path, str):
        raise SchemaError(
            f"{where}: field paths must be strings, got {short_repr(path)} ({type_name(path)})"
        )
    if path == "_creationTime":
        raise SchemaError(
            f'{where}: "_creationTime" cannot be an index field: every index already ends '
            "with _creationTime (then _id); remove it"
        )
    if path == "_id":
        raise SchemaError(
            f'{where}: "_id" cannot be an index field: every index already ends with '
            "_creationTime, then _id; use the built-in by_id index to look up by id"
        )
    head, *rest = path.split(".")
    problem = _top_field_problem(head)
    if problem is not None:
        raise SchemaError(f"{where}: invalid field path {path!r}: {problem}")
    for part in rest:
        problem = _nested_key_problem(part)
        if problem is not None:
            raise SchemaError(f"{where}: invalid field path {path!r}: {problem}")
    return path


def _check_field_list(where: str, fields: Any, *, max_fields: int, what: str) -> tuple[str, ...]:
    """Check a list of field paths: a list (not a bare string), no duplicates."""
    if isinstance(fields, str):
        raise SchemaError(
            f"{where}: {what} must be a list of field paths, e.g. [{fields!r}], not a single string"
        )
    if not isinstance(fields, Iterable) or isinstance(fields, Mapping):
        raise SchemaError(
            f"{where}: {what} must be a list of field paths, got {short_repr(fields)}"
        )
    out = tuple(_check_field_path(where, f) for f in fields)
    if len(out) > max_fields:
        # Convex counts the implicit _creationTime against the 16 fields of an index.
        note = " (16 counting the implicit _creationTime)" if what == "index fields" else ""
        raise SchemaError(f"{where}: {len(out)} {what}, more than the {max_fields} allowed{note}")
    seen: set[str] = set()
    for f in out:
        if f in seen:
            raise SchemaError(f"{where}: field {f!r} is listed twice in {what}")
        seen.add(f)
    return out


# ---------------------------------------------------------------------------
# field type checks (what a search or vector field may hold)
# ---------------------------------------------------------------------------


def _may_be_string(validator: Validator) -> bool:
    """Whether some value accepted by ``validator`` is a string."""
    kind = validator.kind
    if kind in ("string", "id", "any"):
        return True
    if kind == "literal":
        return isinstance(validator.value, str)  # type: ignore[attr-defined]
    if kind == "union":
        return any(_may_be_string(m) for m in validator.members)  # type: ignore[attr-defined]
    return False


def _may_be_vector(validator: Validator) -> bool:
    """Whether ``validator`` accepts arrays of float64 (what a vector field holds)."""
    kind = validator.kind
    if kind == "any":
        return True
    if kind == "array":
        element = validator.element  # type: ignore[attr-defined]
        return element.kind in ("float64", "any") or (
            element.kind == "union" and any(m.kind == "float64" for m in element.members)
        )
    if kind == "union":
        return any(_may_be_vector(m) for m in validator.members)  # type: ignore[attr-defined]
    return False
