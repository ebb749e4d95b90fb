"""The ``Query`` builder and its terminals, executing a ``QueryPlan`` over a ``Reader``.

``db.query("posts")`` returns a ``Query``. Building is immutable chaining, in
Convex's order: at most one *source* first (``with_index``, ``with_search_index``,
``full_table_scan``; none means the whole table in ``_creationTime`` order), then
``order`` at most once and ``filter`` any number of times, then a *terminal*:
``collect take first unique paginate count`` or iteration.

Execution (convex-semantics §2.3): the plan's byte interval is scanned in key order
(reversed for ``desc``); filters run in order on each scanned document; limits count
documents *after* filters; the scan stops as soon as the terminal has what it needs.
Documents handed back are copies (``copy_document``), so user code may mutate them.
Every terminal calls ``Reader.record_read`` exactly once with the interval actually
read — the read set that makes queries reactive:

- scan ran to the end (or failed): the whole ``[lo, hi)``;
- stopped early after key ``K``: ``[lo, K + b"\\x00")`` ascending, ``[K, hi)`` descending;
- nothing read (``take(0)``, an empty range, a cursor at the end): an empty interval
  (``lo == hi``), which a read set may ignore.

A ``Query`` can be run any number of times and extended after running; each builder
method returns a new ``Query``.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from nbreactive.errors import InvalidCursorError, QueryError
from nbreactive.query.filter import Expr, FilterBuilder, coerce_literals
from nbreactive.query.index_range import IndexRangeBuilder
from nbreactive.query.pagination import (
    CursorPosition,
    PageJournal,
    PaginationOptions,
    as_integer,
    decode_cursor,
    encode_cursor,
    parse_pagination_options,
)
from nbreactive.query.plan import QueryPlan, Reader, SourceKind
from nbreactive.values.copies import copy_document
from nbreactive.values.model import UNDEFINED, Id
from nbreactive.values.sizes import document_size
from nbreactive.values.validator_base import Validator

__all__ = ["MAX_QUERY_OPERATORS", "Query"]

#: Most ``filter`` operators on one query (Convex's ``MAX_QUERY_OPERATORS``).
MAX_QUERY_OPERATORS = 256

_FILTER_BUILDER = FilterBuilder()
_EMPTY_RANGE = IndexRangeBuilder()


# ---------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _IndexSource:
    index: str
    range: IndexRangeBuilder

    def code(self) -> str:
        if not self.range.expressions:
            return f'.with_index("{self.index}")'
        return f'.with_index("{self.index}", lambda q: {self.range!r})'


@dataclass(frozen=True)
class _FullSource:
    def code(self) -> str:
        return ".full_table_scan()"


@dataclass(frozen=True)
class _SearchSource:
    index: str
    search_fn: Callable[[Any], Any]

    def code(self) -> str:
        return f'.with_search_index("{self.index}", ...)'


_Source = _IndexSource | _FullSource | _SearchSource


# ---------------------------------------------------------------------------
# the builder
# ---------------------------------------------------------------------------


class Query:
    """A query over one table: a source, an order, filters, then a terminal.

    Immutable: every builder method returns a new ``Query``; a query may be run
    several times, and extended after it ran.

    Args:
        reader: the storage view to read from (``Reader`` protocol).
        table: the table name.

    Cost: building is O(1) per call (plus calling your range or filter function
    once); a terminal compiles the plan (O(range + filter size)) and then scans.

    Example::

        posts = (
            db.query("posts")
            .with_index("by_author", lambda q: q.eq("author", author_id))
            .order("desc")
            .filter(lambda q: q.eq(q.field("published"), True))
            .take(10)
        )
    """

    __slots__ = ("_filters", "_order", "_reader", "_source", "_table")

    def __init__(
        self,
        reader: Reader,
        table: str,
        *,
        _source: _Source | None = None,
        _order: str | None = None,
        _filters: tuple[Expr, ...] = (),
    ) -> None:
        if not isinstance(table, str):
            raise QueryError(f"db.query() takes a table name (a string), got {table!r}.")
        self._reader = reader
        self._table = table
        self._source = _source
        self._order = _order
        self._filters = _filters

    def _with(self, **changes: Any) -> Query:
        fields: dict[str, Any] = {
            "_source": self._source,
            "_order": self._order,
            "_filters": self._filters,
        }
        fields.update(changes)
        return Query(self._reader, self._table, **fields)

    @property
    def table(self) -> str:
        """The table this query reads."""
        return self._table

    # -- sources ---------------------------------------------------------------

    def _check_source(self, method: str) -> None:
        t = self._table
        if self._order is not None or self._filters:
            raise QueryError(
                f'{method}() must come first, right after db.query("{t}") and before '
                f'order() and filter(): write db.query("{t}").{method}(...).order(...)'
                ".filter(...)."
            )
        if self._source is not None:
            raise QueryError(
                f"This query already has a source ({self._source.code()}); a query reads "
                f'from exactly one. Call {method}() on a fresh db.query("{t}") instead.'
            )

    def with_index(
        self,
        name: str,
        range_fn: Callable[[IndexRangeBuilder], IndexRangeBuilder] | None = None,
    ) -> Query:
        """Read the documents of an index range, in index order.

        Args:
            name: the index (``"by_creation_time"``, ``"by_id"`` or one defined in
                the schema).
            range_fn: ``lambda q: q.eq(...).gte(...)`` selecting a range of the index
                (see ``IndexRangeBuilder``); ``None`` reads the whole index.

        Raises:
            QueryError: a source, ``order`` or ``filter`` is already set, or the
                range function did not return the builder. Range errors (fields out
                of order, unknown index, ...) are raised when the query runs.

        Example::

            db.query("messages").with_index("by_channel", lambda q: q.eq("channel", c))
        """
        self._check_source("with_index")
        if not isinstance(name, str):
            raise QueryError(f"with_index() takes the index name first, got {name!r}.")
        builder = _EMPTY_RANGE
        if range_fn is not None:
            if not callable(range_fn):
                raise QueryError(
                    "with_index() takes a function as its second argument, e.g. "
                    f'with_index("{name}", lambda q: q.eq("field", value)); got {range_fn!r}.'
                )
            builder = range_fn(_EMPTY_RANGE)
            if not isinstance(builder, IndexRangeBuilder):
                raise QueryError(
                    f'The range function passed to with_index("{name}") must return the '
                    f'builder it was given, e.g. lambda q: q.eq("field", value); it returned '
                    f"{builder!r:.80}."
                )
        return self._with(_source=_IndexSource(name, builder))

    def with_search_index(self, name: str, search_fn: Callable[[Any], Any]) -> Query:
        """Full-text search over a search index (relevance order).

        The source is recorded, but running it raises ``QueryError``: full-text
        search is not available yet in this version of nbreactive.
        """
        self._check_source("with_search_index")
        if not isinstance(name, str) or not callable(search_fn):
            raise QueryError(
                "with_search_index() takes the index name and a function, e.g. "
                'with_search_index("search_body", lambda q: q.search("body", "hello")).'
            )
        return self._with(_source=_SearchSource(name, search_fn))

    def full_table_scan(self) -> Query:
        """Read the whole table in ``_creationTime`` order (the default source, explicit)."""
        self._check_source("full_table_scan")
        return self._with(_source=_FullSource())

    # -- operators -------------------------------------------------------------

    def order(self, order: str) -> Query:
        """Scan in ``"asc"`` (default) or ``"desc"`` index order. At most once.

        Raises:
            QueryError: a second ``order``, a search query, or another argument.
        """
        if order not in ("asc", "desc"):
            raise QueryError(f'order() takes "asc" or "desc", got {order!r}.')
        if isinstance(self._source, _SearchSource):
            raise QueryError(
                "Search queries must always be in relevance order. Can not set order manually."
            )
        if self._order is not None:
            raise QueryError(
                f"Queries may only specify order at most once (this one is already "
                f'order("{self._order}")).'
            )
        return self._with(_order=order)

    def filter(self, predicate: Callable[[FilterBuilder], Expr]) -> Query:
        """Keep only documents for which ``predicate(q)`` evaluates to true.

        ``predicate`` is called once, now, with a ``FilterBuilder``; it returns an
        expression evaluated per document during the scan. Filters apply in the
        order added, before any limit. They do not reduce the documents *scanned*
        (each still counts against the read limits): prefer an index range.

        Raises:
            QueryError: ``predicate`` returned something other than an expression
                (a Python bool, ``None``, ...), or the query has 256 filters already.

        Example::

            .filter(lambda q: q.or_(q.eq(q.field("a"), 1), q.gt(q.field("b"), 2)))
        """
        if not callable(predicate):
            raise QueryError(
                "filter() takes a function of q, e.g. "
                f'filter(lambda q: q.eq(q.field("status"), "open")); got {predicate!r:.80}.'
            )
        if len(self._filters) >= MAX_QUERY_OPERATORS:
            raise QueryError(
                f"Can't construct query with more than {MAX_QUERY_OPERATORS} operators"
            )
        expr = predicate(_FILTER_BUILDER)
        if not isinstance(expr, Expr):
            raise QueryError(_not_an_expression(expr))
        return self._with(_filters=(*self._filters, expr))

    # -- plan --------------------------------------------------------------------

    def plan(self) -> QueryPlan:
        """Resolve the query against the schema: the ``QueryPlan`` a terminal runs.

        Raises:
            QueryError: unknown table or index, invalid index range, or a search
                source (not available yet).
        """
        reader = self._reader
        table = self._table
        source = self._source
        if isinstance(source, _SearchSource):
            raise QueryError(
                f'Full-text search (with_search_index("{source.index}", ...)) is not available '
                "yet in this version of nbreactive. Use with_index(...) and filter(...) for now."
            )
        kind: SourceKind
        if isinstance(source, _IndexSource):
            kind, index, builder = "index", source.index, source.range
        else:
            kind, index, builder = "full", "by_creation_time", _EMPTY_RANGE
        # Resolving a plan costs ~10 us (index lookup, range checks and key encoding,
        # predicate compilation): as much as reading 20 documents. Readers may offer a
        # cache, which the storage clears whenever the schema changes.
        cache: dict[Any, QueryPlan] | None = getattr(reader, "plan_cache", None)
        key = None
        if cache is not None and not self._filters:
            key = _plan_key(table, kind, index, builder, self._order)
            if key is not None:
                cached = cache.get(key)
                if cached is not None:
                    return cached
        fields = reader.index_fields(table, index)
        validators: dict[str, Validator | None] = {}

        def field_validator(path: str) -> Validator | None:
            if path not in validators:
                validators[path] = reader.field_validator(table, path)
            return validators[path]

        index_range = builder.compile(table, index, fields, field_validator)
        filters = tuple(coerce_literals(f, field_validator) for f in self._filters)
        order: Literal["asc", "desc"] = "desc" if self._order == "desc" else "asc"
        plan = QueryPlan(table, kind, index, index_range, order, filters)
        if key is not None and cache is not None:
            if len(cache) >= _PLAN_CACHE_SIZE:
                # Evict the oldest plan (the cache is an OrderedDict: O(1)); clearing it
                # all would make a working set of many ranges recompile most of them.
                if isinstance(cache, OrderedDict):
                    cache.popitem(last=False)
                else:
                    cache.clear()
            cache[key] = plan
        return plan

    # -- terminals ---------------------------------------------------------------

    def collect(self) -> list[dict[str, Any]]:
        """Every matching document, in order (copies).

        Cost: scans the whole range; every scanned document counts against the
        transaction's read limits, filtered out or not.

        Example::

            db.query("tasks").filter(lambda q: q.eq(q.field("done"), False)).collect()
        """
        plan = self.plan()
        copy = _copier(self._reader, plan.table)
        return [copy(doc) for _, doc in _read(self._reader, plan)[0]]

    def take(self, n: int) -> list[dict[str, Any]]:
        """The first ``n`` matching documents (fewer if there are not that many).

        Stops scanning at the ``n``-th match. ``n`` must be a non-negative ``int``;
        ``take(0)`` reads nothing and returns ``[]``.

        Raises:
            QueryError: ``n`` is not a non-negative integer.
        """
        if type(n) is not int:
            whole = as_integer(n)
            if whole is None:
                raise QueryError(f"Arg 1 `n` to `take` must be a non-negative integer, got {n!r}.")
            n = whole
        if n < 0:
            raise QueryError(f"Arg 1 `n` to `take` must be a non-negative integer, got {n!r}.")
        plan = self.plan()
        copy = _copier(self._reader, plan.table)
        return [copy(doc) for _, doc in _read(self._reader, plan, limit=n)[0]]

    def first(self) -> dict[str, Any] | None:
        """The first matching document, or ``None`` (``take(1)``)."""
        plan = self.plan()
        found = _read(self._reader, plan, limit=1)[0]
        return _copier(self._reader, plan.table)(found[0][1]) if found else None

    def unique(self) -> dict[str, Any] | None:
        """The only matching document, or ``None``; reads at most two (``take(2)``).

        Raises:
            QueryError: "unique() query returned more than one result from table T:
                [id1, id2, ...]".
        """
        plan = self.plan()
        found = _read(self._reader, plan, limit=2)[0]
        if not found:
            return None
        if len(found) > 1:
            ids = ", ".join(str(doc.get("_id")) for _, doc in found)
            raise QueryError(
                f"unique() query returned more than one result from table {self._table}: "
                f"[{ids}, ...]"
            )
        return _copier(self._reader, plan.table)(found[0][1])

    def count(self) -> int:
        """How many documents match; the query stays live (its whole range is read).

        Without ``filter`` this is an index count: two bisections of the index
        ordering, no document is loaded and none counts against the read limits.
        With ``filter`` the range is scanned (each document is tested), but nothing
        is copied.
        """
        plan = self.plan()
        return _count(self._reader, plan)

    def paginate(self, opts: dict[str, Any]) -> dict[str, Any]:
        """One page of results and a cursor for the next (Convex's ``paginate``).

        Args:
            opts: ``{"numItems": n, "cursor": None | str}``, optionally
                ``"endCursor"`` (fix the end of the page), ``"maximumRowsRead"``,
                ``"maximumBytesRead"`` (stop scanning early).

        Returns:
            ``{"page": [...], "isDone": bool, "continueCursor": str}``.

        Semantics: cursors are positions in the index key space ("after key K", or
        the end), so documents inserted or deleted between calls neither shift nor
        repeat the others. Without ``endCursor`` the page holds up to ``numItems``
        matches after ``cursor``; ``continueCursor`` is the key of the last document
        read, and ``isDone`` is true only when the scan reached the end of the range
        (a page that is exactly full says ``isDone: False``; the next one is empty and
        done). With ``endCursor`` the page is everything in ``(cursor, endCursor]``
        (it grows or shrinks with inserts and deletes, ``numItems`` and the maxima do
        not apply), ``continueCursor`` is ``endCursor``, and ``isDone`` says whether
        ``endCursor`` is the end. Past the end: an empty page with ``isDone: True``.
        Several ``paginate`` calls per function are allowed.

        Raises:
            QueryError: bad options (``numItems`` < 1, ...).
            InvalidCursorError: a cursor from another query, or corrupt.

        Example::

            result = db.query("posts").order("desc").paginate({"numItems": 20, "cursor": None})
            more = db.query("posts").order("desc").paginate(
                {"numItems": 20, "cursor": result["continueCursor"]}
            )
        """
        options = parse_pagination_options(opts)
        plan = self.plan()
        journal: PageJournal | None = getattr(self._reader, "journal", None)
        if journal is not None and not journal.used:
            journal.used = True
            result = self._paginate(plan, options, journal)
            journal.recorded = result["continueCursor"]
            return result
        return self._paginate(plan, options, None)

    def _paginate(
        self, plan: QueryPlan, options: PaginationOptions, journal: PageJournal | None
    ) -> dict[str, Any]:
        reader = self._reader
        lo, hi = plan.range.lo, plan.range.hi
        desc = plan.desc

        start: CursorPosition | None = None
        if options.cursor is not None:
            start = decode_cursor(options.cursor, plan)
        end: CursorPosition | None = None
        end_cursor = options.end_cursor
        if end_cursor is not None:
            end = decode_cursor(end_cursor, plan)
        elif journal is not None and journal.end_cursor is not None:
            try:
                end = decode_cursor(journal.end_cursor, plan)
                end_cursor = journal.end_cursor
            except InvalidCursorError:
                end = None  # the query changed shape since: start a fresh page

        if start is not None:
            if start.after is None:  # the cursor past the end: nothing more, ever
                _record_nothing(reader, plan, lo, hi)
                return _page([], True, encode_cursor(plan, None))
            # Resume strictly after the key already returned.
            if desc:
                hi = min(hi, start.after)
            else:
                lo = max(lo, start.after + b"\x00")

        if end is not None and end_cursor is not None:
            # (cursor, endCursor]: the end key itself belongs to this page.
            if end.after is not None:
                if desc:
                    lo = max(lo, end.after)
                else:
                    hi = min(hi, end.after + b"\x00")
            found = _read(reader, plan, lo, hi)[0]
            copy = _copier(reader, plan.table)
            return _page([copy(doc) for _, doc in found], end.is_end, end_cursor)

        found, last, exhausted = _read(
            reader,
            plan,
            lo,
            hi,
            limit=options.num_items,
            max_rows=options.maximum_rows_read,
            max_bytes=options.maximum_bytes_read,
        )
        copy = _copier(reader, plan.table)
        page = [copy(doc) for _, doc in found]
        if exhausted:
            return _page(page, True, encode_cursor(plan, None))
        return _page(page, False, encode_cursor(plan, last))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Iterate lazily: documents are scanned (and copied) one at a time.

        Breaking out of the loop stops the scan; the read is recorded when the
        iterator finishes or is closed (the end of the ``for``, ``break``, or garbage
        collection, or the end of the transaction, whichever comes first), covering
        exactly the keys read.
        """
        it = _iterate(self._reader, self.plan())
        track = getattr(self._reader, "track_iterator", None)
        if track is not None:
            track(it)
        return it

    def __repr__(self) -> str:
        text = f'db.query("{self._table}")'
        if self._source is not None:
            text += self._source.code()
        if self._order is not None:
            text += f'.order("{self._order}")'
        for f in self._filters:
            text += f".filter(lambda q: {f!r})"
        return text


_PLAN_CACHE_SIZE = 16384


class _Uncacheable(Exception):
    pass


def _value_key(value: Any) -> Any:
    """A hashable key that tells apart values the total order tells apart.

    Python's ``1 == 1.0 == True`` and ``0.0 == -0.0`` must not share a cache entry,
    so the type is part of the key and floats are keyed by their bits.
    """
    t = type(value)
    if t is str or t is Id:
        return ("s", str(value))
    if t is float:
        return ("f", struct.pack("<d", value))
    if t is int or t is bool or t is bytes or value is None or value is UNDEFINED:
        return (t.__name__, value)
    raise _Uncacheable


def _plan_key(
    table: str, kind: str, index: str, builder: IndexRangeBuilder, order: str | None
) -> Any:
    try:
        exprs = tuple((e.kind, e.field, _value_key(e.value)) for e in builder.expressions)
    except _Uncacheable:
        return None  # arrays or objects as range values: resolve every time
    return (table, kind, index, order, exprs)


def _not_an_expression(value: Any) -> str:
    example = 'filter(lambda q: q.eq(q.field("status"), "open"))'
    if value is None:
        return (
            "The function passed to filter() returned None instead of a filter expression. "
            f"Did you forget `return`? Build the condition with q, e.g. {example}."
        )
    if isinstance(value, bool):
        return (
            f"The function passed to filter() returned {value} (a Python bool), not a filter "
            "expression. Python's ==, <, and, or, not run once, right away, and cannot look "
            f"at each document: use q.eq(...), q.lt(...), q.and_(...) instead, e.g. {example}."
        )
    return (
        f"The function passed to filter() returned {value!r:.60} ({type(value).__name__}), "
        f"not a filter expression. Build the condition with q, e.g. {example}."
    )


def _page(page: list[dict[str, Any]], is_done: bool, cursor: str) -> dict[str, Any]:
    return {"page": page, "isDone": is_done, "continueCursor": cursor}


# ---------------------------------------------------------------------------
# execution
# ---------------------------------------------------------------------------


def _copier(reader: Reader, table: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """How to copy ``table``'s stored documents for user code: the reader's own copier
    (it may know the table's shape) or ``copy_document``."""
    copier = getattr(reader, "copier", None)
    return copy_document if copier is None else copier(table)


def _record_nothing(reader: Reader, plan: QueryPlan, lo: bytes, hi: bytes) -> None:
    """Record an empty interval at the start of the scan (nothing was read)."""
    at = hi if plan.desc else lo
    reader.record_read(plan.table, plan.index, at, at)


def _read(
    reader: Reader,
    plan: QueryPlan,
    lo: bytes | None = None,
    hi: bytes | None = None,
    *,
    limit: int | None = None,
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> tuple[list[tuple[bytes, dict[str, Any]]], bytes | None, bool]:
    """Scan ``[lo, hi)`` of the plan's index, keeping filtered matches.

    Stops after ``limit`` matches, ``max_rows`` scanned documents or ``max_bytes``
    scanned bytes. Records the read exactly once.

    Returns:
        (matches as (key, stored document) — not copies, the last key scanned or
        None, whether the scan reached the end of the interval).
    """
    if lo is None:
        lo = plan.range.lo
    if hi is None:
        hi = plan.range.hi
    table, index, desc = plan.table, plan.index, plan.desc
    if limit == 0 or lo >= hi:
        _record_nothing(reader, plan, lo, hi)
        return [], None, lo >= hi
    pred = plan.predicate()
    out: list[tuple[bytes, dict[str, Any]]] = []
    last: bytes | None = None
    exhausted = False
    failed = True
    read_range = getattr(reader, "read_range", None)
    if pred is None and max_rows is None and max_bytes is None and read_range is not None:
        # collect() and take(n) without a filter: the first ``limit`` documents at once.
        try:
            out = read_range(table, index, lo, hi, desc, limit)
            if limit is None or len(out) < limit:
                exhausted = True
            else:
                last = out[-1][0]
            failed = False
        finally:
            _record(reader, plan, lo, hi, last, exhausted or failed)
        return out, last, exhausted
    it = reader.scan(table, index, lo, hi, desc)
    try:
        if limit is None and max_rows is None and max_bytes is None:
            # collect(): no per-row bookkeeping; the read is the whole interval.
            out = list(it) if pred is None else [kd for kd in it if pred(kd[1])]
            exhausted = True
        else:
            rows = 0
            nbytes = 0
            append = out.append
            for key, doc in it:
                last = key
                if pred is None or pred(doc):
                    append((key, doc))
                    if limit is not None and len(out) >= limit:
                        break
                if max_rows is not None:
                    rows += 1
                    if rows >= max_rows:
                        break
                if max_bytes is not None:
                    nbytes += document_size(doc)
                    if nbytes >= max_bytes:
                        break
            else:
                exhausted = True
        failed = False
    finally:
        _close(it)
        _record(reader, plan, lo, hi, last, exhausted or failed)
    return out, last, exhausted


def _count(reader: Reader, plan: QueryPlan) -> int:
    lo, hi = plan.range.lo, plan.range.hi
    if lo >= hi:
        _record_nothing(reader, plan, lo, hi)
        return 0
    pred = plan.predicate()
    counter = getattr(reader, "count", None)
    if pred is None and counter is not None:
        # Index positions only: no document is loaded.
        try:
            return int(counter(plan.table, plan.index, lo, hi))
        finally:
            reader.record_read(plan.table, plan.index, lo, hi)
    it = reader.scan(plan.table, plan.index, lo, hi, plan.desc)
    try:
        if pred is None:
            return sum(1 for _ in it)
        return sum(1 for _, doc in it if pred(doc))
    finally:
        _close(it)
        reader.record_read(plan.table, plan.index, lo, hi)


def _iterate(reader: Reader, plan: QueryPlan) -> Iterator[dict[str, Any]]:
    lo, hi = plan.range.lo, plan.range.hi
    if lo >= hi:
        _record_nothing(reader, plan, lo, hi)
        return
    pred = plan.predicate()
    last: bytes | None = None
    whole = True  # record [lo, hi) unless the consumer stopped early
    copy = _copier(reader, plan.table)
    it = reader.scan(plan.table, plan.index, lo, hi, plan.desc)
    try:
        for key, doc in it:
            last = key
            if pred is None or pred(doc):
                yield copy(doc)
    except GeneratorExit:
        whole = False  # the consumer broke out: only the keys up to `last` were read
        raise
    finally:
        _close(it)
        _record(reader, plan, lo, hi, last, whole)


def _record(
    reader: Reader, plan: QueryPlan, lo: bytes, hi: bytes, last: bytes | None, whole: bool
) -> None:
    if whole:
        reader.record_read(plan.table, plan.index, lo, hi)
    elif last is None:
        _record_nothing(reader, plan, lo, hi)
    elif plan.desc:
        reader.record_read(plan.table, plan.index, last, hi)
    else:
        reader.record_read(plan.table, plan.index, lo, last + b"\x00")


def _close(it: Any) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        close()
