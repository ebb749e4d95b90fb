"""Pagination cursors and options.

A cursor names a *position in the index key space* of one query: "after key K" or
"the end". Because it is a position and not an offset, inserting or deleting
documents between two ``paginate`` calls neither skips nor repeats the others, as
in Convex (``crates/common/src/query.rs``: ``CursorPosition::After(key) | End``).

A cursor also carries the first 8 bytes of the plan's fingerprint, so a cursor
handed to a different query (another table, index, range, order or filter) is
refused with ``InvalidCursorError`` instead of returning a wrong page.

Format (version 1), urlsafe base64 without padding of::

    0x01 | fingerprint[:8] | kind (0x00 end, 0x01 after) | n | label (n bytes UTF-8) | key

``label`` is ``"table.index"`` (for the error message only). Cursors are opaque but
not encrypted: the key holds the indexed values of the last document read, like the
document itself on the page.
"""

from __future__ import annotations

import base64
import binascii
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nbreactive.errors import InvalidCursorError, QueryError
from nbreactive.query.plan import QueryPlan

__all__ = [
    "MAX_PAGE_SIZE",
    "CursorPosition",
    "PageJournal",
    "PaginationOptions",
    "decode_cursor",
    "encode_cursor",
    "parse_pagination_options",
]

#: Largest ``numItems`` (Convex's ``PageSizeTooLarge`` limit, its documents-read limit).
MAX_PAGE_SIZE = 32_000

_VERSION = 1
_FP_LEN = 8
_KIND_END = 0
_KIND_AFTER = 1
_MAX_LABEL = 100

_START_AGAIN = "start again with cursor None"


@dataclass
class PageJournal:
    """Stable page boundaries for a live paginated query (Convex's ``QueryJournal``).

    The first run of a live query records where its page ended (``recorded``: the
    ``continueCursor`` of the function's first ``paginate`` call). Re-runs hand that
    cursor back (``end_cursor``) and the page keeps covering the same key range
    ``(cursor, end]``: it grows and shrinks with inserts and deletes instead of being
    refilled to ``numItems``, so consecutive pages never overlap or leave gaps. An
    explicit ``endCursor`` option takes precedence. Only the first ``paginate`` call
    of a function uses the journal.
    """

    end_cursor: str | None = None
    recorded: str | None = None
    used: bool = False


@dataclass(frozen=True)
class CursorPosition:
    """A decoded cursor: ``after`` is the last key already returned, ``None`` for the end."""

    after: bytes | None

    @property
    def is_end(self) -> bool:
        """True for the cursor past the last document."""
        return self.after is None


def _label(plan: QueryPlan) -> str:
    return f"{plan.table}.{plan.index}"


def _fingerprint(plan: QueryPlan) -> bytes:
    return bytes.fromhex(plan.fingerprint())[:_FP_LEN]


def encode_cursor(plan: QueryPlan, after: bytes | None) -> str:
    """The opaque cursor string for a position of ``plan``.

    Args:
        plan: the query the cursor belongs to.
        after: the last index key already returned, or ``None`` for "the end".

    Example::

        encode_cursor(plan, None)  # the continueCursor of the last page
    """
    label = _label(plan).encode("utf-8")[:_MAX_LABEL]
    kind = _KIND_END if after is None else _KIND_AFTER
    raw = bytes([_VERSION]) + _fingerprint(plan) + bytes([kind, len(label)]) + label
    if after is not None:
        raw += after
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: Any, plan: QueryPlan) -> CursorPosition:
    """Check that ``cursor`` belongs to ``plan`` and return its position.

    Raises:
        InvalidCursorError: not a string, corrupt, from another version, or returned
            by a different query.

    Cost: O(len(cursor)) plus one plan fingerprint (a SHA-256 of the plan's JSON).
    """
    if not isinstance(cursor, str):
        raise InvalidCursorError(
            f"A cursor must be a string (a continueCursor returned by paginate()) or None "
            f"for the first page, got {type(cursor).__name__} {cursor!r:.60}."
        )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _corrupt("it is not in the cursor format") from None
    header = 1 + _FP_LEN + 2
    if len(raw) < header:
        raise _corrupt("it is too short")
    if raw[0] != _VERSION:
        raise InvalidCursorError(
            f"This cursor was made by a different version of nbreactive (format {raw[0]}); "
            f"cursors do not survive upgrades: {_START_AGAIN}."
        )
    kind = raw[1 + _FP_LEN]
    n = raw[2 + _FP_LEN]
    if kind not in (_KIND_END, _KIND_AFTER) or len(raw) < header + n:
        raise _corrupt("it is damaged")
    try:
        label = raw[header : header + n].decode("utf-8")
    except UnicodeDecodeError:
        raise _corrupt("it is damaged") from None
    key = raw[header + n :]
    if kind == _KIND_END and key:
        raise _corrupt("it is damaged")
    if raw[1 : 1 + _FP_LEN] != _fingerprint(plan):
        mine = _label(plan)
        if label != mine:
            detail = f"it belongs to a query on {label}; this one reads {mine}"
        else:
            detail = f"it belongs to a query on {label} with a different range, order or filters"
        raise InvalidCursorError(
            f"This cursor was returned by a different query ({detail}). Cursors are only "
            f"valid for the exact query that produced them; {_START_AGAIN}."
        )
    return CursorPosition(None if kind == _KIND_END else key)


def _corrupt(why: str) -> InvalidCursorError:
    return InvalidCursorError(
        f"This cursor is not valid: {why}. Pass the continueCursor that paginate() "
        f"returned for this same query, or {_START_AGAIN} for the first page."
    )


# ---------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PaginationOptions:
    """Checked ``paginate`` options (see ``parse_pagination_options``)."""

    num_items: int
    cursor: str | None
    end_cursor: str | None = None
    maximum_rows_read: int | None = None
    maximum_bytes_read: int | None = None


_KNOWN = ("numItems", "cursor", "endCursor", "maximumRowsRead", "maximumBytesRead", "id")


def parse_pagination_options(opts: Any) -> PaginationOptions:
    """Check Convex's ``paginationOpts`` dict and return it as ``PaginationOptions``.

    ``{"numItems": n, "cursor": str | None, "endCursor"?: str | None,
    "maximumRowsRead"?: int, "maximumBytesRead"?: int, "id"?: any}``. ``numItems``
    is an integer from 1 to ``MAX_PAGE_SIZE`` (an integral float such as ``10.0``,
    which JavaScript clients send, is accepted); the maxima are positive integers.
    ``id`` (used by Convex's React hook) is accepted and ignored.

    Raises:
        QueryError: saying which option is wrong and what it should be.
    """
    if not isinstance(opts, Mapping):
        raise QueryError(
            'paginate() takes a dict like {"numItems": 10, "cursor": None}, '
            f"got {type(opts).__name__}."
        )
    unknown = sorted(str(k) for k in opts if k not in _KNOWN)
    if unknown:
        raise QueryError(
            f"paginate() got unknown option(s) {unknown}; the options are numItems, cursor, "
            "endCursor, maximumRowsRead and maximumBytesRead."
        )
    if "numItems" not in opts or "cursor" not in opts:
        raise QueryError(
            'paginate() needs both "numItems" and "cursor": {"numItems": 10, "cursor": None} '
            "for the first page, then the previous page's continueCursor."
        )
    num = _integer(opts["numItems"], "numItems")
    if num < 1:
        raise QueryError(
            f'paginate(): "numItems" must be at least 1, got {num}. '
            "A page always asks for at least one document."
        )
    if num > MAX_PAGE_SIZE:
        raise QueryError(
            f'paginate(): "numItems" is {num}, more than the {MAX_PAGE_SIZE} a page may hold; '
            "ask for smaller pages."
        )
    cursor = opts["cursor"]
    end_cursor = opts.get("endCursor")
    for name, c in (("cursor", cursor), ("endCursor", end_cursor)):
        if c is not None and not isinstance(c, str):
            raise InvalidCursorError(
                f'paginate(): "{name}" must be a cursor string returned by paginate() or None, '
                f"got {type(c).__name__}."
            )
    maxima: list[int | None] = []
    for name in ("maximumRowsRead", "maximumBytesRead"):
        value = opts.get(name)
        if value is None:
            maxima.append(None)
            continue
        n = _integer(value, name)
        if n < 1:
            raise QueryError(f'paginate(): "{name}" must be at least 1, got {n}.')
        maxima.append(n)
    return PaginationOptions(num, cursor, end_cursor, maxima[0], maxima[1])


def _integer(value: Any, name: str) -> int:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    whole = as_integer(value)
    if whole is not None:
        return whole
    raise QueryError(f'paginate(): "{name}" must be an integer, got {value!r}.')


def as_integer(value: Any) -> int | None:
    """``value`` as an ``int`` if it is an integer of another type (a NumPy or pandas
    integer, e.g. read from a DataFrame; not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)
