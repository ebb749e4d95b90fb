"""The change between two ordered results, as one splice.

A commit usually changes a live table in one place: a row inserted, removed or
changed. ``splice(old, new)`` finds the longest common prefix and suffix (compared
a chunk at a time with C-level list equality, so a million unchanged rows cost
milliseconds) and returns ``(at, removed, inserted)``: ``old[at:at + removed]`` is
replaced by ``new[at:at + inserted]``. Sending that, plus the inserted rows, is all
the front end needs, whatever the size of the result.
"""

from __future__ import annotations

from typing import Any

__all__ = ["splice"]

_CHUNK = 1024


def _common_prefix(a: list[Any], b: list[Any], limit: int) -> int:
    n = 0
    while n < limit:
        step = min(_CHUNK, limit - n)
        if a[n : n + step] == b[n : n + step]:
            n += step
            continue
        while n < limit and a[n] == b[n]:
            n += 1
        return n
    return n


def _common_suffix(a: list[Any], b: list[Any], limit: int) -> int:
    la, lb = len(a), len(b)
    n = 0
    while n < limit:
        step = min(_CHUNK, limit - n)
        if a[la - n - step : la - n] == b[lb - n - step : lb - n]:
            n += step
            continue
        while n < limit and a[la - n - 1] == b[lb - n - 1]:
            n += 1
        return n
    return n


def splice(old: list[Any], new: list[Any]) -> tuple[int, int, int]:
    """``(at, removed, inserted)`` such that replacing ``old[at:at+removed]`` with
    ``new[at:at+inserted]`` turns ``old`` into ``new``. ``(len, 0, 0)`` if equal."""
    shortest = min(len(old), len(new))
    at = _common_prefix(old, new, shortest)
    tail = _common_suffix(old, new, shortest - at)
    return at, len(old) - at - tail, len(new) - at - tail
