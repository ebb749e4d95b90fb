"""The ``Validator`` base class: validation entry points, description, equality.

Every kind of validator subclasses it (``scalar_validators``, ``compound_validators``);
``validators`` gathers them behind ``v``. See ``validators`` for the semantics.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NoReturn

from nbreactive.values.model import _TYPE_NAMES, _Invalid, not_a_value_hint, short_repr, type_name

__all__ = ["ResolveId", "Validator"]

#: ``resolve_id(text) -> table name | None``: which table an id string belongs to.
ResolveId = Callable[[str], "str | None"]

_EMPTY: frozenset[type] = frozenset()
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _code_str(s: str) -> str:
    """A string literal as code, double-quoted (JSON escapes are valid Python)."""
    return json.dumps(s, ensure_ascii=False)


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
        if type(value) is int and not _INT64_MIN <= value <= _INT64_MAX:
            # type_name says "int64" for every int: not for one that does not fit.
            what = ", an int that does not fit in int64 (-2**63 .. 2**63-1)"
        elif type(value) not in _TYPE_NAMES and not isinstance(value, (list, tuple, dict)):
            # e.g. np.float64(1.0): "(float64)" alone would name the very type expected
            what = f" ({type_name(value)}, not a Convex value; {not_a_value_hint(value)})"
        else:
            what = f" ({type_name(value)})"
        raise _Invalid(f"expected {expected}, got {short_repr(value)}{what}", value, expected)

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
        return _json_reader(data)

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
        return (_json_reader, (self.to_json(),))

    def __setattr__(self, name: str, value: Any) -> None:
        # Validators are shared between schemas and functions: keep them immutable.
        if hasattr(self, "_key"):
            raise AttributeError(f"{type(self).__name__} is immutable")
        object.__setattr__(self, name, value)


def _set(obj: Validator, **attrs: Any) -> None:
    for name, value in attrs.items():
        object.__setattr__(obj, name, value)


# ---------------------------------------------------------------------------
# reading validator JSON
# ---------------------------------------------------------------------------

# ``Validator.from_json`` and unpickling need the reader of validator JSON, which builds
# every kind of validator: it lives in ``validator_json``, which imports the validator
# classes (and so this module), and plugs itself in here when imported. The
# ``nbreactive.values`` package imports it (through ``validators``) before any use.
_json_reader: Callable[[Mapping[str, Any]], Validator]


def _set_json_reader(reader: Callable[[Mapping[str, Any]], Validator]) -> None:
    global _json_reader
    _json_reader = reader


_FOR_PYTHON_TYPE = {
    str: "v.string()",
    int: "v.int64() (or v.number() for any number)",
    float: "v.float64()",
    bool: "v.boolean()",
    bytes: "v.bytes()",
    type(None): "v.null()",
    list: "v.array(v.string()) (any element validator)",
    dict: "v.object({...}) or v.record(v.string(), ...)",
}


def not_a_validator(x: Any) -> str:
    """``x`` (which is not a validator) for an error message, with the validator
    probably meant: ``v.string`` without its call, or a Python type such as ``int``."""
    owner = getattr(x, "__self__", None)
    if callable(x) and type(owner).__name__ == "_V":  # v.string, not v.string()
        return f"v.{x.__name__}: call it, v.{x.__name__}()"
    if isinstance(x, type) and x in _FOR_PYTHON_TYPE:
        return f"{x!r}: for a Python {x.__name__} write {_FOR_PYTHON_TYPE[x]}"
    return short_repr(x)
