"""Query plans are data: ``QueryPlan`` (source + order + filters) and the ``Reader`` it runs on.

A ``Query`` builder (``query.py``) compiles into a ``QueryPlan`` when a terminal
runs: the source (an index range over ``table.index``; a full table scan is the
whole ``by_creation_time`` index), the order and the filters, with the int → float
rule for float64 fields already applied. The same plan object

- drives the scan (``range.lo``/``range.hi``, ``order``, ``predicate()``),
- names the interval recorded in the read set (``Reader.record_read``),
- and is fingerprinted for pagination cursors (``fingerprint()``).

``Reader`` is the protocol the storage layer implements (the working set for
queries, the layered transaction view for mutations); tests use a small in-memory
fake. It is defined here because layer 4 is its consumer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from nbreactive.query.filter import Expr, compile_filter, expr_data
from nbreactive.query.index_range import IndexRange
from nbreactive.query.literals import numeric_kind
from nbreactive.values.keys import encode_value
from nbreactive.values.validators import Validator

__all__ = [
    "PLAN_VERSION",
    "QueryPlan",
    "Reader",
    "SourceKind",
    "numeric_kind",
]

#: Bumped when the fingerprint's input changes shape (old cursors become invalid).
PLAN_VERSION = 1

SourceKind = Literal["index", "search", "full"]


@runtime_checkable
class Reader(Protocol):
    """What a query needs from storage. Implemented by ``nbreactive.storage``.

    A reader may also have a ``count(table, index, lo, hi) -> int`` method counting the
    keys in ``[lo, hi)`` without loading documents (used by filter-free ``count()``),
    a ``track_iterator(it)`` method (the reader closes iterators still open when its
    transaction ends, so that their reads are recorded even if user code kept them),
    a ``plan_cache`` attribute: a dict in which ``Query.plan``
    keeps resolved plans of filter-free queries, keyed by their shape and range values
    (its owner must clear it whenever what plans depend on changes: the schema),
    a ``copier(table)`` method returning the function that copies the table's
    stored documents for user code (default: ``values.copies.copy_document``), and a
    ``read_range(table, index, lo, hi, desc, limit)`` method returning the first
    ``limit`` pairs of ``scan`` (all when None) as a list, counted the same way (used
    by ``collect`` and ``take`` without a filter).
    """

    def index_fields(self, table: str, index: str) -> tuple[str, ...]:
        """Full key fields of an index including the implicit tail: user index ->
        (*fields, "_creationTime", "_id"); "by_creation_time" -> ("_creationTime", "_id");
        "by_id" -> ("_id",). Raises QueryError("Index T.I not found.") / unknown table error."""
        ...

    def field_validator(self, table: str, path: str) -> Validator | None:
        """The schema validator of a (dotted) field, None if unknown or schemaless."""
        ...

    def scan(
        self, table: str, index: str, lo: bytes, hi: bytes, desc: bool
    ) -> Iterator[tuple[bytes, dict[str, Any]]]:
        """(key, document) pairs with lo <= key < hi in key order (reversed when desc).
        The documents are the stored objects: never mutate them; copy what you return
        to user code (see ``copier`` above). Counts scanned documents and bytes
        against the transaction limits (may raise LimitExceededError)."""
        ...

    def record_read(self, table: str, index: str, lo: bytes, hi: bytes) -> None:
        """Called once per scan with the interval actually read: the whole [lo, hi) when the
        scan ran to the end, shrunk to the part read when it stopped early (take/first/
        paginate): for asc, hi becomes last_key + b"\\x00"; for desc, lo becomes last_key."""
        ...


@dataclass(frozen=True, eq=False)
class QueryPlan:
    """One query, resolved against the schema: what to scan, in which order, what to keep.

    Attributes:
        table: the table.
        source: ``"index"`` (``with_index``), ``"full"`` (``full_table_scan()`` or no
            source: the ``by_creation_time`` index) or ``"search"`` (reserved).
        index: the index scanned.
        range: the compiled ``IndexRange`` (whole index for ``"full"``).
        order: ``"asc"`` or ``"desc"`` (index key order, or its reverse).
        filters: the filter expressions in the order they were added, with the
            int → float rule applied.

    Two plans are equal (and hash alike) when their fingerprints are: filter
    expressions themselves refuse ``==`` (see ``filter.Expr``).

    Cost: building a plan is O(range expressions + filter nodes); ``predicate()``
    and ``fingerprint()`` are computed once per plan and cached.

    Example::

        plan = db.query("posts").with_index("by_author", lambda q: q.eq("author", a)).plan()
        plan.describe()  # 'posts by_author: author == "a" asc'
    """

    table: str
    source: SourceKind
    index: str
    range: IndexRange
    order: Literal["asc", "desc"] = "asc"
    filters: tuple[Expr, ...] = ()
    # Caches built on first use; not part of the plan's value.
    _predicate: Any = field(default=None, init=False, repr=False)
    _fingerprint: Any = field(default=None, init=False, repr=False)

    @property
    def desc(self) -> bool:
        """True when the scan runs from the highest key down."""
        return self.order == "desc"

    def predicate(self) -> Callable[[dict[str, Any]], bool] | None:
        """The compiled filters as one function ``doc -> bool`` (``None``: keep all).

        Compiled on first use and cached on the plan (plans are immutable).
        """
        compiled = self._predicate
        if compiled is None:
            compiled = (compile_filter(self.filters),)
            object.__setattr__(self, "_predicate", compiled)
        return compiled[0]  # type: ignore[no-any-return]

    def fingerprint(self) -> str:
        """A stable hex digest of everything that decides which keys the query reads.

        Covers the table, source kind, index and its key fields (so a changed index
        definition invalidates old cursors, as in Convex), the range (values by their
        type-exact key encoding), the order and the filters. Stable across processes
        and Python versions: it is a SHA-256 of canonical JSON.
        """
        if self._fingerprint is not None:
            return self._fingerprint  # type: ignore[no-any-return]
        r = self.range
        data = {
            "v": PLAN_VERSION,
            "table": self.table,
            "source": self.source,
            "index": self.index,
            "fields": list(r.fields),
            "eq": [[f, encode_value(v).hex()] for f, v in r.eq],
            "lower": _bound_data(r.lower),
            "upper": _bound_data(r.upper),
            "order": self.order,
            "filters": [expr_data(e) for e in self.filters],
        }
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        digest = hashlib.sha256(text.encode("ascii")).hexdigest()
        object.__setattr__(self, "_fingerprint", digest)
        return digest

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueryPlan):
            return NotImplemented
        return self is other or self.fingerprint() == other.fingerprint()

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def describe(self) -> str:
        """Readable one-line text, for errors and the inspector.

        Example::

            'posts by_author: author == "j57…" desc, filter q.gt(q.field("n"), 1)'
        """
        text = f"{self.table} {self.range.describe()} {self.order}"
        if self.source == "full":
            text = f"{self.table} full table scan {self.order}"
        if self.filters:
            text += ", " + ", ".join(f"filter {e!r}" for e in self.filters)
        return text


def _bound_data(b: Any) -> list[str] | None:
    if b is None:
        return None
    return [b.field, b.op, encode_value(b.value).hex()]
