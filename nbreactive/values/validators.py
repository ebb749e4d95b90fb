"""Validators: ``v.string()``, ``v.object({...})``, ... with Convex's semantics.

A validator checks a value and returns it *normalized* (``v.float64()`` turns an
``int`` into a ``float``, ``v.id("t")`` returns an ``Id``, arrays come back as new
lists, objects as new dicts without ``UNDEFINED`` fields). Validation is strict the
way Convex is: ``v.int64()`` refuses floats and bools, ``v.object`` refuses extra
fields, ``v.literal(1)`` (int64) does not match ``1.0``.

Messages put the path first and render the validator as code::

    .tags[2]: expected v.string(), got 3 (int64)
    Object contains extra field "x" that is not in the validator.

Performance: validation runs on every insert and every function call. The success
path does no path bookkeeping: a failure raises the internal ``_Invalid`` and each
enclosing array/object appends its index/key while the exception unwinds. Object
validators precompute, per field, the set of Python types accepted unchanged, so
a flat object of scalars costs one dict lookup and one set lookup per field.

Validators are immutable and compare structurally (``v.string() == v.string()``);
``repr`` is paste-able code, ``to_json``/``Validator.from_json`` use Convex's
validator JSON (``convex-js:src/values/validators.ts``).

Layout: ``validator_base`` (the ``Validator`` base class), ``scalar_validators``,
``compound_validators`` (optional, array, object, record, union), ``validator_json``
(reading validator JSON) and this module, which builds them through ``v`` and
re-exports them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nbreactive.errors import SchemaError
from nbreactive.values.compound_validators import (
    ArrayValidator,
    ObjectValidator,
    OptionalValidator,
    RecordValidator,
    UnionValidator,
)
from nbreactive.values.model import short_repr
from nbreactive.values.scalar_validators import (
    AnyValidator,
    BooleanValidator,
    BytesValidator,
    Float64Validator,
    IdValidator,
    Int64Validator,
    LiteralValidator,
    NullValidator,
    StringValidator,
)
from nbreactive.values.validator_base import ResolveId, Validator

# Importing validator_json plugs the JSON reader into Validator.from_json; its
# _from_json stays importable from here for pickles that name it by this module.
from nbreactive.values.validator_json import _from_json as _from_json

__all__ = [
    "AnyValidator",
    "ArrayValidator",
    "BooleanValidator",
    "BytesValidator",
    "Float64Validator",
    "IdValidator",
    "Int64Validator",
    "LiteralValidator",
    "NullValidator",
    "ObjectValidator",
    "OptionalValidator",
    "RecordValidator",
    "ResolveId",
    "StringValidator",
    "UnionValidator",
    "Validator",
    "as_validator",
    "v",
]

# ---------------------------------------------------------------------------
# the v namespace
# ---------------------------------------------------------------------------

# Stateless validators are shared singletons: cheap to build, and `is` comparisons in
# hot paths (e.g. storage picking column types) stay meaningful.
_STRING = StringValidator()
_FLOAT64 = Float64Validator()
_INT64 = Int64Validator()
_BOOLEAN = BooleanValidator()
_NULL = NullValidator()
_BYTES = BytesValidator()
_ANY = AnyValidator()


def as_validator(x: Validator | Mapping[str, Validator]) -> Validator:
    """``x`` itself, or ``v.object(x)`` for a dict of validators (``args={...}``)."""
    if isinstance(x, Validator):
        return x
    if isinstance(x, Mapping):
        return ObjectValidator(x)
    raise SchemaError(f"expected a validator or a dict of validators, got {short_repr(x)}")


class _V:
    """The validator builder, used as ``v``: ``v.string()``, ``v.object({...})``, ..."""

    __slots__ = ()

    def string(self) -> Validator:
        """A ``str``."""
        return _STRING

    def number(self) -> Validator:
        """A float64 (alias of ``float64``); ints are accepted and returned as float."""
        return _FLOAT64

    def float64(self) -> Validator:
        """A float64; ints are accepted and returned as float."""
        return _FLOAT64

    def int64(self) -> Validator:
        """An ``int`` in int64 range (not ``bool``, not ``float``)."""
        return _INT64

    def boolean(self) -> Validator:
        """``True`` or ``False``."""
        return _BOOLEAN

    def null(self) -> Validator:
        """``None``."""
        return _NULL

    def bytes(self) -> Validator:
        """``bytes``."""
        return _BYTES

    def any(self) -> Validator:
        """Any Convex value."""
        return _ANY

    def id(self, table_name: str) -> IdValidator:
        """An id of a document in ``table_name``."""
        return IdValidator(table_name)

    def literal(self, value: Any) -> Validator:
        """Exactly ``value`` (str, int64, float64, bool; ``None`` means ``v.null()``)."""
        if value is None:
            return _NULL
        return LiteralValidator(value)

    def array(self, element: Validator) -> ArrayValidator:
        """A list of values matching ``element``."""
        return ArrayValidator(element)

    def object(
        self, fields: Mapping[str, Validator] | None = None, /, **kwargs: Validator
    ) -> ObjectValidator:
        """A dict with exactly these fields; ``v.optional`` marks optional ones."""
        return ObjectValidator({**(fields or {}), **kwargs})

    def record(self, keys: Validator, values: Validator) -> RecordValidator:
        """A dict with arbitrary keys matching ``keys`` and values matching ``values``."""
        return RecordValidator(keys, values)

    def union(self, *members: Validator) -> UnionValidator:
        """A value matching any of ``members`` (tried in order)."""
        return UnionValidator(*members)

    def optional(self, inner: Validator) -> OptionalValidator:
        """An object field that may be missing."""
        return OptionalValidator(inner)

    def nullable(self, inner: Validator) -> UnionValidator:
        """``v.union(inner, v.null())``."""
        return UnionValidator(inner, _NULL)

    def __repr__(self) -> str:
        return "v"


v = _V()
