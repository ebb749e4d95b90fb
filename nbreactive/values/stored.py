"""The exact JSON used for values inside DuckDB ``JSON`` columns.

Unlike the wire format this keeps Python's int/float distinction in plain JSON, so
SQL users see ordinary numbers (``json_extract(doc, '$.age')`` is ``30``, not a base64
blob):

- int64 → a JSON integer (``30``)
- finite float64 → a JSON number with a ``.0`` or an exponent (``30.0``, ``1e20``);
  orjson always writes one, so a float never reads back as an int
- NaN, ±inf, -0.0 → ``{"$float": base64(8 bytes little-endian)}`` (exact bits)
- bytes → ``{"$bytes": base64}``
- ``Id`` → its string

Round trips are exact: ``loads(dumps(v))`` equals ``v`` in type and bits. Object keys
never start with ``$`` (``normalize_value`` refuses them), so a one-key ``$float``/
``$bytes`` object is unambiguous.

Cost: both directions are one orjson call in the common case. ``dumps`` only walks the
value when orjson's output hints at a special float (it writes those as ``null``,
and -0.0 as ``-0.0``); ``loads`` only walks when the text contains ``"$``.
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
from typing import Any

import orjson

from nbreactive.values.model import UNDEFINED

__all__ = ["dumps", "dumps_bytes", "loads", "loads_typed"]

_F64_LE = struct.Struct("<d")


def _default(value: Any) -> Any:
    # orjson calls this for types it cannot serialize itself.
    if type(value) is bytes or isinstance(value, (bytearray, memoryview)):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if value is UNDEFINED:
        raise TypeError("nr.UNDEFINED cannot be stored; drop the field instead")
    raise TypeError(f"{type(value).__name__} is not a Convex value")


def _special(x: float) -> bool:
    return not math.isfinite(x) or (x == 0.0 and math.copysign(1.0, x) < 0)


def _tag_floats(value: Any) -> Any:
    """Copy of ``value`` with NaN/±inf/-0.0 replaced by ``$float`` objects."""
    t = type(value)
    if t is float:
        if _special(value):
            return {"$float": base64.b64encode(_F64_LE.pack(value)).decode("ascii")}
        return value
    if t is list or t is tuple:
        return [_tag_floats(x) for x in value]
    if t is dict:
        return {k: _tag_floats(x) for k, x in value.items() if x is not UNDEFINED}
    return value


def _has_special(value: Any) -> bool:
    """Whether ``value`` contains NaN, ±inf or -0.0 (no allocation)."""
    t = type(value)
    if t is float:
        return _special(value)
    if t is dict:
        value = value.values()
    elif t is not list and t is not tuple:
        return False
    for x in value:
        tx = type(x)
        if tx is float:
            if _special(x):
                return True
        elif (tx is dict or tx is list or tx is tuple) and _has_special(x):
            return True
    return False


def dumps_bytes(value: Any) -> bytes:
    """``dumps`` returning UTF-8 bytes (skips the decode when bytes are wanted)."""
    out = orjson.dumps(value, default=_default)
    # orjson writes NaN/±inf as null and -0.0 as "-0.0": only then can a fix-up be
    # needed. null is common (None), so confirm with a cheap walk before rebuilding.
    if (b"null" in out or b"-0.0" in out) and _has_special(value):
        out = orjson.dumps(_tag_floats(value), default=_default)
    return out


def dumps(value: Any) -> str:
    """Encode a normalized Convex value as exact JSON text.

    Raises:
        TypeError: ``value`` contains something that is not a Convex value.

    Example::

        dumps({"n": 1, "x": 1.0, "b": b"\\x00"})
        # '{"n":1,"x":1.0,"b":{"$bytes":"AA=="}}'
    """
    return dumps_bytes(value).decode("utf-8")


def _untag(value: Any) -> Any:
    t = type(value)
    if t is dict:
        if len(value) == 1:
            ((key, payload),) = value.items()
            if key == "$float":
                return _F64_LE.unpack(base64.b64decode(payload))[0]
            if key == "$bytes":
                # strict: text a person typed may not be base64 at all ("!!" is not b"")
                return base64.b64decode(payload, validate=True)
        return {k: _untag(x) for k, x in value.items()}
    if t is list:
        return [_untag(x) for x in value]
    return value


def loads(text: str | bytes) -> Any:
    """Decode text written by ``dumps`` back into the exact value.

    Ids come back as plain ``str`` (the column or schema knows the table).
    """
    value = orjson.loads(text)
    marker = '"$' if isinstance(text, str) else b'"$'
    if marker not in text:  # type: ignore[operator]
        return value
    return _untag(value)


_LONG_INT = re.compile(r"\d{20}")


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_typed(text: str) -> Any:
    """``loads`` for JSON a person typed (the data browser's editor and range inputs).

    orjson reads an integer beyond 2**64 as a float, silently: such text (20 digits or
    more in a row) is read again with Python's json, which keeps the integer exact, so
    that it is refused as too large for an int64 like 2**63 is, never stored rounded.
    """
    if _LONG_INT.search(text) is None:
        return loads(text)
    return _untag(json.loads(text, parse_constant=_not_json))
