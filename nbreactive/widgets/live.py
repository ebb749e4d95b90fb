"""``app.live(ref, args)``: a widget showing a live query's result.

A list of documents is a table; any other value is shown formatted; a failing
query shows its error (and recovers when the data does). The ``value`` trait
holds the current result for Python code (``observe``/``link`` work); it is not
synced to the front end.

The front end is virtualized and incremental:

- it asks for the rows it shows (``{"type": "window", "start", "end"}``) and gets
  ``{"type": "rows", "version", "start", "row_count"}`` with the rows' cells as a
  JSON buffer — a million-row result costs the rows on screen, not a million;
- after a commit it gets one ``{"type": "patch", "version", "at", "removed",
  "inserted", "row_count", "flash"}`` with only the inserted rows (``diff.splice``
  of the old and new order), or ``{"type": "reset"}`` when the change is large or
  the columns changed, after which it asks for its window again;
- sorting (``{"type": "sort", "column", "dir"}``) happens here, in Convex's order
  of values, so it is right for a result of any size.

Updates arrive on nbreactive's reactivity thread, also while the kernel is idle.
"""

from __future__ import annotations

import logging
import pprint
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from nbreactive.widgets.cells import columns_of, format_value, is_document_list
from nbreactive.widgets.diff import splice
from nbreactive.widgets.rows import MAX_WINDOW_ROWS, RowsProtocol

if TYPE_CHECKING:
    from nbreactive.app import App
    from nbreactive.reactive.subscription import Subscription

__all__ = ["MAX_WINDOW_ROWS", "LiveWidget"]

log = logging.getLogger("nbreactive")

_STATIC = Path(__file__).resolve().parent.parent / "static"

#: A patch inserting more rows than this is sent as a reset (the front end re-asks
#: for the rows it shows).
MAX_PATCH_ROWS = 500


class LiveWidget(RowsProtocol, anywidget.AnyWidget):  # type: ignore[misc]
    """The widget returned by ``app.live`` (see the module docstring)."""

    _esm = _STATIC / "live.js"
    _css = _STATIC / "live.css"

    function = traitlets.Unicode("").tag(sync=True)
    args_text = traitlets.Unicode("").tag(sync=True)
    kind = traitlets.Unicode("value").tag(sync=True)  # "table" or "value"
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    row_count = traitlets.Int(0).tag(sync=True)
    version = traitlets.Int(0).tag(sync=True)
    formatted = traitlets.Unicode("").tag(sync=True)
    error: traitlets.Dict[str, Any] | Any = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    sort: traitlets.List[Any] = traitlets.List().tag(sync=True)  # [] or [column, "asc" | "desc"]
    #: The query's current result (not synced: Python-side only).
    value = traitlets.Any(None)

    def __init__(self, app: App, ref: Any, args: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self._app = app
        self._rows: list[dict[str, Any]] = []  # the result, in the order shown
        self._result: list[dict[str, Any]] = []  # the result, in the query's order
        self._schema_fields: list[str] | None = None
        sub = app.subscribe(ref, args)
        self._sub: Subscription = sub
        self.function = sub.function
        self.args_text = format_value(sub.args, limit=500)
        self.on_msg(self._on_front_end_msg)
        error = sub.error
        if error is None:
            self._take(sub.value, initial=True)
        else:
            self._fail(error)
        sub.on_change(self._changed, self._failed)

    # -- results (reactivity thread) ------------------------------------------------

    def _changed(self, value: Any) -> None:
        with self._lock:
            self._take(value, initial=False)

    def _failed(self, error: BaseException) -> None:
        with self._lock:
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        data = getattr(error, "data", None)
        self.error = {
            "type": type(error).__name__,
            "message": str(error),
            "data": None if data is None else format_value(data, limit=2000),
        }

    def _take(self, value: Any, *, initial: bool) -> None:
        was_table = self.kind == "table"
        recovered = self.error is not None
        self.error = None
        if is_document_list(value):
            self._take_rows(value, reset=initial or not was_table or recovered)
        else:
            self._rows = self._result = []
            self.kind = "value"
            self.row_count = 0
            self.formatted = pprint.pformat(value, width=100, sort_dicts=False)
            self.version += 1
        self.value = value

    def _schema_columns(self, docs: list[dict[str, Any]]) -> list[str] | None:
        if docs:
            table = getattr(docs[0]["_id"], "table", None)
        else:  # an empty result: the table the query read, if it read exactly one
            tables = self._sub._entry.read_set.tables_read()
            table = next(iter(tables)) if len(tables) == 1 else None
        schema = self._app.schema
        tdef = schema.tables.get(table) if schema is not None and table is not None else None
        fields = getattr(tdef.document_validator, "fields", None) if tdef is not None else None
        return None if fields is None else list(fields)

    def _take_rows(self, docs: list[dict[str, Any]], *, reset: bool) -> None:
        columns = columns_of(docs, self._schema_columns(docs))
        if self.columns and not reset:
            # Keep the columns shown; add new fields at the end (before _creationTime).
            known = list(self.columns)
            extra = [c for c in columns if c not in known]
            columns = known if not extra else [*known[:-1], *extra, known[-1]]
        old = self._rows
        self._result = docs
        new = self._sorted(docs)
        self._rows = new
        self.kind = "table"
        self.formatted = ""
        columns_changed = columns != list(self.columns)
        self.columns = columns
        self.row_count = len(new)
        self.version += 1
        if reset or columns_changed:
            self.send({"type": "reset", "version": self.version, "row_count": len(new)})
            return
        at, removed, inserted = splice(old, new)
        if removed == 0 and inserted == 0:
            return
        if inserted > MAX_PATCH_ROWS:
            self.send({"type": "reset", "version": self.version, "row_count": len(new)})
            return
        gone = {str(d["_id"]) for d in old[at : at + removed]}
        added = new[at : at + inserted]
        flash = [[str(d["_id"]), "changed" if str(d["_id"]) in gone else "added"] for d in added]
        self.send(
            {"type": "patch", "version": self.version, "at": at, "removed": removed,
             "inserted": inserted, "row_count": len(new), "flash": flash},
            buffers=[self._encode(added)],
        )

    # -- the front end's requests (kernel thread) ---------------------------------------

    def _on_front_end_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        try:
            kind = content.get("type")
            if kind == "window":
                self._send_window(int(content.get("start", 0)), int(content.get("end", 0)))
            elif kind == "sort":
                self._resort(content.get("column"), content.get("dir"))
        except Exception:
            log.exception("a live widget could not answer its front end: %r", content)

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def subscription(self) -> Subscription:
        """The live query behind the widget."""
        return self._sub

    def close(self) -> None:
        """Stop following the query and close the widget."""
        self._sub.unsubscribe()
        super().close()

    def __repr__(self) -> str:
        return f"<nbreactive.LiveWidget {self.function}({self.args_text}) {self.kind}>"
