"""Convex's JSON wire encoding (``convex-js:src/values/value.ts``).

What the official clients send and expect:

- int64 → ``{"$integer": base64(8 bytes, little-endian two's complement)}``
- float64 that is NaN, ±inf or -0.0 → ``{"$float": base64(8 bytes LE)}``; every other
  float is a plain JSON number
- bytes → ``{"$bytes": base64}``
- a plain JSON number from the wire is a **float64** (JavaScript has no ints), so
  ``from_wire(3) == 3.0``
- object keys starting with ``$`` are reserved; other ``$`` objects are refused
- ``UNDEFINED`` is not a value: dropped as an object field, refused in arrays
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from typing import Any

from nbreactive.values.model import (
    UNDEFINED,
    Id,
    _Invalid,
    _refuse,
    short_repr,
)

__all__ = ["from_wire", "timestamp_from_wire", "timestamp_to_wire", "to_clean_json", "to_wire"]

_F64_LE = struct.Struct("<d")
_U64_LE = struct.Struct("<Q")
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def timestamp_to_wire(ts: int) -> str:
    """A u64 timestamp as the sync protocol sends it: base64 of 8 little-endian bytes."""
    return _b64(_U64_LE.pack(ts))


def timestamp_from_wire(text: Any) -> int:
    """The inverse of ``timestamp_to_wire``; ValueError for anything else."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (TypeError, binascii.Error) as e:
        raise ValueError(f"a timestamp is base64 of 8 little-endian bytes, got {text!r}") from e
    if len(raw) != 8:
        raise ValueError(f"a timestamp is base64 of 8 little-endian bytes, got {text!r}")
    return int(_U64_LE.unpack(raw)[0])


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise _Invalid(f"{what} must hold a base64 string, got {short_repr(text)}", text)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid(f"{what} holds invalid base64 {short_repr(text)}", text) from None


def _float_needs_tag(x: float) -> bool:
    return not math.isfinite(x) or (x == 0.0 and math.copysign(1.0, x) < 0)


def _to(value: Any) -> Any:
    t = type(value)
    if t is str or t is Id:
        return str(value)
    if t is bool or value is None:
        return value
    if t is float:
        if _float_needs_tag(value):
            return {"$float": _b64(_F64_LE.pack(value))}
        return value
    if t is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise _Invalid(f"int {short_repr(value)} does not fit in int64", value)
        return {"$integer": _b64(value.to_bytes(8, "little", signed=True))}
    if t is bytes or t is bytearray or t is memoryview:
        return {"$bytes": _b64(bytes(value))}
    if t is list or t is tuple:
        out = []
        for i, x in enumerate(value):
            if x is UNDEFINED:
                hole = _Invalid("nr.UNDEFINED is not allowed inside an array; use None", x)
                hole.parts.append(i)
                raise hole
            try:
                out.append(_to(x))
            except _Invalid as e:
                e.parts.append(i)
                raise
        return out
    if t is dict:
        obj = {}
        for k, x in value.items():
            if x is UNDEFINED:
                continue
            if not isinstance(k, str) or k.startswith("$"):
                raise _Invalid(f"object key {short_repr(k)} is not allowed on the wire", k)
            try:
                obj[str(k)] = _to(x)
            except _Invalid as e:
                e.parts.append(k)
                raise
        return obj
    _refuse(value)


def to_wire(value: Any) -> Any:
    """Encode a Convex value as Convex wire JSON (a JSON-serializable Python object).

    ``Id`` becomes a plain string. O(size of the value).

    Raises:
        ValidationError: ``value`` is not a Convex value.

    Example::

        to_wire({"n": 1, "x": 1.5})  # {"n": {"$integer": "AQAAAAAAAAA="}, "x": 1.5}
    """
    try:
        return _to(value)
    except _Invalid as e:
        raise e.to_error() from None


def _from(obj: Any) -> Any:
    t = type(obj)
    if t is str or t is float or t is bool or obj is None:
        return obj
    if t is int:
        try:
            return float(obj)  # JSON numbers are float64 in Convex
        except OverflowError:
            raise _Invalid(
                f"JSON number {short_repr(obj)} is too large for a float64", obj
            ) from None
    if t is list:
        out = []
        for i, x in enumerate(obj):
            try:
                out.append(_from(x))
            except _Invalid as e:
                e.parts.append(i)
                raise
        return out
    if t is dict:
        if len(obj) == 1:
            ((key, payload),) = obj.items()
            if key == "$integer":
                raw = _unb64(payload, "$integer")
                if len(raw) != 8:
                    raise _Invalid(f"$integer must hold 8 bytes, got {len(raw)}", obj)
                return int.from_bytes(raw, "little", signed=True)
            if key == "$float":
                raw = _unb64(payload, "$float")
                if len(raw) != 8:
                    raise _Invalid(f"$float must hold 8 bytes, got {len(raw)}", obj)
                return _F64_LE.unpack(raw)[0]
            if key == "$bytes":
                return _unb64(payload, "$bytes")
        out_obj = {}
        for k, x in obj.items():
            if k.startswith("$"):
                raise _Invalid(
                    f"object key {k!r} starts with '$', which is reserved for "
                    "$integer, $float and $bytes",
                    obj,
                )
            try:
                out_obj[k] = _from(x)
            except _Invalid as e:
                e.parts.append(k)
                raise
        return out_obj
    raise _Invalid(f"{type(obj).__name__} is not JSON", obj)


def from_wire(obj: Any) -> Any:
    """Decode Convex wire JSON (as parsed by a JSON library) into a Python value.

    ``{"$integer": ...}`` → ``int``; JSON numbers → ``float`` (even ``3``);
    ``{"$float": ...}`` → ``float``; ``{"$bytes": ...}`` → ``bytes``. O(size).

    Raises:
        ValidationError: a malformed ``$`` object, or another key starting with ``$``.
    """
    try:
        return _from(obj)
    except _Invalid as e:
        raise e.to_error() from None


def to_clean_json(wire: Any) -> Any:
    """Wire JSON (``to_wire``'s output) in Convex's lossy ``json`` format, the one its
    HTTP API answers with ``format: "json"`` (``convex-backend:crates/value/src/export.rs``):
    int64 as a base-10 string, bytes as base64, NaN and ±Infinity as ``"NaN"``,
    ``"Infinity"``, ``"-Infinity"``; everything else as it is. O(size)."""
    if type(wire) is list:
        return [to_clean_json(x) for x in wire]
    if type(wire) is not dict:
        return wire
    if len(wire) == 1:
        ((key, payload),) = wire.items()
        if key == "$integer":
            return str(int.from_bytes(base64.b64decode(payload), "little", signed=True))
        if key == "$bytes":
            return payload
        if key == "$float":
            x = _F64_LE.unpack(base64.b64decode(payload))[0]
            if math.isnan(x):
                return "NaN"
            if math.isinf(x):
                return "Infinity" if x > 0 else "-Infinity"
            return x
    return {k: to_clean_json(x) for k, x in wire.items()}
