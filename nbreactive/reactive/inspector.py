"""``app.inspect()``: a snapshot of reactivity for teaching and debugging.

Which queries are live, what each read (readable index ranges, fetched ids,
SQL tables), and the recent commits with what each wrote — its write set: each
document's old and new key values in every index of its table — and which live
queries it invalidated. A plain-data snapshot: printing it gives a report; ``.subscriptions``
and ``.commits`` are lists of dicts (``pandas.DataFrame(insp.commits)`` works).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from nbreactive.values.copies import copy_value
from nbreactive.values.model import get_path, short_repr

if TYPE_CHECKING:
    from nbreactive.reactive.engine import Reactor
    from nbreactive.storage.database import Database

__all__ = ["Inspection", "LoggedWrites", "inspect"]

Doc = dict[str, Any]


@dataclass(frozen=True)
class Inspection:
    """What ``app.inspect()`` returns: a snapshot of reactivity; ``print`` it for a report.

    Attributes:
        subscriptions: the live queries, one dict each: ``id`` (``#id`` in the report),
            ``function``, ``args``, ``subscribers``, ``reads`` (readable index ranges,
            fetched ids, SQL tables), ``read_set``, ``ts`` (the snapshot of its last
            run), ``runs``, ``last_run_ms``, ``stale`` and ``error``.
        commits: the recent commits, oldest first: ``ts`` (nanoseconds), ``time``,
            ``source``, ``writes`` ((table, id, op) triples), ``write_set`` (each
            document's old and new index keys), ``num_writes``, ``whole_tables``,
            ``invalidated`` (ids of the live queries it woke) and ``cache_dropped``.
        stats: counters of re-runs and of the result cache.

    ``pandas.DataFrame(insp.subscriptions)`` and ``pandas.DataFrame(insp.commits)``
    work; ``insp.subscription(id)`` finds a live query by id.
    """

    subscriptions: list[dict[str, Any]]
    commits: list[dict[str, Any]]
    stats: dict[str, Any]

    def subscription(self, query_id: int) -> dict[str, Any] | None:
        """The live query with this id (as listed in ``commits[...]["invalidated"]``)."""
        return next((s for s in self.subscriptions if s["id"] == query_id), None)

    def __repr__(self) -> str:
        lines = [_count(len(self.subscriptions), "live query", "live queries")]
        for s in self.subscriptions:
            state = " (failing)" if s["error"] else ""
            lines.append(
                f"  #{s['id']} {s['function']}({short_repr(s['args'])}) x{s['subscribers']}{state}"
                f" - {_count(s['runs'], 'run', 'runs')}"
            )
            lines += [f"      reads {r}" for r in s["reads"]]
        lines.append(f"last {_count(len(self.commits), 'commit', 'commits')} (newest last)")
        for c in self.commits[-20:]:
            writes = ", ".join(f"{op} {t}/{i[:8]}…" for t, i, op in c["writes"][:5])
            more = f" (+{c['num_writes'] - 5} more)" if c["num_writes"] > 5 else ""
            whole = f" rewrote {sorted(c['whole_tables'])}" if c["whole_tables"] else ""
            inv = ", ".join(f"#{i}" for i in c["invalidated"]) or "nothing"
            what = " ".join(x for x in (writes + more, whole.strip()) if x) or "no writes"
            lines.append(f"  ts {c['ts']} {c['source']}: {what} -> invalidated {inv}")
        return "\n".join(lines)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class LoggedWrites:
    """What the commit log keeps of each write: the values of ``_id``,
    ``_creationTime`` and the top-level fields its table's indexes use — all the
    inspector shows of it, and all a read watcher's catch-up needs to compute its index
    keys — not the whole document, which may be large and may be deleted: the log
    holds hundreds of commits, and must not keep their documents alive.

    Called on the committing thread (base lock held), so it is kept cheap: each logged
    write is ``(table, id, fields, old values, new values)``, the values a tuple taken
    with one ``itemgetter`` call (``MISSING`` where a field is absent); ``expand``
    turns them back into documents when the log is read."""

    __slots__ = ("_db", "_fields", "_schema")

    def __init__(self, db: Database) -> None:
        self._db = db
        self._schema: Any = None
        # per table, under ``_schema``: (the fields, an itemgetter of them)
        self._fields: dict[str, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}

    def __call__(self, writes: Any) -> list[tuple[Any, ...]]:
        db = self._db
        if db.schema is not self._schema:
            self._schema, self._fields = db.schema, {}
        known = self._fields
        out = []
        for t, i, old, new in writes:
            got = known.get(t)
            if got is None:
                got = self._fields_of(t)
            top, get = got
            if old is not None:
                try:
                    old = get(old)
                except KeyError:
                    old = tuple(old.get(f, MISSING) for f in top)
            if new is not None:
                try:
                    new = get(new)
                except KeyError:
                    new = tuple(new.get(f, MISSING) for f in top)
            out.append((t, i, top, old, new))
        return out

    @staticmethod
    def expand(logged: Any) -> Iterator[tuple[str, str, Doc | None, Doc | None]]:
        """The logged writes as ``(table, id, old, new)``, the documents cut down to
        the logged fields."""
        for t, i, top, old, new in logged:
            yield (
                t,
                i,
                None if old is None else {f: x for f, x in zip(top, old) if x is not MISSING},
                None if new is None else {f: x for f, x in zip(top, new) if x is not MISSING},
            )

    def _fields_of(self, table: str) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
        db = self._db
        mt = db.base.tables.get(table)
        specs = [*db.index_specs(table), *(() if mt is None else (i.spec for i in mt.indexes.values()))]
        fields = tuple(dict.fromkeys(
            ["_id", "_creationTime", *(f.split(".", 1)[0] for spec in specs for f in spec.fields)]))
        got = (fields, itemgetter(*fields))  # at least two fields: always a tuple
        if mt is not None:  # a table not made yet may get its indexes with it
            self._fields[table] = got
        return got


#: A field the logged document did not have.
MISSING: Any = object()


def _write_keys(db: Database, table: str, doc_id: str, op: str, old: Any, new: Any) -> dict[str, Any]:
    """One write of the write set: the document and its old and new key in each index
    of its table, as field values (``nr.UNDEFINED`` where a field is missing)."""
    keys: dict[str, dict[str, Any]] = {}
    for spec in db.index_specs(table):
        fields = spec.fields
        # Copies: ``old`` and ``new`` hold the stored documents' own field values.
        keys[spec.name] = {
            "fields": list(fields),
            "old": None if old is None else [copy_value(get_path(old, f)) for f in fields],
            "new": None if new is None else [copy_value(get_path(new, f)) for f in fields],
        }
    return {"table": table, "id": doc_id, "op": op, "keys": keys}


def inspect(reactor: Reactor, db: Database) -> Inspection:
    def index_fields(table: str, index: str) -> tuple[str, ...]:
        return db.index_key_fields(table, index)

    with db.base_lock:
        entries = [e for e in reactor.entries.values() if e.subs]
        subs = [
            {
                "id": e.id,
                "function": e.fn.path,
                "args": copy_value(e.args),  # the live query's own: a copy to keep
                "subscribers": len(e.subs),
                "reads": e.read_set.describe(index_fields),
                "read_set": e.read_set,
                "ts": e.ts,
                "runs": e.runs,
                "last_run_ms": round(e.run_seconds * 1000, 3),
                "stale": e.stale,
                "error": None if e.error is None else f"{type(e.error).__name__}: {e.error}",
            }
            for e in sorted(entries, key=lambda e: e.id)
        ]
        commits = [
            {
                "ts": c.ts,
                "time": c.time,
                "source": c.source,
                "writes": list(c.writes),
                "write_set": [_write_keys(db, t, i, op, old, new)
                              for (t, i, op), (old, new) in zip(c.writes, c.docs, strict=False)],
                "num_writes": c.num_writes,
                "whole_tables": set(c.whole_tables),
                "invalidated": list(c.invalidated),
                "cache_dropped": c.cache_dropped,
            }
            for c in reactor.commit_log()
        ]
        stats = {
            **reactor.stats,
            "live_queries": len(entries),
            "cached_results": len(reactor._lru),
            "index": reactor.deps.stats(),
        }
    return Inspection(subs, commits, stats)
