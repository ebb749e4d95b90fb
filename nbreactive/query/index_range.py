"""Index range expressions: ``IndexRangeBuilder`` → ``IndexRange`` (a byte interval).

``with_index(name, lambda q: q.eq("a", 1).gt("b", 2))`` records range expressions on
an immutable ``IndexRangeBuilder``. When the query runs, ``IndexRangeBuilder.compile``
checks them against the index's fields with Convex's rules and exact messages
(``crates/common/src/query.rs``: ``IndexRange::split`` and ``compile``) and turns them
into an ``IndexRange``: the equality prefix, at most one lower and one upper bound,
and the half-open byte interval ``[lo, hi)`` of index keys that match.

The rules, as Convex's backend enforces them:

- each field gets at most one ``eq`` ("Already defined equality bound ..."), at most
  one lower bound (``gt``/``gte``) and one upper bound (``lt``/``lte``) in total
  ("Already defined lower bound ..."), and both bounds are on the same field
  ("Upper and lower bounds in `range` can only be applied to a single index field ...");
- a field with a bound cannot also have an ``eq`` ("Already defined inequality bound ...");
- every field is in the index ("The index range included a comparison with ...");
- the ``eq`` fields followed by the bound field are a prefix of the index fields
  ("Tried to query index T.I but the query didn't use the index fields in order.").
  Like Convex's runtime, the *call* order of ``eq``s does not matter, only which
  fields are constrained: ``q.eq("b", 2).eq("a", 1)`` on ``by_a_b`` is fine, while
  ``q.gt("a", 1).eq("b", 2)`` (an equality after the bounded field) is refused.

``_creationTime`` (and ``_id`` after it) may be used as the implicit fields after the
index's own fields. ``UNDEFINED`` is a value like any other and sorts lowest:
``eq(f, UNDEFINED)`` matches documents without ``f``; ``gt(f, UNDEFINED)`` matches the
documents that have it.

Byte intervals, with ``P = encode_key(eq values)`` and ``enc = encode_value``::

    eq only   [P, P + b"\\xff")
    gte x     lo = P + enc(x)              gt x    lo = P + enc(x) + b"\\xff"
    lt x      hi = P + enc(x)              lte x   hi = P + enc(x) + b"\\xff"

(no element encoding starts with 0xFF, so ``P + enc(x) + b"\\xff"`` is just past every
key whose next field equals ``x``).
"""

from __future__ import annotations

import base64
import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nbreactive.errors import QueryError, ValidationError
from nbreactive.query.literals import coerce_literal
from nbreactive.values.keys import encode_key, encode_value
from nbreactive.values.model import UNDEFINED, normalize_value
from nbreactive.values.validator_base import Validator

__all__ = [
    "IndexBound",
    "IndexRange",
    "IndexRangeBuilder",
    "RangeExpression",
    "format_value",
    "whole_index_range",
]

_INDEXES_DOCS = "https://docs.convex.dev/using/indexes"

#: The comparison operator of each builder method, as Convex prints it.
_OPS = {"eq": "==", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


# ---------------------------------------------------------------------------
# value rendering (shared by index ranges and filters)
# ---------------------------------------------------------------------------


def format_value(value: Any, max_len: int | None = None) -> str:
    """Render a value the way Convex's error messages print it.

    int64 ``5``, float64 ``5.0`` / ``NaN`` / ``inf``, string ``"abc"``, ``null``,
    ``true``, ``undefined``, bytes ``b"..."`` (base64), arrays ``[1, 2]`` and objects
    ``{a: 1}``. Type-faithful, so ``1`` and ``1.0`` read differently.

    Args:
        value: any value (non-Convex values fall back to ``repr``).
        max_len: cut strings longer than this many characters, ending them with ``…``.

    Example::

        format_value(2.0)        # -> '2.0'
        format_value("j57abc")   # -> '"j57abc"'
    """
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        # Rust's `{:?}` for f64: `1.0`, `1e20`, `1e-7` (Python writes `1e+20`).
        return repr(value).replace("e+", "e")
    if isinstance(value, str):
        text = value
        if max_len is not None and len(text) > max_len:
            text = text[:max_len] + "…"
        return json.dumps(text, ensure_ascii=False)
    if isinstance(value, (bytes, bytearray)):
        return 'b"' + base64.b64encode(bytes(value)).decode("ascii") + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(x, max_len) for x in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(
                f"{k}: {format_value(x, max_len)}" for k, x in value.items() if x is not UNDEFINED
            )
            + "}"
        )
    return repr(value)


# ---------------------------------------------------------------------------
# the compiled range
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexBound:
    """One side of a range on the field after the equality prefix.

    Attributes:
        field: the (dotted) field path.
        op: ``">"``, ``">="``, ``"<"`` or ``"<="``.
        value: the bound value (after the int → float rule for float64 fields).
    """

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class IndexRange:
    """A compiled index range: which keys of ``table.index`` match, as bytes.

    Plain data: the same object drives the scan (``lo``/``hi``), the read set
    (``record_read`` gets these bytes, possibly shrunk) and the cursor fingerprint.

    Attributes:
        table: the table name.
        index: the index name (``"by_creation_time"``, ``"by_id"`` or a user index).
        fields: every key field of the index, implicit tail included, e.g.
            ``("author", "_creationTime", "_id")``.
        eq: the equality prefix as ``(field, value)`` pairs in index order.
        lower: the lower bound (``>``/``>=``) on the next field, or ``None``.
        upper: the upper bound (``<``/``<=``) on the next field, or ``None``.
        lo: inclusive lower end of the matching keys.
        hi: exclusive upper end of the matching keys.

    Matching keys are exactly ``lo <= key < hi``. The dataclass is frozen; it hashes
    only when its values do (lists and dicts as ``eq`` values do not).
    """

    table: str
    index: str
    fields: tuple[str, ...]
    eq: tuple[tuple[str, Any], ...]
    lower: IndexBound | None
    upper: IndexBound | None
    lo: bytes
    hi: bytes

    @property
    def is_empty(self) -> bool:
        """True when no key can match (e.g. ``gt("a", 5).lt("a", 3)``)."""
        return self.lo >= self.hi

    def contains(self, key: bytes) -> bool:
        """Whether an index key lies in the range. O(len(key))."""
        return self.lo <= key < self.hi

    def describe(self, max_value_len: int = 24) -> str:
        """Readable text for errors and the inspector.

        Example::

            'by_author: authorId == "j57…", _creationTime > 1.7e12'
        """
        parts = [f"{f} == {format_value(v, max_value_len)}" for f, v in self.eq]
        for b in (self.lower, self.upper):
            if b is not None:
                parts.append(f"{b.field} {b.op} {format_value(b.value, max_value_len)}")
        return f"{self.index}: {', '.join(parts)}" if parts else self.index


def whole_index_range(table: str, index: str, fields: Sequence[str]) -> IndexRange:
    """The range covering every key of an index (``with_index(name)`` without a range)."""
    return IndexRange(table, index, tuple(fields), (), None, None, b"", b"\xff")


# ---------------------------------------------------------------------------
# the builder
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RangeExpression:
    """One recorded call: ``kind`` is ``"eq" "gt" "gte" "lt" "lte"``."""

    kind: str
    field: str
    value: Any


class IndexRangeBuilder:
    """Builds an index range: ``eq`` on a prefix of the index fields, then bounds.

    Immutable: every method returns a new builder, so chains compose and a builder
    can be reused. Checking happens when the query runs (``compile``), against the
    index the query names, exactly like Convex's backend.

    Semantics: ``eq(f, v)`` keeps keys whose ``f`` equals ``v`` in the total order
    (type-exact, except that an ``int`` for a float64-typed field is taken as a
    float, inside arrays and objects too); ``gt``/``gte``/``lt``/``lte`` bound the field after the ``eq`` prefix.
    ``UNDEFINED`` means "missing" and sorts lowest.

    Cost: each call copies a small tuple; ``compile`` is O(number of expressions).

    Example::

        db.query("messages").with_index(
            "by_channel", lambda q: q.eq("channel", ch).gt("_creationTime", since)
        )
    """

    __slots__ = ("_exprs",)

    def __init__(self, exprs: tuple[RangeExpression, ...] = ()) -> None:
        self._exprs = exprs

    @property
    def expressions(self) -> tuple[RangeExpression, ...]:
        """The recorded expressions, in call order."""
        return self._exprs

    def _add(self, kind: str, field: str, value: Any) -> IndexRangeBuilder:
        if not isinstance(field, str):
            raise QueryError(
                f"{kind}() takes a field name (a string) first, got {field!r}; "
                f'e.g. q.{kind}("author", value)'
            )
        return IndexRangeBuilder((*self._exprs, RangeExpression(kind, field, value)))

    def eq(self, field: str, value: Any) -> IndexRangeBuilder:
        """Keep keys whose ``field`` equals ``value`` (``UNDEFINED``: field missing)."""
        return self._add("eq", field, value)

    def gt(self, field: str, value: Any) -> IndexRangeBuilder:
        """Lower bound: ``field > value`` (``gt(f, UNDEFINED)``: ``f`` is present)."""
        return self._add("gt", field, value)

    def gte(self, field: str, value: Any) -> IndexRangeBuilder:
        """Lower bound: ``field >= value``."""
        return self._add("gte", field, value)

    def lt(self, field: str, value: Any) -> IndexRangeBuilder:
        """Upper bound: ``field < value``."""
        return self._add("lt", field, value)

    def lte(self, field: str, value: Any) -> IndexRangeBuilder:
        """Upper bound: ``field <= value``."""
        return self._add("lte", field, value)

    def __repr__(self) -> str:
        calls = "".join(
            f'.{e.kind}("{e.field}", {"nr.UNDEFINED" if e.value is UNDEFINED else repr(e.value)})'
            for e in self._exprs
        )
        return f"q{calls}"

    # -- compile --------------------------------------------------------------

    def compile(
        self,
        table: str,
        index: str,
        fields: Sequence[str],
        field_validator: Callable[[str], Validator | None] | None = None,
    ) -> IndexRange:
        """Check the expressions against the index and compute the byte interval.

        Args:
            table: the table name (for messages).
            index: the index name.
            fields: the index's full key fields, implicit tail included
                (``(*fields, "_creationTime", "_id")``).
            field_validator: maps a field path to its validator, or ``None`` when
                unknown; a value is converted the way writing it under that validator
                would convert it, where that is unambiguous (an ``int`` for a
                ``v.number()`` field is taken as a float, ``[7]`` for a
                ``v.array(v.number())`` field as ``[7.0]``; see
                ``nbreactive.query.literals``). ``_creationTime`` is always float64.

        Returns:
            the ``IndexRange``.

        Raises:
            QueryError: with Convex's message for the rule that was broken, or when a
                value is not a Convex value.

        Cost: O(number of expressions + number of index fields), plus encoding the
        values.
        """
        name = f"{table}.{index}"
        fields = tuple(fields)
        # The fields Convex lists in its messages: the index's own fields with
        # `_creationTime`, but not the `_id` tie-breaker it appends to every key.
        shown = fields[:-1] if fields and fields[-1] == "_id" else fields

        # 1. Split into equalities and one inequality (Convex's `IndexRange::split`).
        equalities: dict[str, Any] = {}
        ineq_field: str | None = None
        lower: IndexBound | None = None
        upper: IndexBound | None = None
        for e in self._exprs:
            value = _coerce(e.field, _check_value(e, name), field_validator)
            if e.kind == "eq":
                if e.field in equalities:
                    # Convex names the value already there, not the new one.
                    raise QueryError(
                        _already_defined("equality", e.field, "==", equalities[e.field])
                    )
                equalities[e.field] = value
                continue
            is_upper = e.kind in ("lt", "lte")
            if (upper if is_upper else lower) is not None:
                raise QueryError(
                    _already_defined("upper" if is_upper else "lower", e.field, _OPS[e.kind], value)
                )
            if ineq_field is not None and ineq_field != e.field:
                raise QueryError(
                    "Upper and lower bounds in `range` can only be applied to a single index "
                    f"field. This query against index {name} attempted to set a range bound "
                    f'on both "{ineq_field}" and "{e.field}". Consider using `filter` instead. '
                    f"See {_INDEXES_DOCS} for more info."
                )
            ineq_field = e.field
            if is_upper:
                upper = IndexBound(e.field, _OPS[e.kind], value)
            else:
                lower = IndexBound(e.field, _OPS[e.kind], value)
        if ineq_field is not None and ineq_field in equalities:
            raise QueryError(
                _already_defined("inequality", ineq_field, "==", equalities[ineq_field])
            )

        # 2. Every field must be in the index (equalities in field-path order first,
        # as Convex's BTreeMap iterates them, then the inequality).
        rank = _rank(fields)
        missing = [f for f in equalities if f not in rank]
        if missing:
            first = min(missing, key=lambda p: p.split("."))
            raise QueryError(_not_in_index(name, first, shown))
        if ineq_field is not None and ineq_field not in rank:
            raise QueryError(_not_in_index(name, ineq_field, shown))

        # 3. The used fields, equalities in index order then the inequality, must be
        # a prefix of the index fields.
        eq_fields = (
            sorted(equalities, key=rank.__getitem__) if len(equalities) > 1 else list(equalities)
        )
        used = eq_fields + ([ineq_field] if ineq_field is not None else [])
        for i, f in enumerate(used):
            if i >= len(fields) or fields[i] != f:
                raise QueryError(
                    f"Tried to query index {name} but the query didn't use the index fields "
                    f"in order.\nIndex fields: {_field_list(shown)}\n"
                    f"Query fields: {_field_list(used)}\nFirst incorrect field: {f}\n"
                    f"For more information see {_INDEXES_DOCS}."
                )

        # 4. The byte interval.
        eq_pairs = tuple((f, equalities[f]) for f in eq_fields)
        prefix = encode_key([v for _, v in eq_pairs])
        lo = prefix
        hi = prefix + b"\xff"
        if lower is not None:
            enc = prefix + encode_value(lower.value)
            lo = enc if lower.op == ">=" else enc + b"\xff"
        if upper is not None:
            enc = prefix + encode_value(upper.value)
            hi = enc if upper.op == "<" else enc + b"\xff"
        return IndexRange(
            table=table,
            index=index,
            fields=fields,
            eq=eq_pairs,
            lower=lower,
            upper=upper,
            lo=lo,
            hi=hi,
        )


@functools.lru_cache(maxsize=1024)
def _rank(fields: tuple[str, ...]) -> dict[str, int]:
    """Position of each key field (cached: a handful of distinct indexes per app)."""
    return {f: i for i, f in enumerate(fields)}


def _check_value(e: RangeExpression, index_name: str) -> Any:
    """``e.value`` normalized (tuples → lists), or a QueryError naming the expression."""
    if e.value is UNDEFINED:
        return UNDEFINED
    try:
        return normalize_value(e.value)
    except ValidationError as err:
        raise QueryError(
            f'Invalid value in the index range of {index_name}: q.{e.kind}("{e.field}", ...): {err}'
        ) from None


def _coerce(
    field: str, value: Any, field_validator: Callable[[str], Validator | None] | None
) -> Any:
    # SPEC §1.1: an int for a float64 field means the float (Python writes 7, not 7.0),
    # inside array and object values too, where that is unambiguous (query.literals).
    t = type(value)
    if t is not int and t is not list and t is not dict:
        return value  # nothing to convert: no need to look the validator up
    if field == "_creationTime":
        return float(value) if t is int else value
    if field_validator is None:
        return value
    return coerce_literal(field_validator(field), value)


def _already_defined(kind: str, field: str, op: str, value: Any) -> str:
    return (
        f"Already defined {kind} bound in index range. Can't add "
        f'"{field}" {op} {format_value(value)}.'
    )


def _not_in_index(name: str, field: str, shown: Sequence[str]) -> str:
    return (
        f'The index range included a comparison with "{field}", but {name} with fields '
        f"{_field_list(shown)} doesn't index this field. For more information see "
        f"{_INDEXES_DOCS}."
    )


def _field_list(fields: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{f}"' for f in fields) + "]"
