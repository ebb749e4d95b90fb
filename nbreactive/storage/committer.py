"""Group commit: mutations' write sets reach DuckDB in batches, on one thread.

Mutations execute one at a time (the database's writer lock) and fold their
writes into the *current batch* layer. The committer thread freezes that batch
(new mutations start the next one and keep executing on top of it), writes it to
DuckDB in one transaction, then publishes it into the base working set and
wakes the waiting callers. Under load many mutations share one flush; a lone
mutation waits for exactly one.

Durable apps acknowledge a mutation only after its batch's DuckDB commit. For
in-memory apps there is nothing to make durable, so a mutation is published at
once and its batch reaches DuckDB in the background; ``barrier()`` waits for
that (``app.sql`` calls it, so SQL always sees every acknowledged write).

If a DuckDB write fails, that batch and every batch executed on top of it fail
(their callers get ``StorageError``) and nothing of them is published.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nbreactive.errors import StorageError
from nbreactive.storage.layers import WriteLayer

__all__ = ["CommitRecord", "Committer"]

log = logging.getLogger("nbreactive")

# Longest a batch waits for more commits before it is flushed (see Committer._gather).
GATHER_SECONDS = 0.001

Doc = dict[str, Any]


@dataclass
class CommitRecord:
    """One committed mutation: its timestamp and write set.

    ``writes`` lists ``(table, id, old_doc, new_doc)`` (None = absent) in write
    order, collapsed per document. Reactivity consumes these after publication.
    Changes too large to list document by document (a bulk import, a schema
    change) name the tables they rewrote in ``whole_tables`` instead; ``"*"``
    means every table.
    """

    ts: int
    writes: list[tuple[str, str, Doc | None, Doc | None]]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    whole_tables: frozenset[str] = frozenset()
    source: str = "mutation"

    def wait(self, timeout: float | None = None) -> None:
        """Block until the commit is durable and published; raise if it failed."""
        if not self.done.wait(timeout):
            raise StorageError("timed out waiting for the commit to reach DuckDB")
        if self.error is not None:
            raise self.error


class Batch(WriteLayer):
    """A write layer that the committer flushes as one DuckDB transaction."""

    __slots__ = ("frozen",)

    def __init__(self) -> None:
        super().__init__()
        self.frozen = False


class Committer:
    """The single thread that writes to DuckDB.

    Args:
        flush: writes a batch (its layer) to DuckDB; raises on failure.
        publish: applies a flushed batch to the base working set (durable mode).
        fail: handles a batch whose flush failed (fails its callers, or repairs).
        durable: acknowledge only after the DuckDB commit.
    """

    def __init__(
        self,
        *,
        flush: Callable[[WriteLayer], None],
        publish: Callable[[Batch], None],
        fail: Callable[[Batch, BaseException], None],
        pending: list[Batch],
        pending_lock: threading.Lock,
        durable: bool,
        name: str,
    ) -> None:
        self._flush = flush
        self._publish = publish
        self._fail = fail
        self.pending = pending  # top (newest) first; shared with the database
        self._lock = pending_lock
        self.durable = durable
        self._wake = threading.Condition(pending_lock)
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._last_in_flight = 1
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"nbreactive-committer-{name}", daemon=True)
        self._thread.start()

    def current_batch(self) -> Batch:
        """The batch new commits join (caller holds the pending lock)."""
        if not self.pending or self.pending[0].frozen:
            self.pending.insert(0, Batch())
        return self.pending[0]

    def notify(self) -> None:
        """A batch has new commits (caller holds the pending lock)."""
        self._idle.clear()
        self._wake.notify()

    def barrier(self, timeout: float = 60.0) -> None:
        """Wait until every batch handed over so far is in DuckDB."""
        if not self._idle.wait(timeout):
            raise StorageError("timed out waiting for pending writes to reach DuckDB")
        if self.failure is not None:
            raise StorageError(f"an earlier write to DuckDB failed: {self.failure}")

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout=60)

    def _next(self) -> Batch | None:
        with self._lock:
            while True:
                unfrozen = [b for b in self.pending if not b.frozen]
                if unfrozen:
                    batch = unfrozen[-1]  # the oldest
                    self._gather(batch)
                    batch.frozen = True
                    return batch
                if self._stopping:
                    return None
                self._idle.set()
                self._wake.wait()

    def _gather(self, batch: Batch) -> None:
        """Give callers that just got their acknowledgment a moment to join ``batch``.

        With N callers in a closed loop, the ones woken by the last flush are still
        executing their next mutation when the committer comes back; freezing at
        once would split them into alternating half-size batches (each paying a
        full DuckDB commit). So wait until the batch holds as many commits as were
        in flight last time, or ``GATHER_SECONDS`` passed. A lone caller never waits:
        its target is 1. Caller holds the pending lock.
        """
        target = self._last_in_flight
        deadline = time.monotonic() + GATHER_SECONDS
        while len(batch.records) < target and not self._stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._wake.wait(left)
        self._last_in_flight = len(batch.records) + sum(
            len(b.records) for b in self.pending if b is not batch
        )

    def _run(self) -> None:
        while True:
            batch = self._next()
            if batch is None:
                return
            try:
                self._flush(batch)
            except BaseException as e:
                try:
                    self._fail(batch, e)
                except BaseException as unrecoverable:
                    # In-memory apps repair DuckDB from the working set; if even that
                    # fails, SQL stays refused (barrier raises) rather than wrong.
                    self.failure = unrecoverable
                    with self._lock:
                        if batch in self.pending:
                            self.pending.remove(batch)
                continue
            try:
                self._publish(batch)
            except BaseException as e:
                log.exception("publishing a committed batch failed")
                for record in batch.records:
                    if not record.done.is_set():
                        record.error = StorageError(f"publishing the commit failed: {e}")
                        record.done.set()
