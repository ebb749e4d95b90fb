"""The value model: what a Convex value is in Python, and Convex's limits.

Python ↔ Convex mapping (see ``docs/DESIGN.md`` and the Convex reference §1.3):

==========  ===================================  =====================================
Convex      Python                               notes
==========  ===================================  =====================================
undefined   ``UNDEFINED``                        "missing"; never stored as a value
Id          ``Id`` (a ``str`` with ``.table``)   compares and hashes as the plain string
Null        ``None``
Int64       ``int`` (not ``bool``)               must fit in ``[-2**63, 2**63)``
Float64     ``float``                            every IEEE double, NaN and ±inf included
Boolean     ``bool``
String      ``str``                              no lone surrogates
Bytes       ``bytes``                            ``bytearray``/``memoryview`` are converted
Array       ``list``                             ``tuple`` is converted
Object      ``dict`` with ``str`` keys
==========  ===================================  =====================================

Everything else (sets, datetimes, numpy scalars, custom objects) is refused with a
message saying what to use instead: nbreactive never guesses a conversion.

Errors found while walking a value are raised as the internal ``_Invalid`` carrying
the path *parts* collected while unwinding; only the public entry points turn it into
a ``ValidationError`` with a rendered path. That keeps the success path free of any
path bookkeeping, which matters because ``normalize_value`` runs on every insert.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

from nbreactive.errors import ValidationError
from nbreactive.values.describe import foreign_type_name, not_a_value_hint, short_repr

__all__ = [
    "Id",
    "MAX_ARRAY_LEN",
    "MAX_DOCUMENT_SIZE",
    "MAX_FIELD_NAME_LEN",
    "MAX_IDENTIFIER_LEN",
    "MAX_NESTING",
    "MAX_OBJECT_FIELDS",
    "SYSTEM_FIELDS",
    "UNDEFINED",
    "check_identifier",
    "format_path",
    "get_path",
    "normalize_value",
    "plain_ids",
    "short_repr",
    "type_name",
]

#: Largest document, system fields included (Convex ``MAX_USER_SIZE``).
MAX_DOCUMENT_SIZE = 1 << 20
#: Deepest nesting of arrays/objects; the outermost container counts as 1.
MAX_NESTING = 16
#: Most elements in one array.
MAX_ARRAY_LEN = 8192
#: Most fields in one object.
MAX_OBJECT_FIELDS = 1024
#: Longest nested object key.
MAX_FIELD_NAME_LEN = 1024
#: Longest table name, index name or top-level field name.
MAX_IDENTIFIER_LEN = 64
#: Fields the system sets on every document.
SYSTEM_FIELDS = ("_id", "_creationTime")

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


# ---------------------------------------------------------------------------
# UNDEFINED and Id
# ---------------------------------------------------------------------------


class _Undefined:
    """The type of ``UNDEFINED``: Convex's ``undefined``, i.e. "missing".

    There is exactly one instance. It is falsy, survives ``copy``/``deepcopy``/
    ``pickle`` as the same object, and is not a storable value: an object field set
    to it is dropped, and inside an array it is an error.
    """

    __slots__ = ()
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = object.__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "nr.UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        # Pickle by reference to the module global, so loading yields the singleton.
        return "UNDEFINED"

    def __copy__(self) -> _Undefined:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Undefined:
        return self


UNDEFINED: Any = _Undefined()


class Id(str):
    """A document id: a ``str`` that also knows its table.

    ``Id`` equals and hashes as the plain string, so ``Id("abc", "users") == "abc"``
    and ids work as dict keys next to plain strings. ``.table`` is metadata only; it
    takes no part in comparisons, ordering or encodings (those see a string).

    Args:
        value: the id text.
        table: the table the id belongs to.

    Example::

        >>> Id("k57abc", "users")
        Id('k57abc', table='users')
    """

    # A slot, not an instance ``__dict__``: every document holds an Id, and a dict
    # per Id cost ~350 bytes per document (a third of the working set's memory).
    __slots__ = ("table",)

    table: str

    def __new__(cls, value: str, table: str) -> Id:
        self = str.__new__(cls, value)
        self.table = table
        return self

    def __repr__(self) -> str:
        return f"Id({str.__repr__(self)}, table={self.table!r})"

    def __reduce__(self) -> tuple[type[Id], tuple[str, str]]:
        return (Id, (str(self), self.table))

    def __copy__(self) -> Id:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Id:
        return self

    # str's __eq__/__hash__ are inherited unchanged: equal to the plain string.
    __eq__ = str.__eq__
    __hash__ = str.__hash__


# ---------------------------------------------------------------------------
# type names
# ---------------------------------------------------------------------------

_TYPE_NAMES: dict[type, str] = {
    type(None): "null",
    bool: "boolean",
    int: "int64",
    float: "float64",
    str: "string",
    Id: "string",
    bytes: "bytes",
    list: "array",
    dict: "object",
    _Undefined: "undefined",
}


def type_name(value: Any) -> str:
    """The Convex type name of ``value``.

    Returns one of ``"null" "boolean" "int64" "float64" "string" "bytes" "array"
    "object"`` (``Id`` is a ``"string"``, ``UNDEFINED`` is ``"undefined"``), else the
    Python type name (``"tuple"``, ``"set"``, ``"numpy.int64"``, ...). Exact type dispatch: ``bool`` is
    never ``"int64"``. O(1).
    """
    name = _TYPE_NAMES.get(type(value))
    return name if name is not None else foreign_type_name(type(value))


# ---------------------------------------------------------------------------
# paths and the internal error
# ---------------------------------------------------------------------------

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Invalid(Exception):
    """Internal: a value is invalid somewhere inside.

    ``parts`` are path parts appended while unwinding (innermost first): a ``str``
    is an object key, an ``int`` an array index. Public entry points convert this to
    ``ValidationError`` via ``to_error``.
    """

    def __init__(self, detail: str, value: Any = None, expected: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.value = value
        self.expected = expected
        self.parts: list[str | int] = []
        # Set for a bad object key: the enclosing object must not add that key to
        # the path (the path names the object, the message names the key).
        self.skip_part = False

    def path(self) -> str:
        return format_path(reversed(self.parts))

    def to_error(self, cls: type[ValidationError] = ValidationError) -> ValidationError:
        path = self.path()
        message = f"{path}: {self.detail}" if path else self.detail
        return cls(message, path=path, expected=self.expected, value=self.value)


def format_path(parts: Any) -> str:
    """Render path parts as ``.a.b[3]``; keys that are not identifiers as ``["a b"]``."""
    out = []
    for p in parts:
        if type(p) is int:
            out.append(f"[{p}]")
        elif _IDENT_RE.fullmatch(p):
            out.append(f".{p}")
        else:
            out.append('["' + p.replace("\\", "\\\\").replace('"', '\\"') + '"]')
    return "".join(out)


# ---------------------------------------------------------------------------
# field names and identifiers
# ---------------------------------------------------------------------------

# Non-control ASCII: 0x20..0x7E.
_NESTED_KEY_RE = re.compile(r"[\x20-\x7e]+")
# Caches of names already checked, so the common case costs one set lookup. They are
# bounded: a workload with unbounded distinct keys (records keyed by user input)
# just clears the cache now and then.
_GOOD_NESTED_KEYS: set[str] = set()
_GOOD_TOP_FIELDS: set[str] = set()
_CACHE_LIMIT = 50_000


def _nested_key_problem(key: Any) -> str | None:
    if type(key) is not str:
        if isinstance(key, str):
            return _nested_key_problem(str(key))
        return (
            f"object keys must be strings, got {short_repr(key)} ({type_name(key)}); "
            "convert the key with str(...)"
        )
    if not key:
        return "object keys must not be empty"
    if len(key) > MAX_FIELD_NAME_LEN:
        return (
            f"object key is {len(key)} characters long, more than the {MAX_FIELD_NAME_LEN} allowed"
        )
    if key[0] == "$":
        return f"object key {key!r} starts with '$', which is reserved for encoding values"
    if not _NESTED_KEY_RE.fullmatch(key):
        return (
            f"object key {key!r} contains characters other than printable ASCII "
            "(letters, digits, punctuation and space)"
        )
    return None


def _top_field_problem(key: Any) -> str | None:
    if type(key) is not str and not isinstance(key, str):
        return (
            f"field names must be strings, got {short_repr(key)} ({type_name(key)}); "
            "convert the key with str(...)"
        )
    if key in SYSTEM_FIELDS:
        return f"field {key!r} is set by the system; remove it from the document"
    if key.startswith("_"):
        return (
            f"field name {key!r} starts with '_', which is reserved for system fields; "
            "rename the field"
        )
    if len(key) > MAX_IDENTIFIER_LEN:
        return (
            f"field name {key[:20]!r}... is {len(key)} characters long, more than the "
            f"{MAX_IDENTIFIER_LEN} allowed for top-level fields"
        )
    if not _IDENT_RE.fullmatch(key):
        return (
            f"field name {key!r} is not valid: top-level field names must start with a "
            "letter and contain only ASCII letters, digits and '_'"
        )
    return None


def check_identifier(kind: str, name: Any) -> str:
    """Check a table or index name (Convex identifier rules) and return it.

    Rules: ASCII letters, digits and ``_``; not starting with ``_`` (reserved for
    system tables); at most 64 characters; not made of underscores only.

    Args:
        kind: what the name is, used in the message, e.g. ``"table name"``.
        name: the name to check.

    Raises:
        ValidationError: naming ``kind`` and the rule broken.

    Example::

        check_identifier("table name", "users")  # -> "users"
    """
    if not isinstance(name, str):
        raise ValidationError(
            f"Invalid {kind} {short_repr(name)}: expected a string, got {type_name(name)}",
            value=name,
        )
    problem = None
    if not name:
        problem = "it is empty"
    elif len(name) > MAX_IDENTIFIER_LEN:
        problem = f"it is {len(name)} characters long, more than the {MAX_IDENTIFIER_LEN} allowed"
    elif not _IDENT_RE.fullmatch(name):
        problem = "use only ASCII letters, digits and '_', starting with a letter"
    elif name.startswith("_"):
        problem = "names starting with '_' are reserved for the system"
    if problem is not None:
        raise ValidationError(f"Invalid {kind} {name!r}: {problem}.", value=name)
    return name


# ---------------------------------------------------------------------------
# normalize_value
# ---------------------------------------------------------------------------

_NoneType = type(None)
# Types that are their own normal form and need no further check (str/Id need a
# surrogate check when not ASCII, done inline).
_PLAIN = frozenset({float, bool, _NoneType, bytes})
_TEXT = frozenset({str, Id})


def _check_text(s: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid(
            f"string {short_repr(s)} contains a lone surrogate, which is not valid UTF-8",
            s,
        ) from None


def _int_out_of_range(n: int) -> NoReturn:
    raise _Invalid(
        f"int {short_repr(n)} does not fit in int64 (-2**63 .. 2**63-1); "
        "store it as a float or a string",
        n,
    )


def _refuse(value: Any) -> NoReturn:
    if value is UNDEFINED:
        raise _Invalid("nr.UNDEFINED is not a value (it means 'missing'); use None for null", value)
    raise _Invalid(
        f"{foreign_type_name(type(value))} is not a Convex value; {not_a_value_hint(value)}", value
    )


def _norm(value: Any, depth: int, plain: bool = False) -> Any:
    """Normalize one value at nesting ``depth`` (number of enclosing containers).

    ``plain``: in a document, where ``Id`` objects become plain ``str`` (see
    ``normalize_value``); they reach this function, never the inline fast paths."""
    t = type(value)
    if t in _PLAIN:
        return value
    if t in _TEXT:
        if not value.isascii():
            _check_text(value)
        return str(value) if plain and t is Id else value
    if t is int:
        if _INT64_MIN <= value <= _INT64_MAX:
            return value
        _int_out_of_range(value)
    if t is dict:
        return _norm_dict(value, depth + 1, plain)
    if t is list or t is tuple:
        return _norm_list(value, depth + 1, plain)
    if t is bytearray or t is memoryview:
        return bytes(value)
    _refuse(value)


def _too_deep(value: Any) -> NoReturn:
    raise _Invalid(
        f"value is nested more than {MAX_NESTING} levels deep (arrays and objects count)",
        value,
    )


def _norm_list(value: list[Any] | tuple[Any, ...], depth: int, plain: bool = False) -> list[Any]:
    if depth > MAX_NESTING:
        _too_deep(value)
    if len(value) > MAX_ARRAY_LEN:
        raise _Invalid(
            f"array has {len(value)} elements, more than the {MAX_ARRAY_LEN} allowed", value
        )
    out: list[Any] = []
    append = out.append
    i = 0
    try:
        for x in value:
            t = type(x)
            if t in _PLAIN:
                append(x)
            elif t is str and x.isascii():
                append(x)
            elif t is int and _INT64_MIN <= x <= _INT64_MAX:
                append(x)
            elif x is UNDEFINED:
                raise _Invalid("nr.UNDEFINED is not allowed inside an array; use None for null", x)
            else:
                append(_norm(x, depth, plain))
            i += 1
    except _Invalid as e:
        e.parts.append(i)
        raise
    return out


def _norm_dict(value: dict[Any, Any], depth: int, plain: bool = False) -> dict[str, Any]:
    if depth > MAX_NESTING:
        _too_deep(value)
    good = _GOOD_NESTED_KEYS
    out = {}
    key: Any = None
    try:
        for key, x in value.items():
            if key not in good:
                _accept_key(key, _nested_key_problem, good)
            if plain and type(key) is Id:
                key = str(key)
            t = type(x)
            if t in _PLAIN:
                out[key] = x
            elif t is str and x.isascii():
                out[key] = x
            elif t is int and _INT64_MIN <= x <= _INT64_MAX:
                out[key] = x
            elif x is UNDEFINED:
                continue
            else:
                out[key] = _norm(x, depth, plain)
    except _Invalid as e:
        if e.skip_part:
            e.skip_part = False
        else:
            e.parts.append(key)
        raise
    if len(out) > MAX_OBJECT_FIELDS:
        raise _Invalid(
            f"object has {len(out)} fields, more than the {MAX_OBJECT_FIELDS} allowed", value
        )
    return out


def _is_normal(value: Any, depth: int) -> bool:
    """True if ``value`` is already a normalized Convex value (``_norm`` would return an
    equal value); raises ``_Invalid`` where ``_norm`` would. Allocates nothing: this is
    the cheap check for values that are normally fine, such as query results."""
    t = type(value)
    if t in _PLAIN:
        return True
    if t in _TEXT:
        if not value.isascii():
            _check_text(value)
        return True
    if t is int:
        if _INT64_MIN <= value <= _INT64_MAX:
            return True
        _int_out_of_range(value)
    if t is dict:
        depth += 1
        if depth > MAX_NESTING:
            _too_deep(value)
        if len(value) > MAX_OBJECT_FIELDS:
            return False  # let _norm report it (after dropping UNDEFINED fields)
        good = _GOOD_NESTED_KEYS
        if good.issuperset(value):
            # The common case (documents and rows), without per-key work: keys already
            # known good, scalar values and arrays of scalars. Anything else goes
            # through the loop below, which also says where a problem is.
            for x in value.values():
                tx = type(x)
                if (
                    tx in _PLAIN
                    or (tx in _TEXT and x.isascii())
                    or (tx is int and _INT64_MIN <= x <= _INT64_MAX)
                ):
                    continue
                if tx is list and len(x) <= MAX_ARRAY_LEN and depth < MAX_NESTING:
                    for y in x:
                        ty = type(y)
                        if not (
                            ty in _PLAIN
                            or (ty in _TEXT and y.isascii())
                            or (ty is int and _INT64_MIN <= y <= _INT64_MAX)
                        ):
                            break
                    else:
                        continue
                break
            else:
                return True
        key: Any = None
        try:
            for key, x in value.items():
                if key not in good:
                    _accept_key(key, _nested_key_problem, good)
                tx = type(x)
                if (
                    tx in _PLAIN
                    or (tx in _TEXT and x.isascii())
                    or (tx is int and _INT64_MIN <= x <= _INT64_MAX)
                ):
                    continue
                if x is UNDEFINED or not _is_normal(x, depth):
                    return False
        except _Invalid as e:
            if e.skip_part:
                e.skip_part = False
            else:
                e.parts.append(key)
            raise
        return True
    if t is list:
        depth += 1
        if depth > MAX_NESTING:
            _too_deep(value)
        if len(value) > MAX_ARRAY_LEN:
            return False
        i = 0
        try:
            for x in value:
                tx = type(x)
                if not (
                    tx in _PLAIN
                    or (tx in _TEXT and x.isascii())
                    or (tx is int and _INT64_MIN <= x <= _INT64_MAX)
                ) and (x is UNDEFINED or not _is_normal(x, depth)):
                    return False
                i += 1
        except _Invalid as e:
            e.parts.append(i)
            raise
        return True
    return False  # tuples, bytearray, ...: _norm converts them (or refuses)


def _accept_key(key: Any, check: Any, cache: set[str]) -> None:
    problem = check(key)
    if problem is not None:
        e = _Invalid(problem, key)
        e.skip_part = True
        raise e
    if type(key) is str:  # only cache exact str: subclasses are converted by the caller
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache.add(key)


def _norm_document(doc: dict[Any, Any]) -> dict[str, Any]:
    good = _GOOD_TOP_FIELDS
    out = {}
    key: Any = None
    try:
        for key, x in doc.items():
            if key not in good:
                _accept_key(key, _top_field_problem, good)
            if type(key) is Id:
                key = str(key)
            t = type(x)
            if t in _PLAIN:
                out[key] = x
            elif t is int and _INT64_MIN <= x <= _INT64_MAX:
                out[key] = x
            elif t is str and x.isascii():
                out[key] = x
            elif x is UNDEFINED:
                continue
            else:
                out[key] = _norm(x, 1, True)  # a document: its ids become plain strings
    except _Invalid as e:
        if e.skip_part:
            e.skip_part = False
        else:
            e.parts.append(key)
        raise
    if len(out) > MAX_OBJECT_FIELDS:
        raise _Invalid(
            f"document has {len(out)} fields, more than the {MAX_OBJECT_FIELDS} allowed", doc
        )
    return out


def plain_ids(value: Any) -> Any:
    """``value`` with every ``Id`` in it, object keys included, as a plain ``str``.

    Returns ``value`` itself when it holds no ``Id`` (a walk that allocates nothing),
    else a copy of the containers on the way to each ``Id``. Nothing is checked:
    validation comes after. Containers nested deeper than any document may be are
    left as they are (validation refuses them).

    For documents about to be stored (``compound_validators.plain_ids_for``;
    ``normalize_value`` does the same for a document by itself): JSON keeps no
    ``Id``/``str`` distinction, so a stored id is an ``Id`` only where the schema
    says ``v.id``, whether the document was just written or loaded from disk.

    Example::

        plain_ids({"ref": Id("k57", "users")})  # -> {"ref": "k57"}
    """
    return _plain(value, 1)


_WALK = frozenset({Id, dict, list, tuple})


def _plain(value: Any, depth: int) -> Any:
    t = type(value)
    if t is Id:
        return str(value)
    if depth > MAX_NESTING:
        return value
    if t is dict:
        out = None
        for k, x in value.items():
            if type(x) in _WALK:
                y = str(x) if type(x) is Id else _plain(x, depth + 1)
                if y is not x:
                    if out is None:
                        out = dict(value)
                    out[k] = y
            if type(k) is Id:  # rare: rebuild, keeping the order of the keys
                return {
                    (str(k2) if type(k2) is Id else k2): _plain(x2, depth + 1)
                    for k2, x2 in value.items()
                }
        return value if out is None else out
    if t is list or t is tuple:
        lst = None
        for i, x in enumerate(value):
            if type(x) in _WALK:
                y = str(x) if type(x) is Id else _plain(x, depth + 1)
                if y is not x:
                    if lst is None:
                        lst = list(value)
                    lst[i] = y
        return value if lst is None else lst
    return value


MAX_VALUE_NESTING = 64  # function arguments and return values (documents: MAX_NESTING)


def normalize_value(
    value: Any,
    *,
    top_level_fields: bool = False,
    max_nesting: int = MAX_NESTING,
    copy: bool = True,
) -> Any:
    """Check that ``value`` is a Convex value within Convex's limits; return it normalized.

    Normalization: tuples become lists, ``bytearray``/``memoryview`` become bytes,
    object fields whose value is ``UNDEFINED`` are dropped, ``str`` subclasses other
    than ``Id`` are refused. Containers are always rebuilt, so the result never
    aliases the caller's dicts and lists and can be stored as is. Scalars, ``Id``
    included, are returned unchanged, except in a document (``top_level_fields``):
    nothing there says "id", so an ``Id`` is stored as its plain ``str``, which is
    also what reading it back from disk gives (see ``plain_ids``).

    Limits: ints fit in int64; nesting ≤ ``MAX_NESTING`` (the outermost container
    counts as 1, so a document's own dict is level 1); arrays ≤ ``MAX_ARRAY_LEN``;
    objects ≤ ``MAX_OBJECT_FIELDS``; nested keys are non-empty printable ASCII, not
    starting with ``$``, ≤ 1024 characters.

    Args:
        value: the value.
        top_level_fields: ``value`` is a document (without system fields): it must be
            a dict whose keys are identifier-like, ≤ 64 characters and do not start
            with ``_`` (``_id``/``_creationTime`` are refused as set by the system).
            Its ids become plain strings.
        max_nesting: the nesting limit: ``MAX_NESTING`` (16) for documents,
            ``MAX_VALUE_NESTING`` (64) for function arguments and return values.
        copy: ``False`` returns ``value`` itself when it is already normalized
            (a check that allocates nothing, about twice as fast); containers are
            rebuilt only when something needs converting. For return values, which
            nobody stores.

    Cost: one pass over the value; about 1-2 µs for a flat document of 6 scalars
    (field names are checked once and then cached).

    Raises:
        ValidationError: naming the path, e.g. ``.a.b[3]: int ... does not fit in int64``.

    Example::

        normalize_value({"tags": ("a", "b"), "gone": UNDEFINED}, top_level_fields=True)
        # -> {"tags": ["a", "b"]}
    """
    try:
        if top_level_fields:
            if type(value) is not dict:
                raise _Invalid(
                    f"a document must be a dict, got {short_repr(value)} ({type_name(value)})",
                    value,
                )
            return _norm_document(value)
        # The checks compare against MAX_NESTING; start deeper or shallower to apply
        # another limit without a parameter on the hot recursive path.
        start = MAX_NESTING - max_nesting
        if not copy and _is_normal(value, start):
            return value
        return _norm(value, start)
    except _Invalid as e:
        if e.detail.startswith("value is nested more than") and max_nesting != MAX_NESTING:
            e.detail = e.detail.replace(str(MAX_NESTING), str(max_nesting), 1)
        raise e.to_error() from None


# ---------------------------------------------------------------------------
# paths (sizes: ``values.sizes``; copies: ``values.copies``)
# ---------------------------------------------------------------------------


def get_path(doc: Any, path: str) -> Any:
    """The value at a dotted field path, or ``UNDEFINED`` when any step is missing.

    Only objects are traversed (``"a.0"`` does not index into arrays, as in Convex).
    O(depth of the path).

    Example::

        get_path({"a": {"b": 1}}, "a.b")  # -> 1
        get_path({"a": [1]}, "a.b")       # -> UNDEFINED
    """
    if "." not in path:
        return doc.get(path, UNDEFINED) if type(doc) is dict else UNDEFINED
    cur = doc
    for part in path.split("."):
        if type(cur) is not dict:
            return UNDEFINED
        cur = cur.get(part, UNDEFINED)
        if cur is UNDEFINED:
            return UNDEFINED
    return cur
