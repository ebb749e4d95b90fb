"""A tiny in-memory ``Reader`` for the layer-4 query tests.

Documents live in a dict per table; each index is a ``SortedList`` of key bytes
``encode_key(fields..., _creationTime, _id)`` plus a map key → id. It records every
``scan`` and ``record_read`` call so tests can check what a query read.

Not the real storage (``nbreactive.storage``): no transactions, no limits beyond an
optional cap on scanned documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sortedcontainers import SortedList

from nbreactive.errors import LimitExceededError, QueryError
from nbreactive.values.keys import encode_key
from nbreactive.values.model import get_path
from nbreactive.values.validators import Validator


class FakeReader:
    """An in-memory reader: ``define`` tables, ``insert``/``delete`` documents, query.

    Attributes:
        reads: every ``record_read`` call as ``(table, index, lo, hi)``.
        scanned: documents yielded by ``scan`` so far.
        max_scanned: raise ``LimitExceededError`` past this many scanned documents.

    Example::

        r = FakeReader()
        r.define("posts", indexes={"by_author": ["author"]})
        r.insert("posts", {"author": "ada"})
        Query(r, "posts").with_index("by_author", lambda q: q.eq("author", "ada")).collect()
    """

    def __init__(self) -> None:
        self._docs: dict[str, dict[str, dict[str, Any]]] = {}
        self._indexes: dict[str, dict[str, tuple[str, ...]]] = {}
        self._keys: dict[tuple[str, str], SortedList] = {}
        self._key_ids: dict[tuple[str, str], dict[bytes, str]] = {}
        self._validators: dict[str, dict[str, Validator]] = {}
        self._counter = 0
        self._clock = 1_700_000_000_000.0
        self.reads: list[tuple[str, str, bytes, bytes]] = []
        self.scanned = 0
        self.max_scanned: int | None = None

    # -- setup -------------------------------------------------------------------

    def define(
        self,
        table: str,
        indexes: Mapping[str, Iterable[str]] | None = None,
        validators: Mapping[str, Validator] | None = None,
    ) -> None:
        """Create a table with user indexes (field lists) and optional field validators."""
        fields = {
            "by_id": ("_id",),
            "by_creation_time": ("_creationTime", "_id"),
        }
        for name, f in (indexes or {}).items():
            fields[name] = (*f, "_creationTime", "_id")
        self._docs[table] = {}
        self._indexes[table] = fields
        self._validators[table] = dict(validators or {})
        for name in fields:
            self._keys[(table, name)] = SortedList()
            self._key_ids[(table, name)] = {}

    def insert(self, table: str, doc: dict[str, Any]) -> str:
        """Store ``doc`` with a fresh ``_id`` and an increasing ``_creationTime``.

        ``_id``/``_creationTime`` already in ``doc`` are kept (to build ties).
        """
        self._counter += 1
        self._clock += 1.0
        stored = dict(doc)
        stored.setdefault("_id", f"{table[:2]}{self._counter:06d}")
        stored.setdefault("_creationTime", self._clock)
        doc_id = stored["_id"]
        self._docs[table][doc_id] = stored
        for name, fields in self._indexes[table].items():
            key = self._key(stored, fields)
            self._keys[(table, name)].add(key)
            self._key_ids[(table, name)][key] = doc_id
        return str(doc_id)

    def delete(self, table: str, doc_id: str) -> None:
        stored = self._docs[table].pop(doc_id)
        for name, fields in self._indexes[table].items():
            key = self._key(stored, fields)
            self._keys[(table, name)].remove(key)
            del self._key_ids[(table, name)][key]

    def get(self, table: str, doc_id: str) -> dict[str, Any]:
        return self._docs[table][doc_id]

    @staticmethod
    def _key(doc: dict[str, Any], fields: tuple[str, ...]) -> bytes:
        return encode_key([get_path(doc, f) for f in fields])

    # -- the Reader protocol ---------------------------------------------------

    def index_fields(self, table: str, index: str) -> tuple[str, ...]:
        if table not in self._indexes:
            raise QueryError(f'Table "{table}" not found.')
        try:
            return self._indexes[table][index]
        except KeyError:
            raise QueryError(f"Index {table}.{index} not found.") from None

    def field_validator(self, table: str, path: str) -> Validator | None:
        return self._validators.get(table, {}).get(path)

    def scan(
        self, table: str, index: str, lo: bytes, hi: bytes, desc: bool
    ) -> Iterator[tuple[bytes, dict[str, Any]]]:
        keys = self._keys[(table, index)]
        ids = self._key_ids[(table, index)]
        docs = self._docs[table]
        for key in keys.irange(lo, hi, inclusive=(True, False), reverse=desc):
            if self.max_scanned is not None and self.scanned >= self.max_scanned:
                raise LimitExceededError(
                    f"Too many documents read in a single function execution "
                    f"(limit: {self.max_scanned})."
                )
            self.scanned += 1
            yield key, docs[ids[key]]

    def record_read(self, table: str, index: str, lo: bytes, hi: bytes) -> None:
        self.reads.append((table, index, lo, hi))

    # -- helpers for tests -------------------------------------------------------

    def key_of(self, table: str, index: str, doc_id: str) -> bytes:
        """The index key of a stored document."""
        return self._key(self._docs[table][doc_id], self._indexes[table][index])
