"""Keeping the cyclic garbage collector out of the working set's way.

The working set is large, long-lived and free of reference cycles: millions of
documents, each a dict plus its ``Id``. CPython's cyclic collector cannot know that,
and walks them all in every full collection: ~0.3 s per 500k documents here, a pause
that lands in whatever runs then (a live query's notification, a notebook cell).

- ``gc_paused()`` pauses the collector while bulk paths build many objects that all
  stay alive (imports, loading a file): its passes would otherwise rescan the growing
  heap again and again (~25% of a 1M-document import).
- ``freeze(holder, documents)`` then, after a big load or import, moves everything the
  collector tracks into its permanent generation (``gc.freeze``), which full
  collections skip. Frozen objects are still
  freed by reference counting as usual (documents are acyclic); only cyclic garbage
  among them would wait. ``thaw(holder)`` when the holder (a database) closes; the
  last holder to close gives everything back to the collector (``gc.unfreeze``).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["FREEZE_MIN_DOCUMENTS", "freeze", "gc_paused", "thaw"]

_lock = threading.Lock()
_holders: set[int] = set()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of objects that all
    stay alive (see the module docstring)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


#: Freeze only after loading or importing at least this many documents: below it a
#: full collection walks them in a few milliseconds, less than the collection that
#: ``freeze`` runs first.
FREEZE_MIN_DOCUMENTS = 10_000


def freeze(holder: object, documents: int) -> None:
    """After ``documents`` new long-lived documents: move every object tracked now out
    of the collector's full passes, on behalf of ``holder`` (which must ``thaw`` when it
    closes). Collects first, so that no garbage is frozen with them (one full
    collection: ~0.6 s per million documents loaded)."""
    if documents < FREEZE_MIN_DOCUMENTS:
        return
    with _lock:
        gc.collect()
        gc.freeze()
        _holders.add(id(holder))


def thaw(holder: object) -> None:
    """``holder`` no longer needs its objects frozen; the last one unfreezes. O(1)."""
    with _lock:
        if id(holder) not in _holders:
            return
        _holders.discard(id(holder))
        if not _holders:
            gc.unfreeze()
