"""The one order-preserving byte encoding of Convex values (index keys).

``encode_key(values)`` maps a tuple of values to bytes such that comparing the bytes
(``memcmp``, Python ``<`` on ``bytes``) gives Convex's total order on the tuples:

    undefined < null < int64 < float64 < boolean < string < bytes < array < object

Each value encodes as a tag byte followed by a self-delimiting payload:

=========  ====  ===========================================================
type       tag   payload
=========  ====  ===========================================================
undefined  0x01  (none)
null       0x03  (none)
int64      0x04  8 bytes big-endian of ``n + 2**63`` (biased, so order = signed order)
float64    0x0D  8 bytes big-endian of the IEEE total-order transform of the bits:
                 negative (sign bit set) → flip all bits, otherwise flip the sign bit
false      0x0E  (none)
true       0x0F  (none)
string     0x10  UTF-8, each 0x00 written as 0x00 0xFF, then a 0x00 terminator
bytes      0x11  the bytes, escaped and terminated like strings
array      0x12  the elements' encodings, then 0x00
object     0x15  for each field sorted by key: key (as a string, tagged) then value;
                 then 0x00
=========  ====  ===========================================================

The 0x00 terminator sorts below every tag, so a prefix (shorter string, shorter
array, object with fewer trailing fields) sorts first. No encoding starts with 0xFF,
so the keys that extend a prefix ``P`` are exactly the interval ``[P, P + b"\\xff")``
(``prefix_end``). Strings compare by UTF-8 bytes, i.e. by code point, which is also
Python's ``str`` order (but not JavaScript's UTF-16 order above the BMP).

``encode_value`` is on the hot path (index maintenance on every write): it dispatches
on ``type(v)`` through a dict and uses pre-built ``struct.Struct`` objects.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from nbreactive.errors import ValidationError
from nbreactive.values.model import UNDEFINED, Id, _Undefined, short_repr, type_name

__all__ = [
    "TAG_ARRAY",
    "TAG_BYTES",
    "TAG_FALSE",
    "TAG_FLOAT64",
    "TAG_INT64",
    "TAG_NULL",
    "TAG_OBJECT",
    "TAG_STRING",
    "TAG_TRUE",
    "TAG_UNDEFINED",
    "compare_values",
    "decode_key",
    "encode_key",
    "encode_value",
    "float_order_bits",
    "prefix_end",
]

TAG_UNDEFINED = 0x01
TAG_NULL = 0x03
TAG_INT64 = 0x04
TAG_FLOAT64 = 0x0D
TAG_FALSE = 0x0E
TAG_TRUE = 0x0F
TAG_STRING = 0x10
TAG_BYTES = 0x11
TAG_ARRAY = 0x12
TAG_OBJECT = 0x15

_TERM = b"\x00"
_BIAS = 1 << 63
_SIGN = 1 << 63
_ALL = (1 << 64) - 1
_F64 = struct.Struct(">d")
_U64 = struct.Struct(">Q")
_F64_PACK = _F64.pack
_U64_PACK = _U64.pack
_U64_UNPACK = _U64.unpack
_F64_UNPACK = _F64.unpack

_B_UNDEFINED = b"\x01"
_B_NULL = b"\x03"
_B_FALSE = b"\x0e"
_B_TRUE = b"\x0f"
_B_INT = b"\x04"
_B_FLOAT = b"\x0d"
_B_STR = b"\x10"
_B_BYTES = b"\x11"
_B_ARRAY = b"\x12"
_B_OBJECT = b"\x15"


def float_order_bits(x: float) -> int:
    """The unsigned 64-bit integer whose order is IEEE total order on ``x``.

    -NaN < -inf < ... < -0.0 < +0.0 < ... < +inf < +NaN; distinct bit patterns never
    compare equal (so ``-0.0 != 0.0`` and a NaN equals only a NaN with the same bits).
    """
    (bits,) = _U64_UNPACK(_F64_PACK(x))
    return bits ^ _ALL if bits & _SIGN else bits ^ _SIGN


def _enc_undefined(v: Any) -> bytes:
    return _B_UNDEFINED


def _enc_null(v: Any) -> bytes:
    return _B_NULL


def _enc_bool(v: bool) -> bytes:
    return _B_TRUE if v else _B_FALSE


def _enc_int(v: int) -> bytes:
    try:
        return _B_INT + (v + _BIAS).to_bytes(8, "big")
    except OverflowError:
        raise ValidationError(
            f"int {short_repr(v)} does not fit in int64 and cannot be encoded", value=v
        ) from None


def _enc_float(v: float) -> bytes:
    (bits,) = _U64_UNPACK(_F64_PACK(v))
    return _B_FLOAT + _U64_PACK(bits ^ _ALL if bits & _SIGN else bits ^ _SIGN)


def _enc_str(v: str) -> bytes:
    if "\x00" in v:
        return _B_STR + v.encode("utf-8").replace(b"\x00", b"\x00\xff") + _TERM
    # One encode of tag + text + terminator is cheaper than concatenating bytes.
    return ("\x10" + v + "\x00").encode("utf-8")


def _enc_bytes(v: bytes) -> bytes:
    b = bytes(v)
    if b"\x00" in b:
        b = b.replace(b"\x00", b"\x00\xff")
    return _B_BYTES + b + _TERM


def _enc_list(v: list[Any]) -> bytes:
    enc = _ENCODERS
    parts = [_B_ARRAY]
    for x in v:
        f = enc.get(type(x))
        parts.append(f(x) if f is not None else _enc_other(x))
    parts.append(_TERM)
    return b"".join(parts)


def _enc_dict(v: dict[str, Any]) -> bytes:
    enc = _ENCODERS
    parts = [_B_OBJECT]
    # Python orders str by code point, which is the UTF-8 byte order of the keys.
    for k in sorted(v):
        x = v[k]
        if x is UNDEFINED:  # an undefined field is an absent field
            continue
        parts.append(_enc_str(k))
        f = enc.get(type(x))
        parts.append(f(x) if f is not None else _enc_other(x))
    parts.append(_TERM)
    return b"".join(parts)


def _enc_other(v: Any) -> bytes:
    # Subclasses (other than Id, which is in the table) and foreign types.
    if isinstance(v, bool):  # pragma: no cover - bool cannot be subclassed
        return _enc_bool(v)
    if isinstance(v, int):
        return _enc_int(int(v))
    if isinstance(v, float):
        return _enc_float(float(v))
    if isinstance(v, str):
        return _enc_str(v)
    if isinstance(v, (bytearray, memoryview)):
        return _enc_bytes(bytes(v))
    raise ValidationError(
        f"cannot encode {short_repr(v)} ({type_name(v)}) in a key: it is not a Convex value",
        value=v,
    )


_ENCODERS: dict[type, Any] = {
    _Undefined: _enc_undefined,
    type(None): _enc_null,
    bool: _enc_bool,
    int: _enc_int,
    float: _enc_float,
    str: _enc_str,
    Id: _enc_str,
    bytes: _enc_bytes,
    list: _enc_list,
    tuple: _enc_list,
    dict: _enc_dict,
}


def encode_value(v: Any) -> bytes:
    """The order-preserving encoding of one value (see the module docstring).

    ``UNDEFINED`` is allowed and lowest. ``Id`` encodes as its string. Cost: a dict
    lookup and one small ``bytes`` build for scalars; O(size) for containers.

    Raises:
        ValidationError: ``v`` is not a Convex value (or an int outside int64).
    """
    f = _ENCODERS.get(type(v))
    return f(v) if f is not None else _enc_other(v)


def encode_key(values: Iterable[Any]) -> bytes:
    """The concatenated encodings of ``values``: an index key for the tuple.

    Tuples of values compare element by element, and a shorter tuple that is a
    prefix of a longer one sorts first. Example::

        encode_key(["ada", 1.5, "k57..."])  # (field, _creationTime, _id)
    """
    # The common index key is (field..., _creationTime, _id): strings and floats are
    # inlined here to save a call per value; everything else dispatches by type.
    enc = _ENCODERS
    parts: list[bytes] = []
    append = parts.append
    for x in values:
        t = type(x)
        if t is str and "\x00" not in x:
            append(("\x10" + x + "\x00").encode("utf-8"))
        elif t is float:
            (bits,) = _U64_UNPACK(_F64_PACK(x))
            append(_B_FLOAT + _U64_PACK(bits ^ _ALL if bits & _SIGN else bits ^ _SIGN))
        else:
            f = enc.get(t)
            append(f(x) if f is not None else _enc_other(x))
    return b"".join(parts)


def prefix_end(prefix: bytes) -> bytes:
    """The exclusive upper bound of the keys that start with ``prefix``.

    Every key extending ``prefix`` lies in ``[prefix, prefix_end(prefix))`` because no
    value encoding starts with 0xFF.
    """
    return prefix + b"\xff"


# ---------------------------------------------------------------------------
# decoding
# ---------------------------------------------------------------------------


def _read_escaped(data: bytes, pos: int) -> tuple[bytes, int]:
    """Read an escaped, 0x00-terminated byte string starting at ``pos``."""
    end = data.find(b"\x00", pos)
    if end < 0:
        raise ValueError("unterminated string in key")
    if end + 1 >= len(data) or data[end + 1] != 0xFF:
        return data[pos:end], end + 1
    chunks = []
    while True:
        if end < 0:
            raise ValueError("unterminated string in key")
        if end + 1 < len(data) and data[end + 1] == 0xFF:
            chunks.append(data[pos : end + 1])  # keep the 0x00, skip the 0xFF
            pos = end + 2
            end = data.find(b"\x00", pos)
            continue
        chunks.append(data[pos:end])
        return b"".join(chunks), end + 1


def _decode_one(data: bytes, pos: int) -> tuple[Any, int]:
    tag = data[pos]
    pos += 1
    if tag == TAG_STRING:
        raw, pos = _read_escaped(data, pos)
        return raw.decode("utf-8"), pos
    if tag in (TAG_INT64, TAG_FLOAT64) and pos + 8 > len(data):
        raise ValueError(f"truncated number at byte {pos - 1} of key")
    if tag == TAG_INT64:
        return int.from_bytes(data[pos : pos + 8], "big") - _BIAS, pos + 8
    if tag == TAG_FLOAT64:
        (bits,) = _U64_UNPACK(data[pos : pos + 8])
        bits = bits ^ _SIGN if bits & _SIGN else bits ^ _ALL
        (f,) = _F64_UNPACK(_U64_PACK(bits))
        return f, pos + 8
    if tag == TAG_NULL:
        return None, pos
    if tag == TAG_UNDEFINED:
        return UNDEFINED, pos
    if tag == TAG_FALSE:
        return False, pos
    if tag == TAG_TRUE:
        return True, pos
    if tag == TAG_BYTES:
        return _read_escaped(data, pos)
    if tag == TAG_ARRAY:
        items = []
        while data[pos] != 0:
            item, pos = _decode_one(data, pos)
            items.append(item)
        return items, pos + 1
    if tag == TAG_OBJECT:
        obj = {}
        while data[pos] != 0:
            key, pos = _decode_one(data, pos)
            obj[key], pos = _decode_one(data, pos)
        return obj, pos + 1
    raise ValueError(f"unknown tag 0x{tag:02x} at byte {pos - 1} of key")


def decode_key(data: bytes) -> list[Any]:
    """Decode a key made by ``encode_key`` back into its list of values.

    Ids come back as plain ``str`` (the table is not encoded). O(len(data)).

    Raises:
        ValueError: ``data`` is not a well-formed key.
    """
    out = []
    pos = 0
    n = len(data)
    try:
        while pos < n:
            value, pos = _decode_one(data, pos)
            out.append(value)
    except IndexError:
        raise ValueError("truncated key") from None
    return out


# ---------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------

# Rank of each type in Convex's order (the tag; booleans share one rank).
_RANK: dict[type, int] = {
    _Undefined: TAG_UNDEFINED,
    type(None): TAG_NULL,
    int: TAG_INT64,
    float: TAG_FLOAT64,
    bool: TAG_FALSE,
    str: TAG_STRING,
    Id: TAG_STRING,
    bytes: TAG_BYTES,
    list: TAG_ARRAY,
    tuple: TAG_ARRAY,
    dict: TAG_OBJECT,
}


def compare_values(a: Any, b: Any) -> int:
    """Compare two values in Convex's total order: -1, 0 or 1.

    Agrees exactly with comparing ``encode_value(a)`` and ``encode_value(b)``, but
    compares scalars directly (no encoding). Type-exact: ``1 != 1.0`` and every int64
    sorts below every float64; floats use IEEE total order (``-0.0 < 0.0``, NaN equal
    to itself bit for bit); strings compare by code point (= UTF-8 bytes).
    """
    ra = _RANK.get(type(a))
    rb = _RANK.get(type(b))
    if ra is None or rb is None:
        ea, eb = encode_value(a), encode_value(b)
        return (ea > eb) - (ea < eb)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == TAG_FLOAT64:
        # Fast path for ordinary floats; zeros and NaNs need the bit-level order.
        if a < b:
            return -1
        if a > b:
            return 1
        if a == b and a != 0.0:
            return 0
        fa, fb = float_order_bits(a), float_order_bits(b)
        return (fa > fb) - (fa < fb)
    if ra == TAG_ARRAY:
        for x, y in zip(a, b):
            c = compare_values(x, y)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    if ra == TAG_OBJECT:
        ia = [(k, a[k]) for k in sorted(a) if a[k] is not UNDEFINED]
        ib = [(k, b[k]) for k in sorted(b) if b[k] is not UNDEFINED]
        for (ka, va), (kb, vb) in zip(ia, ib):
            if ka != kb:
                return -1 if ka < kb else 1
            c = compare_values(va, vb)
            if c:
                return c
        return (len(ia) > len(ib)) - (len(ia) < len(ib))
    if ra <= TAG_NULL:
        return 0
    # int64, boolean, string, bytes: Python's own order is Convex's order.
    return (a > b) - (a < b)
