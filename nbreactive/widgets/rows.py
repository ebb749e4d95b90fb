"""The kernel side of the row protocol shared by ``LiveWidget`` and ``BrowserWidget``.

Both keep an ordered result in the kernel (``_result`` in its own order, ``_rows`` as
shown) and answer the front end's ``window`` and ``sort`` requests the same way; see
``nbreactive/widgets/live.py`` for the messages.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

from nbreactive.values.keys import encode_value
from nbreactive.values.model import UNDEFINED
from nbreactive.widgets.cells import row_cells

__all__ = ["MAX_WINDOW_ROWS", "RowsProtocol"]

#: Most rows one window request may ask for.
MAX_WINDOW_ROWS = 2000

Doc = dict[str, Any]


class RowsProtocol:
    """Mixin: needs ``_lock``, ``_rows``, ``_result`` and the traits ``columns``,
    ``sort``, ``version`` and ``send`` of an anywidget."""

    _lock: threading.RLock
    _rows: list[Doc]
    _result: list[Doc]
    columns: Any
    sort: Any
    version: Any
    send: Any

    def _sorted(self, docs: list[Doc]) -> list[Doc]:
        if not self.sort:
            return docs
        column, direction = self.sort
        return sorted(docs, key=lambda d: encode_value(d.get(column, UNDEFINED)),
                      reverse=direction == "desc")

    def _encode(self, docs: list[Doc]) -> bytes:
        columns = list(self.columns)
        return orjson.dumps(
            {"ids": [str(d["_id"]) for d in docs], "cells": [row_cells(d, columns) for d in docs]}
        )

    def _send_window(self, start: int, end: int) -> None:
        with self._lock:
            rows = self._rows
            start = max(0, min(start, len(rows)))
            end = max(start, min(end, len(rows), start + MAX_WINDOW_ROWS))
            self.send(
                {"type": "rows", "version": self.version, "start": start, "row_count": len(rows)},
                buffers=[self._encode(rows[start:end])],
            )

    def _resort(self, column: Any, direction: Any) -> None:
        with self._lock:
            if column is None or direction not in ("asc", "desc") or column not in self.columns:
                self.sort = []
            else:
                self.sort = [column, direction]
            self._rows = self._sorted(self._result)
            self.version += 1
            self.send({"type": "reset", "version": self.version, "row_count": len(self._rows)})
