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
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, NoReturn

from nbreactive.errors import SchemaError, ValidationError
from nbreactive.values.keys import encode_value, float_order_bits
from nbreactive.values.model import (
    MAX_ARRAY_LEN,
    UNDEFINED,
    Id,
    _check_text,
    _Invalid,
    _nested_key_problem,
    _norm,
    short_repr,
    type_name,
)
from nbreactive.values.wire import from_wire, to_wire

__all__ = ["ResolveId", "Validator", "as_validator", "v"]

#: ``resolve_id(text) -> table name | None``: which table an id string belongs to.
ResolveId = Callable[[str], "str | None"]

_NoneType = type(None)
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_EMPTY: frozenset[type] = frozenset()


def _code_str(s: str) -> str:
    """A string literal as code, double-quoted (JSON escapes are valid Python)."""
    return json.dumps(s, ensure_ascii=False)


def _code_value(x: Any) -> str:
    if isinstance(x, str):
        return _code_str(x)
    if type(x) is float:
        if math.isnan(x):
            return 'float("nan")'
        if math.isinf(x):
            return 'float("inf")' if x > 0 else 'float("-inf")'
    return repr(x)


class Validator:
    """Base class of every validator. Build them with ``v.*``.

    Attributes:
        kind: Convex's validator kind (``"string"``, ``"float64"``, ``"object"``, ...;
            ``"optional"`` for ``v.optional``).
    """

    __slots__ = ("_key", "_fast")

    kind: ClassVar[str] = ""
    #: Python types this validator accepts and returns unchanged, with no other
    #: check: lets containers skip a method call for the common scalar case.
    _fast: frozenset[type]
    _key: tuple[Any, ...]

    def __init__(self) -> None:
        self._fast = _EMPTY
        self._key = (self.kind,)

    # -- validation -----------------------------------------------------------

    def validate(self, value: Any, *, resolve_id: ResolveId | None = None) -> Any:
        """Check ``value`` and return it normalized.

        Args:
            value: the value to check.
            resolve_id: ``resolve_id(text) -> table name | None``; when given,
                ``v.id("t")`` uses it to check that a plain string is an id of
                table ``t``.

        Returns:
            The normalized value (new containers; never the caller's dicts/lists).

        Raises:
            ValidationError: with ``.path`` (e.g. ``".tags[2]"``), ``.expected`` (the
                failing validator as code) and ``.value``.

        Example::

            v.array(v.string()).validate(["a", 3])
            # ValidationError: [1]: expected v.string(), got 3 (int64)
        """
        try:
            return self._check(value, resolve_id)
        except _Invalid as e:
            raise e.to_error() from None

    def accepts(self, value: Any, *, resolve_id: ResolveId | None = None) -> bool:
        """Whether ``validate`` would succeed."""
        try:
            self._check(value, resolve_id)
        except _Invalid:
            return False
        return True

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        raise NotImplementedError

    def _fail(self, value: Any) -> NoReturn:
        expected = repr(self)
        raise _Invalid(
            f"expected {expected}, got {short_repr(value)} ({type_name(value)})",
            value,
            expected,
        )

    # -- description ----------------------------------------------------------

    @property
    def is_optional(self) -> bool:
        """True only for ``v.optional(...)``."""
        return False

    @property
    def optional(self) -> bool:
        """Same as ``is_optional`` (the name used in ``docs/DESIGN.md``)."""
        return self.is_optional

    @property
    def scalar_kind(self) -> str | None:
        """The single native column type this validator allows, if any.

        ``"string" "int64" "float64" "boolean" "bytes" "id"`` (``v.optional`` reports
        its inner kind), else ``None`` (null, any, literal, union, array, object,
        record): storage uses it to pick a native DuckDB column.
        """
        return None

    def to_json(self) -> dict[str, Any]:
        """Convex's validator JSON, e.g. ``{"type": "id", "tableName": "users"}``."""
        return {"type": self.kind}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Validator:
        """Rebuild a validator from ``to_json`` output (or Convex's validator JSON).

        Raises:
            SchemaError: unknown or malformed JSON.
        """
        return _from_json(data)

    def __repr__(self) -> str:
        return f"v.{self.kind}()"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Validator):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild from the JSON form: immutable slots cannot be restored one by one.
        return (_from_json, (self.to_json(),))

    def __setattr__(self, name: str, value: Any) -> None:
        # Validators are shared between schemas and functions: keep them immutable.
        if hasattr(self, "_key"):
            raise AttributeError(f"{type(self).__name__} is immutable")
        object.__setattr__(self, name, value)


def _set(obj: Validator, **attrs: Any) -> None:
    for name, value in attrs.items():
        object.__setattr__(obj, name, value)


# ---------------------------------------------------------------------------
# scalar validators
# ---------------------------------------------------------------------------


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

    Accepts an ``Id`` whose ``.table`` is the table; for a plain string, asks
    ``resolve_id`` when given (it must name the table), else accepts any non-empty
    string (the caller has no way to check it).
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
        if t is Id:
            if value.table == self.table_name:
                return value
        elif t is str and value and (resolve_id is None or resolve_id(value) == self.table_name):
            return Id(value, self.table_name)
        self._fail(value)

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


# ---------------------------------------------------------------------------
# compound validators
# ---------------------------------------------------------------------------


def _require_validator(x: Any, where: str, *, allow_optional: bool = False) -> Validator:
    if isinstance(x, Mapping) and not isinstance(x, Validator):
        raise SchemaError(f"{where} must be a validator, got a dict; wrap it in v.object({{...}})")
    if not isinstance(x, Validator):
        raise SchemaError(f"{where} must be a validator such as v.string(), got {short_repr(x)}")
    if x.is_optional and not allow_optional:
        raise SchemaError(
            f"{where} cannot be {x!r}: v.optional(...) is only allowed as the value "
            "of an object field"
        )
    return x


class OptionalValidator(Validator):
    """``v.optional(x)``: an object field that may be missing.

    Only meaningful as the value of an object field (or of an object's ``args``).
    On its own, ``validate`` accepts ``UNDEFINED`` (returned as is) or what ``x``
    accepts. ``to_json`` of a bare optional is the inner JSON, as in Convex (the
    flag lives in the enclosing object's ``"optional": true``).
    """

    __slots__ = ("inner",)
    kind = "optional"
    inner: Validator

    def __init__(self, inner: Validator) -> None:
        inner = _require_validator(inner, "v.optional(x)", allow_optional=True)
        if isinstance(inner, OptionalValidator):
            inner = inner.inner
        _set(self, inner=inner, _fast=inner._fast, _key=("optional", inner._key))

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        if value is UNDEFINED:
            return UNDEFINED
        return self.inner._check(value, resolve_id)

    @property
    def is_optional(self) -> bool:
        return True

    def __reduce__(self) -> tuple[Any, ...]:
        return (OptionalValidator, (self.inner,))

    @property
    def scalar_kind(self) -> str | None:
        return self.inner.scalar_kind

    def __repr__(self) -> str:
        return f"v.optional({self.inner!r})"

    def to_json(self) -> dict[str, Any]:
        return self.inner.to_json()


class ArrayValidator(Validator):
    """``v.array(x)``: a list (or tuple) of at most 8192 values matching ``x``."""

    __slots__ = ("element",)
    kind = "array"
    element: Validator

    def __init__(self, element: Validator) -> None:
        element = _require_validator(element, "v.array(element)")
        _set(self, element=element, _fast=_EMPTY, _key=("array", element._key))

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        t = type(value)
        if t is not list and t is not tuple:
            self._fail(value)
        if len(value) > MAX_ARRAY_LEN:
            raise _Invalid(
                f"array has {len(value)} elements, more than the {MAX_ARRAY_LEN} allowed",
                value,
                repr(self),
            )
        element = self.element
        fast = element._fast
        check = element._check
        out: list[Any] = []
        append = out.append
        i = 0
        try:
            for x in value:
                append(x if type(x) in fast else check(x, resolve_id))
                i += 1
        except _Invalid as e:
            e.parts.append(i)
            raise
        return out

    def __repr__(self) -> str:
        return f"v.array({self.element!r})"

    def to_json(self) -> dict[str, Any]:
        return {"type": "array", "value": self.element.to_json()}


_MISSING_MSG = (
    'Object is missing the required field "{}". Consider wrapping the field validator '
    "in v.optional(...) if this is expected."
)
_EXTRA_MSG = 'Object contains extra field "{}" that is not in the validator.'


class ObjectValidator(Validator):
    """``v.object({...})``: a dict with exactly these fields (strict, like Convex).

    Fields wrapped in ``v.optional`` may be missing (or ``UNDEFINED``, which is
    dropped); any field not listed is an error. Build variants with ``extend``,
    ``omit``, ``pick``, ``partial`` and ``required``.
    """

    __slots__ = ("_fields", "_plan")
    kind = "object"
    _fields: dict[str, Validator]
    _plan: tuple[tuple[str, Validator, bool, frozenset[type]], ...]

    def __init__(self, fields: Mapping[str, Validator]) -> None:
        if not isinstance(fields, Mapping):
            raise SchemaError(
                f"v.object(fields) takes a dict of validators, got {short_repr(fields)}"
            )
        checked: dict[str, Validator] = {}
        for name, validator in fields.items():
            problem = _nested_key_problem(name)
            if problem is not None:
                raise SchemaError(f"v.object(): {problem}")
            checked[str(name)] = _require_validator(
                validator, f"v.object() field {name!r}", allow_optional=True
            )
        plan = []
        for name, validator in checked.items():
            inner = validator.inner if isinstance(validator, OptionalValidator) else validator
            plan.append((name, inner, validator.is_optional, inner._fast))
        _set(
            self,
            _fields=checked,
            _plan=tuple(plan),
            _fast=_EMPTY,
            _key=("object", tuple(sorted((k, f._key) for k, f in checked.items()))),
        )

    @property
    def fields(self) -> dict[str, Validator]:
        """The field validators (a copy; optional fields are ``v.optional(...)``)."""
        return dict(self._fields)

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        if type(value) is not dict:
            self._fail(value)
        out = {}
        seen = 0
        get = value.get
        for name, validator, optional, fast in self._plan:
            x = get(name, UNDEFINED)
            if x is UNDEFINED:
                if name in value:
                    seen += 1
                if optional:
                    continue
                raise _Invalid(_MISSING_MSG.format(name), value, repr(self))
            seen += 1
            if type(x) in fast:
                out[name] = x
                continue
            try:
                out[name] = validator._check(x, resolve_id)
            except _Invalid as e:
                e.parts.append(name)
                raise
        if seen != len(value):
            self._check_extra(value)
        return out

    def _check_extra(self, value: dict[Any, Any]) -> None:
        # Fields not in the validator are errors, unless their value is UNDEFINED
        # (an undefined field is an absent field).
        for key, x in value.items():
            if key not in self._fields and x is not UNDEFINED:
                raise _Invalid(_EXTRA_MSG.format(key), value, repr(self))

    def __repr__(self) -> str:
        inner = ", ".join(f"{_code_str(k)}: {f!r}" for k, f in self._fields.items())
        return f"v.object({{{inner}}})"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "object",
            "value": {
                k: {"fieldType": f.to_json(), "optional": f.is_optional}
                for k, f in self._fields.items()
            },
        }

    # -- variants ---------------------------------------------------------------

    def extend(self, fields: Mapping[str, Validator]) -> ObjectValidator:
        """A new object validator with ``fields`` added (replacing same-named ones)."""
        return ObjectValidator({**self._fields, **fields})

    def omit(self, *names: str) -> ObjectValidator:
        """A new object validator without the named fields."""
        self._known(names, "omit")
        return ObjectValidator({k: f for k, f in self._fields.items() if k not in names})

    def pick(self, *names: str) -> ObjectValidator:
        """A new object validator with only the named fields (in the given order)."""
        self._known(names, "pick")
        return ObjectValidator({k: self._fields[k] for k in names})

    def partial(self) -> ObjectValidator:
        """A new object validator with every field optional."""
        return ObjectValidator({k: OptionalValidator(f) for k, f in self._fields.items()})

    def required(self) -> ObjectValidator:
        """A new object validator with every field required."""
        return ObjectValidator(
            {k: f.inner if isinstance(f, OptionalValidator) else f for k, f in self._fields.items()}
        )

    def _known(self, names: Iterable[str], method: str) -> None:
        for name in names:
            if name not in self._fields:
                raise SchemaError(
                    f".{method}({name!r}): no such field in {self!r}; "
                    f"fields are {', '.join(self._fields) or '(none)'}"
                )


def _valid_record_key(k: Validator) -> bool:
    if isinstance(k, (StringValidator, IdValidator)):
        return True
    if isinstance(k, LiteralValidator):
        return isinstance(k.value, str)
    if isinstance(k, UnionValidator):
        return all(_valid_record_key(m) for m in k.members)
    return False


class RecordValidator(Validator):
    """``v.record(keys, values)``: a dict with any (valid) keys, all of one shape.

    ``keys`` is ``v.string()``, ``v.id(...)``, a string literal or a union of those;
    keys must also be valid nested field names (printable ASCII, no leading ``$``).
    """

    __slots__ = ("keys", "values")
    kind = "record"
    keys: Validator
    values: Validator

    def __init__(self, keys: Validator, values: Validator) -> None:
        keys = _require_validator(keys, "v.record(keys, ...)")
        values = _require_validator(values, "v.record(..., values)")
        if not _valid_record_key(keys):
            raise SchemaError(
                f"v.record() keys must be v.string(), v.id(...) or a union of them, got {keys!r}"
            )
        _set(self, keys=keys, values=values, _fast=_EMPTY, _key=("record", keys._key, values._key))

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        if type(value) is not dict:
            self._fail(value)
        keys = self.keys
        values = self.values
        fast = values._fast
        out = {}
        key: Any = None
        try:
            for key, x in value.items():
                if x is UNDEFINED:
                    continue
                problem = _nested_key_problem(key)
                if problem is not None:
                    bad_key = _Invalid(problem, key, repr(self))
                    bad_key.skip_part = True  # the path names the record, the message the key
                    raise bad_key
                keys._check(key, resolve_id)
                out[str(key)] = x if type(x) in fast else values._check(x, resolve_id)
        except _Invalid as e:
            if e.skip_part:
                e.skip_part = False
            else:
                e.parts.append(key)
            raise
        return out

    def __repr__(self) -> str:
        return f"v.record({self.keys!r}, {self.values!r})"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "record",
            "keys": self.keys.to_json(),
            "values": {"fieldType": self.values.to_json(), "optional": False},
        }


class UnionValidator(Validator):
    """``v.union(a, b, ...)``: the first member that accepts the value wins."""

    __slots__ = ("_int_order", "_str_literals", "members")
    kind = "union"
    members: tuple[Validator, ...]
    _str_literals: frozenset[str]
    _int_order: tuple[Validator, ...]

    def __init__(self, *members: Validator) -> None:
        checked = tuple(_require_validator(m, "v.union() member") for m in members)
        fast: frozenset[type] = frozenset().union(*(m._fast for m in checked))
        # A union of string literals (an "enum") is checked with one set lookup.
        lits = frozenset(
            m.value for m in checked if isinstance(m, LiteralValidator) and m._type is str
        )
        # An int is int64 unless no member takes it as such: members that would turn it
        # into a float (v.float64(), a float literal) are tried last for ints, so that
        # v.union(v.float64(), v.int64()) keeps 5 as int64 like v.union(v.int64(), ...).
        converts = [
            m for m in checked
            if m.kind == "float64" or (isinstance(m, LiteralValidator) and m._type is float)
        ]
        int_order = tuple(m for m in checked if m not in converts) + tuple(converts)
        _set(
            self,
            members=checked,
            _str_literals=lits,
            _int_order=int_order,
            _fast=fast,
            _key=("union", tuple(m._key for m in checked)),
        )

    def _check(self, value: Any, resolve_id: ResolveId | None) -> Any:
        if type(value) in self._fast:
            return value
        if type(value) is str and value in self._str_literals:
            return value
        for member in self._int_order if type(value) is int else self.members:
            try:
                return member._check(value, resolve_id)
            except _Invalid:
                pass
        self._fail(value)

    @property
    def scalar_kind(self) -> str | None:
        return None

    def __repr__(self) -> str:
        return f"v.union({', '.join(repr(m) for m in self.members)})"

    def to_json(self) -> dict[str, Any]:
        return {"type": "union", "value": [m.to_json() for m in self.members]}


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------

_SIMPLE_JSON: dict[str, Callable[[], Validator]] = {
    "string": StringValidator,
    "number": Float64Validator,
    "float64": Float64Validator,
    "bigint": Int64Validator,
    "int64": Int64Validator,
    "boolean": BooleanValidator,
    "null": NullValidator,
    "bytes": BytesValidator,
    "any": AnyValidator,
}


def _field_from_json(data: Mapping[str, Any], where: str) -> Validator:
    if not isinstance(data, Mapping) or "fieldType" not in data:
        raise SchemaError(f"{where}: expected {{'fieldType': ..., 'optional': ...}}, got {data!r}")
    inner = _from_json(data["fieldType"])
    return OptionalValidator(inner) if data.get("optional") else inner


def _from_json(data: Mapping[str, Any]) -> Validator:
    if not isinstance(data, Mapping) or "type" not in data:
        raise SchemaError(f"not a validator JSON object: {short_repr(data)}")
    kind = data["type"]
    simple = _SIMPLE_JSON.get(kind)
    if simple is not None:
        return simple()
    try:
        if kind == "id":
            return IdValidator(data["tableName"])
        if kind == "literal":
            try:
                value = from_wire(data["value"])
            except ValidationError as e:
                raise SchemaError(f"bad literal in validator JSON: {e}") from None
            return LiteralValidator(value)
        if kind == "array":
            return ArrayValidator(_from_json(data["value"]))
        if kind == "object":
            return ObjectValidator(
                {k: _field_from_json(f, f"field {k!r}") for k, f in data["value"].items()}
            )
        if kind == "record":
            return RecordValidator(
                _from_json(data["keys"]), _field_from_json(data["values"], "record values")
            )
        if kind == "union":
            return UnionValidator(*(_from_json(m) for m in data["value"]))
    except KeyError as e:
        raise SchemaError(f"validator JSON of type {kind!r} is missing {e}") from None
    raise SchemaError(f"unknown validator type {kind!r} in {short_repr(data)}")


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
