"""The total order of values and the order-preserving key encoding."""

from __future__ import annotations

import itertools
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbreactive.errors import ValidationError
from nbreactive.values.keys import (
    compare_values,
    decode_key,
    encode_key,
    encode_value,
    prefix_end,
)
from nbreactive.values.model import UNDEFINED, Id
from tests.strategies import convex_values, same_value


def _nan(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


NEG_NAN = _nan(0xFFF8000000000000)
POS_NAN = _nan(0x7FF8000000000000)
POS_NAN_PAYLOAD = _nan(0x7FF8000000000001)

# Strictly ascending in Convex's order: every earlier entry sorts below every later one.
ASCENDING: list[tuple[str, Any]] = [
    ("undefined", UNDEFINED),
    ("null", None),
    ("int-min", -(2**63)),
    ("int-minus-1", -1),
    ("int-0", 0),
    ("int-5", 5),
    ("int-2^53+1", 2**53 + 1),
    ("int-max", 2**63 - 1),
    ("float--nan", NEG_NAN),
    ("float--inf", float("-inf")),
    ("float--1e308", -1e308),
    ("float--1.0", -1.0),
    ("float--tiny", -5e-324),
    ("float--0.0", -0.0),
    ("float-+0.0", 0.0),
    ("float-tiny", 5e-324),
    ("float-1.0", 1.0),
    ("float-1.5", 1.5),
    ("float-inf", float("inf")),
    ("float-nan", POS_NAN),
    ("float-nan-payload", POS_NAN_PAYLOAD),
    ("false", False),
    ("true", True),
    ("str-empty", ""),
    ("str-nul", "\x00"),
    ("str-A", "A"),
    ("str-a", "a"),
    ("str-a-nul", "a\x00"),
    ("str-a-nul-b", "a\x00b"),
    ("str-a-\\x01", "a\x01"),
    ("str-ab", "ab"),
    ("str-b", "b"),
    ("str-e-acute", "é"),
    ("str-U+FFFF", "\uffff"),  # UTF-16 would put U+1F600 (a surrogate pair) first
    ("str-U+1F600", "\U0001f600"),
    ("bytes-empty", b""),
    ("bytes-nul", b"\x00"),
    ("bytes-nul-ff", b"\x00\xff"),
    ("bytes-01", b"\x01"),
    ("bytes-ff", b"\xff"),
    ("bytes-ff-ff", b"\xff\xff"),
    ("array-empty", []),
    ("array-[undefined-free null]", [None]),
    ("array-[1]", [1]),
    ("array-[1,2]", [1, 2]),
    ("array-[1,'a']", [1, "a"]),
    ("array-[1.0]", [1.0]),
    ("array-[[]]", [[]]),
    ("array-[{}]", [{}]),
    ("object-empty", {}),
    ("object-a:null", {"a": None}),
    ("object-a:1", {"a": 1}),
    ("object-a:1,b:1", {"a": 1, "b": 1}),
    ("object-a:2", {"a": 2}),
    ("object-a:'x'", {"a": "x"}),
    ("object-ab:0", {"ab": 0}),
    ("object-b:0", {"b": 0}),
]

PAIRS = [
    pytest.param(a, b, id=f"{na} < {nb}")
    for (na, a), (nb, b) in itertools.combinations(ASCENDING, 2)
]


@pytest.mark.parametrize(("low", "high"), PAIRS)
def test_order(low: Any, high: Any) -> None:
    assert compare_values(low, high) == -1
    assert compare_values(high, low) == 1
    assert encode_value(low) < encode_value(high)


@pytest.mark.parametrize(("name", "value"), ASCENDING, ids=[n for n, _ in ASCENDING])
def test_equal_to_itself(name: str, value: Any) -> None:
    assert compare_values(value, value) == 0
    # NaN == NaN for identical bits, in both the comparison and the encoding.
    assert compare_values(value, _copy(value)) == 0
    assert encode_value(value) == encode_value(_copy(value))


def _copy(value: Any) -> Any:
    if type(value) is float:
        return struct.unpack("<d", struct.pack("<d", value))[0]
    if type(value) is list:
        return [_copy(x) for x in value]
    if type(value) is dict:
        return {k: _copy(x) for k, x in reversed(value.items())}  # key order is irrelevant
    return value


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param(5, 1.0, -1, id="int-5-below-float-1.0"),
        pytest.param(2**63 - 1, float("-inf"), -1, id="every-int-below-every-float"),
        pytest.param(1, 1.0, -1, id="1-not-equal-1.0"),
        pytest.param(True, 1, 1, id="bool-above-int"),
        pytest.param(False, 0.0, 1, id="bool-above-float"),
        pytest.param(-0.0, 0.0, -1, id="neg-zero-below-zero"),
        pytest.param(float("nan"), float("nan"), 0, id="nan-equals-nan"),
        pytest.param(POS_NAN, POS_NAN_PAYLOAD, -1, id="nan-payloads-differ"),
        pytest.param(Id("abc", "users"), "abc", 0, id="id-is-a-string"),
        pytest.param((1, 2), [1, 2], 0, id="tuple-is-an-array"),
        pytest.param({"a": 1, "b": UNDEFINED}, {"a": 1}, 0, id="undefined-field-absent"),
        pytest.param("\U0001f600", "\uffff", 1, id="utf8-not-utf16-order"),
        pytest.param([1], [1, None], -1, id="prefix-array-first"),
        pytest.param({"a": 1}, {"a": 1, "b": None}, -1, id="prefix-object-first"),
        pytest.param({"b": 0}, {"a": 9, "c": 0}, 1, id="object-key-before-value"),
    ],
)
def test_compare_cases(a: Any, b: Any, expected: int) -> None:
    assert compare_values(a, b) == expected
    assert compare_values(b, a) == -expected
    ea, eb = encode_value(a), encode_value(b)
    assert (ea > eb) - (ea < eb) == expected


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        pytest.param(UNDEFINED, b"\x01", id="undefined"),
        pytest.param(None, b"\x03", id="null"),
        pytest.param(0, b"\x04\x80\x00\x00\x00\x00\x00\x00\x00", id="int-0"),
        pytest.param(-1, b"\x04\x7f\xff\xff\xff\xff\xff\xff\xff", id="int-minus-1"),
        pytest.param(0.0, b"\x0d\x80\x00\x00\x00\x00\x00\x00\x00", id="float-0"),
        pytest.param(-0.0, b"\x0d\x7f\xff\xff\xff\xff\xff\xff\xff", id="float-neg-0"),
        pytest.param(1.0, b"\x0d\xbf\xf0\x00\x00\x00\x00\x00\x00", id="float-1"),
        pytest.param(False, b"\x0e", id="false"),
        pytest.param(True, b"\x0f", id="true"),
        pytest.param("a\x00b", b"\x10a\x00\xffb\x00", id="string-escaped"),
        pytest.param(b"\x00", b"\x11\x00\xff\x00", id="bytes-escaped"),
        pytest.param([1, None], b"\x12\x04\x80" + b"\x00" * 6 + b"\x01\x03\x00", id="array"),
        pytest.param({"b": None, "a": True}, b"\x15\x10a\x00\x0f\x10b\x00\x03\x00", id="object"),
    ],
)
def test_encoding_bytes(value: Any, encoded: bytes) -> None:
    assert encode_value(value) == encoded
    assert encode_key([value, value]) == encoded * 2


def test_refuses_non_values() -> None:
    with pytest.raises(ValidationError, match="cannot encode"):
        encode_value({1, 2})
    with pytest.raises(ValidationError, match="does not fit in int64"):
        encode_value(2**63)


def test_decode_key_ids_come_back_as_str() -> None:
    [value] = decode_key(encode_key([Id("abc", "users")]))
    assert type(value) is str and value == "abc"


@pytest.mark.parametrize(
    "data", [b"\x10abc", b"\x04\x00", b"\x12\x03", b"\x02", b"\x11\x00\xff"], ids=repr
)
def test_decode_key_refuses_garbage(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_key(data)


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


@given(convex_values(), convex_values())
def test_encoding_order_equals_compare_values(a: Any, b: Any) -> None:
    ea, eb = encode_value(a), encode_value(b)
    assert compare_values(a, b) == _sign((ea > eb) - (ea < eb))
    assert compare_values(b, a) == -compare_values(a, b)
    assert (compare_values(a, b) == 0) == (ea == eb)


@given(convex_values())
def test_compare_reflexive_and_decode_round_trip(value: Any) -> None:
    assert compare_values(value, value) == 0
    [back] = decode_key(encode_value(value))
    assert same_value(back, value)


@given(st.lists(convex_values(8), max_size=4), st.lists(convex_values(8), max_size=4))
def test_key_order_is_tuple_order(a: list[Any], b: list[Any]) -> None:
    expected = 0
    for x, y in zip(a, b):
        expected = compare_values(x, y)
        if expected:
            break
    else:
        expected = _sign(len(a) - len(b))
    ka, kb = encode_key(a), encode_key(b)
    assert _sign((ka > kb) - (ka < kb)) == expected
    assert same_value(decode_key(ka), a)


@given(st.lists(convex_values(6), max_size=3), convex_values(6))
def test_extensions_of_a_prefix_lie_in_its_interval(prefix: list[Any], extra: Any) -> None:
    p = encode_key(prefix)
    k = p + encode_value(extra)
    assert p <= k < prefix_end(p)
    assert not encode_value(extra).startswith(b"\xff")


@given(convex_values(6), convex_values(6), convex_values(6))
def test_transitive(a: Any, b: Any, c: Any) -> None:
    a, b, c = sorted([a, b, c], key=encode_value)
    assert compare_values(a, b) <= 0 and compare_values(b, c) <= 0
    assert compare_values(a, c) <= 0
