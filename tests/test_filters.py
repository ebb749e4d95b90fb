"""Filter expressions: Convex's evaluation semantics, errors, coercion and misuse.

Cases follow convex-backend ``crates/common/src/query.rs`` (``Expression::eval``,
``test_expr_eval``, ``test_eval_undefined``) and convex-semantics §1.5, §2.4, §12.3
case 4.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import pytest
from fake_reader import FakeReader
from hypothesis import given
from hypothesis import strategies as st

import nbreactive as nr
from nbreactive.errors import FilterEvalError, QueryError
from nbreactive.query import FilterBuilder, Query, evaluate
from nbreactive.query.filter import (
    Compare,
    Expr,
    Field,
    Literal,
    coerce_literals,
    compile_expr,
    compile_filter,
    expr_data,
)
from nbreactive.query.literals import coerce_literal
from nbreactive.values.keys import compare_values
from nbreactive.values.model import UNDEFINED
from nbreactive.values.validators import v

q = FilterBuilder()
Build = Callable[[FilterBuilder], Expr]
NAN = float("nan")
INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)

EMPLOYEE = {"email": "bw@convex.dev", "salary": 5, "nested": {"level": 3}}

# (name, expression, document, expected value)
EVAL_CASES: list[tuple[str, Build, dict[str, Any], Any]] = [
    # comparisons in the total order
    ("literal eq", lambda q: q.eq("foo", "foo"), {}, True),
    ("field lt", lambda q: q.lt(q.field("salary"), 6), EMPLOYEE, True),
    ("field gt", lambda q: q.gt(q.field("salary"), 4), EMPLOYEE, True),
    ("missing field is not > 2", lambda q: q.gt(q.field("level"), 2), EMPLOYEE, False),
    ("missing field != 2", lambda q: q.neq(q.field("level"), 2), EMPLOYEE, True),
    ("missing field eq undefined", lambda q: q.eq(q.field("name"), UNDEFINED), EMPLOYEE, True),
    ("missing field is not null", lambda q: q.eq(q.field("name"), None), EMPLOYEE, False),
    ("missing sorts below null", lambda q: q.lt(q.field("name"), None), EMPLOYEE, True),
    ("lt 18 matches missing age", lambda q: q.lt(q.field("age"), 18), {}, True),
    ("lt 18 matches null age", lambda q: q.lt(q.field("age"), 18), {"age": None}, True),
    ("lt 18 matches 17", lambda q: q.lt(q.field("age"), 18), {"age": 17}, True),
    ("every float64 is above int64", lambda q: q.lt(q.field("age"), 18), {"age": 17.5}, False),
    ("int64 5 < float64 1.0", lambda q: q.lt(5, 1.0), {}, True),
    ("1 != 1.0 (type-exact)", lambda q: q.eq(q.field("x"), 1.0), {"x": 1}, False),
    ("true is not 1", lambda q: q.eq(q.field("x"), 1), {"x": True}, False),
    ("-0.0 != 0.0", lambda q: q.neq(q.field("x"), 0.0), {"x": -0.0}, True),
    ("-0.0 < 0.0", lambda q: q.lt(q.field("x"), 0.0), {"x": -0.0}, True),
    ("NaN == NaN", lambda q: q.eq(q.field("x"), NAN), {"x": NAN}, True),
    ("inf < NaN", lambda q: q.lt(q.field("x"), NAN), {"x": math.inf}, True),
    ("strings by code point", lambda q: q.lt(q.field("s"), "\U0001f600"), {"s": "\uffff"}, True),
    ("string above boolean", lambda q: q.gt(q.field("s"), True), {"s": ""}, True),
    ("arrays element-wise", lambda q: q.lt(q.field("a"), [1, 3]), {"a": [1, 2, 9]}, True),
    ("array prefix first", lambda q: q.lt(q.field("a"), [1, 2]), {"a": [1]}, True),
    ("array equality", lambda q: q.eq(q.field("tags"), []), {"tags": []}, True),
    ("nested arrays type-exact", lambda q: q.eq(q.field("a"), [1.0]), {"a": [1]}, False),
    ("object equality", lambda q: q.eq(q.field("o"), {"k": 1}), {"o": {"k": 1}}, True),
    ("dotted path", lambda q: q.eq(q.field("nested.level"), 3), EMPLOYEE, True),
    ("dotted path missing", lambda q: q.eq(q.field("nested.x.y"), UNDEFINED), EMPLOYEE, True),
    ("field vs field", lambda q: q.gte(q.field("a"), q.field("b")), {"a": 2, "b": 2}, True),
    ("gte", lambda q: q.gte(q.field("salary"), 5), EMPLOYEE, True),
    ("lte", lambda q: q.lte(q.field("salary"), 4), EMPLOYEE, False),
    # logic
    ("not", lambda q: q.not_(True), {}, False),
    ("and all true", lambda q: q.and_(True, True, True), {}, True),
    ("and one false", lambda q: q.and_(True, False, True), {}, False),
    ("and of none", lambda q: q.and_(), {}, True),
    ("or one true", lambda q: q.or_(False, True), {}, True),
    ("or of none", lambda q: q.or_(), {}, False),
    ("and short-circuits", lambda q: q.and_(False, q.add(1, "x")), {}, False),
    ("or short-circuits", lambda q: q.or_(True, q.add(1, "x")), {}, True),
    (
        "or of comparisons across types",
        lambda q: q.or_(q.gte(q.field("level"), 2), q.lt(q.field("level"), 2)),
        EMPLOYEE,
        True,
    ),
    # int64 arithmetic: checked, truncating
    (
        "convex arithmetic example",
        lambda q: q.div(q.neg(q.add(q.mul(3, 5), q.sub(5, q.mod(11, 3)))), 3),
        {},
        -6,
    ),
    ("int div truncates toward zero", lambda q: q.div(-7, 2), {}, -3),
    ("int div positive", lambda q: q.div(7, 2), {}, 3),
    ("int mod takes dividend sign", lambda q: q.mod(-7, 2), {}, -1),
    ("int mod positive dividend", lambda q: q.mod(7, -2), {}, 1),
    ("int64 max + 0", lambda q: q.add(INT64_MAX, 0), {}, INT64_MAX),
    ("int64 min % 1", lambda q: q.mod(INT64_MIN, 1), {}, 0),
    ("int64 min % -2", lambda q: q.mod(INT64_MIN, -2), {}, 0),
    ("neg int", lambda q: q.neg(q.field("salary")), EMPLOYEE, -5),
    # float64 arithmetic: IEEE
    ("float add", lambda q: q.add(0.5, 0.25), {}, 0.75),
    ("float div by zero is inf", lambda q: q.div(1.0, 0.0), {}, math.inf),
    ("negative float div by zero", lambda q: q.div(-1.0, 0.0), {}, -math.inf),
    ("float div by -0.0", lambda q: q.div(1.0, -0.0), {}, -math.inf),
    ("float mod like fmod", lambda q: q.mod(-7.0, 2.0), {}, -1.0),
    ("float mul overflows to inf", lambda q: q.mul(1e308, 10.0), {}, math.inf),
    ("neg float", lambda q: q.neg(0.0), {}, -0.0),
]


@pytest.mark.parametrize(
    ("build", "doc", "expected"),
    [pytest.param(b, d, e, id=name) for name, b, d, e in EVAL_CASES],
)
def test_evaluate(build: Build, doc: dict[str, Any], expected: Any) -> None:
    result = evaluate(build(q), doc)
    assert type(result) is type(expected)
    assert compare_values(result, expected) == 0


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda q: q.div(0.0, 0.0), id="0.0 / 0.0"),
        pytest.param(lambda q: q.mod(5.0, 0.0), id="5.0 % 0.0"),
        pytest.param(lambda q: q.mod(math.inf, 2.0), id="inf % 2.0"),
    ],
)
def test_float_nan_results(build: Build) -> None:
    assert math.isnan(evaluate(build(q), {}))


# (name, expression, document, message)
ERROR_CASES: list[tuple[str, Build, dict[str, Any], str]] = [
    (
        "int64 + float64",
        lambda q: q.add(1, 2.0),
        {},
        "Cannot add 1 (type int64) and 2.0 (type float64)",
    ),
    (
        "float64 - int64",
        lambda q: q.sub(q.field("x"), 1),
        {"x": 2.5},
        "Cannot subtract 2.5 (type float64) and 1 (type int64)",
    ),
    (
        "string * int",
        lambda q: q.mul("a", 2),
        {},
        'Cannot multiply "a" (type string) and 2 (type int64)',
    ),
    (
        "missing field + 1",
        lambda q: q.add(q.field("n"), 1),
        {},
        "Cannot add undefined (type undefined) and 1 (type int64)",
    ),
    (
        "null / int",
        lambda q: q.div(None, 1),
        {},
        "Cannot divide null (type null) and 1 (type int64)",
    ),
    (
        "bool % bool",
        lambda q: q.mod(True, True),
        {},
        "Cannot mod true (type boolean) and true (type boolean)",
    ),
    ("int64 division by zero", lambda q: q.div(5, 0), {}, "Cannot divide 5 by zero"),
    ("int64 modulo by zero", lambda q: q.mod(5, 0), {}, "Cannot mod 5 by zero"),
    (
        "int64 overflow on add",
        lambda q: q.add(INT64_MAX, 1),
        {},
        "Cannot add 9223372036854775807 and 1: the result does not fit in int64",
    ),
    ("int64 overflow on mul", lambda q: q.mul(INT64_MAX, 2), {}, "Cannot multiply"),
    ("int64 overflow on sub", lambda q: q.sub(INT64_MIN, 1), {}, "Cannot subtract"),
    ("int64 min / -1", lambda q: q.div(INT64_MIN, -1), {}, "does not fit in int64"),
    # Rust's checked_rem: the remainder 0 fits, the implied quotient 2**63 does not.
    (
        "int64 min % -1",
        lambda q: q.mod(INT64_MIN, -1),
        {},
        "Cannot mod -9223372036854775808 by -1: the quotient does not fit in int64",
    ),
    ("negate int64 min", lambda q: q.neg(INT64_MIN), {}, "Cannot negate -9223372036854775808"),
    ("negate a string", lambda q: q.neg("x"), {}, 'Cannot negate "x" (type string)'),
    (
        "and of a non-boolean",
        lambda q: q.and_(True, 1),
        {},
        "The operands of q.and_(...) must be booleans, got 1 (type int64)",
    ),
    (
        "or of a non-boolean",
        lambda q: q.or_(False, None),
        {},
        "q.or_(...) must be booleans, got null",
    ),
    (
        "not of a field value",
        lambda q: q.not_(q.field("s")),
        {"s": "x"},
        'q.not_(...) must be booleans, got "x"',
    ),
    (
        "and of three, bad last",
        lambda q: q.and_(True, True, "x"),
        {},
        "q.and_(...) must be booleans",
    ),
]


@pytest.mark.parametrize(
    ("build", "doc", "message"),
    [pytest.param(b, d, m, id=name) for name, b, d, m in ERROR_CASES],
)
def test_evaluation_errors(build: Build, doc: dict[str, Any], message: str) -> None:
    with pytest.raises(FilterEvalError) as info:
        evaluate(build(q), doc)
    assert message in str(info.value)


def test_filter_result_must_be_boolean() -> None:
    keep = compile_filter([q.field("done")])
    assert keep is not None
    assert keep({"done": True}) is True
    with pytest.raises(
        FilterEvalError,
        match=r'must evaluate to a boolean, but q.field\("done"\) gave 1 \(type int64\)',
    ):
        keep({"done": 1})


# ---------------------------------------------------------------------------
# Python operators and wrong return values fail loudly
# ---------------------------------------------------------------------------

MISUSE_CASES: list[tuple[str, Callable[[], Any], str]] = [
    ("==", lambda: q.field("a") == 1, 'use q.eq(q.field("a"), 1)'),
    ("!=", lambda: q.field("a") != "x", "use q.neq(q.field(\"a\"), 'x')"),
    ("<", lambda: q.field("a") < 1, "use q.lt("),
    ("<=", lambda: q.field("a") <= 1, "use q.lte("),
    (">", lambda: q.field("a") > 1, "use q.gt("),
    (">=", lambda: q.field("a") >= 1, "use q.gte("),
    ("reflected ==", lambda: q.field("a").__eq__(q.field("b")), 'q.eq(q.field("a"), q.field("b"))'),
    ("&", lambda: q.eq(q.field("a"), 1) & q.eq(q.field("b"), 2), "use q.and_("),
    ("|", lambda: q.eq(q.field("a"), 1) | True, "use q.or_("),
    ("~", lambda: ~q.eq(q.field("a"), 1), "q.not_("),
    ("bool()", lambda: bool(q.field("a")), "has no Python truth value"),
    ("python and", lambda: q.eq(q.field("a"), 1) and q.eq(q.field("b"), 1), "q.and_("),
    ("not a value", lambda: q.eq(q.field("a"), {1, 2}), "q.eq(...): {1, 2}: set is not a Convex value;"),
    ("int out of range", lambda: q.eq(q.field("a"), 2**70), "does not fit in int64"),
    ("empty field path", lambda: q.field(""), "q.field() takes a field path"),
]


@pytest.mark.parametrize(
    ("misuse", "message"),
    [pytest.param(fn, m, id=name) for name, fn, m in MISUSE_CASES],
)
def test_python_operators_are_refused(misuse: Callable[[], Any], message: str) -> None:
    with pytest.raises(QueryError) as info:
        misuse()
    assert message in str(info.value)


@pytest.fixture
def reader() -> FakeReader:
    r = FakeReader()
    r.define("items", indexes={"by_n": ["n"]}, validators={"price": v.float64()})
    for n in range(10):
        r.insert("items", {"n": n, "price": float(n), "kind": "num" if n % 2 else "text"})
    return r


RETURN_CASES: list[tuple[str, Callable[[FilterBuilder], Any], str]] = [
    ("python bool", lambda q: True, "returned True (a Python bool), not a filter expression"),
    ("python comparison of values", lambda q: 1 == 2, "use q.eq(...)"),
    ("None", lambda q: None, "returned None"),
    ("a string", lambda q: "n > 1", "returned 'n > 1' (str), not a filter expression"),
    ("== on expressions", lambda q: q.field("n") == 1, "use q.eq("),
]


@pytest.mark.parametrize(
    ("fn", "message"),
    [pytest.param(fn, m, id=name) for name, fn, m in RETURN_CASES],
)
def test_filter_function_must_return_an_expression(
    reader: FakeReader, fn: Callable[[FilterBuilder], Any], message: str
) -> None:
    with pytest.raises(QueryError) as info:
        Query(reader, "items").filter(fn)
    assert message in str(info.value)


def test_expressions_hash_by_identity() -> None:
    a = q.field("a")
    b = q.field("a")
    assert len({a, b}) == 2
    assert {a: 1}[a] == 1
    assert expr_data(a) == expr_data(b)


def test_repr_is_code() -> None:
    e = q.and_(q.eq(q.field("a"), 1), q.not_(q.lt(q.field("b"), UNDEFINED)))
    assert repr(e) == 'q.and_(q.eq(q.field("a"), 1), q.not_(q.lt(q.field("b"), nr.UNDEFINED)))'


def test_literals_are_normalized() -> None:
    e = q.eq(q.field("a"), (1, 2))
    assert isinstance(e, Compare) and isinstance(e.right, Literal)
    assert e.right.value == [1, 2]


# ---------------------------------------------------------------------------
# int → float for float64 fields; filters inside queries
# ---------------------------------------------------------------------------


def test_coercion_rewrites_only_float64_contexts() -> None:
    kinds = {"price": v.float64(), "n": v.int64()}.get

    def coerced(e: Expr) -> Any:
        return expr_data(coerce_literals(e, kinds))

    assert coerced(q.eq(q.field("price"), 7)) == expr_data(q.eq(q.field("price"), 7.0))
    assert coerced(q.eq(7, q.field("price"))) == expr_data(q.eq(7.0, q.field("price")))
    assert coerced(q.eq(q.field("n"), 7)) == expr_data(q.eq(q.field("n"), 7))
    assert coerced(q.eq(q.field("other"), 7)) == expr_data(q.eq(q.field("other"), 7))
    assert coerced(q.gt(q.add(q.field("price"), 1), 8)) == expr_data(
        q.gt(q.add(q.field("price"), 1.0), 8.0)
    )
    assert coerced(q.gt(q.field("_creationTime"), 5)) == expr_data(
        q.gt(q.field("_creationTime"), 5.0)
    )
    unchanged = q.eq(q.field("n"), 1)
    assert coerce_literals(unchanged, kinds) is unchanged


# (name, field validator, literal, the literal as the query compares it)
LITERAL_CASES: list[tuple[str, Any, Any, Any]] = [
    ("float64", v.number(), 7, 7.0),
    ("int64 stays", v.int64(), 7, 7),
    ("no validator stays", None, 7, 7),
    ("any stays", v.any(), 7, 7),
    ("optional float64", v.optional(v.number()), 7, 7.0),
    ("nullable float64", v.union(v.number(), v.null()), 7, 7.0),
    ("float64 or string", v.union(v.number(), v.string()), 7, 7.0),
    # Both storable: a written 7 stays an int64 there, so the literal means the int64.
    ("int64 or float64 stays", v.union(v.int64(), v.float64()), 7, 7),
    ("float64 or int64 stays", v.union(v.float64(), v.int64()), 7, 7),
    ("float literal", v.literal(7.0), 7, 7.0),
    ("int literal stays", v.literal(7), 7, 7),
    ("float or int literal stays", v.union(v.literal(1.0), v.literal(7)), 7, 7),
    ("bool is not an int", v.number(), True, True),
    ("int for an array field stays", v.array(v.number()), 7, 7),
    ("array of float64", v.array(v.number()), [7, 8.5], [7.0, 8.5]),
    ("array of int64 stays", v.array(v.int64()), [7], [7]),
    ("array of any stays", v.array(v.any()), [7], [7]),
    ("array of int64|float64 stays", v.array(v.union(v.int64(), v.float64())), [7], [7]),
    (
        "either array stays",
        v.union(v.array(v.number()), v.array(v.int64())),
        [7],
        [7],
    ),
    ("array or string", v.union(v.array(v.number()), v.string()), [7], [7.0]),
    ("nested arrays", v.array(v.array(v.number())), [[1, 2], []], [[1.0, 2.0], []]),
    ("object field", v.object({"x": v.number()}), {"x": 7}, {"x": 7.0}),
    (
        "object fields each by its validator",
        v.object({"x": v.number(), "n": v.int64()}),
        {"x": 7, "n": 7},
        {"x": 7.0, "n": 7},
    ),
    ("optional object field", v.object({"x": v.optional(v.number())}), {"x": 7}, {"x": 7.0}),
    ("unknown object field stays", v.object({"x": v.number()}), {"y": 7}, {"y": 7}),
    ("record values", v.record(v.string(), v.number()), {"a": 1}, {"a": 1.0}),
    (
        "objects that disagree stay",
        v.union(v.object({"k": v.number()}), v.object({"k": v.int64()})),
        {"k": 1},
        {"k": 1},
    ),
    (
        "only one object has the field",
        v.union(v.object({"k": v.number()}), v.object({"j": v.int64()})),
        {"k": 1},
        {"k": 1.0},
    ),
    (
        "an object or anything stays",
        v.union(v.object({"k": v.number()}), v.any()),
        {"k": 1},
        {"k": 1},
    ),
]


@pytest.mark.parametrize(
    ("validator", "literal", "expected"),
    [pytest.param(val, lit, e, id=name) for name, val, lit, e in LITERAL_CASES],
)
def test_coerce_literal_converts_ints_only_where_unambiguous(
    validator: Any, literal: Any, expected: Any
) -> None:
    out = coerce_literal(validator, literal)
    assert compare_values(out, expected) == 0  # type-exact: 7 and 7.0 differ
    if compare_values(literal, expected) == 0:
        assert out is literal  # unchanged literals are not copied


def test_coercion_reaches_into_array_and_object_literals() -> None:
    validators = {"xs": v.array(v.number()), "o": v.object({"x": v.number()})}.get
    assert expr_data(coerce_literals(q.eq(q.field("xs"), [7]), validators)) == expr_data(
        q.eq(q.field("xs"), [7.0])
    )
    assert expr_data(coerce_literals(q.lt({"x": 7}, q.field("o")), validators)) == expr_data(
        q.lt({"x": 7.0}, q.field("o"))
    )


def test_int_inside_literals_finds_what_was_written() -> None:
    # SPEC §1.1: writing {"arr": [7]} under v.array(v.number()) stores [7.0]; the same
    # Python literal must find it again, through a filter and through an index.
    schema = nr.define_schema(
        {
            "p": nr.define_table({"arr": v.array(v.number()), "o": v.object({"x": v.number()})})
            .index("by_arr", ["arr"])
            .index("by_o", ["o"])
        }
    )
    with nr.App() as app:
        app.set_schema(schema)
        app.mutation(name="add")(lambda ctx: ctx.db.insert("p", {"arr": [7], "o": {"x": 7}}))()

        @app.query
        def counts(ctx):
            def n(query: Query) -> int:
                return len(query.collect())

            p = ctx.db.query
            return [
                n(p("p").filter(lambda q: q.eq(q.field("arr"), [7]))),
                n(p("p").with_index("by_arr", lambda q: q.eq("arr", [7]))),
                n(p("p").filter(lambda q: q.eq(q.field("o"), {"x": 7}))),
                n(p("p").with_index("by_o", lambda q: q.eq("o", {"x": 7}))),
                n(p("p").with_index("by_arr", lambda q: q.gt("arr", [6]).lt("arr", [8]))),
            ]

        assert counts() == [1, 1, 1, 1, 1]


@pytest.mark.parametrize("any_first", [False, True], ids=["object-then-any", "any-then-object"])
def test_a_union_with_any_finds_what_was_written(any_first: bool) -> None:
    # Writing takes the first member that accepts the value: {"a": 7} is stored as
    # {"a": 7.0} when the object member comes first, as {"a": 7} when v.any() does.
    # The same literal finds it either way.
    members = [v.object({"a": v.number()}), v.any()]
    x = v.union(*(members[::-1] if any_first else members))
    schema = nr.define_schema({"p": nr.define_table({"x": x}).index("by_xa", ["x.a"])})
    with nr.App() as app:
        app.set_schema(schema)
        app.mutation(name="add")(lambda ctx: ctx.db.insert("p", {"x": {"a": 7}}))()

        @app.query
        def counts(ctx):
            p = ctx.db.query
            return [
                len(p("p").filter(lambda q: q.eq(q.field("x.a"), 7)).collect()),
                len(p("p").with_index("by_xa", lambda q: q.eq("x.a", 7)).collect()),
            ]

        assert counts() == [1, 1]


QUERY_CASES: list[tuple[str, list[Build], list[int]]] = [
    ("int literal on a float64 field", [lambda q: q.eq(q.field("price"), 7)], [7]),
    ("arithmetic on a float64 field", [lambda q: q.eq(q.add(q.field("price"), 1), 8)], [7]),
    ("untyped field is type-exact", [lambda q: q.eq(q.field("n"), 7.0)], []),
    (
        "filters apply in order",
        [lambda q: q.eq(q.field("kind"), "num"), lambda q: q.gt(q.field("n"), 4)],
        [5, 7, 9],
    ),
    (
        "a later filter never sees documents an earlier one dropped",
        [lambda q: q.eq(q.field("kind"), "num"), lambda q: q.eq(q.mod(q.field("n"), 2), 1)],
        [1, 3, 5, 7, 9],
    ),
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [pytest.param(f, e, id=name) for name, f, e in QUERY_CASES],
)
def test_filters_in_queries(reader: FakeReader, filters: list[Build], expected: list[int]) -> None:
    query = Query(reader, "items").with_index("by_n")
    for f in filters:
        query = query.filter(f)
    assert [d["n"] for d in query.collect()] == expected


def test_filter_errors_surface_from_the_query(reader: FakeReader) -> None:
    query = Query(reader, "items").filter(lambda q: q.gt(q.add(q.field("n"), 0.5), 1.0))
    with pytest.raises(FilterEvalError, match=r"Cannot add 0 \(type int64\) and 0.5"):
        query.collect()


def test_int64_mod_overflow_is_an_eval_error_in_a_query(reader: FakeReader) -> None:
    # Rust's checked_rem(-2**63, -1) is None: Convex fails like div(-2**63, -1) does,
    # although Python's % would quietly give 0.
    query = Query(reader, "items").filter(lambda q: q.eq(q.mod(INT64_MIN, -1), 0))
    with pytest.raises(FilterEvalError, match="quotient does not fit in int64"):
        query.collect()


def test_at_most_256_filters(reader: FakeReader) -> None:
    query = Query(reader, "items")
    for _ in range(256):
        query = query.filter(lambda q: q.gte(q.field("n"), 0))
    assert len(query.collect()) == 10
    with pytest.raises(QueryError, match=r"^Can't construct query with more than 256 operators$"):
        query.filter(lambda q: q.gte(q.field("n"), 0))


# ---------------------------------------------------------------------------
# compiled comparisons agree with the total order (fast paths included)
# ---------------------------------------------------------------------------

scalars = st.one_of(
    st.just(UNDEFINED),
    st.none(),
    st.booleans(),
    st.integers(min_value=INT64_MIN, max_value=INT64_MAX),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, NAN, 1.0, 1]),
    st.text(max_size=4),
    st.binary(max_size=4),
)
values = st.one_of(scalars, st.lists(scalars.filter(lambda x: x is not UNDEFINED), max_size=3))
OPS = {
    "eq": operator.eq,
    "neq": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


@given(a=values, b=values, op=st.sampled_from(sorted(OPS)))
def test_compiled_comparison_matches_total_order(a: Any, b: Any, op: str) -> None:
    expected = OPS[op](compare_values(a, b), 0)
    doc = {} if a is UNDEFINED else {"x": a}
    field_vs_literal = compile_expr(Compare(op, Field("x"), Literal(b)))
    literal_vs_literal = compile_expr(Compare(op, Literal(a), Literal(b)))
    assert field_vs_literal(doc) is expected
    assert literal_vs_literal({}) is expected
