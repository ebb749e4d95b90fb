"""``app.browser()``: a live data browser.

Left, the tables with their document counts (kept current after commits). Right,
the selected table: its documents (live, windowed), its schema, an index chooser
with range inputs, and an editor that inserts, replaces and deletes documents.

Documents. The rows are the result of an index range read through a query
transaction — ``db.query(t).with_index(index, lambda q: q.eq(...).gte(...))
.order(order)`` — holding at most ``max_rows`` documents (100,000 by default; the
UI says when the range holds more). They stay **in the kernel**, exactly as in
``LiveWidget``, and the front end uses the same messages (``js/lib/table.js``):
``window`` requests, ``rows``, ``patch`` and ``reset`` messages and kernel-side
``sort``, as described in ``nbreactive/widgets/rows.py``.

The browser's reads are live: the read set of the range read (index intervals)
is registered with the reactivity engine as a ``ReadWatcher``, so exactly the
commits that touch the range (and schema changes) refresh the rows.

Choosing what to show (front end → kernel; applied on the browser's thread):

- ``{"type": "select", "table"}``: show a table (by_creation_time, whole range);
- ``{"type": "query", "index", "range": [[op, field, json], ...], "order"}``: ``op``
  is ``eq gt gte lt lte``, values are JSON (ints stay int64, ``1.0`` is a float64,
  ``{"$bytes": b64}`` is bytes). The expressions go to the query builder as given,
  so an invalid range shows Convex's message in the ``range_error`` trait and the
  previous view stays.

Writes (front end → kernel, run as mutations on the browser's thread: the same
validation, transaction and commit path as user mutations, so live queries see them
like any other commit):

- ``{"type": "insert", "request", "json"}`` (into the selected table),
  ``{"type": "save", "request", "id", "json"}`` (replace the user fields),
  ``{"type": "delete", "request", "id"}``;
- the answer: ``{"type": "result", "request", "op", "ok": true, "id", "index"}``
  (``op``: ``insert``, ``replace`` or ``delete``; ``index``: the document's row, for
  scrolling to it) or ``{"type": "result", "request", "op", "ok": false, "error":
  {"type", "message", "path"}}`` (shown inline next to the editor).

Opening a document: ``{"type": "open", "id"}`` → ``{"type": "doc", "id", "exists",
"json", "creation_time", "changed"}``; while a document is open (until
``{"type": "close_doc"}``), a commit that changes or deletes it sends ``doc`` again
with ``changed: true`` — it is watched as a point read, inside the range or not.

Tables, counts, the schema text and the insert template are traits, refreshed
after commits and once a second otherwise. Refreshes are at most 20 a second, and
fewer for a large view (reading it holds the base lock): a third of the time at most.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget  # type: ignore[import-untyped]
import orjson
import traitlets

from nbreactive.errors import NbReactiveError
from nbreactive.functions.context import QueryCtx
from nbreactive.functions.limits import TransactionLimits
from nbreactive.functions.registry import RegisteredFunction
from nbreactive.functions.transaction import Transaction
from nbreactive.query.index_range import IndexRangeBuilder
from nbreactive.query.query import _count, _read
from nbreactive.reactive.readset import ReadSet
from nbreactive.values import stored
from nbreactive.widgets.cells import columns_of, creation_time_cell
from nbreactive.widgets.rows import RowsProtocol

if TYPE_CHECKING:
    from nbreactive.app import App
    from nbreactive.reactive.engine import ReadWatcher
    from nbreactive.values.validators import Validator

__all__ = ["BrowserWidget", "InvalidInput"]

log = logging.getLogger("nbreactive")

_STATIC = Path(__file__).resolve().parent.parent / "static"

#: Most documents the browser holds for one view (the UI says when a range has more).
MAX_ROWS = 100_000
#: Shortest time between two refreshes (commits in between coalesce).
MIN_INTERVAL = 0.05
#: Tables, counts and the schema are refreshed at least this often.
IDLE_INTERVAL = 1.0
#: How long the Python methods (``select``, ``insert``, ...) wait for the browser's thread.
CALL_TIMEOUT = 60.0

_OPS = ("eq", "gt", "gte", "lt", "lte")
_DEFAULT_INDEX = "by_creation_time"

Doc = dict[str, Any]


@dataclass(frozen=True)
class _View:
    """What the document table shows."""

    table: str
    index: str = _DEFAULT_INDEX
    ops: tuple[tuple[str, str, Any], ...] = ()  # (op, field, value), in call order
    texts: tuple[tuple[str, str, str], ...] = ()  # the same as typed: (op, field, JSON)
    order: str = "asc"


class InvalidInput(NbReactiveError):
    """Text typed in the browser that is not what it should be (bad JSON, unknown operator)."""


def _parse_json(text: str, what: str) -> Any:
    """A Convex value from JSON text (ints are int64, ``1.0`` float64, ``$bytes``/``$float``)."""
    try:
        return stored.loads_typed(text)
    except Exception as e:
        raise InvalidInput(
            f"{what} is not valid JSON ({e}). Write strings in double quotes, e.g. \"text\"; "
            "numbers as 3 (int64) or 3.0 (float64); bytes as {\"$bytes\": \"<base64>\"}."
        ) from None


def _pretty(value: Any) -> str:
    """Exact JSON (``stored``), indented for the editor."""
    return orjson.dumps(orjson.loads(stored.dumps_bytes(value)), option=orjson.OPT_INDENT_2).decode()


def _error_info(error: BaseException) -> dict[str, Any]:
    path = getattr(error, "path", None)
    return {"type": type(error).__name__, "message": str(error), "path": path or None}


def _template(validator: Validator | None) -> Any:
    """A placeholder value of a validator's shape (for a new document)."""
    if validator is None:
        return None
    kind = validator.kind
    if kind == "object":
        fields: dict[str, Validator] = getattr(validator, "fields", {})
        return {k: _template(f) for k, f in fields.items() if f.kind != "optional"}
    simple: dict[str, Any] = {
        "string": "", "float64": 0.0, "int64": 0, "boolean": False, "null": None,
        "bytes": b"", "any": None, "id": "", "array": [], "record": {},
    }
    if kind in simple:
        return simple[kind]
    if kind == "literal":
        return getattr(validator, "value", None)
    if kind == "union":
        members = getattr(validator, "members", ())
        return _template(members[0]) if members else None
    if kind == "optional":
        return _template(getattr(validator, "inner", None))
    return None


class _BrowserClosed(RuntimeError):
    """A request that was still queued when the browser stopped."""


def _log_failure(future: Future[Any]) -> None:
    error = None if future.cancelled() else future.exception()
    if error is not None and not isinstance(error, _BrowserClosed | NbReactiveError):
        log.error("the data browser could not answer its front end", exc_info=error)


class BrowserWidget(RowsProtocol, anywidget.AnyWidget):  # type: ignore[misc]
    """The widget returned by ``app.browser()`` (see the module docstring).

    Args:
        app: the app to browse.
        table: the table shown first (default: the first table).
        max_rows: most documents held for one view.
    """

    _esm = _STATIC / "browser.js"
    _css = _STATIC / "browser.css"

    #: ``[{"name", "count"}]``, sorted by name.
    tables: traitlets.List[Any] = traitlets.List().tag(sync=True)
    table = traitlets.Unicode("").tag(sync=True)
    #: ``[{"name", "fields"}]`` of the selected table (fields: the key fields one can
    #: constrain, ``_creationTime`` included, the ``_id`` tie-breaker left out).
    indexes: traitlets.List[Any] = traitlets.List().tag(sync=True)
    index = traitlets.Unicode(_DEFAULT_INDEX).tag(sync=True)
    #: The index range applied, as typed: ``[[op, field, json], ...]``.
    index_range: traitlets.List[Any] = traitlets.List().tag(sync=True)
    order = traitlets.Unicode("asc").tag(sync=True)
    range_error: traitlets.Dict[str, Any] | Any = traitlets.Dict(
        allow_none=True, default_value=None).tag(sync=True)
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    row_count = traitlets.Int(0).tag(sync=True)
    #: Documents in the range (more than ``row_count`` when capped at ``max_rows``).
    matched = traitlets.Int(0).tag(sync=True)
    max_rows = traitlets.Int(MAX_ROWS).tag(sync=True)
    version = traitlets.Int(0)  # of the rows; the front end gets it in each message
    sort: traitlets.List[Any] = traitlets.List().tag(sync=True)
    #: The selected table's definition as Python source (or why there is none).
    schema_text = traitlets.Unicode("").tag(sync=True)
    #: A new document of the selected table's shape, as JSON (the insert editor's start).
    template = traitlets.Unicode("{}").tag(sync=True)

    def __init__(self, app: App, *, table: str | None = None, max_rows: int = MAX_ROWS,
                 **kwargs: Any) -> None:
        if type(max_rows) is not int or max_rows <= 0:
            raise ValueError(f"max_rows must be a positive int, got {max_rows!r}")
        app._check_open()
        super().__init__(**kwargs)
        self._app = app
        self.max_rows = max_rows
        self._limits = TransactionLimits(documents_scanned=max_rows + 1, bytes_read=1 << 60)
        self._lock = threading.RLock()  # rows, versions and what is sent
        self._init_rows()  # _result in index order, _rows as shown
        self._view: _View | None = None
        self._meta_key: tuple[Any, ...] | None = None
        self._open_id: str | None = None
        self._open_doc: Doc | None = None
        self._tasks: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._rows_dirty = False
        self._read_seconds = 0.0  # how long the last read of the view took
        self._view_reads = ReadSet()  # what the last read of the view read
        self._watcher: ReadWatcher = app._reactor.watch_reads(ReadSet(), self._reads_changed)
        self._listener = lambda _records: self._wake.set()
        app._db.commit_listeners.append(self._listener)
        app._db.close_hooks.append(self.stop)
        self.on_msg(self._on_front_end_msg)
        self._refresh_tables(select_first=False)
        first = table if table is not None else (self.tables[0]["name"] if self.tables else None)
        if first is not None:
            self._show(_View(first))
        self._thread = threading.Thread(target=self._loop, name="nbreactive-browser", daemon=True)
        self._thread.start()

    # -- Python API ------------------------------------------------------------------

    def select(self, table: str, index: str = _DEFAULT_INDEX,
               index_range: list[tuple[str, str, Any]] | None = None, order: str = "asc") -> None:
        """Show ``table`` through ``index``, optionally with a range of ``(op, field,
        value)`` (Python values), as the toolbar does::

            browser.select("messages", "by_channel", [("eq", "channel", "a"), ("gte", "n", 3)])

        Raises the query's error (Convex's message) for an invalid range; the view
        shown then stays as it was."""
        ops = tuple((str(op), str(f), val) for op, f, val in (index_range or ()))
        bad = [op for op, _, _ in ops if op not in _OPS]
        if bad:
            raise InvalidInput(f"unknown range operator {bad[0]!r}: use one of {', '.join(_OPS)}")
        if order not in ("asc", "desc"):
            raise InvalidInput(f'order is "asc" or "desc", got {order!r}')
        try:
            texts = tuple((op, f, stored.dumps(val)) for op, f, val in ops)
        except TypeError as e:
            raise InvalidInput(f"a range value is not a Convex value: {e}") from None
        view = _View(table, index, ops, texts, order)
        error = self._call(lambda: self._show(view))
        if error is not None:
            raise error

    def insert(self, document: Doc) -> str:
        """Insert ``document`` into the selected table (as the Insert button does)."""
        return str(self._call(lambda: self._write("insert", self.table, None, document)))

    def replace(self, doc_id: str, document: Doc) -> None:
        """Replace the user fields of a document (as the editor's Save does)."""
        self._call(lambda: self._write("replace", None, doc_id, document))

    def delete(self, doc_id: str) -> None:
        """Delete a document (as the editor's Delete does)."""
        self._call(lambda: self._write("delete", None, doc_id, None))

    @property
    def documents(self) -> list[Doc]:
        """The documents held for the current view, in the order shown (the stored
        objects, not copies: do not modify them)."""
        with self._lock:
            return list(self._rows)

    def _call(self, fn: Callable[[], Any]) -> Any:
        if threading.current_thread() is self._thread or self._stop.is_set():
            return fn()
        future = self._submit(fn)
        return future.result(CALL_TIMEOUT)

    def _submit(self, fn: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._tasks.put((fn, future))
        self._wake.set()
        return future

    def _submit_for_front_end(self, fn: Callable[[], Any]) -> None:
        """Run a front end's request on the browser's thread; nobody waits for it, so a
        failure is logged rather than left in the future. Once stopped (the app closed),
        there is no such thread: run it here, so that it is answered (writes say the app
        is closed, a query shows that as its range error) instead of waiting forever."""
        if self._stop.is_set():
            future: Future[Any] = Future()
            try:
                future.set_result(fn())
            except Exception as e:
                future.set_exception(e)
            _log_failure(future)
            return
        self._submit(fn).add_done_callback(_log_failure)

    # -- the browser's thread ------------------------------------------------------------

    def _reads_changed(self) -> None:  # engine thread: a commit touched the rows' range
        self._rows_dirty = True
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(IDLE_INTERVAL)
            if self._stop.is_set():
                break
            self._wake.clear()
            try:
                while True:
                    try:
                        fn, future = self._tasks.get_nowait()
                    except queue.Empty:
                        break
                    if not future.set_running_or_notify_cancel():
                        continue
                    try:
                        future.set_result(fn())
                    except BaseException as e:
                        future.set_exception(e)
                if self._rows_dirty:
                    self._rows_dirty = False
                    self._refresh_rows()
                self._refresh_tables()
            except Exception:
                log.exception("the data browser could not refresh")
            # Reading a large view holds the base lock (mutations wait meanwhile): under a
            # stream of commits, refresh at most a third of the time.
            self._stop.wait(max(MIN_INTERVAL, 2 * self._read_seconds))
        # Stopped: fail what is still queued, so that no caller waits forever.
        while True:
            try:
                _fn, future = self._tasks.get_nowait()
            except queue.Empty:
                return
            if future.set_running_or_notify_cancel():
                future.set_exception(_BrowserClosed("the data browser was closed"))

    # -- tables, counts, schema ------------------------------------------------------------

    def _refresh_tables(self, *, select_first: bool = True) -> None:
        app = self._app
        if app._db._closed:
            return
        with app._db.base_lock:
            tables: list[dict[str, Any]] = [{"name": n, "count": app.count(n)} for n in app.tables()]
        if tables != self.tables:
            self.tables = tables
        if select_first and self._view is None and tables:
            self._show(_View(tables[0]["name"]))  # the first table appeared
        else:
            self._refresh_meta()

    def _refresh_meta(self) -> None:
        """Indexes, schema text and insert template of the selected table (when the
        table or the schema changed)."""
        db = self._app._db
        schema = db.schema
        table = self.table
        if self._meta_key is not None and self._meta_key[0] == table and self._meta_key[1] is schema:
            return
        self._meta_key = (table, schema)
        indexes = [{"name": _DEFAULT_INDEX, "fields": ["_creationTime"]}]
        for spec in db.index_specs(table) if table else []:
            indexes.append({"name": spec.name, "fields": [*spec.fields, "_creationTime"]})
        tdef = schema.tables.get(table) if schema is not None else None
        if not table:
            text = "# no table selected"
        elif schema is None:
            text = (f"# {table}: no schema is set, so any valid document is accepted.\n"
                    "# app.infer_schema().to_python() suggests one from the data.")
        elif tdef is None:
            text = (f"# {table} is not in the schema"
                    + ("; the schema does not allow writing to it (strict table names)."
                       if not schema.allows_table(table) else ": it accepts any valid document."))
        else:
            text = f'"{table}": {tdef.to_python()}'
            if not schema.schema_validation:
                text += "\n# schema_validation=False: documents are not checked on write."
        shape = _template(tdef.document_validator) if tdef is not None else {}
        template = _pretty(shape) if isinstance(shape, dict) else "{}"
        self.indexes = indexes
        self.schema_text = text
        self.template = template

    def _schema_fields(self, table: str) -> list[str] | None:
        schema = self._app.schema
        tdef = schema.tables.get(table) if schema is not None else None
        fields = getattr(tdef.document_validator, "fields", None) if tdef is not None else None
        return None if fields is None else list(fields)

    # -- documents -----------------------------------------------------------------------

    def _read(self, view: _View) -> tuple[list[Doc], int]:
        """Run the view's range read and watch its read set, at one snapshot."""
        db = self._app._db
        ops = view.ops

        def range_fn(q: IndexRangeBuilder) -> IndexRangeBuilder:
            for op, field, value in ops:
                q = getattr(q, op)(field, value)
            return q

        start = time.perf_counter()
        with db.base_lock:
            tx = Transaction(db, writable=False, limits=self._limits, now=time.time(),
                             seed="nbreactive-browser")
            try:
                q = QueryCtx(tx).db.query(view.table)
                q = q.with_index(view.index, range_fn if ops else None).order(view.order)
                plan = q.plan()
                # The stored documents themselves (never mutated), not copies.
                docs = [doc for _, doc in _read(tx, plan, limit=self.max_rows)[0]]
                matched = _count(tx, plan) if len(docs) >= self.max_rows else len(docs)
            finally:
                tx.finish()
            self._view_reads = ReadSet.build(tx.read_set, tx.point_reads, tx.sql_tables)
            self._watch()
        self._read_seconds = time.perf_counter() - start
        return docs, matched

    def _watch(self) -> None:
        """Watch the view's reads and the open document (caller holds the base lock)."""
        reads = self._view_reads
        doc_id = self._open_id
        if doc_id is not None:
            table = self._app._db.table_of_id(doc_id)
            if table is not None:
                reads = ReadSet(reads.intervals, reads.points | {(table, doc_id)}, reads.tables)
        self._watcher.update(reads)

    def _show(self, view: _View) -> BaseException | None:
        """Make ``view`` the one shown (browser's thread). An invalid one sets
        ``range_error`` (and returns it) and leaves the current view — or, when another
        table was shown, shows the new table's whole default range."""
        try:
            docs, matched = self._read(view)
        except NbReactiveError as e:
            if (self._view is None or self._view.table != view.table) and view != _View(view.table):
                self._show(_View(view.table))
            self.range_error = _error_info(e)
            return e
        table_changed = self._view is None or self._view.table != view.table
        with self._lock:
            self._view = view
            self.range_error = None
            self.table = view.table
            self.index = view.index
            self.index_range = [list(t) for t in view.texts]
            self.order = view.order
            if table_changed:
                self.sort = []
                self._close_doc()
            self._refresh_meta()
            self._take(docs, matched, reset=True)
        return None

    def _refresh_rows(self) -> None:
        view = self._view
        if view is None:
            return
        try:
            docs, matched = self._read(view)
        except NbReactiveError as e:
            # The view no longer works (e.g. a schema change removed its index): fall back.
            self._show(_View(view.table))
            self.range_error = _error_info(e)
            return
        with self._lock:
            if self._view is view:
                self._take(docs, matched, reset=False)
        self._check_open_doc()

    def _take(self, docs: list[Doc], matched: int, *, reset: bool) -> None:
        """Install a new result and tell the front end (caller holds ``_lock``)."""
        assert self._view is not None
        columns = columns_of(docs, self._schema_fields(self._view.table))
        if self.columns and not reset:
            known = list(self.columns)
            extra = [c for c in columns if c not in known]
            columns = known if not extra else [*known[:-1], *extra, known[-1]]
        columns_changed = columns != list(self.columns)
        self.columns = columns
        self.matched = matched
        self._install(docs, reset=reset or columns_changed)
        self.row_count = len(self._rows)

    def _index_of(self, doc_id: str) -> int | None:
        with self._lock:
            for n, d in enumerate(self._rows):
                if d["_id"] == doc_id:
                    return n
        return None

    # -- the open document ------------------------------------------------------------------

    def _lookup(self, doc_id: str) -> Doc | None:
        db = self._app._db
        table = db.table_of_id(doc_id)
        with db.base_lock:
            mt = db.base.tables.get(table) if table is not None else None
            return mt.docs.get(doc_id) if mt is not None else None

    def _send_doc(self, doc_id: str, doc: Doc | None, *, changed: bool) -> None:
        msg: dict[str, Any] = {"type": "doc", "id": doc_id, "exists": doc is not None,
                               "changed": changed}
        if doc is not None:
            msg["json"] = _pretty({k: x for k, x in doc.items() if k not in ("_id", "_creationTime")})
            msg["creation_time"] = creation_time_cell(doc["_creationTime"])[1]
        self.send(msg)

    def _open(self, doc_id: str) -> None:
        with self._app._db.base_lock:  # the document and its watch at one snapshot
            doc = self._lookup(doc_id)
            self._open_id, self._open_doc = doc_id, doc
            self._watch()
        self._send_doc(doc_id, doc, changed=False)

    def _close_doc(self) -> None:
        with self._app._db.base_lock:
            self._open_id = self._open_doc = None
            self._watch()

    def _check_open_doc(self) -> None:
        doc_id = self._open_id
        if doc_id is None:
            return
        doc = self._lookup(doc_id)
        if doc is not self._open_doc:
            self._open_doc = doc
            self._send_doc(doc_id, doc, changed=True)

    # -- writes ---------------------------------------------------------------------------

    def _write(self, op: str, table: str | None, doc_id: str | None, document: Any) -> Any:
        """Run one write as a mutation (the same validation and commit path as user
        mutations); then refresh the rows, so that the caller can find the document."""

        def handler(ctx: Any) -> Any:
            if op == "insert":
                return ctx.db.insert(table, document)
            if op == "replace":
                ctx.db.replace(doc_id, document)
            else:
                ctx.db.delete(doc_id)
            return None

        fn = RegisteredFunction(self._app, "mutation", handler, name=f"browser:{op}", internal=True)
        self._app._check_open()
        result = self._app._run_mutation(fn, {}, None)
        self._refresh_rows()
        return result

    def _front_end_write(self, content: dict[str, Any]) -> None:
        kind = content.get("type")
        op = {"insert": "insert", "save": "replace", "delete": "delete"}[str(kind)]
        answer: dict[str, Any] = {"type": "result", "request": content.get("request"), "op": op}
        try:
            doc_id = content.get("id")
            if op != "insert" and not isinstance(doc_id, str):
                raise InvalidInput(f"{kind} needs the id of a document, got {doc_id!r}")
            document = None
            if op != "delete":
                text = content.get("json")
                if not isinstance(text, str):
                    raise InvalidInput("the document must be given as JSON text")
                document = _parse_json(text, "The document")
            result = self._write(op, self.table if op == "insert" else None, doc_id, document)
            new_id = str(result) if op == "insert" else doc_id
            answer.update(ok=True, id=new_id,
                          index=None if op == "delete" else self._index_of(str(new_id)))
        except Exception as e:
            answer.update(ok=False, error=_error_info(e))
        self.send(answer)

    def _front_end_query(self, content: dict[str, Any]) -> None:
        view = self._view
        if view is None:
            return
        try:
            texts = []
            ops = []
            items = content.get("range") or []
            if not isinstance(items, list):
                raise InvalidInput(f"the range is a list of [op, field, json], got {items!r}")
            for item in items:
                if not (isinstance(item, list) and len(item) == 3 and all(isinstance(x, str) for x in item)):
                    raise InvalidInput(f"a range expression is [op, field, json], got {item!r}")
                op, field, text = item
                if op not in _OPS:
                    raise InvalidInput(f"unknown range operator {op!r}: use one of {', '.join(_OPS)}")
                ops.append((op, field, _parse_json(text, f'The value for "{field}"')))
                texts.append((op, field, text))
            order = content.get("order", "asc")
            if order not in ("asc", "desc"):
                raise InvalidInput(f'order is "asc" or "desc", got {order!r}')
            index = content.get("index") or _DEFAULT_INDEX
            if not isinstance(index, str):
                raise InvalidInput(f"an index name is a string, got {index!r}")
        except InvalidInput as e:
            self.range_error = _error_info(e)
            return
        self._show(_View(view.table, index, tuple(ops), tuple(texts), order))

    # -- the front end's requests (kernel thread) -----------------------------------------

    def _on_front_end_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        try:
            if self._row_request(content):
                return
            kind = content.get("type")
            if kind in ("select", "query", "open"):
                try:
                    self._app._check_open()
                except NbReactiveError as e:
                    # A closed app's data is gone: say so (not an empty table, not a
                    # deleted document), and keep showing what was shown.
                    self.range_error = _error_info(e)
                    return
            if kind == "select":
                table = content.get("table")
                if isinstance(table, str) and table:
                    self._submit_for_front_end(lambda: self._show(_View(table)))
            elif kind == "query":
                self._submit_for_front_end(lambda: self._front_end_query(content))
            elif kind == "open":
                doc_id = content.get("id")
                if isinstance(doc_id, str):
                    self._submit_for_front_end(lambda: self._open(doc_id))
            elif kind == "close_doc":
                self._submit_for_front_end(self._close_doc)
            elif kind in ("insert", "save", "delete"):
                self._submit_for_front_end(lambda: self._front_end_write(content))
        except Exception:
            log.exception("the data browser could not answer its front end: %r", content)

    # -- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop following the data (the widget keeps its last picture)."""
        if not hasattr(self, "_watcher"):  # __init__ failed (e.g. a closed App): nothing runs
            return
        self._stop.set()
        self._wake.set()
        self._watcher.close()
        db = self._app._db
        with contextlib.suppress(ValueError):
            db.commit_listeners.remove(self._listener)
        with contextlib.suppress(ValueError):
            db.close_hooks.remove(self.stop)

    def close(self) -> None:
        """Stop following the data and close the widget."""
        self.stop()
        super().close()

    def __repr__(self) -> str:
        return f"<nbreactive.BrowserWidget {len(self.tables)} tables, showing {self.table or 'none'}>"
