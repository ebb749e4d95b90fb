"""Telling results apart: the fingerprints that decide whether a re-run changed a
live query's result (and so whether anyone is notified)."""

from __future__ import annotations

from typing import Any

import orjson

from nbreactive.values.keys import encode_value

__all__ = ["error_fingerprint", "fingerprint", "identity_key", "kept_fingerprint", "same_result"]


def identity_key(identity: dict[str, Any] | None) -> bytes:
    return b"" if identity is None else encode_value(identity)


def fingerprint(value: Any) -> bytes:
    """Bytes that differ whenever two results differ (see ``same_result``)."""
    return orjson.dumps(value, default=_fp_default)


def kept_fingerprint(fp: bytes) -> bytes:
    """``fp`` to keep beside a result: orjson hands its text back in a buffer of at
    least 4 KiB however short the text, which a kept fingerprint would hold for as
    long as its result lives (per live query and cached result). A copy is exact."""
    return bytes(memoryview(fp))


def _fp_default(x: Any) -> Any:
    if isinstance(x, bytes):
        return {"$bytes": x.hex()}
    raise TypeError(f"not a value: {type(x).__name__}")


def same_result(old: Any, old_fp: bytes | None, new: Any, new_fp: bytes) -> bool:
    """Exact equality of two results given their fingerprints.

    The JSON text tells int64 from float64 from boolean (``1``, ``1.0``, ``true``)
    and keeps -0.0; it conflates only NaN with null and bytes with an object shaped
    like ``{"$bytes": ...}``, which Python's ``==`` then tells apart. Python's
    ``==`` alone would call ``1 == 1.0 == True`` equal.
    """
    if old_fp != new_fp:
        return False
    if old == new:
        return True
    return encode_value(old) == encode_value(new)  # NaN-bearing values: compare exactly


def error_fingerprint(error: BaseException) -> bytes:
    data = getattr(error, "data", None)
    try:
        data_fp = fingerprint(data)
    except TypeError:
        data_fp = repr(data).encode()
    return b"error:" + type(error).__qualname__.encode() + b":" + str(error).encode() + b":" + data_fp
