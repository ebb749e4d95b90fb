"""Compound validators: ``v.optional``, ``v.array``, ``v.object``, ``v.record`` and
``v.union``.

Validation does no path bookkeeping on success: a failure raises ``_Invalid`` and
each enclosing array/object/record appends its index/key while the exception unwinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nbreactive.errors import SchemaError
from nbreactive.values.model import (
    MAX_ARRAY_LEN,
    UNDEFINED,
    Id,
    _Invalid,
    _nested_key_problem,
    plain_ids,
    short_repr,
)
from nbreactive.values.scalar_validators import IdValidator, LiteralValidator, StringValidator
from nbreactive.values.validator_base import (
    _EMPTY,
    ResolveId,
    Validator,
    _code_str,
    _set,
    not_a_validator,
)

__all__ = [
    "ArrayValidator",
    "ObjectValidator",
    "OptionalValidator",
    "RecordValidator",
    "UnionValidator",
]


def _require_validator(x: Any, where: str, *, allow_optional: bool = False) -> Validator:
    if isinstance(x, Mapping) and not isinstance(x, Validator):
        raise SchemaError(f"{where} must be a validator, got a dict; wrap it in v.object({{...}})")
    if not isinstance(x, Validator):
        raise SchemaError(f"{where} must be a validator such as v.string(), got {not_a_validator(x)}")
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
    """``v.union(a, b, ...)``: the first member that accepts the value wins.

    Members are tried in the order given (except that an int tries the members that
    would make it a float last), and the value comes back as that member returns it:
    its content is never changed, as in Convex, where a union returns the value
    unchanged.

    Ids are strings in Convex; in Python one string has two types, ``str`` and
    ``Id``, and the member that matched decides: a ``v.id("t")`` member returns an
    ``Id`` of ``t`` (with ``resolve_id``, only for a text that is an id of ``t``;
    ``Id`` or ``str`` alike), ``v.string()``, ``v.any()`` and string literals return
    the value as given. Hence ``v.union(v.string(), v.id("users"))`` returns a
    ``str`` for a ``str`` and an ``Id`` for an ``Id`` among function arguments; in a
    stored document, where an ``Id`` in a position that does not make one is stored
    as its plain text (``plain_ids_for``, as it reads back from disk), it is always
    a ``str``. Put the ``v.id`` member first, ``v.union(v.id("users"), v.string())``,
    to get an ``Id`` for every users id and a ``str`` for any other string.
    """

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
# ids: which positions make an Id, for storage (writing and loading documents)
# ---------------------------------------------------------------------------

# What kinds of Python value a validator may accept, coarsely: a union member that
# holds an id competes only with later members accepting the same shape.
_ANY_SHAPE = frozenset({"str", "dict", "list", "int", "float", "bool", "null", "bytes"})
_SHAPES = {
    "id": frozenset({"str"}),
    "string": frozenset({"str"}),
    "object": frozenset({"dict"}),
    "record": frozenset({"dict"}),
    "array": frozenset({"list"}),
    "int64": frozenset({"int"}),
    "float64": frozenset({"float", "int"}),
    "boolean": frozenset({"bool"}),
    "null": frozenset({"null"}),
    "bytes": frozenset({"bytes"}),
}


def _shapes(validator: Validator) -> frozenset[str]:
    if isinstance(validator, OptionalValidator):
        return _shapes(validator.inner)
    if isinstance(validator, UnionValidator):
        return frozenset().union(*(_shapes(m) for m in validator.members))
    if isinstance(validator, LiteralValidator):
        if validator._type is float:
            return _SHAPES["float64"]  # an equal int is accepted too
        return frozenset({validator._type.__name__})  # "str", "int" or "bool"
    return _SHAPES.get(validator.kind, _ANY_SHAPE)


def _children(validator: Validator) -> tuple[Validator, ...]:
    if isinstance(validator, OptionalValidator):
        return (validator.inner,)
    if isinstance(validator, ArrayValidator):
        return (validator.element,)
    if isinstance(validator, ObjectValidator):
        return tuple(validator._fields.values())
    if isinstance(validator, RecordValidator):
        return (validator.keys, validator.values)
    if isinstance(validator, UnionValidator):
        return validator.members
    return ()


def _has_id(validator: Validator) -> bool:
    return isinstance(validator, IdValidator) or any(map(_has_id, _children(validator)))


def ids_need_resolving(validator: Validator) -> bool:
    """Whether ``validator`` can give a string a different type or table with
    ``resolve_id`` than without it, for a value that it accepted *with* ``resolve_id``.

    True exactly when some union has a member holding a ``v.id`` followed by a member
    that accepts values of the same shape: ``v.union(v.id("users"), v.id("posts"))``,
    ``v.union(v.id("users"), v.string())``, two object members with id fields. Not
    for ``v.id("users")``, ``v.array(v.id("users"))``, ``v.union(v.id("users"),
    v.null())`` or ``v.union(v.string(), v.id("users"))`` (the first member that
    accepts a string is the same either way). Storage uses it to skip decoding the
    ids of checked documents when it loads them (a decode costs microseconds).
    """
    if isinstance(validator, UnionValidator):
        members = validator.members
        for i, m in enumerate(members):
            if _has_id(m):
                shapes = _shapes(m)
                if any(shapes & _shapes(later) for later in members[i + 1 :]):
                    return True
    return any(map(ids_need_resolving, _children(validator)))


def _keeps_ids(validator: Validator) -> bool:
    # Whether an Id validated here comes back exactly as its plain text would (with
    # resolve_id): an Id of the table the text names, or refused. Not when a member
    # that is no v.id takes strings (v.string(), v.any(), a string literal): that
    # one returns an Id as given but its text as a str.
    if type(validator) is IdValidator:
        return True
    if isinstance(validator, OptionalValidator):
        return _keeps_ids(validator.inner)
    if isinstance(validator, UnionValidator):
        return _union_info(validator)[1]
    return False


# Validators are immutable, so what plain_ids_for needs to know about one is computed
# once, keyed by id() (each entry holds its validator, so the id is not reused):
# per union, whether it keeps ids and its only member taking dicts / lists, if there
# is exactly one; per object, the fields that keep ids.
_UNIONS: dict[int, tuple[UnionValidator, bool, Validator | None, Validator | None]] = {}
_OBJECTS: dict[int, tuple[ObjectValidator, frozenset[str]]] = {}
_CACHE_LIMIT = 4096


def _union_info(
    union: UnionValidator,
) -> tuple[UnionValidator, bool, Validator | None, Validator | None]:
    hit = _UNIONS.get(id(union))
    if hit is None or hit[0] is not union:
        members = union.members
        keeps = all(_keeps_ids(m) or "str" not in _shapes(m) for m in members)
        dicts = [m for m in members if "dict" in _shapes(m)]
        lists = [m for m in members if "list" in _shapes(m)]
        if len(_UNIONS) > _CACHE_LIMIT:
            _UNIONS.clear()
        hit = _UNIONS[id(union)] = (
            union,
            keeps,
            dicts[0] if len(dicts) == 1 else None,
            lists[0] if len(lists) == 1 else None,
        )
    return hit


def _fields_keeping_ids(obj: ObjectValidator) -> frozenset[str]:
    hit = _OBJECTS.get(id(obj))
    if hit is None or hit[0] is not obj:
        keep = frozenset(name for name, f in obj._fields.items() if _keeps_ids(f))
        if len(_OBJECTS) > _CACHE_LIMIT:
            _OBJECTS.clear()
        hit = _OBJECTS[id(obj)] = (obj, keep)
    return hit[1]


def plain_ids_for(validator: Validator, value: Any) -> Any:
    """``value`` ready to be validated as a stored document (or part of one): every
    ``Id`` as its plain ``str``, except where ``validator`` makes an ``Id`` of it anyway.

    Storage keeps no ``Id``/``str`` distinction (JSON, VARCHAR), so a stored value's
    type must follow from the schema and its text alone: ``v.id`` positions hold
    ``Id`` objects, every other position (``v.string()``, ``v.any()``, a union whose
    ``v.string()`` member comes first) a plain ``str``, before a restart as after it.
    Validating the result with ``resolve_id`` gives exactly what validating the plain
    text gives; ``Id`` objects in ``v.id`` positions are passed on rather than
    rebuilt (building one costs about 0.2 µs). Returns ``value`` itself when nothing
    changes; nothing is checked here (what does not fit is left for validation).
    """
    t = type(value)
    if t is Id:
        return value if _keeps_ids(validator) else str(value)
    if t is not dict and t is not list and t is not tuple:
        return value
    if type(validator) is OptionalValidator:
        validator = validator.inner
    if type(validator) is UnionValidator:
        # A container can only match the members taking its shape: follow the one.
        _, _, dicts, lists = _union_info(validator)
        follow = dicts if t is dict else lists
        if follow is None:
            return plain_ids(value)
        validator = follow  # (never v.optional: unions refuse optional members)
    if t is dict:
        if type(validator) is ObjectValidator:
            fields = validator._fields
            for k, x in value.items():
                tx = type(x)
                if tx is Id:
                    if type(fields.get(k)) is IdValidator:
                        continue  # a v.id field: it makes an Id anyway
                    break
                if tx is list:
                    for e in x:
                        if type(e) in _WALK:
                            break
                    else:
                        continue  # a list of scalars: nothing to change in it
                    break
                if tx in _WALK:
                    break
            else:
                return value  # the common case: scalars, lists of them, ids in v.id fields
            out = None
            keep = None
            for k, x in value.items():
                tx = type(x)
                if tx is Id:
                    if type(validator._fields.get(k)) is IdValidator:
                        continue  # a v.id field: it makes an Id anyway
                    if keep is None:
                        keep = _fields_keeping_ids(validator)
                    if k in keep:
                        continue  # e.g. v.union(v.id(...), v.null()): the same
                    y = str(x)
                elif tx is dict or tx is list or tx is tuple:
                    f = validator._fields.get(k)
                    y = plain_ids(x) if f is None else plain_ids_for(f, x)
                    if y is x:
                        continue
                else:
                    continue
                if out is None:
                    out = dict(value)
                out[k] = y
            return value if out is None else out
        if type(validator) is RecordValidator:
            values = validator.values
            out = None
            for k, x in value.items():
                if type(x) in _WALK:
                    y = plain_ids_for(values, x)
                    if y is not x:
                        if out is None:
                            out = dict(value)
                        out[k] = y
            return value if out is None else out
    elif type(validator) is ArrayValidator:
        element = validator.element
        lst = None
        for i, x in enumerate(value):
            if type(x) in _WALK:
                y = plain_ids_for(element, x)
                if y is not x:
                    if lst is None:
                        lst = list(value)
                    lst[i] = y
        return value if lst is None else lst
    return plain_ids(value)


_WALK = frozenset({Id, dict, list, tuple})
