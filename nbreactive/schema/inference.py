"""Inferring a schema from documents: ``infer_schema``.

A prototyping helper: load or write some data without a schema, then ask for the
schema it implies, read it (``print(schema.to_python())``), edit it and set it.

The result is meant to be read and pasted, so it stays plain:

- a field's validator is the union of the types observed (``v.string()``,
  ``v.float64()``, ``v.int64()``, ``v.boolean()``, ``v.bytes()``, arrays, objects,
  with ``v.null()`` last), never a ``v.literal``;
- a field missing from some documents is ``v.optional``;
- nested objects are merged field by field (so an array of objects of varying
  shape becomes ``v.array(v.object({...optional fields...}))``); objects whose keys
  look like data rather than names (not identifiers, or more than 64 distinct keys)
  become ``v.record(v.string(), ...)``;
- strings that ``resolve_id`` says are ids of one table become ``v.id("table")``;
  a field where any string is not an id stays ``v.string()``;
- an empty table becomes ``define_table(v.any())``, and so does a table whose
  documents have top-level fields that differ only in case (``name`` and ``Name``:
  ``define_table`` refuses them, since each would be a DuckDB column and DuckDB
  column names are case-insensitive); system fields and system tables (names
  starting with ``_``) are ignored. No indexes are inferred.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from nbreactive.schema.definition import Schema, TableDefinition, define_table
from nbreactive.schema.fields import _case_twins
from nbreactive.values.model import SYSTEM_FIELDS, Id
from nbreactive.values.validators import ResolveId, Validator, v

__all__ = ["infer_schema"]

# Object keys that read as field names; anything else suggests a map (a record).
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# More distinct keys than this in one object position: a map, not a struct.
_MAX_OBJECT_FIELDS = 64
# More id tables than this in one field: say v.string() rather than a long union.
_MAX_ID_TABLES = 4
_SYSTEM = frozenset(SYSTEM_FIELDS)


class _ObjectShape:
    """The fields seen in the objects at one position, with how often each occurred."""

    __slots__ = ("count", "fields")

    def __init__(self) -> None:
        self.count = 0
        self.fields: dict[str, _Shape] = {}

    def add(self, obj: dict[str, Any], resolve_id: ResolveId | None, skip_system: bool) -> None:
        self.count += 1
        fields = self.fields
        for key, value in obj.items():
            if skip_system and key in _SYSTEM:
                continue
            shape = fields.get(key)
            if shape is None:
                shape = fields[key] = _Shape()
            shape.add(value, resolve_id)

    def is_map(self) -> bool:
        return len(self.fields) > _MAX_OBJECT_FIELDS or not all(
            _NAME_RE.fullmatch(k) for k in self.fields
        )

    def validator(self) -> Validator:
        if self.is_map():
            merged = _Shape()
            for shape in self.fields.values():
                merged.merge(shape)
            return v.record(v.string(), merged.validator())
        return v.object(self.field_validators())

    def field_validators(self) -> dict[str, Validator]:
        out = {}
        for key, shape in self.fields.items():
            validator = shape.validator()
            out[key] = validator if shape.count == self.count else v.optional(validator)
        return out


class _Shape:
    """Every type observed at one position (a field, or the elements of arrays)."""

    __slots__ = (
        "array",
        "boolean",
        "bytes",
        "count",
        "float64",
        "id_tables",
        "int64",
        "null",
        "object",
        "other",
        "plain_string",
        "string",
    )

    def __init__(self) -> None:
        self.count = 0
        self.null = self.boolean = self.int64 = self.float64 = False
        self.string = self.plain_string = self.bytes = self.other = False
        self.id_tables: dict[str, None] = {}  # ordered set
        self.array: _Shape | None = None
        self.object: _ObjectShape | None = None

    def add(self, value: Any, resolve_id: ResolveId | None) -> None:
        self.count += 1
        t = type(value)
        if t is str:
            self.string = True
            # Once one string is not an id the field is v.string(): stop asking.
            if not self.plain_string:
                table = resolve_id(value) if resolve_id is not None and value else None
                if table is None:
                    self.plain_string = True
                else:
                    self.id_tables[table] = None
        elif t is Id:
            self.string = True
            if not self.plain_string:
                self.id_tables[value.table] = None
        elif t is float:
            self.float64 = True
        elif t is int:
            self.int64 = True
        elif t is bool:
            self.boolean = True
        elif value is None:
            self.null = True
        elif t is list or t is tuple:
            elements = self.array
            if elements is None:
                elements = self.array = _Shape()
            for x in value:
                elements.add(x, resolve_id)
        elif t is dict:
            obj = self.object
            if obj is None:
                obj = self.object = _ObjectShape()
            obj.add(value, resolve_id, skip_system=False)
        elif t is bytes:
            self.bytes = True
        else:  # not a Convex value; the documents were not normalized. Say nothing.
            self.other = True

    def merge(self, other: _Shape) -> None:
        """Fold ``other`` into this shape (used to build a record's value shape)."""
        self.count += other.count
        self.null |= other.null
        self.boolean |= other.boolean
        self.int64 |= other.int64
        self.float64 |= other.float64
        self.string |= other.string
        self.plain_string |= other.plain_string
        self.bytes |= other.bytes
        self.other |= other.other
        self.id_tables.update(other.id_tables)
        if other.array is not None:
            if self.array is None:
                self.array = _Shape()
            self.array.merge(other.array)
        if other.object is not None:
            if self.object is None:
                self.object = _ObjectShape()
            mine = self.object
            mine.count += other.object.count
            for key, shape in other.object.fields.items():
                if key not in mine.fields:
                    mine.fields[key] = _Shape()
                mine.fields[key].merge(shape)

    def validator(self) -> Validator:
        if self.other or self.count == 0:
            return v.any()
        members: list[Validator] = []
        if self.string:
            tables = list(self.id_tables)
            if self.plain_string or not tables or len(tables) > _MAX_ID_TABLES:
                members.append(v.string())
            else:
                members.extend(v.id(t) for t in tables)
        if self.float64:
            members.append(v.float64())
        if self.int64:
            members.append(v.int64())
        if self.boolean:
            members.append(v.boolean())
        if self.bytes:
            members.append(v.bytes())
        if self.array is not None:
            members.append(v.array(self.array.validator()))
        if self.object is not None:
            members.append(self.object.validator())
        if self.null:
            members.append(v.null())
        return members[0] if len(members) == 1 else v.union(*members)


def _infer_table(
    documents: Iterable[dict[str, Any]], resolve_id: ResolveId | None
) -> TableDefinition:
    shape = _ObjectShape()
    for doc in documents:
        if type(doc) is dict:
            shape.add(doc, resolve_id, skip_system=True)
    if shape.count == 0 or _case_twins(shape.fields) is not None:
        return define_table(v.any())
    return define_table(shape.field_validators())


def infer_schema(
    documents_by_table: Mapping[str, Iterable[dict[str, Any]]],
    *,
    resolve_id: ResolveId | None = None,
) -> Schema:
    """Infer a schema that every given document fits.

    Args:
        documents_by_table: table name → its documents (system fields are ignored;
            tables whose names start with ``_`` are skipped).
        resolve_id: ``resolve_id(text) -> table | None``; strings it resolves to one
            table become ``v.id("table")``. Without it, ids are ``v.string()``
            (``Id`` objects still say their table).

    Returns:
        A ``Schema`` with one table per given table, no indexes. Every document
        given passes ``check_documents`` against it.

    Cost: one pass over every value; ``resolve_id`` is called per string until a
    field has shown a string that is not an id.

    Example::

        infer_schema({"users": [{"name": "Ada", "age": 36}, {"name": "Alan"}]})
        # nr.define_schema({
        #     "users": nr.define_table({
        #         "name": v.string(),
        #         "age": v.optional(v.int64()),
        #     }),
        # })
    """
    tables = {
        name: _infer_table(documents, resolve_id)
        for name, documents in documents_by_table.items()
        if not name.startswith("_")
    }
    return Schema(tables)
