"""A readable diff of two schemas: ``diff_schemas(old, new)`` → ``SchemaDiff``.

Used to show what setting a new schema would change before doing it::

    print(app.schema.diff(new_schema))
    ~ posts.tags: v.array(v.string()) → v.array(v.union(v.string(), v.int64()))  (widens)
    - posts.legacy: v.string()  (narrows)
    + posts.subtitle: v.optional(v.string())  (widens)
    ~ index posts.by_author ["authorId"] → ["authorId", "published"]
    + table comments
    +   comments.body: v.string()
    +   index comments.by_post ["postId"]

Order: settings, then each table of the old schema (fields in their old order, then
new fields, then indexes), then the tables only the new schema has.

Field changes say whether the new validator *widens* (accepts everything the old
one did, and more), *narrows* (accepts less: existing documents may no longer fit),
does both, or is *equivalent* (written differently, e.g. union members reordered).
The comparison is structural and conservative: when it cannot prove that one
validator accepts everything the other does, it says so (``narrows``/``both``).
Types are exact: ``v.int64()`` → ``v.float64()`` counts as a change of type (it
narrows and widens), though ``v.float64()`` would accept, and convert, stored ints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from nbreactive.schema.definition import Schema, TableDefinition
from nbreactive.values.validators import Validator

__all__ = ["SchemaChange", "SchemaDiff", "diff_schemas", "is_subtype"]

Action = Literal["added", "removed", "changed"]
Effect = Literal["widens", "narrows", "both", "equivalent"]

_PREFIX = {"added": "+ ", "removed": "- ", "changed": "~ "}


@dataclass(frozen=True)
class SchemaChange:
    """One change between two schemas.

    Attributes:
        action: ``"added"``, ``"removed"`` or ``"changed"``.
        kind: ``"table"``, ``"field"`` (a top-level field of an object document
            validator), ``"document"`` (a whole document validator that is not a
            plain object on both sides), ``"index"``, ``"search_index"``,
            ``"vector_index"`` or ``"setting"``.
        table: the table (None for a setting).
        name: the field, index or setting name (None for a table or a document).
        old: the old definition as code (None when added).
        new: the new definition as code (None when removed).
        effect: for fields and documents, what the change does to the set of
            accepted documents: ``"widens"``, ``"narrows"``, ``"both"`` or
            ``"equivalent"``; None otherwise.
    """

    action: Action
    kind: str
    table: str | None
    name: str | None = None
    old: str | None = None
    new: str | None = None
    effect: Effect | None = None

    def __str__(self) -> str:
        prefix = _PREFIX[self.action]
        if self.kind == "table":
            return f"{prefix}table {self.table}"
        if self.kind == "setting":
            return f"{prefix}{self.name}: {self.old} → {self.new}"
        if self.kind == "field":
            where, sep = f"{self.table}.{self.name}", ": "
        elif self.kind == "document":
            where, sep = f"{self.table} documents", ": "
        else:
            where, sep = f"{self.kind.replace('_', ' ')} {self.table}.{self.name}", " "
        if self.action == "added":
            body = self.new
        elif self.action == "removed":
            body = self.old
        else:
            body = f"{self.old} → {self.new}"
        effect = f"  ({self.effect})" if self.effect else ""
        return f"{prefix}{where}{sep}{body}{effect}"


@dataclass
class SchemaDiff:
    """The changes from one schema to another (see ``diff_schemas``).

    Attributes:
        changes: the ``SchemaChange`` list: settings first, then table by table.
    """

    changes: list[SchemaChange]
    # Index in `changes` of an added/removed table → the lines listing its contents.
    _details: dict[int, list[str]] = field(default_factory=dict, repr=False)

    @property
    def is_empty(self) -> bool:
        """True when the schemas are the same."""
        return not self.changes

    @property
    def narrows(self) -> bool:
        """True when some change may make existing documents stop fitting.

        A removed or narrowed field, a new required field, a narrowed document
        validator, a table removed from a strict schema (its documents would be outside
        the schema): check the data (``check_documents``) before applying.
        """
        return any(
            c.effect in ("narrows", "both")
            or (c.kind == "table" and c.action == "removed" and c.effect != "widens")
            for c in self.changes
        )

    def __bool__(self) -> bool:
        return bool(self.changes)

    def lines(self) -> list[str]:
        """The diff as lines starting with ``+ ``, ``- `` or ``~ ``."""
        out = []
        for i, change in enumerate(self.changes):
            out.append(str(change))
            prefix = _PREFIX[change.action]
            out.extend(f"{prefix}  {line}" for line in self._details.get(i, ()))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines()) if self.changes else "No changes."

    def __repr__(self) -> str:
        return f"<SchemaDiff: {len(self.changes)} change{'' if len(self.changes) == 1 else 's'}>"

    def _repr_markdown_(self) -> str:
        if not self.changes:
            return "*No changes.*"
        # A ```diff block colors + and - lines in notebooks; ~ lines stay plain.
        return "```diff\n" + "\n".join(self.lines()) + "\n```"


# ---------------------------------------------------------------------------
# validator comparison
# ---------------------------------------------------------------------------

_LITERAL_KIND = {str: "string", bool: "boolean", int: "int64", float: "float64"}


def _unwrap(validator: Validator) -> Validator:
    return validator.inner if validator.kind == "optional" else validator  # type: ignore[attr-defined]


def _key_surely_accepted(keys: Validator, key: str) -> bool:
    """Whether record keys ``keys`` accept the field name ``key`` whatever the data.

    A ``v.id(...)`` key depends on which documents exist, so it cannot be proven
    statically: treat it as not accepted (the diff then says "narrows", the safe side).
    """
    def has_id(val: Validator) -> bool:
        return val.kind == "id" or any(has_id(m) for m in getattr(val, "members", ()))

    if has_id(keys):
        return False
    return keys.accepts(key)


def is_subtype(a: Validator, b: Validator) -> bool:
    """Whether every value ``a`` accepts is (provably) accepted by ``b``.

    Structural and conservative: True means certainly; False means not proven.
    As object fields, ``v.optional(x)`` is "``x`` or missing".

    Example::

        is_subtype(v.id("users"), v.string())  # True
        is_subtype(v.string(), v.id("users"))  # False
    """
    if a == b:
        return True
    ka, kb = a.kind, b.kind
    if kb == "any":
        return True
    if ka == "any":
        return False
    if kb == "optional":
        return is_subtype(_unwrap(a), b.inner)  # type: ignore[attr-defined]
    if ka == "optional":
        return False  # "missing" is not accepted by a required b
    if ka == "union":
        return all(is_subtype(m, b) for m in a.members)  # type: ignore[attr-defined]
    if kb == "union":
        return any(is_subtype(a, m) for m in b.members)  # type: ignore[attr-defined]
    if ka == "literal":
        return _LITERAL_KIND.get(type(a.value)) == kb  # type: ignore[attr-defined]
    if ka == "id":
        return kb == "string"
    if ka == "array":
        return kb == "array" and is_subtype(a.element, b.element)  # type: ignore[attr-defined]
    if ka == "object":
        fa = a.fields  # type: ignore[attr-defined]
        if kb == "object":
            fb = b.fields  # type: ignore[attr-defined]
            return all(k in fb and is_subtype(f, fb[k]) for k, f in fa.items()) and all(
                k in fa or f.is_optional for k, f in fb.items()
            )
        if kb == "record":
            return all(
                _key_surely_accepted(b.keys, k) and is_subtype(_unwrap(f), b.values)  # type: ignore[attr-defined]
                for k, f in fa.items()
            )
        return False
    if ka == "record":
        return (
            kb == "record"
            and is_subtype(a.keys, b.keys)  # type: ignore[attr-defined]
            and is_subtype(a.values, b.values)  # type: ignore[attr-defined]
        )
    return False


def _effect(old: Validator, new: Validator) -> Effect:
    wider = is_subtype(old, new)
    narrower = is_subtype(new, old)
    if wider and narrower:
        return "equivalent"
    if wider:
        return "widens"
    if narrower:
        return "narrows"
    return "both"


# ---------------------------------------------------------------------------
# the diff
# ---------------------------------------------------------------------------


def _fields(table: TableDefinition) -> dict[str, Validator] | None:
    doc = table.document_validator
    return doc.fields if doc.kind == "object" else None  # type: ignore[attr-defined]


def _index_defs(table: TableDefinition) -> list[tuple[str, dict[str, str]]]:
    """Per kind of index: name → its definition as code, for comparing and showing."""
    return [
        ("index", {n: json.dumps(list(i.fields)) for n, i in table.indexes.items()}),
        (
            "search_index",
            {
                n: f"search_field={json.dumps(i.search_field)}{_filters(i.filter_fields)}"
                for n, i in table.search_indexes.items()
            },
        ),
        (
            "vector_index",
            {
                n: f"vector_field={json.dumps(i.vector_field)}, dimensions={i.dimensions}"
                f"{_filters(i.filter_fields)}"
                for n, i in table.vector_indexes.items()
            },
        ),
    ]


def _filters(fields: tuple[str, ...]) -> str:
    return f", filter_fields={json.dumps(list(fields))}" if fields else ""


def _table_contents(table: TableDefinition) -> list[str]:
    """Lines describing a whole table, for an added or removed one."""
    name = table.name
    fields = _fields(table)
    if fields is None:
        lines = [f"{name} documents: {table.document_validator!r}"]
    else:
        lines = [f"{name}.{k}: {f!r}" for k, f in fields.items()]
    for kind, defs in _index_defs(table):
        label = kind.replace("_", " ")
        lines.extend(f"{label} {name}.{n} {d}" for n, d in defs.items())
    return lines


def _diff_table(name: str, old: TableDefinition, new: TableDefinition) -> list[SchemaChange]:
    changes: list[SchemaChange] = []
    old_fields, new_fields = _fields(old), _fields(new)
    if old_fields is not None and new_fields is not None:
        for field, validator in old_fields.items():
            if field not in new_fields:
                changes.append(
                    SchemaChange(
                        "removed", "field", name, field, old=repr(validator), effect="narrows"
                    )
                )
            elif new_fields[field] != validator:
                changes.append(
                    SchemaChange(
                        "changed",
                        "field",
                        name,
                        field,
                        old=repr(validator),
                        new=repr(new_fields[field]),
                        effect=_effect(validator, new_fields[field]),
                    )
                )
        for field, validator in new_fields.items():
            if field not in old_fields:
                # Existing documents lack the new field: fine only when it is optional.
                effect: Effect = "widens" if validator.is_optional else "narrows"
                changes.append(
                    SchemaChange("added", "field", name, field, new=repr(validator), effect=effect)
                )
    elif old.document_validator != new.document_validator:
        changes.append(
            SchemaChange(
                "changed",
                "document",
                name,
                old=repr(old.document_validator),
                new=repr(new.document_validator),
                effect=_effect(old.document_validator, new.document_validator),
            )
        )
    for (kind, old_defs), (_, new_defs) in zip(_index_defs(old), _index_defs(new), strict=True):
        for index, desc in old_defs.items():
            if index not in new_defs:
                changes.append(SchemaChange("removed", kind, name, index, old=desc))
            elif new_defs[index] != desc:
                changes.append(
                    SchemaChange("changed", kind, name, index, old=desc, new=new_defs[index])
                )
        for index, desc in new_defs.items():
            if index not in old_defs:
                changes.append(SchemaChange("added", kind, name, index, new=desc))
    return changes


def diff_schemas(old: Schema | None, new: Schema | None) -> SchemaDiff:
    """The changes from ``old`` to ``new``.

    Args:
        old: the current schema, or None when there is none (every table is new).
        new: the proposed schema, or None for none (every table is removed from the
            schema, and may then hold any document).

    Returns:
        A ``SchemaDiff``: ``.changes`` (structured), ``.is_empty``, ``.narrows``,
        ``str()`` as ``+``/``-``/``~`` lines, ``_repr_markdown_`` for notebooks.

    Example::

        print(diff_schemas(old, new))
        # ~ posts.tags: v.array(v.string()) → v.array(v.any())  (widens)
    """
    old_tables = old.tables if old is not None else {}
    new_tables = new.tables if new is not None else {}
    # Without a schema, or under a lenient one, a table the schema does not list holds
    # any document: removing it from the schema narrows nothing.
    removal: Effect | None = "widens" if new is None or not new.strict_table_name_types else None
    changes: list[SchemaChange] = []
    details: dict[int, list[str]] = {}
    if old is not None and new is not None:
        for setting in ("schema_validation", "strict_table_name_types"):
            before, after = getattr(old, setting), getattr(new, setting)
            if before != after:
                changes.append(
                    SchemaChange("changed", "setting", None, setting, str(before), str(after))
                )
    for name in [*old_tables, *(n for n in new_tables if n not in old_tables)]:
        before_table = old_tables.get(name)
        after_table = new_tables.get(name)
        if after_table is None:
            assert before_table is not None
            details[len(changes)] = _table_contents(before_table)
            changes.append(SchemaChange("removed", "table", name, effect=removal))
        elif before_table is None:
            details[len(changes)] = _table_contents(after_table)
            changes.append(SchemaChange("added", "table", name))
        else:
            changes.extend(_diff_table(name, before_table, after_table))
    return SchemaDiff(changes, details)
