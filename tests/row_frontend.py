"""What a browser keeps of a row table (``js/lib/table.js``), fed by the kernel's
messages: the row count and a cache of rows by index. Tests of ``LiveWidget`` and
``BrowserWidget`` install it as the widget's ``send``."""

from __future__ import annotations

import threading
from typing import Any

import orjson

Row = tuple[str, list[list[str]]]


class RowFrontEnd:
    def __init__(self, widget: Any) -> None:
        self.widget = widget
        self.messages: list[dict[str, Any]] = []
        self.rows: dict[int, Row] = {}
        self.row_count = widget.row_count
        self.lock = threading.Lock()
        widget.send = self.receive

    def receive(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        with self.lock:
            self.messages.append(content)
            block = orjson.loads(bytes(buffers[0])) if buffers else None
            kind = content["type"]
            if kind == "reset":
                self.rows.clear()
            elif kind == "rows":
                assert block is not None
                for k, (i, c) in enumerate(zip(block["ids"], block["cells"], strict=True)):
                    self.rows[content["start"] + k] = (i, c)
            elif kind == "patch":
                assert block is not None
                self.apply_ops(content["ops"], list(zip(block["ids"], block["cells"], strict=True)))
            if kind in ("reset", "rows", "patch"):
                self.row_count = content["row_count"]

    def apply_ops(self, ops: list[list[int]], sent: list[Row]) -> None:
        k = 0
        for at, removed, inserted, first, count in ops:
            assert at <= first and first + count <= at + inserted, "rows sent outside their op"
            moved: dict[int, Row] = {}
            for i, row in self.rows.items():
                if i < at:
                    moved[i] = row
                elif i >= at + removed:
                    moved[i + inserted - removed] = row
            for j in range(count):
                moved[first + j] = sent[k]
                k += 1
            self.rows = moved
        assert k == len(sent), "every row sent belongs to an op"

    def patches(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "patch"]

    def ask(self, start: int, end: int) -> None:
        self.widget._on_front_end_msg(self.widget, {"type": "window", "start": start, "end": end}, [])

    def expected(self) -> list[Row]:
        """The rows the widget shows, as the front end would hold them."""
        from nbreactive.widgets.cells import row_cells

        cols = list(self.widget.columns)
        return [(str(d["_id"]), row_cells(d, cols)) for d in self.widget._rows]

    def shown(self) -> list[Row]:
        with self.lock:
            return [self.rows[i] for i in range(self.row_count) if i in self.rows]

    def wrong_rows(self, expected: list[Row]) -> list[int]:
        """Indexes of the rows held that differ from ``expected`` (the full table)."""
        with self.lock:
            return [i for i, row in self.rows.items() if i >= len(expected) or expected[i] != row]
