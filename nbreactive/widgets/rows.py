"""The kernel side of the row protocol shared by ``LiveWidget`` and ``BrowserWidget``.

Both keep an ordered result in the kernel and answer the front end the same way
(``js/lib/table.js`` is the other side):

- front end → kernel ``{"type": "window", "start", "end", "request"}``: the rows it
  shows; kernel → front end ``{"type": "rows", "version", "start", "row_count",
  "request"}`` + one JSON buffer ``{"ids": [...], "cells": [[[tag, text], ...], ...]}``
  (a cut text's cell is ``[tag, text, tooltip]``: ``nbreactive/widgets/cells.py``)
  (one request in flight at a time; rows older than the front end's version are
  dropped and asked for again); ``{"type": "view", "start", "end"}`` when it scrolled
  over rows it already holds, so that patches carry the rows it shows;
- after a change: ``{"type": "patch", "version", "row_count", "ops", "flash"}``
  + one buffer with the rows sent. Each op ``[at, removed, inserted, first, count]``
  replaces ``removed`` rows at ``at`` by ``inserted`` rows, of which the buffer holds
  ``count`` rows for the indexes ``first, first + 1, ...`` (only those near the window
  the front end last asked for: the others it asks for if it scrolls to them). Ops
  apply in order. A million-row table pays for the rows on screen, not for the
  million; a one-row commit costs one op and one row;
- ``{"type": "reset", "version", "row_count"}`` when the columns or the sort changed
  (or too much moved at once), after which the front end asks for its window again;
- ``{"type": "sort", "column", "dir"}``: the rows are sorted here, in Convex's order
  of values (ties by creation time), and kept sorted *incrementally*: a change
  moves a row with two bisections, never a re-sort.

State (under ``_lock``): ``_result`` in the source's order, ``_rows`` as shown (the
same list when unsorted), ``_keys`` the sort keys of ``_rows`` when sorted.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any

import orjson

from nbreactive.values.keys import encode_value
from nbreactive.values.model import UNDEFINED
from nbreactive.widgets.cells import row_cells
from nbreactive.widgets.diff import Hunk, hunks

__all__ = ["MAX_WINDOW_ROWS", "RowsProtocol"]

#: Most rows one window request may ask for.
MAX_WINDOW_ROWS = 2000
#: Rows beyond the front end's last window (each side) that a patch still carries.
PATCH_MARGIN = 200
#: A sorted view re-sorts (and resets) rather than moving more rows than this one by one.
MAX_MOVES = 256

Doc = dict[str, Any]
Op = tuple[int, int, list[Doc]]  # (at, removed, inserted rows), in the order shown
SortKey = tuple[bytes, Any, str]


def _index(content: dict[str, Any], key: str) -> int:
    """A row index of a front end's message: a finite number, else 0 (a malformed
    request is still answered: the front end waits for one answer at a time)."""
    x = content.get(key, 0)
    if type(x) is int:
        return x
    if type(x) is float and math.isfinite(x):
        return int(x)
    return 0


class _Backwards(Sequence[SortKey]):
    """A descending list of keys seen in ascending order, for ``bisect``."""

    __slots__ = ("keys",)

    def __init__(self, keys: list[SortKey]) -> None:
        self.keys = keys

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: Any) -> Any:
        return self.keys[len(self.keys) - 1 - i]


class RowsProtocol:
    """Mixin: needs ``_lock`` and the traits ``columns``, ``sort``, ``version``,
    ``row_count`` and ``send`` of an anywidget; call ``_init_rows()`` first."""

    _lock: threading.RLock
    columns: Any
    sort: Any
    version: Any
    row_count: Any
    send: Any

    def _init_rows(self) -> None:
        self._result: list[Doc] = []
        self._rows: list[Doc] = self._result
        self._keys: list[SortKey] = []
        self._window = (0, 100)

    # -- sorting --------------------------------------------------------------------

    def _sort_key(self, doc: Doc) -> SortKey:
        return (encode_value(doc.get(self.sort[0], UNDEFINED)), doc.get("_creationTime"), str(doc["_id"]))

    def _sort_all(self) -> None:
        """Rebuild ``_rows`` (and ``_keys``) from ``_result`` for the current sort."""
        if not self.sort:
            self._rows, self._keys = self._result, []
            return
        keyed = sorted(((self._sort_key(d), d) for d in self._result),
                       key=lambda kd: kd[0], reverse=self.sort[1] == "desc")
        self._keys = [k for k, _ in keyed]
        self._rows = [d for _, d in keyed]

    def _ascending(self) -> Sequence[SortKey]:
        return self._keys if self.sort[1] == "asc" else _Backwards(self._keys)

    def _position(self, key: SortKey) -> int:
        """Where ``key`` is (or goes) in ``_rows``."""
        j = bisect_left(self._ascending(), key)
        return j if self.sort[1] == "asc" else len(self._keys) - j

    # -- changes --------------------------------------------------------------------

    def _apply(self, offset: int, changes: list[Hunk], source: list[Doc], *, flash: bool = True) -> None:
        """Apply ``changes`` (hunks of ``diff.hunks``, from ``source``) to ``_result``
        from ``offset`` on, and send the patch (or a reset, if the view was rebuilt)."""
        gone: set[str] = set()
        ops: list[Op] = []
        removed_all: list[Doc] = []
        inserted_all: list[Doc] = []
        for at, removed, inserted in changes:
            start = offset + at
            old = self._result[start : start + removed]
            new = source[at : at + inserted]
            self._result[start : start + removed] = new
            if flash:
                gone.update(str(d["_id"]) for d in old)
            if self.sort:
                removed_all += old
                inserted_all += new
            elif removed or new:
                ops.append((start, removed, new))
        if self.sort:
            moved = self._move_sorted(removed_all, inserted_all)
            if moved is None:
                self._send_reset()
                return
            ops = moved
        if ops:
            self._send_ops(ops, gone if flash else None)

    def _move_sorted(self, old: list[Doc], new: list[Doc]) -> list[Op] | None:
        """Take ``old`` out of the sorted rows and put ``new`` in; the ops, or None when
        so much moved that the rows were sorted again (send a reset)."""
        # A row in both (a hunk may span unchanged rows, or a row moved) stays. Rows are
        # matched as a multiset (a result may list one document twice).
        kept: dict[str, list[Doc]] = {}
        for d in new:
            kept.setdefault(str(d["_id"]), []).append(d)
        gone: list[Doc] = []
        for d in old:
            same = kept.get(str(d["_id"]), [])
            match = next((j for j, c in enumerate(same) if c is d or c == d), None)
            if match is None:
                gone.append(d)
            else:
                del same[match]
        new = [d for ds in kept.values() for d in ds]
        if len(gone) + len(new) > MAX_MOVES:
            self._sort_all()
            return None
        ops: list[Op] = []
        for doc in gone:
            i = self._index_in_sorted(doc)
            if i is None:  # pragma: no cover - the key changed under us (a mutated document)
                self._sort_all()
                return None
            del self._rows[i], self._keys[i]
            ops.append((i, 1, []))
        for doc in new:
            key = self._sort_key(doc)
            i = self._position(key)
            self._rows.insert(i, doc)
            self._keys.insert(i, key)
            if ops and ops[-1][0] == i and ops[-1][1] == 1 and not ops[-1][2]:
                ops[-1] = (i, 1, [doc])  # removed and put back in the same place
            else:
                ops.append((i, 0, [doc]))
        return ops

    def _index_in_sorted(self, doc: Doc) -> int | None:
        """Where ``doc`` itself is in the sorted rows. Keys are not unique — an edit seen
        page by page may briefly hold a document's old and new versions, with one key —
        so among equal keys the row that *is* ``doc`` wins, then one equal to it."""
        key = self._sort_key(doc)
        ascending = self._ascending()
        lo, hi = bisect_left(ascending, key), bisect_right(ascending, key)
        n = len(self._keys)
        span = range(lo, hi) if self.sort[1] == "asc" else range(n - hi, n - lo)
        for i in span:
            if self._rows[i] is doc:
                return i
        for i in span:
            if self._rows[i] == doc:
                return i
        return span[0] if len(span) else None

    def _install(self, docs: list[Doc], *, flash: bool = True, reset: bool = False) -> None:
        """Make ``docs`` the result and tell the front end what changed (as a patch,
        or a reset when ``reset`` or the view had to be rebuilt)."""
        if reset:
            self._result = list(docs)
            self._sort_all()
            self._send_reset()
            return
        self._apply(0, hunks(self._result, docs), docs, flash=flash)

    def _send_reset(self) -> None:
        self.row_count = len(self._rows)
        self.version += 1
        self.send({"type": "reset", "version": self.version, "row_count": len(self._rows)})

    def _send_ops(self, ops: list[Op], gone: set[str] | None) -> None:
        ws, we = self._window
        wire: list[list[int]] = []
        sent: list[Doc] = []
        flashes: list[list[str]] = []
        for at, removed, docs in ops:
            first, last = max(at, ws - PATCH_MARGIN), min(at + len(docs), we + PATCH_MARGIN)
            if last > first:
                rows = docs[first - at : last - at]
                sent += rows
                if gone is not None:
                    flashes += [[i, "changed" if i in gone else "added"] for i in (str(d["_id"]) for d in rows)]
            else:
                first = last = at
            wire.append([at, removed, len(docs), first, last - first])
        # The window stays at its indexes: the front end keeps its scroll position, so
        # after rows arrive above it, it shows other rows at the same indexes.
        self.row_count = len(self._rows)
        self.version += 1
        self.send(
            {"type": "patch", "version": self.version, "row_count": len(self._rows),
             "ops": wire, "flash": flashes},
            buffers=[self._encode(sent)],
        )

    # -- the front end's requests -------------------------------------------------------

    def _row_request(self, content: dict[str, Any]) -> bool:
        """Answer a row message of the front end (``window``, ``view``, ``sort``); whether
        ``content`` was one."""
        kind = content.get("type")
        if kind == "window":
            self._send_window(_index(content, "start"), _index(content, "end"), content.get("request"))
        elif kind == "view":
            self._note_view(_index(content, "start"), _index(content, "end"))
        elif kind == "sort":
            self._resort(content.get("column"), content.get("dir"))
        else:
            return False
        return True

    def _encode(self, docs: list[Doc]) -> bytes:
        columns = list(self.columns)
        return orjson.dumps(
            {"ids": [str(d["_id"]) for d in docs], "cells": [row_cells(d, columns) for d in docs]}
        )

    def _send_window(self, start: int, end: int, request: Any = None) -> None:
        with self._lock:
            rows = self._rows
            start = max(0, start)
            end = max(start, min(end, start + MAX_WINDOW_ROWS))
            self._window = (start, end)  # what the front end shows, also beyond the rows
            start, end = min(start, len(rows)), min(end, len(rows))
            self.send(
                {"type": "rows", "version": self.version, "start": start, "row_count": len(rows),
                 "request": request if type(request) is int else None},
                buffers=[self._encode(rows[start:end])],
            )

    def _note_view(self, start: int, end: int) -> None:
        with self._lock:
            start = max(0, start)
            self._window = (start, max(start, min(end, start + MAX_WINDOW_ROWS)))

    def _resort(self, column: Any, direction: Any) -> None:
        with self._lock:
            if column is None or direction not in ("asc", "desc") or column not in self.columns:
                self.sort = []
            else:
                self.sort = [column, direction]
            self._sort_all()
            self._send_reset()
