"""Convex's size accounting of values and documents, and the 1 MiB document limit.

Sizes are counted the way convex-js counts them (``getConvexSize``,
``getDocumentSize``): they decide the document limit, the bytes-read limit of a
transaction and the limits on scheduled arguments and function results.
"""

from __future__ import annotations

from typing import Any

from nbreactive.errors import ValidationError
from nbreactive.values.model import MAX_DOCUMENT_SIZE, UNDEFINED, Id, type_name

__all__ = [
    "SYSTEM_FIELD_CREATION_TIME_SIZE",
    "SYSTEM_FIELD_ID_ESTIMATE",
    "check_document_size",
    "document_size",
    "value_size",
]


def _utf8_len(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def value_size(value: Any) -> int:
    """Convex's size accounting of a value, in bytes (``getConvexSize``).

    null/boolean 1; int64/float64 9; string and bytes 2 + length in bytes; array
    2 + sum of elements; object 2 + sum of (key bytes + 1 + value size), ignoring
    ``UNDEFINED`` fields. O(size of the value).
    """
    t = type(value)
    if t is str or t is Id:
        return 2 + _utf8_len(value)
    if t is int or t is float:
        return 9
    if t is bool or value is None:
        return 1
    if t is bytes or t is bytearray or t is memoryview:
        return 2 + len(value)
    if t is dict:
        size = 2
        for k, x in value.items():
            if x is not UNDEFINED:
                size += _utf8_len(k) + 1 + value_size(x)
        return size
    if t is list or t is tuple:
        size = 2
        for x in value:
            size += value_size(x)
        return size
    if value is UNDEFINED:
        return 0
    raise ValidationError(f"{type_name(value)} is not a Convex value", value=value)


#: Size charged for a missing ``_id`` (as convex-js ``SYSTEM_FIELD_ID_ESTIMATE``).
SYSTEM_FIELD_ID_ESTIMATE = 38
#: Size of ``_creationTime`` (key + 1 + float64).
SYSTEM_FIELD_CREATION_TIME_SIZE = 23


def document_size(doc: dict[str, Any]) -> int:
    """Size of a document as Convex counts it against the 1 MiB limit.

    ``value_size(doc)`` plus estimates for ``_id`` (38) and ``_creationTime`` (23)
    when they are not present yet, like convex-js ``getDocumentSize``.
    """
    size = value_size(doc)
    if doc.get("_id", UNDEFINED) is UNDEFINED:
        size += SYSTEM_FIELD_ID_ESTIMATE
    if doc.get("_creationTime", UNDEFINED) is UNDEFINED:
        size += SYSTEM_FIELD_CREATION_TIME_SIZE
    return size


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= (1 << 20) else f"{n / 1024:.1f} KiB"


def check_document_size(doc: dict[str, Any]) -> int:
    """Raise ``ValidationError`` if ``doc`` is larger than ``MAX_DOCUMENT_SIZE``.

    Returns:
        the document size in bytes (see ``document_size``).
    """
    size = document_size(doc)
    if size > MAX_DOCUMENT_SIZE:
        raise ValidationError(
            f"document is {_mib(size)} ({size} bytes), larger than the 1 MiB limit; "
            "store large data in file storage or split it over several documents",
            value=None,
        )
    return size
