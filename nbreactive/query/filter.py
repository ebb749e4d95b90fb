"""Filter expressions: ``FilterBuilder`` → an immutable ``Expr`` tree → compiled closures.

``query.filter(lambda q: q.and_(q.eq(q.field("done"), False), q.gt(q.field("n"), 3)))``
calls the function once with a ``FilterBuilder``; the tree it returns is plain data
(frozen dataclasses), stored in the query plan and fingerprinted for cursors. Before
a scan, ``compile_filter`` turns the tree into nested closures, so evaluating a
document costs a few Python calls and no tree walking.

Semantics are Convex's (``crates/common/src/query.rs``, ``Expression::eval``):

- ``q.field("a.b")`` is the value at that path, or ``UNDEFINED`` when missing.
- ``eq neq lt lte gt gte`` compare in the total order of values
  (undefined < null < int64 < float64 < boolean < string < bytes < array < object);
  they never fail. So ``q.lt(q.field("age"), 18)`` also matches documents without
  ``age`` and with ``age`` null, and ``1 != 1.0`` (type-exact).
- ``add sub mul div mod``: int64 with int64 is checked (overflow, division or
  modulo by zero, and ``mod(-2**63, -1)`` raise ``FilterEvalError``; ``div``
  truncates toward zero and ``mod`` takes the sign of the dividend, as Rust's ``/``
  and ``%``); float64 with float64 is IEEE (``x / 0.0`` is ±inf, ``0.0 / 0.0`` and
  ``x % 0.0`` are NaN, ``%`` is ``math.fmod``); anything else, int64 mixed with
  float64 included, raises
  ``FilterEvalError("Cannot add 1 (type int64) and 2.0 (type float64)")``.
- ``neg``: int64 (checked) or float64, else an error.
- ``and_``/``or_`` are variadic and short-circuit; ``and_``/``or_``/``not_`` operands
  and a filter's result must be booleans, else ``FilterEvalError``.

Beyond Convex (SPEC §1.1): where a field's validator is float64 (``v.number()`` /
``v.float64()``), an ``int`` literal compared with or combined with that field is taken
as a float, so ``q.eq(q.field("price"), 7)`` matches a stored ``7.0``; inside array
and object literals too (``q.eq(q.field("xs"), [7])`` on ``v.array(v.number())``), but
never where an int64 could be stored as well (``query.literals``). ``coerce_literals``
applies this once per query, when the plan is built.

Python operators do not build expressions: ``q.field("a") == 1``, ``<``, ``&``, ``|``,
``~`` and ``bool(expr)`` (``if``, ``and``, ``or``, ``not``) raise ``QueryError``
saying which ``q.*`` method to use. ``Expr`` objects hash by identity.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbreactive.errors import FilterEvalError, QueryError, ValidationError
from nbreactive.query.index_range import format_value
from nbreactive.query.literals import coerce_literal, numeric_kind
from nbreactive.values.keys import compare_values, encode_value
from nbreactive.values.model import UNDEFINED, get_path, normalize_value, type_name
from nbreactive.values.scalar_validators import Float64Validator
from nbreactive.values.validator_base import Validator

__all__ = [
    "And",
    "Arith",
    "Compare",
    "Expr",
    "Field",
    "FilterBuilder",
    "Literal",
    "Neg",
    "Not",
    "Or",
    "coerce_literals",
    "compile_expr",
    "compile_filter",
    "count_nodes",
    "evaluate",
    "expr_data",
]

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

#: Python operator → the ``q`` method to use instead (for the error messages).
_PY_OPERATORS = {
    "==": "eq",
    "!=": "neq",
    "<": "lt",
    "<=": "lte",
    ">": "gt",
    ">=": "gte",
    "&": "and_",
    "|": "or_",
}


# ---------------------------------------------------------------------------
# the tree
# ---------------------------------------------------------------------------


class Expr:
    """Base of every filter expression node. Immutable plain data.

    Python's comparison, ``&``/``|``/``~`` and truth-value protocols raise
    ``QueryError`` on purpose: they cannot build a filter, and letting them return
    a Python bool would silently keep or drop every document. Hashing is by
    identity (two equal-looking trees are different keys); compare trees with
    ``expr_data(a) == expr_data(b)``.
    """

    __slots__ = ()

    def _refuse(self, symbol: str, other: Any) -> Any:
        method = _PY_OPERATORS[symbol]
        raise QueryError(
            f"Python's `{symbol}` does not build a filter expression: "
            f"use q.{method}({self!r}, {_show(other)}) instead "
            "(q.eq, q.neq, q.lt, q.lte, q.gt, q.gte compare; q.and_, q.or_, q.not_ combine)."
        )

    def __eq__(self, other: object) -> bool:
        return self._refuse("==", other)

    def __ne__(self, other: object) -> bool:
        return self._refuse("!=", other)

    def __lt__(self, other: object) -> bool:
        return self._refuse("<", other)

    def __le__(self, other: object) -> bool:
        return self._refuse("<=", other)

    def __gt__(self, other: object) -> bool:
        return self._refuse(">", other)

    def __ge__(self, other: object) -> bool:
        return self._refuse(">=", other)

    def __and__(self, other: object) -> Any:
        return self._refuse("&", other)

    __rand__ = __and__

    def __or__(self, other: object) -> Any:
        return self._refuse("|", other)

    __ror__ = __or__

    def __invert__(self) -> Any:
        raise QueryError(
            f"Python's `~` does not build a filter expression: use q.not_({self!r}) instead."
        )

    def __bool__(self) -> bool:
        raise QueryError(
            f"A filter expression has no Python truth value ({self!r}): `if`, `and`, `or` "
            "and `not` cannot look inside it, because it is evaluated later, per document. "
            "Combine conditions with q.and_(...), q.or_(...) and q.not_(...)."
        )

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return _render(self)


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Field(Expr):
    """``q.field(path)``: the value at a dotted path, ``UNDEFINED`` when missing."""

    path: str


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Literal(Expr):
    """A constant (a normalized Convex value, or ``UNDEFINED``)."""

    value: Any


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Compare(Expr):
    """``op`` is one of ``"eq" "neq" "lt" "lte" "gt" "gte"``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Arith(Expr):
    """``op`` is one of ``"add" "sub" "mul" "div" "mod"``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Neg(Expr):
    """``-operand`` (int64 or float64)."""

    operand: Expr


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class And(Expr):
    """All operands true (short-circuits; ``and_()`` with no operands is true)."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Or(Expr):
    """Any operand true (short-circuits; ``or_()`` with no operands is false)."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Not(Expr):
    """Boolean negation."""

    operand: Expr


def _show(x: Any) -> str:
    return repr(x) if isinstance(x, Expr) else _py_literal(x)


def _py_literal(v: Any) -> str:
    return "nr.UNDEFINED" if v is UNDEFINED else repr(v)


def _render(e: Expr) -> str:
    """Code-like text of a tree: ``q.lt(q.field("age"), 18)``."""
    if isinstance(e, Field):
        return f'q.field("{e.path}")'
    if isinstance(e, Literal):
        return _py_literal(e.value)
    if isinstance(e, (Compare, Arith)):
        return f"q.{e.op}({_render(e.left)}, {_render(e.right)})"
    if isinstance(e, Neg):
        return f"q.neg({_render(e.operand)})"
    if isinstance(e, Not):
        return f"q.not_({_render(e.operand)})"
    if isinstance(e, (And, Or)):
        name = "and_" if isinstance(e, And) else "or_"
        return f"q.{name}({', '.join(_render(x) for x in e.operands)})"
    return object.__repr__(e)  # pragma: no cover - no other node types


# ---------------------------------------------------------------------------
# the builder
# ---------------------------------------------------------------------------


def _wrap(x: Any, method: str) -> Expr:
    """An operand as an ``Expr``: expressions as they are, Python values as literals."""
    if isinstance(x, Expr):
        return x
    if x is UNDEFINED:
        return Literal(UNDEFINED)
    if callable(x) and not isinstance(x, (str, bytes, dict, list, tuple)):
        raise QueryError(
            f"q.{method}(...) got {x!r}, a function: pass an expression such as "
            'q.field("a") or a value.'
        )
    try:
        return Literal(normalize_value(x))
    except ValidationError as err:
        # (the error says what is wrong: "numpy.float64 is not a Convex value; ...")
        raise QueryError(f"q.{method}(...): {_short(x)}: {err}") from None


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


class FilterBuilder:
    """The ``q`` passed to ``query.filter(lambda q: ...)``: builds ``Expr`` trees.

    Every method returns a new immutable expression; Python values (``1``, ``"x"``,
    ``None``, lists, dicts, ``UNDEFINED``) become literals automatically.

    Semantics: see the module docstring (Convex's total order for comparisons,
    checked int64 and IEEE float64 arithmetic, boolean-only logic).

    Cost: building is O(size of the expression); it runs once per ``filter`` call,
    not per document.

    Example::

        q.and_(q.eq(q.field("status"), "open"), q.gte(q.mul(q.field("qty"), 2), 10))
    """

    __slots__ = ()

    def field(self, path: str) -> Field:
        """The value of a (dotted) field, or ``UNDEFINED`` when the document lacks it."""
        if not isinstance(path, str) or not path:
            raise QueryError(f'q.field() takes a field path such as "author", got {path!r}')
        return Field(path)

    # comparisons: never fail, total order across types
    def eq(self, left: Any, right: Any) -> Compare:
        """``left == right`` in the total order (type-exact: ``1 != 1.0``)."""
        return Compare("eq", _wrap(left, "eq"), _wrap(right, "eq"))

    def neq(self, left: Any, right: Any) -> Compare:
        """``left != right`` in the total order."""
        return Compare("neq", _wrap(left, "neq"), _wrap(right, "neq"))

    def lt(self, left: Any, right: Any) -> Compare:
        """``left < right`` (missing < null < int64 < float64 < ...)."""
        return Compare("lt", _wrap(left, "lt"), _wrap(right, "lt"))

    def lte(self, left: Any, right: Any) -> Compare:
        """``left <= right``."""
        return Compare("lte", _wrap(left, "lte"), _wrap(right, "lte"))

    def gt(self, left: Any, right: Any) -> Compare:
        """``left > right``."""
        return Compare("gt", _wrap(left, "gt"), _wrap(right, "gt"))

    def gte(self, left: Any, right: Any) -> Compare:
        """``left >= right``."""
        return Compare("gte", _wrap(left, "gte"), _wrap(right, "gte"))

    # arithmetic: int64 with int64 or float64 with float64 only
    def add(self, left: Any, right: Any) -> Arith:
        """``left + right`` (checked int64, or IEEE float64)."""
        return Arith("add", _wrap(left, "add"), _wrap(right, "add"))

    def sub(self, left: Any, right: Any) -> Arith:
        """``left - right``."""
        return Arith("sub", _wrap(left, "sub"), _wrap(right, "sub"))

    def mul(self, left: Any, right: Any) -> Arith:
        """``left * right``."""
        return Arith("mul", _wrap(left, "mul"), _wrap(right, "mul"))

    def div(self, left: Any, right: Any) -> Arith:
        """``left / right``: int64 truncates toward zero and fails on zero; float64 is IEEE."""
        return Arith("div", _wrap(left, "div"), _wrap(right, "div"))

    def mod(self, left: Any, right: Any) -> Arith:
        """``left % right`` with the sign of ``left`` (Rust/C semantics, not Python's)."""
        return Arith("mod", _wrap(left, "mod"), _wrap(right, "mod"))

    def neg(self, x: Any) -> Neg:
        """``-x``."""
        return Neg(_wrap(x, "neg"))

    # logic: operands must evaluate to booleans
    def and_(self, *exprs: Any) -> And:
        """True when every operand is true; stops at the first false one."""
        return And(tuple(_wrap(x, "and_") for x in exprs))

    def or_(self, *exprs: Any) -> Or:
        """True when any operand is true; stops at the first true one."""
        return Or(tuple(_wrap(x, "or_") for x in exprs))

    def not_(self, x: Any) -> Not:
        """Boolean negation."""
        return Not(_wrap(x, "not_"))


# ---------------------------------------------------------------------------
# analysis
# ---------------------------------------------------------------------------


def count_nodes(expr: Expr) -> int:
    """Number of nodes in the tree (fields and literals included)."""
    if isinstance(expr, (Field, Literal)):
        return 1
    if isinstance(expr, (Compare, Arith)):
        return 1 + count_nodes(expr.left) + count_nodes(expr.right)
    if isinstance(expr, (Neg, Not)):
        return 1 + count_nodes(expr.operand)
    if isinstance(expr, (And, Or)):
        return 1 + sum(count_nodes(x) for x in expr.operands)
    raise QueryError(f"not a filter expression: {expr!r}")


def expr_data(expr: Expr) -> Any:
    """A canonical, JSON-able form of the tree (Convex's ``$op`` shape).

    Literals appear as the hex of their key encoding, so the data is type-exact
    (``1`` and ``1.0`` differ) and stable across processes: it feeds the plan
    fingerprint that cursors carry.
    """
    if isinstance(expr, Field):
        return {"$field": expr.path}
    if isinstance(expr, Literal):
        return {"$literal": encode_value(expr.value).hex()}
    if isinstance(expr, (Compare, Arith)):
        return {"$" + expr.op: [expr_data(expr.left), expr_data(expr.right)]}
    if isinstance(expr, Neg):
        return {"$neg": expr_data(expr.operand)}
    if isinstance(expr, Not):
        return {"$not": expr_data(expr.operand)}
    if isinstance(expr, And):
        return {"$and": [expr_data(x) for x in expr.operands]}
    if isinstance(expr, Or):
        return {"$or": [expr_data(x) for x in expr.operands]}
    raise QueryError(f"not a filter expression: {expr!r}")


def coerce_literals(expr: Expr, field_validator: Callable[[str], Validator | None]) -> Expr:
    """Apply the int → float rule for float64-typed fields (SPEC §1.1), once per query.

    In every comparison and arithmetic node, a literal whose other operand has a known
    validator is converted the way writing it under that validator would convert it,
    where that is unambiguous (``coerce_literal``): ``q.eq(q.field("price"), 7)`` on a
    ``v.number()`` field compares with ``7.0``, ``q.eq(q.field("xs"), [7])`` on a
    ``v.array(v.number())`` field with ``[7.0]``. Arithmetic over float64 operands (a
    float64-typed field, ``_creationTime``, a float literal) is float64, so
    ``q.gt(q.add(q.field("price"), 1), 8)`` becomes ``q.gt(q.add(..., 1.0), 8.0)``.
    Other trees are returned unchanged (the same object when nothing changed).

    Args:
        expr: the tree.
        field_validator: field path → the field's validator, or ``None`` when
            unknown/untyped.
    """
    return _coerce(expr, field_validator)[0]


_FLOAT64 = Float64Validator()


def _is_float64(static: Validator | None) -> bool:
    return static is _FLOAT64 or numeric_kind(static) == "float64"


def _coerce(
    expr: Expr, validator_of: Callable[[str], Validator | None]
) -> tuple[Expr, Validator | None]:
    """(rewritten expr, the validator its values are known to match, or None)."""
    if isinstance(expr, Field):
        if expr.path == "_creationTime":
            return expr, _FLOAT64
        return expr, validator_of(expr.path)
    if isinstance(expr, Literal):
        return expr, _FLOAT64 if type(expr.value) is float else None
    if isinstance(expr, (Compare, Arith)):
        left, ls = _coerce(expr.left, validator_of)
        right, rs = _coerce(expr.right, validator_of)
        if isinstance(right, Literal) and ls is not None:
            right, rs = _coerce_literal(right, ls)
        elif isinstance(left, Literal) and rs is not None:
            left, ls = _coerce_literal(left, rs)
        static = None
        if isinstance(expr, Arith) and _is_float64(ls) and _is_float64(rs):
            static = _FLOAT64
        if left is expr.left and right is expr.right:
            return expr, static
        return type(expr)(expr.op, left, right), static
    if isinstance(expr, Neg):
        operand, s = _coerce(expr.operand, validator_of)
        return (expr if operand is expr.operand else Neg(operand)), (
            _FLOAT64 if _is_float64(s) else None
        )
    if isinstance(expr, Not):
        operand, _ = _coerce(expr.operand, validator_of)
        return (expr if operand is expr.operand else Not(operand)), None
    if isinstance(expr, (And, Or)):
        operands = tuple(_coerce(x, validator_of)[0] for x in expr.operands)
        if all(a is b for a, b in zip(operands, expr.operands)):
            return expr, None
        return type(expr)(operands), None
    raise QueryError(f"not a filter expression: {expr!r}")


def _coerce_literal(lit: Literal, validator: Validator) -> tuple[Literal, Validator | None]:
    value = coerce_literal(validator, lit.value)
    if value is lit.value:
        return lit, _FLOAT64 if type(value) is float else None
    return Literal(value), _FLOAT64 if type(value) is float else None


# ---------------------------------------------------------------------------
# compilation to closures
# ---------------------------------------------------------------------------

Getter = Callable[[dict[str, Any]], Any]

# Types whose Python `==` is exactly Convex equality when both sides have that type
# (floats are excluded: -0.0 == 0.0 and NaN != NaN in Python; containers may hold
# floats or mix 1 with 1.0).
_FAST_EQ = frozenset({int, str, bool, bytes, type(None)})
# Types whose Python ordering is Convex's ordering within the type.
_FAST_ORD = frozenset({int, str, bool, bytes})

_CMP = {
    "eq": operator.eq,
    "neq": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}

_ARITH_VERB = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "divide", "mod": "mod"}


def compile_expr(expr: Expr) -> Getter:
    """Compile a tree into a function ``doc -> value``.

    Cost: O(size of the tree) once; evaluation then calls one closure per node.

    Raises (when the returned function runs):
        FilterEvalError: arithmetic or logic on the wrong types, overflow, division
            by zero.
    """
    if isinstance(expr, Field):
        path = expr.path
        if "." not in path:
            return lambda doc: doc.get(path, UNDEFINED)
        return lambda doc: get_path(doc, path)
    if isinstance(expr, Literal):
        value = expr.value
        return lambda doc: value
    if isinstance(expr, Compare):
        return _compile_compare(expr)
    if isinstance(expr, Arith):
        return _compile_arith(expr)
    if isinstance(expr, Neg):
        return _compile_neg(expr)
    if isinstance(expr, Not):
        inner = compile_expr(expr.operand)

        def not_(doc: dict[str, Any]) -> bool:
            v = inner(doc)
            if v is True:
                return False
            if v is False:
                return True
            raise _not_boolean("not_", v)

        return not_
    if isinstance(expr, (And, Or)):
        return _compile_logic(expr)
    raise QueryError(f"not a filter expression: {expr!r}")


def _compile_compare(expr: Compare) -> Getter:
    op = _CMP[expr.op]
    fast = _FAST_EQ if expr.op in ("eq", "neq") else _FAST_ORD
    right = expr.right
    left = expr.left
    # The common shape, field OP literal, gets a closure with the literal inlined.
    if isinstance(left, Field) and "." not in left.path and isinstance(right, Literal):
        path = left.path
        lit = right.value
        lit_type = type(lit)
        if lit_type in fast:

            def cmp_field_lit(doc: dict[str, Any]) -> bool:
                a = doc.get(path, UNDEFINED)
                if type(a) is lit_type:
                    return op(a, lit)
                return op(compare_values(a, lit), 0)

            return cmp_field_lit

        def cmp_field_lit_slow(doc: dict[str, Any]) -> bool:
            return op(compare_values(doc.get(path, UNDEFINED), lit), 0)

        return cmp_field_lit_slow

    lf = compile_expr(left)
    rf = compile_expr(right)

    def cmp(doc: dict[str, Any]) -> bool:
        a = lf(doc)
        b = rf(doc)
        t = type(a)
        if t is type(b) and t in fast:
            return op(a, b)
        return op(compare_values(a, b), 0)

    return cmp


def _type_error(verb: str, a: Any, b: Any) -> FilterEvalError:
    return FilterEvalError(
        f"Cannot {verb} {format_value(a)} (type {type_name(a)}) and "
        f"{format_value(b)} (type {type_name(b)})"
    )


def _overflow(verb: str, a: int, b: int) -> FilterEvalError:
    return FilterEvalError(
        f"Cannot {verb} {a} and {b}: the result does not fit in int64 "
        "(filter arithmetic on int64 is checked)"
    )


def _int_op(name: str) -> Callable[[int, int], int]:
    verb = _ARITH_VERB[name]

    def checked(r: int, a: int, b: int) -> int:
        if _INT64_MIN <= r <= _INT64_MAX:
            return r
        raise _overflow(verb, a, b)

    if name == "add":
        return lambda a, b: checked(a + b, a, b)
    if name == "sub":
        return lambda a, b: checked(a - b, a, b)
    if name == "mul":
        return lambda a, b: checked(a * b, a, b)
    if name == "div":

        def div(a: int, b: int) -> int:
            if b == 0:
                raise FilterEvalError(f"Cannot divide {a} by zero")
            q = abs(a) // abs(b)  # truncate toward zero, as Rust's `/`
            return checked(q if (a < 0) == (b < 0) else -q, a, b)

        return div

    def mod(a: int, b: int) -> int:
        if b == 0:
            raise FilterEvalError(f"Cannot mod {a} by zero")
        if a == _INT64_MIN and b == -1:
            # Rust's `checked_rem` fails here although the remainder (0) fits: the
            # quotient it implies, 2**63, does not.
            raise FilterEvalError(
                f"Cannot mod {a} by {b}: the quotient does not fit in int64 "
                "(filter arithmetic on int64 is checked)"
            )
        r = abs(a) % abs(b)  # the sign of the dividend, as Rust's `%`
        return -r if a < 0 else r

    return mod


def _float_op(name: str) -> Callable[[float, float], float]:
    if name == "add":
        return operator.add
    if name == "sub":
        return operator.sub
    if name == "mul":
        return operator.mul
    if name == "div":

        def div(a: float, b: float) -> float:
            try:
                return a / b
            except ZeroDivisionError:
                # IEEE: ±inf with the sign of a·b (signed zeros count), NaN for 0/0.
                if a == 0.0 or math.isnan(a):
                    return math.nan
                return math.copysign(math.inf, a) * math.copysign(1.0, b)

        return div

    def mod(a: float, b: float) -> float:
        try:
            return math.fmod(a, b)  # C fmod = Rust's `%` on f64
        except ValueError:  # x % 0.0 and inf % y are NaN in IEEE
            return math.nan

    return mod


def _compile_arith(expr: Arith) -> Getter:
    verb = _ARITH_VERB[expr.op]
    int_op = _int_op(expr.op)
    float_op = _float_op(expr.op)
    lf = compile_expr(expr.left)
    rf = compile_expr(expr.right)

    def arith(doc: dict[str, Any]) -> Any:
        a = lf(doc)
        b = rf(doc)
        ta = type(a)
        if ta is type(b):
            if ta is int:
                return int_op(a, b)
            if ta is float:
                return float_op(a, b)
        raise _type_error(verb, a, b)

    return arith


def _compile_neg(expr: Neg) -> Getter:
    inner = compile_expr(expr.operand)

    def neg(doc: dict[str, Any]) -> Any:
        x = inner(doc)
        t = type(x)
        if t is int:
            if x == _INT64_MIN:
                raise FilterEvalError(f"Cannot negate {x}: the result does not fit in int64")
            return -x
        if t is float:
            return -x
        raise FilterEvalError(f"Cannot negate {format_value(x)} (type {type_name(x)})")

    return neg


def _not_boolean(where: str, v: Any) -> FilterEvalError:
    return FilterEvalError(
        f"The operands of q.{where}(...) must be booleans, got {format_value(v)} "
        f'(type {type_name(v)}). Compare first, e.g. q.eq(q.field("done"), True).'
    )


def _compile_logic(expr: And | Or) -> Getter:
    is_and = isinstance(expr, And)
    where = "and_" if is_and else "or_"
    parts = tuple(compile_expr(x) for x in expr.operands)
    # The value that decides the result early: False for and_, True for or_.
    stop = not is_and

    if len(parts) == 2:
        p0, p1 = parts

        def logic2(doc: dict[str, Any]) -> bool:
            v = p0(doc)
            if v is stop:
                return stop
            if v is not (not stop):
                raise _not_boolean(where, v)
            v = p1(doc)
            if v is True or v is False:
                return v
            raise _not_boolean(where, v)

        return logic2

    def logic(doc: dict[str, Any]) -> bool:
        for p in parts:
            v = p(doc)
            if v is stop:
                return stop
            if v is not (not stop):
                raise _not_boolean(where, v)
        return not stop

    return logic


_ALWAYS_BOOLEAN = (Compare, And, Or, Not)


def compile_filter(exprs: tuple[Expr, ...] | list[Expr]) -> Callable[[dict[str, Any]], bool] | None:
    """One predicate for a query's filters, applied in order; ``None`` when there are none.

    A filter whose result is not a boolean raises ``FilterEvalError`` for the first
    document it sees (Convex requires booleans).

    Example::

        keep = compile_filter([q.gt(q.field("n"), 1)])
        keep({"n": 2})  # -> True
    """
    preds = [_as_predicate(e) for e in exprs]
    if not preds:
        return None
    if len(preds) == 1:
        return preds[0]
    preds_t = tuple(preds)

    def all_of(doc: dict[str, Any]) -> bool:
        for p in preds_t:
            if not p(doc):
                return False
        return True

    return all_of


def _as_predicate(expr: Expr) -> Callable[[dict[str, Any]], bool]:
    f = compile_expr(expr)
    if isinstance(expr, _ALWAYS_BOOLEAN):
        return f

    def checked(doc: dict[str, Any]) -> bool:
        v = f(doc)
        if v is True or v is False:
            return v
        raise FilterEvalError(
            f"A filter must evaluate to a boolean, but {expr!r} gave {format_value(v)} "
            f"(type {type_name(v)}). Compare it, e.g. q.eq({expr!r}, True)."
        )

    return checked


def evaluate(expr: Expr, doc: dict[str, Any]) -> Any:
    """Evaluate one expression against one document (compiles it first).

    For many documents, compile once with ``compile_expr`` instead.

    Example::

        q = FilterBuilder()
        evaluate(q.lt(q.field("age"), 18), {"name": "x"})  # -> True (missing < 18)
    """
    return compile_expr(expr)(doc)
