"""The change between two ordered results, as a few splices.

A commit usually changes a live table in one or two places: a row inserted, removed
or changed — and, for a ``take(n)`` newest first, one row in at the top and one out
at the bottom. ``hunks(old, new)`` finds them:

1. the longest common prefix and suffix, compared a chunk at a time with C-level list
   equality, so a million unchanged rows cost milliseconds;
2. in what is left, Myers' O(ND) difference algorithm (on the rows themselves, with
   runs of equal rows also compared a chunk at a time), giving up — one splice for
   the whole middle — beyond ``max_edits`` insertions and deletions.

Each hunk ``(at, removed, inserted)`` replaces ``removed`` rows at ``at`` by
``new[at:at + inserted]``; applied in order they turn ``old`` into ``new`` (``at`` is
an index in the list as it is when the hunk applies, which is also its index in
``new``). ``splice(old, new)`` is the one-splice form.
"""

from __future__ import annotations

from typing import Any

__all__ = ["hunks", "splice"]

_CHUNK = 1024
_RUN_CHUNK = 32
#: Most insertions + deletions ``hunks`` looks for before settling for one splice.
MAX_EDITS = 64

Hunk = tuple[int, int, int]


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


def _run(a: list[Any], x: int, b: list[Any], y: int) -> int:
    """How many rows from ``a[x]`` and ``b[y]`` on are equal."""
    n, na, nb = 0, len(a) - x, len(b) - y
    limit = min(na, nb)
    while n < limit:
        step = min(_RUN_CHUNK, limit - n)
        if step > 1 and a[x + n : x + n + step] == b[y + n : y + n + step]:
            n += step
            continue
        while n < limit and a[x + n] == b[y + n]:
            n += 1
        return n
    return n


def _myers(a: list[Any], b: list[Any], max_edits: int) -> list[tuple[int, int, int]] | None:
    """The matching runs ``(x, y, length)`` of a shortest edit script, or None when it
    needs more than ``max_edits`` edits."""
    n, m = len(a), len(b)
    v: dict[int, int] = {1: 0}
    trace: list[dict[int, int]] = []
    for d in range(max_edits + 1):
        trace.append(dict(v))
        for k in range(-d, d + 1, 2):
            # down (an insertion) from diagonal k + 1, or right (a deletion) from k - 1
            x = v[k + 1] if k == -d or (k != d and v[k - 1] < v[k + 1]) else v[k - 1] + 1
            y = x - k
            if x < n and y < m:
                x += _run(a, x, b, y)
            v[k] = x
            if x >= n and x - k >= m:
                return _backtrack(trace, n, m, d)
    return None


def _backtrack(trace: list[dict[int, int]], n: int, m: int, d_end: int) -> list[tuple[int, int, int]]:
    runs: list[tuple[int, int, int]] = []
    x, y = n, m
    for d in range(d_end, 0, -1):
        v = trace[d]
        k = x - y
        if k == -d or (k != d and v[k - 1] < v[k + 1]):
            prev_k = k + 1
            prev_x = v[prev_k]
            prev_y = prev_x - prev_k
            start_x, start_y = prev_x, prev_y + 1
        else:
            prev_k = k - 1
            prev_x = v[prev_k]
            prev_y = prev_x - prev_k
            start_x, start_y = prev_x + 1, prev_y
        if x > start_x:
            runs.append((start_x, start_y, x - start_x))
        x, y = prev_x, prev_y
    if x > 0:  # the snake of d = 0
        runs.append((0, 0, x))
    runs.reverse()
    return runs


def hunks(old: list[Any], new: list[Any], max_edits: int = MAX_EDITS) -> list[Hunk]:
    """The hunks turning ``old`` into ``new`` (see the module docstring); ``[]`` if equal."""
    at, removed, inserted = splice(old, new)
    if removed == 0 and inserted == 0:
        return []
    if removed == 0 or inserted == 0 or removed + inserted <= 2:
        return [(at, removed, inserted)]
    a, b = old[at : at + removed], new[at : at + inserted]
    runs = _myers(a, b, max_edits)
    if runs is None:
        return [(at, removed, inserted)]
    out: list[Hunk] = []
    x = y = 0
    for rx, ry, length in [*runs, (len(a), len(b), 0)]:
        if rx > x or ry > y:
            out.append((at + y, rx - x, ry - y))
        x, y = rx + length, ry + length
    return out
