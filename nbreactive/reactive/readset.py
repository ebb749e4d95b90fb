"""Read sets (what a query run read) and the dependency index matching them to writes.

A ``ReadSet`` is the exact footprint of one query run, produced by the same
execution that computed the result (``Transaction.read_set`` and friends):

- ``intervals``: ``(table, index, lo, hi)`` byte intervals of index keys scanned,
  merged per index (an interval a ``take(n)`` stopped early covers only the keys
  it reached; a ``filter`` over a scan covers everything scanned);
- ``points``: ``(table, id)`` of every ``db.get``, hits and misses alike;
- ``tables``: tables read as a whole (``ctx.db.sql``).

A commit's *write set* is, for each written document, its old and new key in
every index of its table. A query is invalidated iff one of those keys falls in
one of its intervals, its id is one of its points, or its table is one it read
whole. ``DependencyIndex`` finds those queries with one ``IntervalIndex`` per
(table, index) that some query read, so the cost of a commit grows with its
writes and the queries they hit, not with the number of live queries.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from nbreactive.reactive.intervals import IntervalIndex
from nbreactive.values.keys import decode_key, encode_key

__all__ = ["DependencyIndex", "ReadSet", "describe_interval", "write_keys"]

Doc = dict[str, Any]
KeyFn = Callable[[Doc], bytes]


@dataclass(frozen=True)
class ReadSet:
    """What one query run read (see the module docstring). Hashable, comparable."""

    intervals: tuple[tuple[str, str, bytes, bytes], ...] = ()
    points: frozenset[tuple[str, str]] = frozenset()
    tables: frozenset[str] = frozenset()

    @staticmethod
    def build(
        intervals: Iterable[tuple[str, str, bytes, bytes]],
        points: Iterable[tuple[str, str]] = (),
        tables: Iterable[str] = (),
    ) -> ReadSet:
        """Normalize raw reads: drop empty intervals, merge overlapping or touching
        ones of the same index, and sort."""
        by_index: dict[tuple[str, str], list[tuple[bytes, bytes]]] = {}
        for t, i, lo, hi in intervals:
            if lo < hi:
                by_index.setdefault((t, i), []).append((lo, hi))
        merged: list[tuple[str, str, bytes, bytes]] = []
        for (t, i), spans in sorted(by_index.items()):
            spans.sort()
            cur_lo, cur_hi = spans[0]
            for lo, hi in spans[1:]:
                if lo <= cur_hi:
                    if hi > cur_hi:
                        cur_hi = hi
                else:
                    merged.append((t, i, cur_lo, cur_hi))
                    cur_lo, cur_hi = lo, hi
            merged.append((t, i, cur_lo, cur_hi))
        return ReadSet(tuple(merged), frozenset(points), frozenset(tables))

    def __bool__(self) -> bool:
        return bool(self.intervals or self.points or self.tables)

    def tables_read(self) -> set[str]:
        return {t for t, *_ in self.intervals} | {t for t, _ in self.points} | set(self.tables)

    def covers(self, table: str, doc_id: str, keys: dict[str, list[bytes]]) -> bool:
        """Whether a write of ``table``/``doc_id`` with these index keys (index name ->
        old and new keys) touches this read set. A direct check, for tests and the
        inspector; live invalidation goes through ``DependencyIndex``."""
        lowered = {t.lower() for t in self.tables}
        if table.lower() in lowered or "*" in lowered or (table, doc_id) in self.points:
            return True
        for t, i, lo, hi in self.intervals:
            if t == table and any(lo <= k < hi for k in keys.get(i, ())):
                return True
        return False

    def describe(self, index_fields: Callable[[str, str], tuple[str, ...]] | None = None) -> list[str]:
        """One readable line per read, e.g. ``messages.by_channel: channel == "a"``."""
        lines = []
        for t, i, lo, hi in self.intervals:
            fields: tuple[str, ...] = ()
            if index_fields is not None:
                try:
                    fields = index_fields(t, i)
                except Exception:
                    fields = ()
            lines.append(f"{t}.{i}: {describe_interval(fields, lo, hi)}")
        lines += [f"{t}: get({i!r})" for t, i in sorted(self.points)]
        lines += [
            "any table (SQL through a table function)" if t == "*" else f"{t}: whole table (SQL)"
            for t in sorted(self.tables)
        ]
        return lines


def _decode_bound(key: bytes) -> tuple[list[Any], bool]:
    """(values, open_ended) of a range bound: a trailing 0xFF means "every key that
    extends these values"; a trailing 0x00 (``last + 0x00``) means "just after"."""
    open_ended = key.endswith(b"\xff")
    body = key[:-1] if open_ended else key
    try:
        return decode_key(body), open_ended
    except ValueError:
        try:
            return decode_key(body[:-1]), True  # last_key + b"\x00": just after last_key
        except ValueError:
            return [body.hex()], open_ended


def describe_interval(fields: tuple[str, ...], lo: bytes, hi: bytes) -> str:
    """A readable form of ``[lo, hi)`` over an index with key ``fields``."""
    if lo == b"" and hi in (b"\xff", b"\xff\xff"):
        return "all"
    lo_vals, lo_open = _decode_bound(lo)
    hi_vals, hi_open = _decode_bound(hi)
    # A range over one prefix: [P, P + 0xFF) reads "every key starting with P".
    if hi_open and not lo_open and lo_vals == hi_vals:
        parts = [
            f"{fields[n] if n < len(fields) else f'#{n}'} == {v!r}" for n, v in enumerate(lo_vals)
        ]
        return ", ".join(parts) if parts else "all"
    # An open lower bound (``gt``, a page's or a ``take``'s last key) starts after its
    # key; an open upper one takes every key extending its own, up to the index's end.
    start = "start" if not lo_vals else ("after " if lo_open else "") + _tuple(fields, lo_vals)
    end = "end" if not hi_vals else _tuple(fields, hi_vals) + ("…" if hi_open else "")
    return f"[{start} .. {end})"


def _tuple(fields: tuple[str, ...], values: list[Any]) -> str:
    if not values:
        return "start"
    named = [f"{fields[n]}={v!r}" if n < len(fields) else repr(v) for n, v in enumerate(values)]
    return "(" + ", ".join(named) + ")"


def write_keys(index: str, key_of: KeyFn, old: Doc | None, new: Doc | None) -> list[bytes]:
    """The old and new keys of a written document in one index (one if unchanged)."""
    keys = []
    if old is not None:
        keys.append(key_of(old))
    if new is not None:
        k = key_of(new)
        if not keys or keys[0] != k:
            keys.append(k)
    return keys


def by_id_key(doc: Doc) -> bytes:
    return encode_key((doc["_id"],))


@dataclass
class _TableDeps:
    intervals: dict[str, IntervalIndex] = field(default_factory=dict)
    points: dict[str, set[Hashable]] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.intervals or self.points)


class DependencyIndex:
    """Which owners (live queries, cached results) depend on which keys.

    Not thread-safe: the reactivity engine calls it under the database's base lock.
    """

    def __init__(self) -> None:
        self._tables: dict[str, _TableDeps] = {}
        # Whole-table readers (SQL), by lower-cased name: DuckDB's names ignore case.
        self._sql: dict[str, set[Hashable]] = {}
        self._owners: set[Hashable] = set()

    def __len__(self) -> int:
        return len(self._owners)

    def add(self, owner: Hashable, rs: ReadSet) -> None:
        tables = self._tables
        for t, i, lo, hi in rs.intervals:
            deps = tables.get(t) or tables.setdefault(t, _TableDeps())
            idx = deps.intervals.get(i)
            if idx is None:
                idx = deps.intervals[i] = IntervalIndex()
            idx.add(lo, hi, owner)
        for t, doc_id in rs.points:
            deps = tables.get(t) or tables.setdefault(t, _TableDeps())
            deps.points.setdefault(doc_id, set()).add(owner)
        for t in rs.tables:
            self._sql.setdefault(t.lower(), set()).add(owner)
        self._owners.add(owner)

    def remove(self, owner: Hashable, rs: ReadSet) -> None:
        tables = self._tables
        for t, i, lo, hi in rs.intervals:
            deps = tables.get(t)
            if deps is not None and (idx := deps.intervals.get(i)) is not None:
                idx.remove(lo, hi, owner)
                if not len(idx):
                    del deps.intervals[i]
        for t, doc_id in rs.points:
            deps = tables.get(t)
            if deps is not None and (owners := deps.points.get(doc_id)) is not None:
                owners.discard(owner)
                if not owners:
                    del deps.points[doc_id]
        for t in rs.tables:
            readers = self._sql.get(t.lower())
            if readers is not None:
                readers.discard(owner)
                if not readers:
                    del self._sql[t.lower()]
        for t in rs.tables_read():
            deps = tables.get(t)
            if deps is not None and deps.empty():
                del tables[t]
        self._owners.discard(owner)

    def hit_by_write(
        self,
        table: str,
        doc_id: str,
        old: Doc | None,
        new: Doc | None,
        key_fn: Callable[[str, str], KeyFn | None],
        out: set[Hashable],
    ) -> None:
        """Add to ``out`` every owner whose reads a write of this document touches."""
        if self._sql:
            readers = self._sql.get(table.lower())
            if readers:
                out |= readers
            readers = self._sql.get("*")  # SQL through table functions: any table
            if readers:
                out |= readers
        deps = self._tables.get(table)
        if deps is None:
            return
        owners = deps.points.get(doc_id)
        if owners:
            out |= owners
        for index, idx in deps.intervals.items():
            key_of = key_fn(table, index)
            if key_of is None:
                continue
            for k in write_keys(index, key_of, old, new):
                out.update(idx.stab(k))

    def owners_of_table(self, table: str) -> set[Hashable]:
        """Every owner that read anything of ``table`` (``"*"``: of any table)."""
        if table == "*":
            return set(self._owners)
        out: set[Hashable] = set(self._sql.get(table.lower(), ())) | self._sql.get("*", set())
        deps = self._tables.get(table)
        if deps is None:
            return out
        for owners in deps.points.values():
            out |= owners
        for idx in deps.intervals.values():
            for _, _, holders in idx.intervals():
                out |= holders
        return out

    def stats(self) -> dict[str, Any]:
        """Sizes, for the inspector and benchmarks."""
        return {
            "owners": len(self._owners),
            "tables": {
                t: {
                    "indexes": {i: {"intervals": len(x), "layers": x.layers} for i, x in d.intervals.items()},
                    "points": len(d.points),
                }
                for t, d in self._tables.items()
            },
            "sql_readers": {t: len(r) for t, r in self._sql.items()},
        }
