"""The in-memory working set: every committed document and every index ordering.

Function reads are served from here, never from DuckDB (a DuckDB statement costs
0.1-0.4 ms; a dict lookup costs 0.1 us). Only *published* state lives in the
base working set: a mutation's writes reach it after the DuckDB commit that
contains them (see ``committer.py``); until then they sit in write layers
(``layers.py``).

Index keys are byte strings from ``values.keys.encode_key`` over
``(indexed fields..., _creationTime, _id)``, kept in a ``SortedList``. The id is
recovered from a key's tail: the last element is the id string, encoded as tag
0x10, the id's ASCII characters (never 0x10 or 0x00) and a 0x00 terminator.

Mutating methods say which lock their caller must hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedList

from nbreactive.values.keys import encode_key
from nbreactive.values.model import UNDEFINED, get_path

__all__ = ["IndexSpec", "MemIndex", "MemTable", "WorkingSet", "id_from_key", "make_key_fn"]

Doc = dict[str, Any]


def id_from_key(key: bytes) -> str:
    """The document id at the tail of an index key (see the module docstring)."""
    start = key.rindex(b"\x10", 0, len(key) - 1)
    return key[start + 1 : -1].decode("ascii")


def make_key_fn(fields: tuple[str, ...]) -> Callable[[Doc], bytes]:
    """A function computing a document's key in an index over ``fields``.

    ``fields`` are the user fields only; ``_creationTime`` and ``_id`` are appended.
    Plain top-level fields take a fast path (no dotted-path walk).
    """
    if not fields:
        return lambda d: encode_key((d["_creationTime"], d["_id"]))
    if all("." not in f for f in fields):
        if len(fields) == 1:
            (f0,) = fields
            return lambda d: encode_key((d.get(f0, UNDEFINED), d["_creationTime"], d["_id"]))
        return lambda d: encode_key(
            (*[d.get(f, UNDEFINED) for f in fields], d["_creationTime"], d["_id"])
        )
    return lambda d: encode_key((*[get_path(d, f) for f in fields], d["_creationTime"], d["_id"]))


@dataclass(frozen=True)
class IndexSpec:
    """An index of a table: its name and user fields (implicit tail excluded)."""

    name: str
    fields: tuple[str, ...]

    @property
    def key_fields(self) -> tuple[str, ...]:
        if self.name == "by_id":
            return ("_id",)
        return (*self.fields, "_creationTime", "_id")


class MemIndex:
    """One index ordering: a SortedList of key bytes."""

    def __init__(self, spec: IndexSpec) -> None:
        self.spec = spec
        self.keys: SortedList = SortedList()
        if spec.name == "by_id":
            self.key_of: Callable[[Doc], bytes] = lambda d: encode_key((d["_id"],))
        else:
            self.key_of = make_key_fn(spec.fields)

    def scan(self, lo: bytes, hi: bytes, desc: bool) -> Iterator[bytes]:
        """Keys in ``[lo, hi)`` in order (reversed when ``desc``). Lazy."""
        return self.keys.irange(lo, hi, inclusive=(True, False), reverse=desc)


@dataclass
class MemTable:
    """A table's documents (``dict[id, doc]``) and its index orderings.

    ``by_creation_time`` always exists; ``by_id`` is built on first use, since
    ``db.get`` uses the dict and only explicit ``with_index("by_id")`` scans need it.
    """

    name: str
    number: int
    docs: dict[str, Doc] = field(default_factory=dict)
    indexes: dict[str, MemIndex] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "by_creation_time" not in self.indexes:
            self.indexes["by_creation_time"] = MemIndex(IndexSpec("by_creation_time", ()))

    def index(self, name: str) -> MemIndex | None:
        idx = self.indexes.get(name)
        if idx is None and name == "by_id":
            idx = MemIndex(IndexSpec("by_id", ()))
            idx.keys.update(idx.key_of(d) for d in self.docs.values())
            self.indexes["by_id"] = idx
        return idx

    def set_indexes(self, specs: list[IndexSpec]) -> None:
        """Replace the user indexes with ``specs``, rebuilding the ones that changed.

        Caller holds the base lock.
        """
        keep = {"by_creation_time", "by_id"}
        wanted = {s.name: s for s in specs}
        for name in list(self.indexes):
            if name not in keep and (name not in wanted or self.indexes[name].spec != wanted[name]):
                del self.indexes[name]
        for name, spec in wanted.items():
            if name not in self.indexes:
                idx = MemIndex(spec)
                idx.keys.update(idx.key_of(d) for d in self.docs.values())
                self.indexes[name] = idx

    def put(self, doc_id: str, old: Doc | None, new: Doc | None) -> None:
        """Replace document ``doc_id`` (``old`` -> ``new``; None = absent).

        Caller holds the base lock.
        """
        for idx in self.indexes.values():
            key_of = idx.key_of
            old_key = None if old is None else key_of(old)
            new_key = None if new is None else key_of(new)
            if old_key == new_key:
                continue  # a patch of fields this index does not cover: nothing moves
            if old_key is not None:
                idx.keys.remove(old_key)
            if new_key is not None:
                idx.keys.add(new_key)
        if new is None:
            self.docs.pop(doc_id, None)
        else:
            self.docs[doc_id] = new
        self.sizes.pop(doc_id, None)

    def bulk_load(self, docs: list[Doc]) -> None:
        """Add many new documents at once (start-up and imports). Caller holds the base lock."""
        for d in docs:
            self.docs[d["_id"]] = d
        for idx in self.indexes.values():
            new_keys = [idx.key_of(d) for d in docs]
            if len(idx.keys) == 0:
                # SortedList's constructor sorts once: far cheaper than n inserts.
                idx.keys = SortedList(new_keys)
            else:
                idx.keys.update(new_keys)


class WorkingSet:
    """All tables of the base (published) state. Guarded by the database's base lock."""

    def __init__(self) -> None:
        self.tables: dict[str, MemTable] = {}
        self.table_of_id: Callable[[str], str | None] = lambda s: None

    def table(self, name: str) -> MemTable | None:
        return self.tables.get(name)

    def get(self, table: str, doc_id: str) -> Doc | None:
        t = self.tables.get(table)
        return None if t is None else t.docs.get(doc_id)
