"""Hypothesis strategies for Convex values, shared by every layer's tests.

- ``int64s``, ``float64s`` (every bit pattern: NaN payloads, -NaN, ±inf, -0.0),
  ``strings`` (no lone surrogates), ``byte_strings``, ``scalars``
- ``nested_keys`` / ``top_level_fields``: valid object keys / document field names
- ``convex_values()``: any Convex value within the limits (nested arrays/objects)
- ``documents()``: user documents (no system fields) as ``normalize_value`` accepts
- ``same_value(a, b)``: exact equality (types, float bits), for round-trip asserts

Example::

    from hypothesis import given
    from tests.strategies import convex_values, same_value

    @given(convex_values())
    def test_round_trip(value):
        assert same_value(loads(dumps(value)), value)
"""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import strategies as st

from nbreactive.values.model import Id

__all__ = [
    "byte_strings",
    "convex_values",
    "documents",
    "float64s",
    "int64s",
    "nested_keys",
    "same_value",
    "scalars",
    "strings",
    "top_level_fields",
]

_U64 = struct.Struct("<Q")
_F64 = struct.Struct("<d")


def _bits_to_float(bits: int) -> float:
    return _F64.unpack(_U64.pack(bits))[0]


def float_bits(x: float) -> int:
    """The IEEE bit pattern of ``x``."""
    return _U64.unpack(_F64.pack(x))[0]


int64s = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([-(2**63), -1, 0, 1, 2**53, 2**53 + 1, 2**63 - 1]),
)

float64s = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    # Arbitrary bit patterns reach NaN payloads and negative NaNs.
    st.integers(min_value=0, max_value=2**64 - 1).map(_bits_to_float),
    st.sampled_from([0.0, -0.0, float("inf"), float("-inf"), float("nan"), -float("nan")]),
)

strings = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
byte_strings = st.binary(max_size=12)
ids = st.builds(
    Id,
    st.text(alphabet="0123456789abcdefghjkmnpqrstvwxyz", min_size=1, max_size=8),
    st.sampled_from(["users", "posts"]),
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    int64s,
    float64s,
    strings,
    byte_strings,
)

nested_keys = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=8
).filter(lambda k: not k.startswith("$"))

top_level_fields = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,11}", fullmatch=True)


def convex_values(max_leaves: int = 20, *, with_ids: bool = False) -> st.SearchStrategy[Any]:
    """Any Convex value: scalars, arrays and objects, well inside the limits."""
    leaves = st.one_of(scalars, ids) if with_ids else scalars
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(nested_keys, children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def documents(max_fields: int = 6) -> st.SearchStrategy[dict[str, Any]]:
    """A user document without system fields."""
    return st.dictionaries(top_level_fields, convex_values(10), max_size=max_fields)


def same_value(a: Any, b: Any) -> bool:
    """Exact equality: same types (``Id`` counts as ``str``), float bits, structure."""
    ta = str if type(a) is Id else type(a)
    tb = str if type(b) is Id else type(b)
    if ta is not tb:
        return False
    if ta is float:
        return float_bits(a) == float_bits(b)
    if ta is list:
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if ta is dict:
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return bool(a == b)
