"""The reactivity engine: live queries, invalidation on commit, the result cache.

Every query run yields (result, read set, snapshot). A *query entry* holds one
(function, args, identity) with its latest outcome; subscriptions share entries,
and entries without subscribers form the result cache (LRU).

Invalidation happens at publication: the database calls ``_on_publish`` with the
commit records *while holding the base lock*, so for every record the engine
stabs its write set into the ``DependencyIndex`` and marks exactly the entries it
touches — before any later reader can see the new base. Marked cache entries are
dropped; marked live entries are *stale* and wait for a re-run.

Re-runs happen in *rounds* on the engine's own thread: under the base lock, every
stale entry re-runs against the current base (one snapshot for all of them), new
read sets replace old ones in the index, and changed results are assigned; then,
with no lock held, the subscriptions of changed entries get their callbacks.
Because a round re-runs *all* stale entries, the results of all live queries
always correspond to one snapshot, the one of the last round; a burst of commits
coalesces into one round (intermediate states may be skipped, never reordered).

``ctx.db.sql`` reads DuckDB, which can be behind (in-memory apps flush in the
background) or ahead (a durable batch committed but not yet published) of the
base. A query that calls it is re-run with mutations held back and DuckDB caught
up (the writer lock, then a drain); its function is remembered so later runs go
straight there.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbreactive.errors import ArgumentValidationError
from nbreactive.functions.context import QueryCtx
from nbreactive.functions.transaction import SqlNeedsSync, Transaction
from nbreactive.query.pagination import PageJournal
from nbreactive.reactive.inspector import LoggedWrites
from nbreactive.reactive.readset import DependencyIndex, KeyFn, ReadSet, by_id_key
from nbreactive.reactive.results import (
    error_fingerprint,
    fingerprint,
    identity_key,
    kept_fingerprint,
    same_result,
)
from nbreactive.reactive.subscription import Subscription
from nbreactive.reactive.tracking import record as record_reads
from nbreactive.reactive.tracking import tracking
from nbreactive.reactive.watcher import ReadWatcher, note_tables_written
from nbreactive.values.copies import copy_value, value_copier
from nbreactive.values.keys import encode_value

if TYPE_CHECKING:
    from types import TracebackType

    from nbreactive.functions.registry import RegisteredFunction
    from nbreactive.storage.committer import CommitRecord
    from nbreactive.storage.database import Database

__all__ = ["CommitInfo", "QueryEntry", "ReadWatcher", "Reactor"]

log = logging.getLogger("nbreactive")

#: A round (re-runs and callbacks) at least this long is followed by as long a rest...
REST_AFTER = 0.004
#: ...of at most this long (see ``Reactor._pace``)...
MAX_REST = 0.05
#: ...when the engine was busy for a good part (``BUSY_SHARE``) of this many seconds...
BUSY_WINDOW = 0.25
#: ...the share of it that counts as sustained load.
BUSY_SHARE = 0.3

#: Writes listed per commit in the inspector's log (the count is always exact).
MAX_LOGGED_WRITES = 50


class QueryEntry:
    """One (function, args, identity): its latest outcome and read set."""

    __slots__ = (
        "args", "bad_args", "copier", "created", "error", "error_tb", "fingerprint", "fn", "id", "identity", "journal",
        "key", "pinned", "read_set", "registered", "run_seconds", "runs", "stale", "subs", "time_read", "ts", "value",
        "version",
    )

    def __init__(self, key: tuple[Any, ...], fn: RegisteredFunction, args: dict[str, Any],
                 identity: dict[str, Any] | None, entry_id: int) -> None:
        self.id = entry_id
        self.key = key
        self.fn = fn
        self.args = args
        self.identity = identity
        self.value: Any = None
        self.copier: tuple[Any, Callable[[Any], Any]] | None = None  # (value, its copy function)
        self.error: BaseException | None = None
        self.error_tb: TracebackType | None = None
        self.fingerprint: bytes | None = None
        self.read_set = ReadSet()
        self.registered = False  # in the dependency index
        self.ts = 0
        self.version = 0
        self.stale = False
        self.time_read = False
        self.journal: str | None = None  # page end of a live paginated query (PageJournal)
        self.pinned = False  # its result is a page with a journal-fixed end
        self.subs: list[Subscription] = []
        # Why ``args`` do not fit ``fn`` (the query was redefined with other ``args=``):
        # its runs fail with this instead of calling the handler (``function_replaced``).
        self.bad_args: BaseException | None = None
        self.runs = 0
        self.run_seconds = 0.0
        self.created = time.time()

    def copy(self, value: Any) -> Any:
        """A copy of ``value`` (this entry's result, read by the caller) for user code.

        The way to copy is chosen once per result (``value_copier``) and kept beside
        the result it was chosen for: a result handed to 1,000 subscribers is looked at
        once, not 1,000 times."""
        chosen = self.copier
        if chosen is None or chosen[0] is not value:
            chosen = self.copier = (value, value_copier(value))
        return chosen[1](value)

    def __repr__(self) -> str:
        return f"<QueryEntry #{self.id} {self.fn.path} subs={len(self.subs)} stale={self.stale}>"


@dataclass
class _Outcome:
    value: Any
    error: BaseException | None
    read_set: ReadSet
    identity_read: bool
    time_read: bool
    ts: int
    seconds: float
    journal: str | None
    pinned: bool  # the run's page ended where an earlier run's did (not a fresh page)


@dataclass(frozen=True)
class CommitInfo:
    """One published commit as the inspector shows it."""

    ts: int
    time: float
    source: str
    writes: tuple[tuple[str, str, str], ...]  # (table, id, "insert" | "update" | "delete")
    num_writes: int
    whole_tables: frozenset[str]
    invalidated: tuple[int, ...]  # ids of the live queries it invalidated
    cache_dropped: int
    # (old, new) documents of the logged writes, aligned with ``writes``, cut down to
    # their indexed fields (``LoggedWrites``): the inspector shows their index keys.
    docs: tuple[tuple[dict[str, Any] | None, dict[str, Any] | None], ...] = ()


@dataclass
class _Request:
    fn: RegisteredFunction
    args: dict[str, Any]
    identity: dict[str, Any] | None
    key: tuple[Any, ...]
    journal: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    result: Subscription | None = None
    error: BaseException | None = None
    cancelled: bool = False


class Reactor:
    """See the module docstring. One per app."""

    def __init__(
        self,
        db: Database,
        new_tx: Callable[[RegisteredFunction, bool], Transaction],
        run_in_tx: Callable[[RegisteredFunction, Any, dict[str, Any], Transaction], Any],
        *,
        cache_size: int = 1000,
        log_size: int = 200,
    ) -> None:
        self._db = db
        self._new_tx = new_tx
        self._run_in_tx = run_in_tx
        self.cache_size = cache_size
        self.deps = DependencyIndex()
        self._ids = itertools.count(1)  # ids of query entries, as the inspector shows them
        # All under the database's base lock:
        self.entries: dict[tuple[Any, ...], QueryEntry] = {}
        self._lru: OrderedDict[tuple[Any, ...], QueryEntry] = OrderedDict()
        self._stale: set[QueryEntry] = set()
        # (ts, source, first writes, number of writes, whole tables, wall time,
        #  invalidated live-query ids, cache entries dropped, tables written when the
        #  writes are more than the first ones listed, else None)
        self.log: deque[tuple[Any, ...]] = deque(maxlen=log_size)
        #: Per table, the ts of the latest commit that wrote it (``watcher``).
        self.last_write: dict[str, int] = {}
        self._logged_writes = LoggedWrites(db)
        self._sql_fns: set[str] = set()
        # Work for the engine thread:
        self._cond = threading.Condition()
        self._requests: list[_Request] = []
        self._to_dispatch: list[QueryEntry] = []
        self._fired: list[ReadWatcher] = []  # read watchers a commit touched
        self._stopping = False
        self._waiting = 0  # callers in wait_fresh (under _cond)
        self._last_round = 0.0  # how long the last round (runs and callbacks) took
        self._recent_rounds: deque[tuple[float, float]] = deque(maxlen=4096)  # (start, end)
        #: The snapshot (commit ts) of the last round: every live result is valid there.
        self.round_ts = 0
        self._tasks: deque[Callable[[], Any]] = deque()
        #: Called on the engine thread after each round's callbacks (the server's
        #: connections send their transitions from here).
        self.round_listeners: list[Callable[[], Any]] = []
        self._thread: threading.Thread | None = None
        self.stats = {"rounds": 0, "reruns": 0, "unchanged": 0, "cache_hits": 0, "cache_misses": 0}
        db.publish_hooks.append(self._on_publish)
        db.close_hooks.append(self.close)

    # -- locking ------------------------------------------------------------------------

    @contextmanager
    def _locked(self, sql: bool) -> Iterator[None]:
        """The base lock; for SQL-reading queries, first the writer lock and a drain, so
        that DuckDB holds exactly the base for as long as the lock is held."""
        db = self._db
        if not sql:
            with db.base_lock:
                yield
            return
        with db.writer_lock:
            db.drain()
            with db.base_lock:
                yield

    def _on_reactor_thread(self) -> bool:
        t = self._thread
        return t is not None and t.ident == threading.get_ident()

    # -- running queries (caller holds the lock from _locked) ----------------------------

    def _run(self, fn: RegisteredFunction, args: dict[str, Any], identity: dict[str, Any] | None,
             sql: bool, journal: str | None = None) -> _Outcome:
        start = time.perf_counter()
        tx = self._new_tx(fn, sql)
        tx.journal = PageJournal(journal)
        value: Any = None
        error: BaseException | None = None
        try:
            try:
                value = self._run_in_tx(fn, QueryCtx(tx, identity), args, tx)
            finally:
                tx.finish()
        except SqlNeedsSync:
            self._sql_fns.add(fn.path)
            raise
        except Exception as e:
            error = e
        except BaseException as e:
            # Ctrl-C (or SystemExit) on a caller's thread interrupts that caller. Raised
            # by a query running on the engine thread, it is that query's error: it must
            # neither stop the engine nor reach other subscribers.
            if not self._on_reactor_thread():
                raise
            error = e
        rs = ReadSet.build(tx.read_set, tx.point_reads, tx.sql_tables)
        recorded = tx.journal.recorded
        return _Outcome(value, error, rs, tx.identity_read, tx.time_read, self._db.base_ts,
                        time.perf_counter() - start, recorded,
                        journal is not None and recorded == journal)

    def _run_entry(self, e: QueryEntry, sql: bool) -> _Outcome:
        """Re-run live entry ``e`` (its arguments refused by its function: that error)."""
        if e.bad_args is not None:
            return _Outcome(None, e.bad_args, ReadSet(), False, False, self._db.base_ts, 0.0,
                            e.journal, False)
        return self._run(e.fn, e.args, e.identity, sql, e.journal)

    def _key_fn(self, table: str, index: str) -> KeyFn | None:
        if index == "by_id":
            return by_id_key
        mt = self._db.base.tables.get(table)
        idx = mt.indexes.get(index) if mt is not None else None
        return None if idx is None else idx.key_of

    def _install(self, entry: QueryEntry, out: _Outcome) -> bool:
        """Give ``entry`` a run's outcome; returns whether its result changed."""
        if out.read_set != entry.read_set or not entry.registered:
            # (Registered even when empty: a run that failed before reading anything
            # must still re-run on a schema change.)
            self.deps.remove(entry, entry.read_set)
            self.deps.add(entry, out.read_set)
            entry.read_set = out.read_set
            entry.registered = True
        entry.ts = out.ts
        entry.time_read = out.time_read
        entry.journal = out.journal
        entry.pinned = out.pinned
        entry.runs += 1
        entry.run_seconds = out.seconds
        entry.stale = False
        if out.error is not None:
            fp = error_fingerprint(out.error)
            changed = entry.error is None or fp != entry.fingerprint
            # The last good value stays: a reader on another thread that found no error
            # a moment ago reads that value, never a None the query did not return.
            entry.error_tb = out.error.__traceback__
            entry.error = out.error
            entry.fingerprint = fp
        else:
            fp = fingerprint(out.value)
            changed = entry.error is not None or entry.version == 0 or not same_result(
                entry.value, entry.fingerprint, out.value, fp
            )
            if changed:
                entry.value, entry.error, entry.error_tb = out.value, None, None
                entry.fingerprint = kept_fingerprint(fp)
        if changed:
            entry.version += 1
        return changed

    def _new_entry(self, key: tuple[Any, ...], fn: RegisteredFunction, args: dict[str, Any],
                   identity: dict[str, Any] | None, out: _Outcome) -> QueryEntry:
        entry = QueryEntry(key, fn, args, identity, next(self._ids))
        self._install(entry, out)
        self.entries[key] = entry
        return entry

    def _drop(self, entry: QueryEntry) -> None:
        self.deps.remove(entry, entry.read_set)
        if self.entries.get(entry.key) is entry:
            del self.entries[entry.key]
        self._lru.pop(entry.key, None)
        self._stale.discard(entry)

    def _cache(self, entry: QueryEntry) -> None:
        """Keep a subscriber-less, valid entry as a cached result (LRU)."""
        if (self.cache_size <= 0 or entry.stale or entry.error is not None or entry.time_read
                or entry.pinned):
            self._drop(entry)
            return
        self._lru[entry.key] = entry
        self._lru.move_to_end(entry.key)
        while len(self._lru) > self.cache_size:
            _, oldest = self._lru.popitem(last=False)
            self._drop(oldest)

    def _cached_result(self, key: tuple[Any, ...]) -> QueryEntry | None:
        """An entry whose result is current for ``key`` (or its identity-free twin).

        Results that read the clock are never served again: time passing does not
        invalidate them, so a second call would see a frozen clock from the past.
        """
        for k in (key, (*key[:2], None)):
            e = self.entries.get(k)
            if e is not None and not e.stale and not e.time_read and not e.pinned and e.error is None:
                return e
        return None

    def function_replaced(self, fn: RegisteredFunction,
                          validate: Callable[[RegisteredFunction, Any], dict[str, Any]]) -> None:
        """``fn`` replaces a query of the same path (a notebook cell defining it ran
        again): no result of the old code may be served. Its entries run ``fn`` from
        now on, with their arguments checked by ``validate(fn, args)`` (``fn`` may take
        others: then its runs fail with that ``ArgumentValidationError``, as a call
        would); as any query may call it, every cached result is dropped and every live
        query re-runs (one whose result stays the same notifies nobody)."""
        woke = False
        with self._db.base_lock:
            self._sql_fns.discard(fn.path)
            for e in list(self.entries.values()):
                if e.fn.path == fn.path:
                    e.fn = fn
                    try:
                        e.args, e.bad_args = validate(fn, e.args), None
                    except ArgumentValidationError as err:
                        e.bad_args = err
                if not e.subs:
                    self._drop(e)
                elif not e.stale:
                    e.stale = woke = True
                    self._stale.add(e)
        if woke:
            with self._cond:
                self._cond.notify()

    # -- invalidation (committing thread, base lock held) ----------------------------------

    def _on_publish(self, records: list[CommitRecord]) -> None:
        deps = self.deps
        woke = False
        log_append = self.log.append
        last_write = self.last_write
        now = time.time()
        for rec in records:
            writes = rec.writes
            note_tables_written(last_write, rec.ts, writes, rec.whole_tables)
            # The log keeps the first writes, each document cut down to its indexed
            # fields (``LoggedWrites``), and the tables of the others; the inspector
            # formats them on demand, off the commit path.
            if len(writes) <= MAX_LOGGED_WRITES:
                logged, tables = self._logged_writes(writes), None
            else:
                logged = self._logged_writes(writes[:MAX_LOGGED_WRITES])
                tables = frozenset(t for t, *_ in writes)
            if not len(deps):  # nothing live or cached: only the log
                log_append((rec.ts, rec.source, logged, len(writes), rec.whole_tables, now, (), 0,
                            tables))
                continue
            hits: set[Any] = set()
            for t in rec.whole_tables:
                hits |= deps.owners_of_table(t)
            for t, i, old, new in rec.writes:
                deps.hit_by_write(t, i, old, new, self._key_fn, hits)
            invalidated: list[int] = []
            dropped = 0
            for e in hits:
                if type(e) is ReadWatcher:
                    self._fired.append(e)
                    woke = True
                    continue
                if e.subs:
                    invalidated.append(e.id)
                    if not e.stale:
                        e.stale = True
                        self._stale.add(e)
                        woke = True
                else:
                    self._drop(e)
                    dropped += 1
            log_append((rec.ts, rec.source, logged, len(writes), rec.whole_tables, now,
                        tuple(sorted(invalidated)), dropped, tables))
        if woke:
            with self._cond:
                self._cond.notify()

    def commit_log(self) -> list[CommitInfo]:
        """The recent commits, oldest first (caller holds the base lock)."""
        out = []
        for ts, source, logged, n, whole, when, invalidated, dropped, _tables in self.log:
            head = list(LoggedWrites.expand(logged))
            writes = tuple(
                (t, i, "insert" if old is None else "delete" if new is None else "update")
                for t, i, old, new in head
            )
            docs = tuple((old, new) for _, _, old, new in head)
            out.append(CommitInfo(ts, when, source, writes, n, whole, invalidated, dropped, docs))
        return out

    # -- the result cache (any thread) ----------------------------------------------------

    def query(self, fn: RegisteredFunction, args: dict[str, Any], identity: dict[str, Any] | None) -> Any:
        """Run a query at the current snapshot, served from a valid entry when one exists."""
        caching = self.cache_size > 0
        key = (fn.path, encode_value(args), identity_key(identity)) if caching else ()
        sql = fn.path in self._sql_fns
        tracked = tracking()
        if not caching and not sql and not tracked:
            # The lean path: no read set is needed when nothing will be cached.
            try:
                with self._db.base_lock:
                    tx = self._new_tx(fn, False)
                    try:
                        return self._run_in_tx(fn, QueryCtx(tx, identity), args, tx)
                    finally:
                        tx.finish()
            except SqlNeedsSync:
                self._sql_fns.add(fn.path)
                sql = True
        for _ in range(2):
            try:
                with self._locked(sql):
                    if caching:
                        e = self._cached_result(key)
                        if e is not None:
                            self.stats["cache_hits"] += 1
                            if e.key in self._lru:
                                self._lru.move_to_end(e.key)
                            if tracked:
                                record_reads(self, e.read_set, self._db.base_ts)
                            return e.copy(e.value)
                        self.stats["cache_misses"] += 1
                    out = self._run(fn, args, identity, sql)
                    if tracked:
                        record_reads(self, out.read_set, out.ts)
                    if out.error is not None:
                        raise out.error
                    if caching and not out.time_read and self.entries.get(key) is None:
                        ckey = key if out.identity_read else (*key[:2], None)
                        if self.entries.get(ckey) is None:
                            self._cache(self._new_entry(ckey, fn, args, identity, out))
                            return copy_value(out.value)
                    return out.value
            except SqlNeedsSync:
                sql = True
        raise AssertionError("unreachable: SQL-synchronized runs never ask to synchronize")

    def watch_reads(self, read_set: ReadSet, callback: Callable[[], Any],
                    since: int | None = None) -> ReadWatcher:
        """Call ``callback()`` (on the engine thread) after each commit touching
        ``read_set`` (also one after ``since``, the ts the reads were made at);
        ``.update(rs, since)`` changes what is watched, ``.close()`` stops."""
        self._ensure_thread()
        watcher = ReadWatcher(self, callback)
        watcher.update(read_set, since)
        return watcher

    # -- subscriptions ---------------------------------------------------------------------

    def subscribe(self, fn: RegisteredFunction, args: dict[str, Any],
                  identity: dict[str, Any] | None, journal: str | None = None) -> Subscription:
        """A subscription to ``fn(args)``. ``journal``: a paginated query's page end from
        an earlier run (a reconnecting client's ``Add``), so the page keeps its bounds."""
        key: tuple[Any, ...] = (fn.path, encode_value(args), identity_key(identity))
        if journal is not None:
            key = (*key, journal)  # a page with its own end is its own entry
        self._ensure_thread()
        if self._on_reactor_thread():
            # From a callback: run the round here (the thread is between dispatches).
            req = _Request(fn, args, identity, key, journal)
            self._to_dispatch.extend(self._round([req]))
            if req.error is not None:
                raise req.error
            assert req.result is not None
            return req.result
        if fn.path not in self._sql_fns:
            try:
                with self._db.base_lock:
                    if not self._stale:  # every live result is at the current snapshot
                        return self._attach(self._entry_for(key, fn, args, identity, False, journal))
            except SqlNeedsSync:
                pass
        # Stale results are waiting for a round (or the query reads SQL): join the
        # engine thread's next round, so the new result is at the same snapshot.
        req = _Request(fn, args, identity, key, journal)
        with self._cond:
            self._requests.append(req)
            self._cond.notify()
        try:
            while not req.done.wait(0.5):
                if self._thread is None or not self._thread.is_alive():
                    raise RuntimeError("the reactivity thread stopped; the App was closed")
        except BaseException:
            # Interrupted (Ctrl-C): the subscription must not live on unreachable. The
            # engine checks ``cancelled`` after setting ``done``; we check ``done`` after
            # setting ``cancelled``: one of the two always sees the other.
            req.cancelled = True
            if req.done.is_set() and req.result is not None:
                req.result.unsubscribe()
            raise
        if req.error is not None:
            raise req.error
        assert req.result is not None
        return req.result

    def _entry_for(self, key: tuple[Any, ...], fn: RegisteredFunction, args: dict[str, Any],
                   identity: dict[str, Any] | None, sql: bool, journal: str | None = None) -> QueryEntry:
        e = self.entries.get(key)
        if e is not None and not e.stale:
            return e
        if e is not None and e.bad_args is not None:
            out = self._run_entry(e, sql)
        else:
            out = self._run(fn, args, identity, sql, journal if e is None else e.journal)
        if e is not None:  # stale and unsubscribed cannot be (dropped); stale live: re-run it
            self._stale.discard(e)
            if self._install(e, out):
                self._to_dispatch.append(e)
            return e
        return self._new_entry(key, fn, args, identity, out)

    def _attach(self, entry: QueryEntry) -> Subscription:
        self._lru.pop(entry.key, None)
        sub = Subscription(self, entry)
        entry.subs.append(sub)
        return sub

    def detach(self, sub: Subscription) -> None:
        with self._db.base_lock:
            self._detach_locked(sub)

    def _detach_locked(self, sub: Subscription) -> None:
        sub.active = False
        entry = sub._entry
        if sub in entry.subs:
            entry.subs.remove(sub)
        if not entry.subs and self.entries.get(entry.key) is entry:
            self._cache(entry)

    # -- rounds (engine thread) --------------------------------------------------------------

    def _round(self, requests: list[_Request]) -> list[QueryEntry]:
        """Re-run every stale live query, then create the requested subscriptions, all
        at one snapshot. Returns the entries whose result changed."""
        sql = any(e.fn.path in self._sql_fns for e in list(self._stale)) or any(
            r.fn.path in self._sql_fns for r in requests
        )
        changed: list[QueryEntry] = []  # kept across a retry: its installs happened
        for _ in range(2):
            try:
                with self._locked(sql):
                    self.round_ts = self._db.base_ts
                    stale = [e for e in self._stale if e.subs]
                    outcomes = [(e, self._run_entry(e, sql)) for e in stale]
                    self._stale.clear()
                    self.stats["rounds"] += 1
                    self.stats["reruns"] += len(outcomes)
                    for e, out in outcomes:
                        if self._install(e, out):
                            changed.append(e)
                        else:
                            self.stats["unchanged"] += 1
                    for req in requests:
                        if req.done.is_set() or req.cancelled:
                            continue
                        try:
                            req.result = self._attach(self._entry_for(req.key, req.fn, req.args,
                                                                      req.identity, sql, req.journal))
                        except SqlNeedsSync:
                            raise
                        except BaseException as err:
                            req.error = err
                        req.done.set()
                        if req.cancelled and req.result is not None:
                            # The caller gave up waiting (Ctrl-C) after the check above.
                            self._detach_locked(req.result)
                    return changed
            except SqlNeedsSync:
                sql = True
        raise AssertionError("unreachable: SQL-synchronized runs never ask to synchronize")

    def _ensure_thread(self) -> None:
        with self._cond:
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._loop, name="nbreactive-reactivity",
                                                daemon=True)
                self._thread.start()

    def settled_ts(self) -> int:
        """The latest commit ts at which every live result is current: the last
        round's snapshot while some results wait for a re-run, else the latest commit.
        Exact on the engine thread (between rounds); a lower bound elsewhere."""
        with self._db.base_lock:
            return self.round_ts if self._stale else max(self.round_ts, self._db.base_ts)

    def wait_fresh(self, entry: QueryEntry, timeout: float) -> bool:
        """Wait until ``entry`` holds its re-run after the commits that made it stale
        (``Subscription.value``: a thread reads its own writes). Returns at once on the
        engine thread, whose callbacks read the current round, and on a thread holding
        the base or writer lock (inside a query or mutation), which a re-run needs: no
        newer result can come while it holds them. False on timeout."""
        if not entry.stale or self._on_reactor_thread():
            return True
        db = self._db
        if db.base_lock._is_owned() or db.writer_lock._is_owned():  # type: ignore[attr-defined]
            return True
        self._ensure_thread()
        deadline = time.monotonic() + timeout
        with self._cond:
            self._waiting += 1
            self._cond.notify_all()  # cuts a rest short (see _pace)
            try:
                while entry.stale and entry.subs and not self._stopping:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(left)
            finally:
                self._waiting -= 1
        return True

    def call_soon(self, task: Callable[[], Any]) -> None:
        """Run ``task`` on the engine thread after the current round's callbacks (or
        at once when it is idle): there, every live result is at ``settled_ts()``."""
        self._ensure_thread()
        with self._cond:
            if self._stopping:
                raise RuntimeError("the App was closed")
            self._tasks.append(task)
            self._cond.notify()

    def _pace(self, busy: float) -> None:
        """Under sustained load — the engine busy for ``BUSY_SHARE`` of the last
        ``BUSY_WINDOW`` seconds or more — rest after a round as long as it took (at most
        ``MAX_REST``, and not while a caller waits): the engine then holds the GIL half
        the time at most, so the notebook's own cells stay responsive, and the next
        round takes all the commits that arrived meanwhile at once. A short round
        (``REST_AFTER``), or a long one after a quiet moment, is followed by no rest."""
        if busy < REST_AFTER:
            return
        now = time.perf_counter()
        horizon = now - BUSY_WINDOW
        rounds = self._recent_rounds
        while rounds and rounds[0][1] < horizon:
            rounds.popleft()
        worked = sum(end - max(start, horizon) for start, end in rounds)
        if worked < BUSY_WINDOW * BUSY_SHARE:
            return
        deadline = time.monotonic() + min(busy, MAX_REST)
        with self._cond:
            while not (self._requests or self._tasks or self._stopping or self._waiting):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)

    def _loop(self) -> None:
        while True:
            if self._last_round:
                self._pace(self._last_round)
            with self._cond:
                while not (self._stale or self._requests or self._to_dispatch or self._fired
                           or self._tasks or self._stopping):
                    self._cond.wait()
                if self._stopping:
                    for req in self._requests:
                        req.error = RuntimeError("the App was closed")
                        req.done.set()
                    return
                requests, self._requests = self._requests, []
            started = time.perf_counter()
            try:
                changed = self._round(requests) if (self._stale or requests) else []
            except BaseException as err:
                # Not a query's failure (those are results): e.g. DuckDB could not be
                # caught up for SQL-reading queries. The stale queries take it as their
                # error, so that the loop does not spin on them; the next commit that
                # touches them re-runs them.
                log.exception("re-running live queries failed")
                for req in requests:
                    if not req.done.is_set():
                        req.error = err
                        req.done.set()
                changed = self._fail_stale(err)
            if self._waiting:  # read without the lock: see wait_fresh, which checks under it
                with self._cond:
                    self._cond.notify_all()
            # Entries changed by runs outside a round (a subscription re-running a stale
            # entry from a callback) are delivered with this round's.
            changed.extend(self._to_dispatch)
            self._to_dispatch = []
            with self._db.base_lock:
                fired, self._fired = self._fired, []
            for w in dict.fromkeys(fired):
                if w.active:
                    try:
                        w.callback()
                    except BaseException:
                        log.exception("a read watcher failed: %r", w.callback)
            seen: set[int] = set()
            for e in changed:
                if e.id in seen:
                    continue
                seen.add(e.id)
                for sub in list(e.subs):
                    try:
                        sub._deliver()
                    except BaseException:  # a callback's SystemExit must not stop the engine
                        log.exception("delivering a live query's result failed")
            for listener in list(self.round_listeners):
                try:
                    listener()
                except BaseException:
                    log.exception("a round listener failed: %r", listener)
            with self._cond:
                tasks = list(self._tasks)
                self._tasks.clear()
            for task in tasks:
                try:
                    task()
                except BaseException:
                    log.exception("an engine task failed: %r", task)
            ended = time.perf_counter()
            self._last_round = ended - started
            self._recent_rounds.append((started, ended))

    def _fail_stale(self, err: BaseException) -> list[QueryEntry]:
        """Give every stale live query ``err`` as its outcome (engine thread)."""
        changed = []
        with self._db.base_lock:
            for e in list(self._stale):
                out = _Outcome(None, err, e.read_set, False, False, self._db.base_ts, 0.0,
                               e.journal, False)
                if self._install(e, out):
                    changed.append(e)
            self._stale.clear()
        return changed

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        for hooks, hook in ((self._db.publish_hooks, self._on_publish), (self._db.close_hooks, self.close)):
            try:
                hooks.remove(hook)  # type: ignore[arg-type]
            except ValueError:
                pass

