"""The int → float rule for the literals of filters and index ranges (SPEC §1.1).

Writing ``7`` into a ``v.number()`` field stores ``7.0`` (Python code writes ``7`` for
the number 7). A query that compares that field with the literal ``7`` means ``7.0``
too, or the value that was written could not be found again. The rule reaches inside
arrays and objects, as writing does: ``[7]`` under ``v.array(v.number())`` is stored
as ``[7.0]``, ``{"x": 7}`` under ``v.object({"x": v.number()})`` as ``{"x": 7.0}``, so
those literals are converted the same way.

An ``int`` is converted only where that is unambiguous: where every validator that
could describe its position stores a number as float64 (``v.number()``, a float
literal, ``v.optional``/``v.nullable`` of those, ``v.union(v.number(), v.string())``).
Where an int64 can be stored too (``v.union(v.int64(), v.float64())``, ``v.any()``,
``v.literal(3)``, a field without a validator), the literal stays as given: there
the int may well mean the int64, and both are storable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nbreactive.values.compound_validators import (
    ArrayValidator,
    ObjectValidator,
    OptionalValidator,
    RecordValidator,
    UnionValidator,
)
from nbreactive.values.scalar_validators import (
    AnyValidator,
    Float64Validator,
    Int64Validator,
    LiteralValidator,
)
from nbreactive.values.validator_base import Validator

__all__ = ["coerce_literal", "numeric_kind"]


def _flatten(validators: Iterable[Validator]) -> list[Validator]:
    """The validators that may describe one position: optionals unwrapped, unions
    expanded (recursively)."""
    out: list[Validator] = []
    for val in validators:
        if isinstance(val, OptionalValidator):
            out.extend(_flatten((val.inner,)))
        elif isinstance(val, UnionValidator):
            out.extend(_flatten(val.members))
        else:
            out.append(val)
    return out


def _ints_become_floats(candidates: list[Validator]) -> bool:
    """Whether every number stored at a position with these validators is a float64."""
    converts = False
    for c in candidates:
        if isinstance(c, (Int64Validator, AnyValidator)):
            return False
        if isinstance(c, LiteralValidator):
            if type(c.value) is int:
                return False
            converts = converts or type(c.value) is float
        elif isinstance(c, Float64Validator):
            converts = True
    return converts


def numeric_kind(validator: Validator | None) -> str | None:
    """The scalar kind that decides the int → float rule for a field's validator.

    ``"float64"`` when every number the validator stores is a float64
    (``v.number()``, ``v.optional``/``v.nullable`` of it, a union whose numbers are
    all float64); otherwise ``validator.scalar_kind`` (``"int64"``, ``"string"``, ...);
    ``None`` when unknown or mixed.
    """
    if validator is None:
        return None
    if _ints_become_floats(_flatten((validator,))):
        return "float64"
    return validator.scalar_kind


def coerce_literal(validator: Validator | None, value: Any) -> Any:
    """``value`` as a literal compared with a field of this validator: its ints turned
    into floats wherever writing ``value`` into the field would store floats there
    and no int64 could be stored instead (see the module docstring).

    Returns ``value`` itself when nothing changes, else new containers. O(size of the
    value).

    Example::

        coerce_literal(v.array(v.number()), [7])               # -> [7.0]
        coerce_literal(v.union(v.int64(), v.float64()), 7)     # -> 7 (both storable)
    """
    t = type(value)
    if validator is None or (t is not int and t is not list and t is not dict):
        return value
    return _coerce(_flatten((validator,)), value)


def _coerce(candidates: list[Validator], value: Any) -> Any:
    if not candidates:
        return value
    t = type(value)
    if t is int:
        return float(value) if _ints_become_floats(candidates) else value
    if t is not list and t is not dict:
        return value
    if any(isinstance(c, AnyValidator) for c in candidates):
        return value  # stored as written: an int inside stays an int64
    if t is list:
        elements = _flatten(c.element for c in candidates if isinstance(c, ArrayValidator))
        items = [_coerce(elements, x) for x in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    objects = [c.fields for c in candidates if isinstance(c, ObjectValidator)]
    records = [c for c in candidates if isinstance(c, RecordValidator)]
    out: dict[str, Any] = {}
    changed = False
    for key, x in value.items():
        # The validators of `key` in the members that can hold it: an object member
        # without that field, or a record whose keys refuse it, stores no such value.
        field_validators = [f[key] for f in objects if key in f]
        field_validators += [r.values for r in records if r.keys.accepts(key)]
        y = _coerce(_flatten(field_validators), x)
        changed = changed or y is not x
        out[key] = y
    return out if changed else value
