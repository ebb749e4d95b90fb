"""A dynamic set of half-open byte intervals ``[lo, hi)`` answering stabbing queries.

``stab(key)`` yields the owners of every interval containing ``key``. It is the
structure behind invalidation: one ``IntervalIndex`` per (table, index) holds the
key ranges that live queries read, and each key a commit writes is stabbed into it.

Layout: intervals are kept in *layers*; within a layer they are pairwise disjoint
and sorted, held as two parallel Python lists (``los``, ``his``) so that a lookup
is one C-level ``bisect``. A new interval goes into the first layer where it
overlaps nothing (first fit), or a new layer. Identical intervals share one slot
(a set of owners), so a thousand queries reading the same range cost one slot.

Costs, with ``n`` intervals in ``L`` layers:

- ``stab``: ``O(L log n + matches)``; each layer contributes at most one interval;
- ``add`` / ``remove``: ``O(L log n)`` plus a list insert/delete (a ``memmove``).

``L`` is the number of layers first fit needs, which is within a small constant
factor of the largest number of distinct intervals overlapping at one point
(first fit on interval graphs uses at most 8x the clique size). For the ranges
live queries read — many narrow ranges (a channel, a user, a document) and a few
wide ones (a whole table) — ``L`` is the count of wide ones plus one, and a stab
costs a few microseconds no matter how many subscriptions exist.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterator

__all__ = ["IntervalIndex"]


class _Layer:
    __slots__ = ("his", "los", "owners")

    def __init__(self) -> None:
        self.los: list[bytes] = []
        self.his: list[bytes] = []
        self.owners: list[set[Hashable]] = []

    def slot_for(self, lo: bytes, hi: bytes) -> int | None:
        """Where ``[lo, hi)`` would go if it overlaps nothing here, else None."""
        j = bisect_right(self.los, lo)
        if j > 0 and self.his[j - 1] > lo:
            return None
        if j < len(self.los) and self.los[j] < hi:
            return None
        return j


class IntervalIndex:
    """See the module docstring. Not thread-safe: the caller serializes access."""

    __slots__ = ("_layers", "_where")

    def __init__(self) -> None:
        self._layers: list[_Layer] = []
        # (lo, hi) -> the layer holding it
        self._where: dict[tuple[bytes, bytes], _Layer] = {}

    def __len__(self) -> int:
        """The number of distinct intervals."""
        return len(self._where)

    @property
    def layers(self) -> int:
        return len(self._layers)

    def add(self, lo: bytes, hi: bytes, owner: Hashable) -> None:
        """Add ``owner``'s interval ``[lo, hi)``. Empty intervals (lo >= hi) are ignored."""
        if lo >= hi:
            return
        layer = self._where.get((lo, hi))
        if layer is not None:
            layer.owners[bisect_left(layer.los, lo)].add(owner)
            return
        for layer in self._layers:
            j = layer.slot_for(lo, hi)
            if j is not None:
                break
        else:
            layer = _Layer()
            self._layers.append(layer)
            j = 0
        layer.los.insert(j, lo)
        layer.his.insert(j, hi)
        layer.owners.insert(j, {owner})
        self._where[(lo, hi)] = layer

    def remove(self, lo: bytes, hi: bytes, owner: Hashable) -> None:
        """Remove ``owner``'s interval ``[lo, hi)`` (a no-op if it is not there)."""
        layer = self._where.get((lo, hi))
        if layer is None:
            return
        j = bisect_left(layer.los, lo)
        owners = layer.owners[j]
        owners.discard(owner)
        if owners:
            return
        del layer.los[j], layer.his[j], layer.owners[j]
        del self._where[(lo, hi)]
        if not layer.los:
            self._layers.remove(layer)

    def stab(self, key: bytes) -> Iterator[Hashable]:
        """The owners of every interval with ``lo <= key < hi`` (an owner may repeat
        if it holds several such intervals)."""
        for layer in self._layers:
            j = bisect_right(layer.los, key) - 1
            if j >= 0 and key < layer.his[j]:
                yield from layer.owners[j]

    def intervals(self) -> Iterator[tuple[bytes, bytes, frozenset[Hashable]]]:
        """Every interval with its owners (for inspection and tests), in no set order."""
        for layer in self._layers:
            for lo, hi, owners in zip(layer.los, layer.his, layer.owners, strict=True):
                yield lo, hi, frozenset(owners)
