"""``app.live(ref, args)``: a widget showing a live query's result.

A list of documents is a table; any other value is shown formatted; a failing
query shows its error (and recovers when the data does). The ``value`` trait
holds the current result for Python code (``observe``/``link`` work); it is not
synced to the front end.

A *paginated* query (one taking ``paginationOpts``) is a table of any size: its
pages are loaded one after another in the background, each a live subscription
(``nbreactive/widgets/pages.py``), and ``value`` is a ``PagedRows``: all documents
loaded, as a read-only sequence (``list(widget.value)`` for a list). This is how a
million-row table is shown: a query holds at most 8,192 values, as in Convex.

The front end is virtualized and incremental (``nbreactive/widgets/rows.py`` has
the messages): it asks for the rows it shows, a commit sends only the rows that
changed near what it shows, and sorting happens here, in Convex's order of values,
so it is right for a result of any size.

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

from nbreactive.errors import AppError
from nbreactive.values.copies import copy_value
from nbreactive.widgets.cells import columns_of, format_value, is_document_list
from nbreactive.widgets.diff import hunks
from nbreactive.widgets.pages import DEFAULT_PAGE_SIZE, LivePages, PagedRows, takes_pagination
from nbreactive.widgets.rows import MAX_WINDOW_ROWS, RowsProtocol

if TYPE_CHECKING:
    from nbreactive.app import App
    from nbreactive.reactive.subscription import Subscription

__all__ = ["DEFAULT_MAX_ROWS", "MAX_WINDOW_ROWS", "LiveWidget"]

log = logging.getLogger("nbreactive")

_STATIC = Path(__file__).resolve().parent.parent / "static"

#: Most documents a paginated live table loads (``max_rows=`` of ``app.live``).
DEFAULT_MAX_ROWS = 2_000_000

Doc = dict[str, Any]


class LiveWidget(RowsProtocol, anywidget.AnyWidget):  # type: ignore[misc]
    """The widget returned by ``app.live`` (see the module docstring)."""

    _esm = _STATIC / "live.js"
    _css = _STATIC / "live.css"

    function = traitlets.Unicode("").tag(sync=True)
    args_text = traitlets.Unicode("").tag(sync=True)
    kind = traitlets.Unicode("value").tag(sync=True)  # "table" or "value"
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    row_count = traitlets.Int(0).tag(sync=True)
    version = traitlets.Int(0)  # of the rows; the front end gets it in each message
    formatted = traitlets.Unicode("").tag(sync=True)
    error: traitlets.Dict[str, Any] | Any = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    sort: traitlets.List[Any] = traitlets.List().tag(sync=True)  # [] or [column, "asc" | "desc"]
    #: A paginated query's pages are still loading.
    loading = traitlets.Bool(False).tag(sync=True)
    #: Loading stopped at ``max_rows`` documents (the query has more).
    capped = traitlets.Bool(False).tag(sync=True)
    #: The query's current result (not synced: Python-side only).
    value = traitlets.Any(None)

    def __init__(self, app: App, ref: Any, args: dict[str, Any] | None = None, *,
                 page_size: int = DEFAULT_PAGE_SIZE, max_rows: int | None = DEFAULT_MAX_ROWS,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self._init_rows()
        self._app = app
        self._schema_fields: list[str] | None = None
        self._pages: LivePages | None = None
        self._sub: Subscription | None = None
        self._closed = False
        self._page_docs: list[list[Doc]] = []  # a paginated query's pages, as shown
        self._failing: dict[int, BaseException] = {}  # failing pages
        self.on_msg(self._on_front_end_msg)
        fn = app.resolve(ref, "query")
        if takes_pagination(fn) and "paginationOpts" not in (args or {}):
            self.loading = True
            self.function = fn.path
            self.args_text = format_value(dict(args or {}), limit=500)
            self._pages = LivePages(app, fn, args, self, page_size=page_size, max_rows=max_rows)
            self._pages.start()  # the first page now, the others in the background
            return
        sub = app.subscribe(ref, args)
        self._sub = sub
        self.function = sub.function
        self.args_text = format_value(sub.args, limit=500)
        sub._watch(self._changed, self._failed, share=True)  # the widget only reads results

    # -- results (reactivity thread) ------------------------------------------------

    def _changed(self, value: Any) -> None:
        with self._lock:
            self._take(value)

    def _failed(self, error: BaseException) -> None:
        with self._lock:
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        data = getattr(error, "data", None)
        text = None if data is None else format_value(data, limit=2000)
        message = str(error)
        if isinstance(error, AppError):
            # An AppError's message is its data: in Convex's look (str() is Python's
            # repr), and a string as it is (not again, quoted, as "data").
            message = data if isinstance(data, str) else format_value(data, limit=2000)
            if isinstance(data, str):
                text = None
        self.error = {"type": type(error).__name__, "message": message, "data": text}

    def _take(self, value: Any) -> None:
        reset = self.kind != "table" or self.error is not None
        self.error = None
        if is_document_list(value):
            self._take_rows(value, reset=reset)
        else:
            self._show_value(value)
        self.value = copy_value(value)  # the rows shown share the engine's result

    def _show_value(self, value: Any) -> None:
        self._init_rows()
        self.kind = "value"
        self.row_count = 0
        self.formatted = pprint.pformat(value, width=100, sort_dicts=False)
        self.version += 1

    def _schema_columns(self, docs: list[Doc]) -> list[str] | None:
        if docs:
            table = getattr(docs[0]["_id"], "table", None)
        else:  # an empty result: the table the query read, if it read exactly one
            tables = self.subscription._entry.read_set.tables_read()
            table = next(iter(tables)) if len(tables) == 1 else None
        schema = self._app.schema
        tdef = schema.tables.get(table) if schema is not None and table is not None else None
        fields = getattr(tdef.document_validator, "fields", None) if tdef is not None else None
        return None if fields is None else list(fields)

    def _update_columns(self, docs: list[Doc], *, reset: bool) -> bool:
        """Columns for ``docs`` added to the table; whether they changed."""
        columns = columns_of(docs, self._schema_columns(docs))
        if self.columns and not reset:
            # Keep the columns shown; add new fields at the end (before _creationTime).
            known = list(self.columns)
            extra = [c for c in columns if c not in known]
            columns = known if not extra else [*known[:-1], *extra, known[-1]]
        changed = columns != list(self.columns)
        self.columns = columns
        return changed

    def _take_rows(self, docs: list[Doc], *, reset: bool) -> None:
        columns_changed = self._update_columns(docs, reset=reset)
        self.kind = "table"
        self.formatted = ""
        self._install(docs, reset=reset or columns_changed)

    # -- a paginated query's pages (loader and reactivity threads) -----------------------

    def page(self, index: int, value: Any) -> None:
        with self._lock:
            if self._closed:
                return
            page = value.get("page") if isinstance(value, dict) else None
            if index == 0 and not is_document_list(page):  # not pages of documents
                self._page_docs = []
                self.error = None
                self._show_value(value)
                self.value = copy_value(value)
                return
            docs: list[Doc] = page if page is not None and is_document_list(page) else []
            recovered = self._failing.pop(index, None) is not None and not self._failing
            if recovered:
                self.error = None
            reset = self.kind != "table" or recovered
            columns_changed = self._update_columns(docs, reset=reset and index == 0)
            self.kind = "table"
            self.formatted = ""
            if index == len(self._page_docs):  # the next page, loaded
                self._page_docs.append(docs)
                if not columns_changed and not reset:
                    self._apply(len(self._result), [(0, 0, len(docs))], docs, flash=False)
            elif index < len(self._page_docs):  # a page changed
                offset = sum(len(p) for p in self._page_docs[:index])
                old = self._page_docs[index]
                self._page_docs[index] = docs
                if not columns_changed and not reset:
                    self._apply(offset, hunks(old, docs), docs)
            if columns_changed or reset:
                self._install([d for p in self._page_docs for d in p], reset=True)
            self.value = PagedRows(self._page_docs)

    def failed(self, index: int, error: BaseException) -> None:
        with self._lock:
            self._failing[index] = error
            self._fail(error)

    def loaded(self, capped: bool) -> None:
        with self._lock:
            self.loading = False
            self.capped = capped

    # -- the front end's requests (kernel thread) ---------------------------------------

    def _on_front_end_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        try:
            self._row_request(content)
            if content.get("type") == "window" and self._pages is not None:
                self._pages.shown.set()  # the first page is on screen: load the rest
        except Exception:
            log.exception("a live widget could not answer its front end: %r", content)

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def subscription(self) -> Subscription:
        """The live query behind the widget (a paginated query's first page)."""
        if self._pages is not None:
            return self._pages.first
        assert self._sub is not None
        return self._sub

    @property
    def pages(self) -> list[Subscription]:
        """A paginated query's page subscriptions (empty for other queries)."""
        return [] if self._pages is None else list(self._pages.subscriptions)

    def close(self) -> None:
        """Stop following the query and close the widget."""
        with self._lock:
            self._closed = True
        if self._pages is not None:
            self._pages.close()
        if self._sub is not None:
            self._sub.unsubscribe()
        super().close()

    def __repr__(self) -> str:
        return f"<nbreactive.LiveWidget {self.function}({self.args_text}) {self.kind}>"
