"""Top-level field names and dotted field paths of a table's documents.

- ``_top_field_problem``: the rule for user field names at the top level of a document
  (reference §1.2), used by ``define_table`` and by index field paths
- ``_child_validator``: what a table's validator says about ``value[key]``, the step
  ``TableDefinition.field_validator`` takes once per part of a dotted path

Imports flow one way: ``definition`` → ``indexes`` → ``fields``.
"""

from __future__ import annotations

import re
from typing import Any

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
