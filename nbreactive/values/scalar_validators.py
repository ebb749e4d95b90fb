"""Scalar validators: ``v.string()``, ``v.float64()``, ``v.int64()``, ``v.boolean()``,
``v.null()``, ``v.bytes()``, ``v.any()``, ``v.id("t")`` and ``v.literal(x)``."""

from __future__ import annotations

import math
from typing import Any, NoReturn

from nbreactive.errors import SchemaError
from nbreactive.values.keys import encode_value, float_order_bits
from nbreactive.values.model import Id, _check_text, _Invalid, _norm, short_repr, type_name
from nbreactive.values.validator_base import _EMPTY, ResolveId, Validator, _code_str, _set
from nbreactive.values.wire import to_wire

__all__ = [
    "AnyValidator",
    "BooleanValidator",
    "BytesValidator",
    "Float64Validator",
    "IdValidator",
    "Int64Validator",
    "LiteralValidator",
    "NullValidator",
    "StringValidator",
]

_NoneType = type(None)
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _code_value(x: Any) -> str:
    if isinstance(x, str):
        return _code_str(x)
    if type(x) is float:
        if math.isnan(x):
            return 'float("nan")'
        if math.isinf(x):
            return 'float("inf")' if x > 0 else 'float("-inf")'
    return repr(x)


class StringValidator(Validator):
    """``v.string()``: a ``str`` (an ``Id`` is a string too)."""

    __slots__ = ()
    kind = "string"

    def __init__(self) -> None:
        # No fast path for str: containers would then skip the surrogate check below.
        _set(self, _fast=_EMPTY, _key=("string",))

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        if type(value) is str or type(value) is Id:
            if not value.isascii():
                _check_text(value)  # lone surrogates are not UTF-8: refuse them
            return value
        self._fail(value)

    @property
    def scalar_kind(self) -> str | None:
        return "string"


class Float64Validator(Validator):
    """``v.float64()`` / ``v.number()``: a ``float``; an ``int`` is accepted and
    returned as ``float`` (Python code writes ``3`` for the number 3)."""

    __slots__ = ()
    kind = "float64"

    def __init__(self) -> None:
        _set(self, _fast=frozenset({float}), _key=("float64",))

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        t = type(value)
        if t is float:
            return value
        if t is int:
            try:
                return float(value)
            except OverflowError:
                pass
        self._fail(value)

    def to_json(self) -> dict[str, Any]:
        return {"type": "number"}  # Convex's server name for float64

    @property
    def scalar_kind(self) -> str | None:
        return "float64"


class Int64Validator(Validator):
    """``v.int64()``: an ``int`` in int64 range; never a ``bool`` or a ``float``."""

    __slots__ = ()
    kind = "int64"

    def __init__(self) -> None:
        _set(self, _fast=_EMPTY, _key=("int64",))

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        if type(value) is int and _INT64_MIN <= value <= _INT64_MAX:
            return value
        self._fail(value)

    def to_json(self) -> dict[str, Any]:
        return {"type": "bigint"}  # Convex's server name for int64

    @property
    def scalar_kind(self) -> str | None:
        return "int64"


class BooleanValidator(Validator):
    """``v.boolean()``: ``True`` or ``False``."""

    __slots__ = ()
    kind = "boolean"

    def __init__(self) -> None:
        _set(self, _fast=frozenset({bool}), _key=("boolean",))

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        if type(value) is bool:
            return value
        self._fail(value)

    @property
    def scalar_kind(self) -> str | None:
        return "boolean"


class NullValidator(Validator):
    """``v.null()``: ``None``."""

    __slots__ = ()
    kind = "null"

    def __init__(self) -> None:
        _set(self, _fast=frozenset({_NoneType}), _key=("null",))

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        if value is None:
            return None
        self._fail(value)


class BytesValidator(Validator):
    """``v.bytes()``: ``bytes`` (``bytearray``/``memoryview`` are converted)."""

    __slots__ = ()
    kind = "bytes"

    def __init__(self) -> None:
        _set(self, _fast=frozenset({bytes}), _key=("bytes",))

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        t = type(value)
        if t is bytes:
            return value
        if t is bytearray or t is memoryview:
            return bytes(value)
        self._fail(value)

    @property
    def scalar_kind(self) -> str | None:
        return "bytes"


class AnyValidator(Validator):
    """``v.any()``: any Convex value (checked and normalized like ``normalize_value``)."""

    __slots__ = ()
    kind = "any"

    def __init__(self) -> None:
        _set(self, _fast=frozenset({float, bool, _NoneType, bytes}), _key=("any",))

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        return _norm(value, 0)


class IdValidator(Validator):
    """``v.id("table")``: an id of a document in ``table``; returns an ``Id``.

    With ``resolve_id`` (every validation nbreactive does: arguments, documents,
    imports, loading), the table *encoded in the id's text* decides, for a plain
    ``str`` and an ``Id`` alike: an ``Id``'s ``.table`` is only a label, so
    ``Id(str(post_id), "users")`` is refused by ``v.id("users")``, and an ``Id``
    whose text is an id of the table comes back labelled with it. Without
    ``resolve_id`` the caller has no way to check the text: an ``Id`` is accepted
    when its ``.table`` is the table, a plain string when it is not empty.

    Cost with ``resolve_id``: one call of it (``Database.table_of_id`` is a cached
    decode and a dict lookup, about 80 ns); a plain string also builds an ``Id``.
    """

    __slots__ = ("table_name",)
    kind = "id"
    table_name: str

    def __init__(self, table_name: str) -> None:
        if not isinstance(table_name, str) or not table_name:
            raise SchemaError(f"v.id(table_name) needs a table name, got {table_name!r}")
        _set(self, table_name=table_name, _fast=_EMPTY, _key=("id", table_name))

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        t = type(value)
        table = self.table_name
        if t is Id:
            if resolve_id is None:
                if value.table == table:
                    return value
            else:
                actual = resolve_id(value)
                if actual == table:
                    return value if value.table == table else Id(value, table)
                self._fail_label(value, actual)
        elif t is str and value and (resolve_id is None or resolve_id(value) == table):
            return Id(value, table)
        self._fail(value)

    def _fail_label(self, value: Id, actual: str | None) -> NoReturn:
        # An Id refused although its label may name this table: say what its text is.
        what = f'an id of table "{actual}"' if actual is not None else "not a document id of this app"
        expected = repr(self)
        raise _Invalid(
            f"expected {expected}, got {short_repr(value)} (string), whose text is {what}",
            value,
            expected,
        )

    def __repr__(self) -> str:
        return f"v.id({_code_str(self.table_name)})"

    def to_json(self) -> dict[str, Any]:
        return {"type": "id", "tableName": self.table_name}

    @property
    def scalar_kind(self) -> str | None:
        return "id"


class LiteralValidator(Validator):
    """``v.literal(x)``: exactly ``x`` (a str, int64, float64 or bool).

    Type-exact like Convex: ``v.literal(1)`` (int64) refuses ``1.0`` and ``True``.
    For a float literal an equal ``int`` is accepted and returned as ``float``,
    matching ``v.float64()``.
    """

    __slots__ = ("_type", "value")
    kind = "literal"
    value: Any
    _type: type

    def __init__(self, value: Any) -> None:
        t = type(value)
        if t is Id:
            value, t = str(value), str
        if t not in (str, int, float, bool):
            raise SchemaError(
                f"v.literal(value) takes a str, int, float or bool, got "
                f"{short_repr(value)} ({type_name(value)})"
            )
        if t is int and not _INT64_MIN <= value <= _INT64_MAX:
            raise SchemaError(f"v.literal({value}) does not fit in int64")
        _set(
            self,
            value=value,
            _type=t,
            _fast=_EMPTY,
            _key=("literal", encode_value(value)),
        )

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        lit = self.value
        want = self._type
        t = type(value)
        if want is float:
            if t is int and not isinstance(value, bool):
                try:
                    value = float(value)
                except OverflowError:
                    self._fail(value)
                t = float
            if t is float and float_order_bits(value) == float_order_bits(lit):
                return value
        elif (t is want or (want is str and t is Id)) and value == lit:
            return value
        self._fail(value)

    def __repr__(self) -> str:
        return f"v.literal({_code_value(self.value)})"

    def to_json(self) -> dict[str, Any]:
        return {"type": "literal", "value": to_wire(self.value)}
