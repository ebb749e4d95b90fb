"""Collecting what a block of ordinary code read, for live cells.

Inside ``with track_reads() as reads:``, every query run through an App (served
from the cache or executed), every ``app.sql`` statement and ``app.count`` add their read sets to
``reads``; the block can then be re-run when a commit touches any of them
(``Reactor.watch_reads``). Context-local, so other threads are not tracked.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from nbreactive.reactive.readset import ReadSet

__all__ = ["ReadsCollector", "record", "track_reads", "tracking"]


class ReadsCollector:
    """Read sets gathered per reactivity engine (one per App), and per engine the
    earliest commit ts they were read at (``since``: commits after it may have
    changed what was read before the block got to watch it)."""

    def __init__(self) -> None:
        self.by_reactor: dict[Any, list[ReadSet]] = {}
        self.since: dict[Any, int] = {}

    def add(self, reactor: Any, rs: ReadSet, ts: int) -> None:
        self.by_reactor.setdefault(reactor, []).append(rs)
        known = self.since.get(reactor)
        if known is None or ts < known:
            self.since[reactor] = ts

    def merged(self) -> dict[Any, ReadSet]:
        out = {}
        for reactor, sets in self.by_reactor.items():
            out[reactor] = ReadSet.build(
                [i for rs in sets for i in rs.intervals],
                [p for rs in sets for p in rs.points],
                [t for rs in sets for t in rs.tables],
            )
        return out


_current: contextvars.ContextVar[ReadsCollector | None] = contextvars.ContextVar(
    "nbreactive_reads", default=None
)


def tracking() -> bool:
    return _current.get() is not None


def record(reactor: Any, rs: ReadSet, ts: int) -> None:
    """Add ``rs``, read at commit ts ``ts`` (or later), to the block being tracked."""
    collector = _current.get()
    if collector is not None:
        collector.add(reactor, rs, ts)


@contextlib.contextmanager
def track_reads() -> Iterator[ReadsCollector]:
    collector = ReadsCollector()
    token = _current.set(collector)
    try:
        yield collector
    finally:
        _current.reset(token)
