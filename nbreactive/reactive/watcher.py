"""``ReadWatcher``: an owner in the dependency index that is not a query.

Live cells (and the data browser and forms) read through ordinary calls, then
watch what they read: ``callback()`` runs on the engine thread after a commit
touches the watched read set. Reads happen before the watch starts, so a commit
landing in between would go unseen; ``update(read_set, since=ts)`` closes that gap
by checking the commits published after ``ts`` (the snapshot the reads saw)
against the read set, in the engine's commit log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbreactive.reactive.inspector import LoggedWrites
from nbreactive.reactive.readset import DependencyIndex, ReadSet

if TYPE_CHECKING:
    from nbreactive.reactive.engine import Reactor

__all__ = ["ReadWatcher", "note_tables_written"]


class ReadWatcher:
    """Calls ``callback()`` (on the engine thread) after a commit touches ``read_set``."""

    __slots__ = ("_reactor", "active", "callback", "read_set")

    def __init__(self, reactor: Reactor, callback: Callable[[], Any]) -> None:
        self._reactor = reactor
        self.callback = callback
        self.read_set = ReadSet()
        self.active = True

    def update(self, read_set: ReadSet, since: int | None = None) -> None:
        """Watch ``read_set`` from now on (the block read something else this time).
        ``since``: the commit ts the reads were made at (or before); a commit after it
        that touched them calls ``callback`` as if it came now."""
        reactor = self._reactor
        db = reactor._db
        with db.base_lock:
            if not self.active:
                return
            reactor.deps.remove(self, self.read_set)
            reactor.deps.add(self, read_set)
            self.read_set = read_set
            if since is None or since >= db.base_ts or not read_set:
                return
            if not _touched_since(reactor, read_set, since):
                return
            reactor._fired.append(self)
        with reactor._cond:
            reactor._cond.notify()

    def close(self) -> None:
        reactor = self._reactor
        with reactor._db.base_lock:
            if self.active:
                self.active = False
                reactor.deps.remove(self, self.read_set)


def note_tables_written(last_write: dict[str, int], ts: int, writes: Any,
                        whole_tables: Any) -> None:
    """Remember, per table, the ts of the latest commit that wrote it (committing
    thread, base lock held): for commits that have left the log by the time a
    watcher asks. A dict assignment per write, nothing more on the commit path."""
    for w in writes:
        last_write[w[0]] = ts
    for t in whole_tables:
        last_write[t] = ts


def _touched_since(reactor: Reactor, read_set: ReadSet, since: int) -> bool:
    """Whether a commit after ``since`` wrote something ``read_set`` covers (caller
    holds the base lock). Exact for the commits in the log; for writes beyond the ones
    a log entry lists, whether they wrote a table ``read_set`` reads; when commits
    after ``since`` have left the log, whether any commit after ``since`` wrote such
    a table."""
    read = {t.lower() for t in read_set.tables_read()}

    def may_touch(tables: Any) -> bool:
        return "*" in read or any(t == "*" or t.lower() in read for t in tables)

    log = reactor.log
    # Commits after ``since`` may have left the log: for them, whether the latest
    # commit that wrote a table ``read_set`` reads came after ``since``.
    if (len(log) == log.maxlen and (not log or since < log[0][0])
            and any(ts > since and may_touch((t,)) for t, ts in reactor.last_write.items())):
        return True
    probe = DependencyIndex()
    probe.add(object(), read_set)
    hits: set[Any] = set()
    for ts, _source, logged, _n, whole_tables, _when, _inv, _dropped, tables in reversed(reactor.log):
        if ts <= since:
            break
        if may_touch(whole_tables):
            return True
        if tables is not None:  # more writes than listed: the tables they wrote
            if may_touch(tables):
                return True
            continue
        for t, i, old, new in LoggedWrites.expand(logged):
            probe.hit_by_write(t, i, old, new, reactor._key_fn, hits)
            if hits:
                return True
    return False
