"""Validators: accept/refuse tables with exact messages, repr, JSON, equality."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from hypothesis import given

from nbreactive.errors import SchemaError, ValidationError
from nbreactive.values.compound_validators import ids_need_resolving, plain_ids_for
from nbreactive.values.model import UNDEFINED, Id, plain_ids
from nbreactive.values.validators import Validator, as_validator, v
from tests.strategies import convex_values, same_value

# ---------------------------------------------------------------------------
# accepted values: (validator, value, normalized result)
# ---------------------------------------------------------------------------

ACCEPT: list[Any] = [
    pytest.param(v.string(), "a", "a", id="string"),
    pytest.param(v.string(), Id("x", "t"), "x", id="string-accepts-id"),
    pytest.param(v.number(), 1.5, 1.5, id="number"),
    pytest.param(v.number(), 3, 3.0, id="number-int-to-float"),
    pytest.param(v.float64(), float("nan"), float("nan"), id="float64-nan"),
    pytest.param(v.float64(), -0.0, -0.0, id="float64-neg-zero"),
    pytest.param(v.int64(), -(2**63), -(2**63), id="int64-min"),
    pytest.param(v.int64(), 2**63 - 1, 2**63 - 1, id="int64-max"),
    pytest.param(v.boolean(), False, False, id="boolean"),
    pytest.param(v.null(), None, None, id="null"),
    pytest.param(v.bytes(), b"\x00", b"\x00", id="bytes"),
    pytest.param(v.bytes(), bytearray(b"x"), b"x", id="bytes-from-bytearray"),
    pytest.param(v.any(), {"a": (1, 2.0)}, {"a": [1, 2.0]}, id="any-normalizes"),
    pytest.param(v.id("users"), "k57", "k57", id="id-plain-string"),
    pytest.param(v.id("users"), Id("k57", "users"), "k57", id="id-id"),
    pytest.param(v.literal("a"), "a", "a", id="literal-str"),
    pytest.param(v.literal(1), 1, 1, id="literal-int64"),
    pytest.param(v.literal(1.0), 1.0, 1.0, id="literal-float"),
    pytest.param(v.literal(1.0), 1, 1.0, id="literal-float-from-int"),
    pytest.param(v.literal(True), True, True, id="literal-bool"),
    pytest.param(v.literal(None), None, None, id="literal-none"),
    pytest.param(v.array(v.string()), ("a", "b"), ["a", "b"], id="array-from-tuple"),
    pytest.param(v.array(v.number()), [1, 2.5], [1.0, 2.5], id="array-normalizes-items"),
    pytest.param(v.array(v.int64()), [], [], id="array-empty"),
    pytest.param(
        v.object({"a": v.string(), "b": v.optional(v.number())}),
        {"a": "x"},
        {"a": "x"},
        id="object-optional-missing",
    ),
    pytest.param(
        v.object({"a": v.string(), "b": v.optional(v.number())}),
        {"a": "x", "b": UNDEFINED},
        {"a": "x"},
        id="object-optional-undefined-dropped",
    ),
    pytest.param(
        v.object({"a": v.string(), "b": v.optional(v.number())}),
        {"a": "x", "b": 2},
        {"a": "x", "b": 2.0},
        id="object-optional-present",
    ),
    pytest.param(
        v.object({"a": v.string()}),
        {"a": "x", "z": UNDEFINED},
        {"a": "x"},
        id="object-undefined-extra-ignored",
    ),
    pytest.param(v.object(), {}, {}, id="object-empty"),
    pytest.param(
        v.record(v.string(), v.number()), {"a": 1, "b c": 2.5}, {"a": 1.0, "b c": 2.5}, id="record"
    ),
    pytest.param(
        v.record(v.id("users"), v.boolean()), {"k57": True}, {"k57": True}, id="record-id-keys"
    ),
    pytest.param(v.union(v.string(), v.number()), 3, 3.0, id="union-second-member"),
    pytest.param(v.union(v.int64(), v.number()), 3, 3, id="union-first-member-wins"),
    pytest.param(v.union(v.literal("a"), v.literal("b")), "b", "b", id="union-of-literals"),
    pytest.param(v.nullable(v.string()), None, None, id="nullable-null"),
    pytest.param(v.nullable(v.string()), "s", "s", id="nullable-value"),
    pytest.param(v.optional(v.string()), UNDEFINED, UNDEFINED, id="bare-optional-undefined"),
    pytest.param(v.optional(v.string()), "s", "s", id="bare-optional-value"),
]


@pytest.mark.parametrize(("validator", "value", "expected"), ACCEPT)
def test_accepts(validator: Validator, value: Any, expected: Any) -> None:
    out = validator.validate(value)
    if expected is UNDEFINED:
        assert out is UNDEFINED
    else:
        assert same_value(out, expected)
    assert validator.accepts(value)


def test_number_returns_float_type() -> None:
    assert type(v.number().validate(3)) is float


def test_id_returns_an_id_of_the_table() -> None:
    out = v.id("users").validate("k57")
    assert type(out) is Id and out.table == "users"
    out = v.object({"author": v.id("users")}).validate({"author": "k57"})
    assert type(out["author"]) is Id


def test_id_uses_resolve_id() -> None:
    tables = {"u1": "users", "p1": "posts"}
    resolve = tables.get
    assert v.id("users").validate("u1", resolve_id=resolve).table == "users"
    with pytest.raises(ValidationError) as info:
        v.id("users").validate("p1", resolve_id=resolve)
    assert str(info.value) == "expected v.id(\"users\"), got 'p1' (string)"
    with pytest.raises(ValidationError):
        v.id("users").validate("nope", resolve_id=resolve)


def test_id_checks_the_text_of_an_id_not_its_label_when_it_can() -> None:
    # An Id's .table is a label: with resolve_id, the table its text names decides.
    resolve = {"u1": "users", "p1": "posts"}.get
    with pytest.raises(ValidationError) as info:
        v.id("users").validate(Id("p1", "users"), resolve_id=resolve)
    assert str(info.value) == (
        "expected v.id(\"users\"), got Id('p1', table='users') (string), "
        'whose text is an id of table "posts"'
    )
    with pytest.raises(ValidationError, match="not a document id of this app"):
        v.id("users").validate(Id("garbage", "users"), resolve_id=resolve)
    # a users id labelled "posts" is a users id: it comes back labelled so
    out = v.id("users").validate(Id("u1", "posts"), resolve_id=resolve)
    assert type(out) is Id and out == "u1" and out.table == "users"
    right = Id("u1", "users")
    assert v.id("users").validate(right, resolve_id=resolve) is right
    # in a union the text picks the member, whatever the label says
    either = v.union(v.id("users"), v.id("posts"))
    assert either.validate(Id("p1", "users"), resolve_id=resolve).table == "posts"
    # without resolve_id nothing can check the text: the label is all there is
    assert v.id("users").validate(Id("garbage", "users")).table == "users"


# (validator, a value it accepts with resolve_id, whether loading needs resolve_id)
RESOLVING = [
    (v.id("users"), "u1", False),
    (v.array(v.id("users")), ["u1"], False),
    (v.union(v.id("users"), v.null()), "u1", False),
    (v.union(v.string(), v.id("users")), "u1", False),  # v.string() takes every string
    (v.union(v.id("users"), v.literal(1)), "u1", False),
    (v.union(v.id("users"), v.literal(1.5)), "u1", False),
    (v.union(v.array(v.id("users")), v.string()), "p1", False),
    (v.record(v.string(), v.union(v.id("users"), v.null())), {"k": "u1"}, False),
    (v.union(v.id("users"), v.id("posts")), "p1", True),
    (v.union(v.id("users"), v.string()), "p1", True),
    (v.union(v.id("users"), v.union(v.literal("p1"), v.null())), "p1", True),
    (v.union(v.id("users"), v.any()), "p1", True),
    (v.union(v.union(v.id("users"), v.null()), v.string()), "p1", True),
    (v.array(v.union(v.id("users"), v.id("posts"))), ["p1"], True),
    (v.object({"a": v.optional(v.union(v.id("users"), v.id("posts")))}), {"a": "p1"}, True),
    (v.union(v.object({"r": v.id("users")}), v.object({"r": v.id("posts")})), {"r": "p1"}, True),
]


@pytest.mark.parametrize(("validator", "value", "needs"), RESOLVING, ids=[repr(c[0]) for c in RESOLVING])
def test_ids_need_resolving_exactly_when_a_union_could_choose_otherwise(
    validator: Any, value: Any, needs: bool
) -> None:
    # Storage relies on it to skip decoding the ids of checked documents when loading:
    # where it says False, validating again without resolve_id gives the same result.
    assert ids_need_resolving(validator) is needs
    checked = validator.validate(value, resolve_id={"u1": "users", "p1": "posts"}.get)
    again = validator.validate(value)
    assert (repr(again) == repr(checked)) is not needs, (again, checked)


_U, _P, _FAKE = Id("u1", "users"), Id("p1", "posts"), Id("p1", "users")
PLAIN_FOR = [
    (v.id("users"), _U),
    (v.id("posts"), _FAKE),  # a posts id labelled users: relabelled
    (v.string(), _U),
    (v.any(), {"a": [_U, {"b": _P}], "c": (_U,)}),
    (v.literal("u1"), _U),
    (v.union(v.string(), v.id("users")), _U),
    (v.union(v.id("users"), v.string()), _U),
    (v.union(v.id("users"), v.string()), _P),
    (v.union(v.id("users"), v.id("posts")), _FAKE),
    (v.union(v.id("users"), v.null()), _U),
    (v.union(v.id("users"), v.literal("u1")), _U),
    (v.array(v.union(v.id("users"), v.any())), [_U, _P, [_U]]),
    (v.record(v.string(), v.id("users")), {_U: _U}),
    (v.record(v.id("users"), v.string()), {_U: _U}),
    (
        v.object({"r": v.id("users"), "s": v.string(), "o": v.optional(v.array(v.id("posts")))}),
        {"r": _U, "s": _U, "o": (_P, _FAKE)},
    ),
    (v.union(v.object({"r": v.id("users")}), v.object({"r": v.id("posts")})), {"r": _FAKE}),
]


@pytest.mark.parametrize(("validator", "value"), PLAIN_FOR, ids=[repr(c[0]) for c in PLAIN_FOR])
def test_plain_ids_for_validates_exactly_like_the_plain_text(validator: Any, value: Any) -> None:
    # What a document holds must not depend on whether its ids were Id objects or plain
    # strings when written: storage (JSON, VARCHAR) keeps only the text.
    resolve = {"u1": "users", "p1": "posts"}.get
    from_text = validator.validate(plain_ids(value), resolve_id=resolve)
    got = validator.validate(plain_ids_for(validator, value), resolve_id=resolve)
    assert repr(got) == repr(from_text)


def test_plain_ids_for_passes_ids_in_id_positions_on_unchanged() -> None:
    doc = {"r": _U, "n": [_U], "s": _U}
    shape = v.object({"r": v.id("users"), "n": v.union(v.array(v.id("users")), v.null()), "s": v.string()})
    out = plain_ids_for(shape, doc)
    assert out["r"] is _U and out["n"][0] is _U and type(out["s"]) is str
    plain = {"r": _U, "n": None}
    assert plain_ids_for(v.object({"r": v.id("users"), "n": v.null()}), plain) is plain


def test_validate_returns_new_containers() -> None:
    value = {"tags": ["a"], "meta": {"k": "v"}}
    out = v.object({"tags": v.array(v.string()), "meta": v.record(v.string(), v.string())})
    result = out.validate(value)
    assert result == value
    assert result is not value and result["tags"] is not value["tags"]
    assert result["meta"] is not value["meta"]


# ---------------------------------------------------------------------------
# refused values: exact messages
# ---------------------------------------------------------------------------

REFUSE: list[Any] = [
    pytest.param(v.string(), 3, "expected v.string(), got 3 (int64)", id="string-int"),
    pytest.param(v.string(), None, "expected v.string(), got None (null)", id="string-none"),
    pytest.param(
        v.string(),
        UNDEFINED,
        "expected v.string(), got nr.UNDEFINED (undefined)",
        id="string-undefined",
    ),
    pytest.param(v.number(), "1", "expected v.float64(), got '1' (string)", id="number-str"),
    pytest.param(v.number(), True, "expected v.float64(), got True (boolean)", id="number-bool"),
    pytest.param(v.int64(), 1.0, "expected v.int64(), got 1.0 (float64)", id="int64-float"),
    pytest.param(v.int64(), True, "expected v.int64(), got True (boolean)", id="int64-bool"),
    # Not "(int64)": the value is an int that is *not* an int64.
    pytest.param(
        v.int64(),
        2**63,
        "expected v.int64(), got 9223372036854775808, an int that does not fit in int64 "
        "(-2**63 .. 2**63-1)",
        id="int64-overflow",
    ),
    pytest.param(
        v.int64(),
        -(2**63) - 1,
        "expected v.int64(), got -9223372036854775809, an int that does not fit in int64 "
        "(-2**63 .. 2**63-1)",
        id="int64-underflow",
    ),
    pytest.param(
        v.string(),
        2**64,
        "expected v.string(), got 18446744073709551616, an int that does not fit in int64 "
        "(-2**63 .. 2**63-1)",
        id="string-big-int",
    ),
    pytest.param(v.boolean(), 1, "expected v.boolean(), got 1 (int64)", id="boolean-int"),
    pytest.param(v.null(), 0, "expected v.null(), got 0 (int64)", id="null-zero"),
    pytest.param(v.bytes(), "ab", "expected v.bytes(), got 'ab' (string)", id="bytes-str"),
    pytest.param(v.id("users"), "", "expected v.id(\"users\"), got '' (string)", id="id-empty"),
    pytest.param(
        v.id("users"),
        Id("k", "posts"),
        "expected v.id(\"users\"), got Id('k', table='posts') (string)",
        id="id-other-table",
    ),
    pytest.param(
        v.literal(1), 1.0, "expected v.literal(1), got 1.0 (float64)", id="literal-int-vs-float"
    ),
    pytest.param(
        v.literal(1), True, "expected v.literal(1), got True (boolean)", id="literal-int-vs-bool"
    ),
    pytest.param(
        v.literal(True), 1, "expected v.literal(True), got 1 (int64)", id="literal-bool-vs-int"
    ),
    pytest.param(
        v.literal(0.0),
        -0.0,
        "expected v.literal(0.0), got -0.0 (float64)",
        id="literal-zero-vs-neg-zero",
    ),
    pytest.param(
        v.literal("a"), "b", "expected v.literal(\"a\"), got 'b' (string)", id="literal-str"
    ),
    pytest.param(
        v.array(v.string()),
        "abc",
        "expected v.array(v.string()), got 'abc' (string)",
        id="array-str",
    ),
    pytest.param(
        v.array(v.string()),
        ["a", "b", 3],
        "[2]: expected v.string(), got 3 (int64)",
        id="array-item",
    ),
    pytest.param(
        v.object({"tags": v.array(v.string())}),
        {"tags": ["a", "b", 3]},
        ".tags[2]: expected v.string(), got 3 (int64)",
        id="object-array-path",
    ),
    pytest.param(
        v.object({"a": v.object({"b": v.array(v.object({"c": v.int64()}))})}),
        {"a": {"b": [{"c": 1}, {"c": "x"}]}},
        ".a.b[1].c: expected v.int64(), got 'x' (string)",
        id="deep-path",
    ),
    pytest.param(
        v.object({"a": v.string()}),
        {"a": "x", "x": 1},
        'Object contains extra field "x" that is not in the validator.',
        id="object-extra",
    ),
    pytest.param(
        v.object({"a": v.object({"b": v.string()})}),
        {"a": {"b": "x", "y": 1}},
        '.a: Object contains extra field "y" that is not in the validator.',
        id="nested-object-extra",
    ),
    pytest.param(
        v.object({"x": v.string()}),
        {},
        'Object is missing the required field "x". Consider wrapping the field validator '
        "in v.optional(...) if this is expected.",
        id="object-missing",
    ),
    pytest.param(
        v.object({"x": v.string()}),
        {"x": UNDEFINED},
        'Object is missing the required field "x". Consider wrapping the field validator '
        "in v.optional(...) if this is expected.",
        id="object-undefined-is-missing",
    ),
    pytest.param(
        v.object({"a": v.string()}),
        ["a"],
        "expected v.object({\"a\": v.string()}), got ['a'] (array)",
        id="object-list",
    ),
    pytest.param(
        v.object({"a": v.optional(v.string())}),
        {"a": 1},
        ".a: expected v.string(), got 1 (int64)",
        id="optional-inner-wrong",
    ),
    pytest.param(
        v.record(v.string(), v.number()),
        {"a": "x"},
        ".a: expected v.float64(), got 'x' (string)",
        id="record-value",
    ),
    pytest.param(
        v.record(v.string(), v.number()),
        {"$a": 1},
        "object key '$a' starts with '$', which is reserved for encoding values",
        id="record-dollar-key",
    ),
    pytest.param(
        v.record(v.literal("a"), v.number()),
        {"b": 1},
        ".b: expected v.literal(\"a\"), got 'b' (string)",
        id="record-key-validator",
    ),
    pytest.param(
        v.union(v.string(), v.null()),
        3,
        "expected v.union(v.string(), v.null()), got 3 (int64)",
        id="union",
    ),
    pytest.param(
        v.object({"s": v.union(v.literal("a"), v.literal("b"))}),
        {"s": "c"},
        '.s: expected v.union(v.literal("a"), v.literal("b")), got \'c\' (string)',
        id="union-of-literals-path",
    ),
    pytest.param(
        v.int64(),
        "x" * 100,
        "expected v.int64(), got " + repr("x" * 100)[:57] + "... (string)",
        id="long-value-truncated",
    ),
    pytest.param(
        v.any(),
        {"a": {1}},
        ".a: set is not a Convex value; use a list, e.g. sorted(value)",
        id="any-set",
    ),
]


@pytest.mark.parametrize(("validator", "value", "message"), REFUSE)
def test_refuses(validator: Validator, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        validator.validate(value)
    assert str(info.value) == message
    assert not validator.accepts(value)


def test_refuses_numpy_and_datetime_values_saying_they_are_not_convex_values() -> None:
    # np.float64(1.0) against v.float64() used to read "expected v.float64(), got
    # np.float64(1.0) (float64)": it named the type it expected as the one it got.
    np = pytest.importorskip("numpy")
    cases = [
        (v.float64(), np.float64(1.0), "got np.float64(1.0) (numpy.float64, not a Convex value; "
         "convert it with .item() (scalars) or .tolist() (arrays))"),
        (v.int64(), np.int64(3), "got np.int64(3) (numpy.int64, not a Convex value; convert it "
         "with .item()"),
        (v.union(v.int64(), v.string()), np.int64(3), "(numpy.int64, not a Convex value;"),
        (v.boolean(), np.bool_(True), "(numpy.bool, not a Convex value;"),
        (v.number(), datetime.datetime(2020, 1, 1), "(datetime, not a Convex value; "
         "store a number (e.g. ms since the epoch"),
    ]
    for validator, value, fragment in cases:
        with pytest.raises(ValidationError) as info:
            validator.validate(value)
        assert fragment in str(info.value), str(info.value)
    with pytest.raises(ValidationError) as info:
        v.any().validate({"a": np.int64(3)})
    assert str(info.value).startswith(".a: numpy.int64 is not a Convex value; convert it with")


def test_error_attributes() -> None:
    with pytest.raises(ValidationError) as info:
        v.object({"tags": v.array(v.string())}).validate({"tags": ["a", 3]})
    err = info.value
    assert err.path == ".tags[1]"
    assert err.expected == "v.string()"
    assert err.value == 3
    assert err.detail == str(err)


def test_array_length_limit() -> None:
    assert len(v.array(v.int64()).validate([0] * 8192)) == 8192
    with pytest.raises(ValidationError, match="array has 8193 elements, more than the 8192"):
        v.array(v.int64()).validate([0] * 8193)


# ---------------------------------------------------------------------------
# construction errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda: v.array(v.optional(v.string())),
            "only allowed as the value of an object field",
            id="optional-in-array",
        ),
        pytest.param(
            lambda: v.union(v.optional(v.string())),
            "only allowed as the value of an object field",
            id="optional-in-union",
        ),
        pytest.param(
            lambda: v.record(v.string(), v.optional(v.string())),
            "only allowed as the value of an object field",
            id="optional-in-record",
        ),
        pytest.param(lambda: v.array("string"), "must be a validator", id="not-a-validator"),
        pytest.param(
            lambda: v.array({"a": v.string()}), "wrap it in v.object", id="dict-not-validator"
        ),
        pytest.param(lambda: v.literal([1]), "v.literal(value) takes", id="literal-list"),
        pytest.param(lambda: v.literal(2**64), "does not fit in int64", id="literal-big-int"),
        pytest.param(
            lambda: v.record(v.number(), v.string()), "keys must be", id="record-number-keys"
        ),
        pytest.param(
            lambda: v.object({"$a": v.string()}), "starts with '$'", id="object-dollar-field"
        ),
        pytest.param(lambda: v.id(""), "needs a table name", id="id-empty"),
        pytest.param(
            lambda: v.object({"a": v.string()}).pick("b"), "no such field", id="pick-unknown"
        ),
    ],
)
def test_construction_errors(build: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=re.escape(message)):
        build()


# ---------------------------------------------------------------------------
# repr, JSON, equality, kinds
# ---------------------------------------------------------------------------

ALL_VALIDATORS: list[Any] = [
    pytest.param(v.string(), "v.string()", {"type": "string"}, id="string"),
    pytest.param(v.number(), "v.float64()", {"type": "number"}, id="number"),
    pytest.param(v.int64(), "v.int64()", {"type": "bigint"}, id="int64"),
    pytest.param(v.boolean(), "v.boolean()", {"type": "boolean"}, id="boolean"),
    pytest.param(v.null(), "v.null()", {"type": "null"}, id="null"),
    pytest.param(v.bytes(), "v.bytes()", {"type": "bytes"}, id="bytes"),
    pytest.param(v.any(), "v.any()", {"type": "any"}, id="any"),
    pytest.param(v.id("users"), 'v.id("users")', {"type": "id", "tableName": "users"}, id="id"),
    pytest.param(
        v.literal('a"b'),
        'v.literal("a\\"b")',
        {"type": "literal", "value": 'a"b'},
        id="literal-str",
    ),
    pytest.param(
        v.literal(1),
        "v.literal(1)",
        {"type": "literal", "value": {"$integer": "AQAAAAAAAAA="}},
        id="literal-int",
    ),
    pytest.param(
        v.literal(1.5), "v.literal(1.5)", {"type": "literal", "value": 1.5}, id="literal-float"
    ),
    pytest.param(
        v.literal(False), "v.literal(False)", {"type": "literal", "value": False}, id="literal-bool"
    ),
    pytest.param(
        v.array(v.string()),
        "v.array(v.string())",
        {"type": "array", "value": {"type": "string"}},
        id="array",
    ),
    pytest.param(
        v.object({"a": v.optional(v.string()), "b": v.int64()}),
        'v.object({"a": v.optional(v.string()), "b": v.int64()})',
        {
            "type": "object",
            "value": {
                "a": {"fieldType": {"type": "string"}, "optional": True},
                "b": {"fieldType": {"type": "bigint"}, "optional": False},
            },
        },
        id="object",
    ),
    pytest.param(
        v.record(v.string(), v.number()),
        "v.record(v.string(), v.float64())",
        {
            "type": "record",
            "keys": {"type": "string"},
            "values": {"fieldType": {"type": "number"}, "optional": False},
        },
        id="record",
    ),
    pytest.param(
        v.nullable(v.id("t")),
        'v.union(v.id("t"), v.null())',
        {"type": "union", "value": [{"type": "id", "tableName": "t"}, {"type": "null"}]},
        id="union",
    ),
]


@pytest.mark.parametrize(("validator", "code", "as_json"), ALL_VALIDATORS)
def test_repr_and_json(validator: Validator, code: str, as_json: dict[str, Any]) -> None:
    assert repr(validator) == code
    assert eval(code, {"v": v}) == validator  # repr is paste-able code
    assert validator.to_json() == as_json
    back = Validator.from_json(as_json)
    assert back == validator and hash(back) == hash(validator)
    assert repr(back) == code


def test_bare_optional_json_is_the_inner_json() -> None:
    assert v.optional(v.string()).to_json() == {"type": "string"}
    assert repr(v.optional(v.string())) == "v.optional(v.string())"


def test_from_json_accepts_aliases_and_refuses_junk() -> None:
    assert Validator.from_json({"type": "float64"}) == v.float64()
    assert Validator.from_json({"type": "int64"}) == v.int64()
    with pytest.raises(SchemaError, match="unknown validator type 'nope'"):
        Validator.from_json({"type": "nope"})
    with pytest.raises(SchemaError, match="missing"):
        Validator.from_json({"type": "id"})


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        pytest.param(v.number(), v.float64(), True, id="number-is-float64"),
        pytest.param(v.literal(1), v.literal(1.0), False, id="literal-int-vs-float"),
        pytest.param(v.literal(1), v.literal(True), False, id="literal-int-vs-bool"),
        pytest.param(
            v.object({"a": v.string(), "b": v.null()}),
            v.object({"b": v.null(), "a": v.string()}),
            True,
            id="object-field-order",
        ),
        pytest.param(
            v.object({"a": v.string()}),
            v.object({"a": v.optional(v.string())}),
            False,
            id="optional-differs",
        ),
        pytest.param(
            v.union(v.string(), v.null()),
            v.union(v.null(), v.string()),
            False,
            id="union-order-matters",
        ),
        pytest.param(v.id("a"), v.id("b"), False, id="id-tables"),
        pytest.param(
            v.optional(v.optional(v.string())),
            v.optional(v.string()),
            True,
            id="optional-collapses",
        ),
        pytest.param(
            v.nullable(v.string()), v.union(v.string(), v.null()), True, id="nullable-is-union"
        ),
    ],
)
def test_equality(a: Validator, b: Validator, equal: bool) -> None:
    assert (a == b) is equal
    if equal:
        assert hash(a) == hash(b)


@pytest.mark.parametrize(
    ("validator", "scalar_kind", "is_optional"),
    [
        pytest.param(v.string(), "string", False, id="string"),
        pytest.param(v.number(), "float64", False, id="number"),
        pytest.param(v.int64(), "int64", False, id="int64"),
        pytest.param(v.boolean(), "boolean", False, id="boolean"),
        pytest.param(v.bytes(), "bytes", False, id="bytes"),
        pytest.param(v.id("t"), "id", False, id="id"),
        pytest.param(v.optional(v.int64()), "int64", True, id="optional-int64"),
        pytest.param(v.optional(v.array(v.int64())), None, True, id="optional-array"),
        pytest.param(v.null(), None, False, id="null"),
        pytest.param(v.any(), None, False, id="any"),
        pytest.param(v.literal("a"), None, False, id="literal"),
        pytest.param(v.nullable(v.string()), None, False, id="union"),
        pytest.param(v.array(v.string()), None, False, id="array"),
        pytest.param(v.object({}), None, False, id="object"),
        pytest.param(v.record(v.string(), v.string()), None, False, id="record"),
    ],
)
def test_scalar_kind(validator: Validator, scalar_kind: str | None, is_optional: bool) -> None:
    assert validator.scalar_kind == scalar_kind
    assert validator.is_optional is is_optional
    assert validator.optional is is_optional


def test_validators_are_immutable() -> None:
    with pytest.raises(AttributeError):
        v.id("t").table_name = "u"  # type: ignore[misc]


# ---------------------------------------------------------------------------
# object variants
# ---------------------------------------------------------------------------

BASE = v.object({"a": v.string(), "b": v.optional(v.number()), "c": v.boolean()})


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        pytest.param(
            BASE.extend({"d": v.null()}),
            v.object(
                {"a": v.string(), "b": v.optional(v.number()), "c": v.boolean(), "d": v.null()}
            ),
            id="extend",
        ),
        pytest.param(
            BASE.extend({"a": v.int64()}),
            v.object({"a": v.int64(), "b": v.optional(v.number()), "c": v.boolean()}),
            id="extend-replaces",
        ),
        pytest.param(BASE.omit("a", "c"), v.object({"b": v.optional(v.number())}), id="omit"),
        pytest.param(BASE.pick("c", "a"), v.object({"c": v.boolean(), "a": v.string()}), id="pick"),
        pytest.param(
            BASE.partial(),
            v.object(
                {
                    "a": v.optional(v.string()),
                    "b": v.optional(v.number()),
                    "c": v.optional(v.boolean()),
                }
            ),
            id="partial",
        ),
        pytest.param(
            BASE.required(),
            v.object({"a": v.string(), "b": v.number(), "c": v.boolean()}),
            id="required",
        ),
    ],
)
def test_object_variants(variant: Validator, expected: Validator) -> None:
    assert variant == expected


def test_object_variants_leave_the_original_alone() -> None:
    BASE.extend({"z": v.null()})
    BASE.partial()
    assert set(BASE.fields) == {"a", "b", "c"}  # type: ignore[attr-defined]


def test_as_validator() -> None:
    assert as_validator({"a": v.string()}) == v.object({"a": v.string()})
    assert as_validator(v.string()) is v.string()
    with pytest.raises(SchemaError):
        as_validator(3)  # type: ignore[arg-type]


@given(convex_values(with_ids=True))
def test_any_accepts_every_value(value: Any) -> None:
    assert same_value(v.any().validate(value), value)


@pytest.mark.parametrize(
    "validator",
    [
        v.string(),
        v.optional(v.int64()),
        v.object({"a": v.optional(v.array(v.id("t"))), "b": v.literal(1)}),
        v.record(v.string(), v.nullable(v.bytes())),
    ],
    ids=repr,
)
def test_validators_pickle_and_copy(validator: Validator) -> None:
    import copy
    import pickle

    assert pickle.loads(pickle.dumps(validator)) == validator
    assert copy.deepcopy(validator) == validator
    assert copy.copy(validator) == validator
