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

from nbreactive.reactive.readset import DependencyIndex, ReadSet

if TYPE_CHECKING:
    from nbreactive.reactive.engine import Reactor

__all__ = ["ReadWatcher"]


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


def _touched_since(reactor: Reactor, read_set: ReadSet, since: int) -> bool:
    """Whether a commit after ``since`` wrote something ``read_set`` covers (caller
    holds the base lock). True when the log cannot tell: commits it no longer holds, or
    more writes than it lists."""
    log = reactor.log
    if len(log) == log.maxlen and (not log or log[0][0] > since):
        return True  # the oldest commits after ``since`` may have been dropped
    probe = DependencyIndex()
    token = object()
    probe.add(token, read_set)
    hits: set[Any] = set()
    for ts, _source, logged, num_writes, whole_tables, *_ in reversed(log):
        if ts <= since:
            break
        if num_writes > len(logged):
            return True
        if any(probe.owners_of_table(t) for t in whole_tables):
            return True
        for t, i, old, new in logged:
            probe.hit_by_write(t, i, old, new, reactor._key_fn, hits)
            if hits:
                return True
    return False
