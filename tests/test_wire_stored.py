"""Convex's JSON wire encoding and the exact stored JSON: exact round trips."""

from __future__ import annotations

import json
import struct
from typing import Any

import orjson
import pytest
from hypothesis import given

from nbreactive.errors import ValidationError
from nbreactive.values import stored, wire
from nbreactive.values.model import UNDEFINED, Id
from tests.strategies import convex_values, same_value


def _nan(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


# ---------------------------------------------------------------------------
# wire
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        pytest.param(None, None, id="null"),
        pytest.param(True, True, id="bool"),
        pytest.param(1, {"$integer": "AQAAAAAAAAA="}, id="int-1"),
        pytest.param(-1, {"$integer": "//////////8="}, id="int-minus-1"),
        pytest.param(-(2**63), {"$integer": "AAAAAAAAAIA="}, id="int-min"),
        pytest.param(1.5, 1.5, id="float"),
        pytest.param(3.0, 3.0, id="integral-float"),
        pytest.param(0.0, 0.0, id="zero"),
        pytest.param(-0.0, {"$float": "AAAAAAAAAIA="}, id="neg-zero"),
        pytest.param(float("nan"), {"$float": "AAAAAAAA+H8="}, id="nan"),
        pytest.param(float("inf"), {"$float": "AAAAAAAA8H8="}, id="inf"),
        pytest.param(float("-inf"), {"$float": "AAAAAAAA8P8="}, id="neg-inf"),
        pytest.param("é", "é", id="string"),
        pytest.param(Id("abc", "users"), "abc", id="id"),
        pytest.param(b"hi", {"$bytes": "aGk="}, id="bytes"),
        pytest.param([1.0, (2.0,)], [1.0, [2.0]], id="array"),
        pytest.param({"a": UNDEFINED, "b": {"c": None}}, {"b": {"c": None}}, id="object"),
    ],
)
def test_to_wire(value: Any, encoded: Any) -> None:
    out = wire.to_wire(value)
    assert out == encoded
    assert type(out) is type(encoded)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(3, 3.0, id="json-int-is-float64"),
        pytest.param(2.5, 2.5, id="float"),
        pytest.param({"$integer": "AQAAAAAAAAA="}, 1, id="integer"),
        pytest.param({"$float": "AAAAAAAAAIA="}, -0.0, id="neg-zero"),
        pytest.param({"$float": "AQAAAAAA+H8="}, _nan(0x7FF8000000000001), id="nan-payload"),
        pytest.param({"$bytes": ""}, b"", id="empty-bytes"),
        pytest.param([1, {"a": [2]}], [1.0, {"a": [2.0]}], id="nested-numbers"),
        pytest.param(True, True, id="bool-stays-bool"),
    ],
)
def test_from_wire(obj: Any, expected: Any) -> None:
    assert same_value(wire.from_wire(obj), expected)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        pytest.param(
            {"$foo": 1},
            "object key '$foo' starts with '$', which is reserved for $integer, $float and $bytes",
            id="unknown-dollar",
        ),
        pytest.param(
            {"a": {"b": 1, "$integer": "AQAAAAAAAAA="}},
            ".a: object key '$integer' starts with '$', which is reserved for $integer, "
            "$float and $bytes",
            id="dollar-with-others",
        ),
        pytest.param({"$integer": "AQ=="}, "$integer must hold 8 bytes, got 1", id="short-int"),
        pytest.param({"$float": 1.0}, "$float must hold a base64 string, got 1.0", id="not-b64"),
        pytest.param([{"$bytes": "!!"}], "[0]: $bytes holds invalid base64 '!!'", id="bad-b64"),
    ],
)
def test_from_wire_refuses(obj: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        wire.from_wire(obj)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            [1, UNDEFINED],
            "[1]: nr.UNDEFINED is not allowed inside an array; use None",
            id="undefined-in-array",
        ),
        pytest.param(
            {"a": {1}}, ".a: set is not a Convex value; use a list, e.g. sorted(value)", id="set"
        ),
        pytest.param(2**64, "int 18446744073709551616 does not fit in int64", id="big-int"),
    ],
)
def test_to_wire_refuses(value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        wire.to_wire(value)
    assert str(info.value) == message


@given(convex_values(with_ids=True))
def test_wire_round_trip_through_json_text(value: Any) -> None:
    text = json.dumps(wire.to_wire(value), allow_nan=False)
    # Ints travel as $integer, so they come back as ints; floats stay floats.
    assert same_value(wire.from_wire(json.loads(text)), value)
    assert same_value(wire.from_wire(orjson.loads(orjson.dumps(wire.to_wire(value)))), value)


# ---------------------------------------------------------------------------
# stored
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(1, "1", id="int"),
        pytest.param(1.0, "1.0", id="integral-float-keeps-dot"),
        pytest.param(-(2**63), "-9223372036854775808", id="int-min"),
        pytest.param(-0.0, '{"$float":"AAAAAAAAAIA="}', id="neg-zero"),
        pytest.param(float("nan"), '{"$float":"AAAAAAAA+H8="}', id="nan"),
        pytest.param(float("-inf"), '{"$float":"AAAAAAAA8P8="}', id="neg-inf"),
        pytest.param(b"\x00", '{"$bytes":"AA=="}', id="bytes"),
        pytest.param(None, "null", id="null"),
        pytest.param(Id("abc", "t"), '"abc"', id="id"),
        pytest.param(
            {"a": [1, 1.0, None, "null", -0.05]},
            '{"a":[1,1.0,null,"null",-0.05]}',
            id="false-alarm-text",
        ),
        pytest.param(
            {"a": [None, float("inf")]},
            '{"a":[null,{"$float":"AAAAAAAA8H8="}]}',
            id="nested-special",
        ),
    ],
)
def test_stored_dumps(value: Any, text: str) -> None:
    assert stored.dumps(value) == text
    assert same_value(stored.loads(text), value)
    assert same_value(stored.loads(text.encode()), value)


def test_stored_loads_fast_path_keeps_strings_with_dollar_text() -> None:
    value = {"price": "$5", "note": 'a "$float" here', "n": [2, 2.0]}
    assert same_value(stored.loads(stored.dumps(value)), value)


def test_stored_refuses_non_values() -> None:
    with pytest.raises(TypeError):
        stored.dumps({"a": {1}})
    with pytest.raises(TypeError):
        stored.dumps({"a": UNDEFINED})


@given(convex_values(with_ids=True))
def test_stored_round_trip(value: Any) -> None:
    text = stored.dumps(value)
    assert same_value(stored.loads(text), value)
    assert same_value(stored.loads(stored.dumps_bytes(value)), value)


def test_stored_big_float_stays_float() -> None:
    # orjson writes 1e20 as "1e20" or "1e+20" depending on its version; both are floats.
    text = stored.dumps(1e20)
    assert text in ("1e20", "1e+20")
    assert type(stored.loads(text)) is float
