"""Top-level field names and dotted field paths of a table's documents.

- ``_top_field_problem``: the rule for user field names at the top level of a document
  (reference §1.2), used by ``define_table`` and by index field paths
- ``_child_validator``: what a table's validator says about ``value[key]``, the step
  ``TableDefinition.field_validator`` takes once per part of a dotted path
- ``_check_document_validator``: what a table's document validator may be (an object,
  a union of objects, ``v.any()``), and the top-level fields that would collide as
  DuckDB columns (``_case_twins``: names equal ignoring case)

Imports flow one way: ``definition`` → ``indexes`` → ``fields``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from nbreactive.errors import SchemaError
from nbreactive.values.model import MAX_IDENTIFIER_LEN, SYSTEM_FIELDS, short_repr, type_name
from nbreactive.values.validators import Validator, v

# Top-level user field names: the documented (stricter) rule, reference §1.2.
_TOP_FIELD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


# ---------------------------------------------------------------------------
# field names
# ---------------------------------------------------------------------------


def _top_field_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a user field at the top level of a document, or None."""
    if not isinstance(name, str):
        return f"field names must be strings, got {short_repr(name)} ({type_name(name)})"
    if name in SYSTEM_FIELDS:
        return f"{name!r} is a system field, added to every document automatically; remove it"
    if name.startswith("_"):
        return f"{name!r} starts with '_', which is reserved for system fields; rename it"
    if not name:
        return "field names must not be empty"
    if len(name) > MAX_IDENTIFIER_LEN:
        return (
            f"{name[:20]!r}... is {len(name)} characters long, more than the "
            f"{MAX_IDENTIFIER_LEN} allowed for top-level fields"
        )
    if not _TOP_FIELD_RE.fullmatch(name):
        return (
            f"{name!r} is not a valid top-level field name: start with a letter and use "
            "only ASCII letters, digits and '_'"
        )
    return None


# ---------------------------------------------------------------------------
# field paths through validators
# ---------------------------------------------------------------------------


def _unwrap_optional(validator: Validator) -> Validator:
    return validator.inner if validator.kind == "optional" else validator  # type: ignore[attr-defined]


def _child_validator(validator: Validator, key: str) -> Validator | None:
    """The validator of ``value[key]`` for values accepted by ``validator``.

    None when nothing is known (``v.any()``, an unknown field, a non-object type).
    Unions combine what their object members say about the key.
    """
    validator = _unwrap_optional(validator)
    kind = validator.kind
    if kind == "object":
        field = validator.fields.get(key)  # type: ignore[attr-defined]
        return None if field is None else _unwrap_optional(field)
    if kind == "record":
        # A record's keys validator says which keys may exist; values is what they hold.
        if validator.keys.accepts(key):  # type: ignore[attr-defined]
            return validator.values  # type: ignore[attr-defined, no-any-return]
        return None
    if kind == "union":
        found: list[Validator] = []
        for member in validator.members:  # type: ignore[attr-defined]
            if _unwrap_optional(member).kind == "any":
                # Writing picks the first member that accepts a value: a v.any() member
                # before every object member could take any value, so nothing is known
                # of the key; after one, the members before it decide (as writing does
                # for every value they accept).
                return None if not found else (found[0] if len(found) == 1 else v.union(*found))
            child = _child_validator(member, key)
            if child is not None and child not in found:
                found.append(child)
        if not found:
            return None
        if len(found) == 1:
            return found[0]
        return v.union(*found)
    return None


# ---------------------------------------------------------------------------
# document validator check
# ---------------------------------------------------------------------------


def _case_twins(names: Iterable[str]) -> tuple[str, str] | None:
    """The first two of ``names`` that are equal ignoring case (first seen first), or None.

    DuckDB identifiers are case-insensitive: such names would be one table, or one column.
    """
    seen: dict[str, str] = {}
    for name in names:
        first = seen.setdefault(name.lower(), name)
        if first != name:
            return first, name
    return None


def _check_document_validator(validator: Validator, *, columns: bool = True) -> Validator:
    """Check a table's document validator: an object, a union of objects, or v.any().

    ``columns``: the validator's fields become the table's DuckDB columns (a top-level
    ``v.object``), so they must differ in more than case. The members of a union are
    not columns: such a table is stored as one JSON column, like one without a schema.
    """
    kind = validator.kind
    if kind == "object":
        fields = validator.fields  # type: ignore[attr-defined]
        for name in fields:
            problem = _top_field_problem(name)
            if problem is not None:
                raise SchemaError(f"define_table(): invalid field: {problem}")
        twins = _case_twins(fields) if columns else None
        if twins is not None:
            a, b = twins
            raise SchemaError(
                f"define_table(): the fields {a!r} and {b!r} differ only in case. Each "
                "top-level field of a table is a DuckDB column, and DuckDB column names are "
                "case-insensitive, so SQL could not tell the two apart. Rename one of them, "
                "or nest them in an object field (nested fields are stored as JSON and may "
                "differ only in case), or declare the table define_table(v.any()), which "
                "stores documents as one JSON column like a table without a schema."
            )
        return validator
    if kind == "union":
        for member in validator.members:  # type: ignore[attr-defined]
            if member.kind != "object":
                raise SchemaError(
                    "define_table(): a union document validator must be a union of "
                    f"v.object(...) validators; {member!r} is not an object validator"
                )
            _check_document_validator(member, columns=False)
        return validator
    if kind == "any":
        return validator
    raise SchemaError(
        f"define_table() takes a dict of field validators, v.object({{...}}), a v.union of "
        f"objects or v.any(); got {validator!r}, which cannot describe a document"
    )
