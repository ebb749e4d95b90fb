"""Write layers and the merged read view over them.

A mutation reads through a stack of layers, top first::

    [its own transaction layer, pending batches (executed, not yet committed to
     DuckDB) ..., base working set (published)]

so it sees its own writes and every earlier mutation's, while queries read the
base alone and never see a write before its DuckDB commit. A write layer maps
document ids to their newest value (``None`` = deleted). Index scans merge the
base's ordered keys with each layer's keys for the same range; a document
written in a higher layer hides its older versions below.

Costs: ``get`` is a dict lookup per layer. A scan costs the base range plus
O(k log k) for the k documents of that table written in the layers (layers are
small: one transaction, or the few mutations of one group commit).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from nbreactive.storage.working_set import MemIndex, WorkingSet, id_from_key

__all__ = ["LayeredView", "WriteLayer"]

Doc = dict[str, Any]


class WriteLayer:
    """Writes not yet in the base: one transaction's, or one batch's.

    ``docs`` maps id -> (table, newest doc or None). ``old`` keeps, for each id,
    the value it had *below* this layer when first written here (None when it
    did not exist), which is what the commit's write set and the DuckDB flush need.
    """

    __slots__ = ("_sorted", "docs", "old", "records")

    def __init__(self) -> None:
        self.docs: dict[str, tuple[str, Doc | None]] = {}
        self.old: dict[str, Doc | None] = {}
        self._sorted: dict[tuple[str, str], list[tuple[bytes, Doc]]] = {}
        self.records: list[Any] = []  # commit records merged into this layer, in order

    def __bool__(self) -> bool:
        return bool(self.docs)

    def put(self, table: str, doc_id: str, old: Doc | None, new: Doc | None) -> None:
        """Record that ``doc_id`` changes from ``old`` (its value below) to ``new``."""
        if doc_id not in self.old:
            self.old[doc_id] = old
        self.docs[doc_id] = (table, new)
        if self._sorted:
            self._sorted = {k: v for k, v in self._sorted.items() if k[0] != table}

    def merge(self, upper: WriteLayer) -> None:
        """Fold a committed transaction layer into this (batch) layer."""
        for doc_id, (table, doc) in upper.docs.items():
            self.put(table, doc_id, upper.old[doc_id], doc)
        self.records.extend(upper.records)

    def touches(self, table: str) -> bool:
        return any(t == table for t, _ in self.docs.values())

    def ids_of(self, table: str) -> set[str]:
        return {i for i, (t, _) in self.docs.items() if t == table}

    def sorted_entries(self, table: str, index: MemIndex) -> list[tuple[bytes, Doc]]:
        """(key, doc) of this layer's live documents of ``table``, ordered by ``index``."""
        cache_key = (table, index.spec.name)
        entries = self._sorted.get(cache_key)
        if entries is None:
            entries = sorted(
                ((index.key_of(d), d) for t, d in self.docs.values() if t == table and d is not None),
                key=lambda e: e[0],
            )
            self._sorted[cache_key] = entries
        return entries


class LayeredView:
    """Reads through ``layers`` (top first) over the base working set.

    The caller holds the base lock for as long as it uses the view.
    """

    __slots__ = ("base", "layers")

    def __init__(self, base: WorkingSet, layers: list[WriteLayer]) -> None:
        self.base = base
        self.layers = layers

    def touches(self, table: str) -> bool:
        """Whether some layer holds a write of ``table`` (else scans read the base alone)."""
        return any(layer.touches(table) for layer in self.layers)

    def get(self, table: str, doc_id: str) -> Doc | None:
        for layer in self.layers:
            hit = layer.docs.get(doc_id)
            if hit is not None:
                return hit[1] if hit[0] == table else None
        return self.base.get(table, doc_id)

    def count(self, table: str, index: MemIndex, lo: bytes, hi: bytes) -> int:
        """How many documents have keys in ``[lo, hi)``, without touching documents
        of the base: two bisections of its ordering, corrected for the (few) documents
        of ``table`` written in the layers."""
        mt = self.base.table(table)
        base_index = mt.index(index.spec.name) if mt is not None else None
        n = 0
        if base_index is not None:
            keys = base_index.keys
            n = keys.bisect_left(hi) - keys.bisect_left(lo)
        hidden: set[str] = set()
        for layer in self.layers:
            mine = layer.ids_of(table)
            if not mine:
                continue
            n += sum(
                1 for k, d in layer.sorted_entries(table, index)
                if lo <= k < hi and d["_id"] not in hidden
            )
            hidden |= mine
        if hidden and mt is not None and base_index is not None:
            key_of = base_index.key_of
            for i in hidden:
                old = mt.docs.get(i)
                if old is not None and lo <= key_of(old) < hi:
                    n -= 1
        return n

    def scan(
        self, table: str, index: MemIndex, lo: bytes, hi: bytes, desc: bool
    ) -> Iterator[tuple[bytes, Doc]]:
        """(key, doc) pairs with ``lo <= key < hi`` in key order (reversed if ``desc``)."""
        mt = self.base.table(table)
        base_docs = mt.docs if mt is not None else {}
        base_index = mt.index(index.spec.name) if mt is not None else None
        touched = [layer for layer in self.layers if layer.touches(table)]
        if not touched:
            if base_index is None:
                return iter(())
            return ((k, base_docs[id_from_key(k)]) for k in base_index.scan(lo, hi, desc))
        streams: list[Iterator[tuple[bytes, Doc]]] = []
        hidden: set[str] = set()
        for layer in touched:
            entries = [
                (k, d)
                for k, d in layer.sorted_entries(table, index)
                if lo <= k < hi and d["_id"] not in hidden
            ]
            if desc:
                entries.reverse()
            streams.append(iter(entries))
            hidden |= layer.ids_of(table)
        if base_index is not None:
            streams.append(
                (k, base_docs[i])
                for k in base_index.scan(lo, hi, desc)
                if (i := id_from_key(k)) not in hidden
            )
        return heapq.merge(*streams, key=lambda e: e[0], reverse=desc)
