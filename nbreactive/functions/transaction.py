"""One transaction: reads through the layered view, writes into its own layer.

A query transaction reads the published base. A mutation transaction reads
``[its layer, pending batches..., base]`` and writes into its layer; the layer is
committed as a whole when the handler returns, or dropped when it raises, so a
failed mutation leaves no trace anywhere.

The transaction implements the query layer's ``Reader`` protocol, counts what it
reads and writes against its limits, and records its read set (index intervals
and point reads) for reactivity.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import math
import os
import random
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from nbreactive.errors import (
    DocumentNotFoundError,
    FunctionError,
    QueryError,
    SchemaError,
    ValidationError,
)
from nbreactive.functions.limits import SYSTEM_LIMITS, TransactionLimits
from nbreactive.query.pagination import PageJournal
from nbreactive.schema.system import is_system_table, system_table
from nbreactive.storage.ids import new_id
from nbreactive.storage.layers import LayeredView, WriteLayer
from nbreactive.values.keys import encode_key, prefix_end
from nbreactive.values.model import (
    MAX_DOCUMENT_SIZE,
    MAX_NESTING,
    UNDEFINED,
    Id,
    check_identifier,
    normalize_value,
)
from nbreactive.values.sizes import check_document_size, document_size

if TYPE_CHECKING:
    from nbreactive.schema.definition import Schema
    from nbreactive.storage.database import Database
    from nbreactive.storage.working_set import MemIndex, MemTable
    from nbreactive.values.validators import Validator

__all__ = ["SqlNeedsSync", "Transaction"]

Doc = dict[str, Any]
_SYSTEM_FIELDS = ("_id", "_creationTime")
_SALT = os.urandom(16)
_CALLS = itertools.count()


class SqlNeedsSync(BaseException):
    """``ctx.db.sql`` found DuckDB out of step with the working set this query reads.

    Raised inside the query (a ``BaseException`` so that user ``except Exception``
    blocks let it through); the runner re-runs the query with mutations held back
    and DuckDB caught up, so that SQL and index reads see one snapshot.
    """



def check_listed(schema: Schema, table: str) -> None:
    """Raise ``QueryError`` when a read of ``table`` is a read of a table that ``schema``
    (strict) does not list: it can hold no document, so the name is likely misspelt."""
    if not schema.allows_table(table) and not is_system_table(table):
        raise QueryError(
            f'Table "{table}" is not in the schema, so it holds no documents: is the name '
            f"misspelt? The schema's tables: {', '.join(sorted(schema.tables)) or '(none)'}. "
            "(To let tables outside the schema hold any document, pass "
            "strict_table_name_types=False to nr.define_schema.)"
        )

class Transaction:
    """A query or mutation transaction (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        writable: bool,
        limits: TransactionLimits,
        now: float,
        seed: str,
    ) -> None:
        self.db = db
        self.writable = writable
        self.limits = limits
        self._seed = seed
        self._rng: random.Random | None = None
        self.now = now
        self.layer: WriteLayer | None = WriteLayer() if writable else None
        layers = [self.layer, *db.view_layers()] if self.layer is not None else []
        self.view = LayeredView(db.base, layers)
        self.scanned = 0
        self.bytes_read = 0
        self.ranges_read = 0
        self.written = 0
        self.bytes_written = 0
        self.plan_cache = db.plan_cache  # resolved query plans (Reader protocol, optional)
        self.read_set: list[tuple[str, str, bytes, bytes]] = []  # (table, index, lo, hi)
        self.point_reads: list[tuple[str, str]] = []  # (table, id) of each db.get
        self.sql_tables: set[str] = set()  # tables read whole by ctx.db.sql
        self.identity_read = False  # whether ctx.auth.get_user_identity() was called
        self.time_read = False  # whether the (frozen) clock was read: results are not cached
        # Set by the runner when DuckDB is known to hold exactly the base for the whole
        # transaction (mutations held back, flushes drained): SQL needs no check.
        self.sql_synced = False
        # Stable page boundaries of a live paginated query (set by the reactivity engine).
        self.journal: PageJournal | None = None
        self.scheduled = 0  # jobs scheduled (ctx.scheduler), and the bytes of their arguments
        # The scheduled action job this mutation runs for (called by it): once that job is
        # cancelled, what the mutation schedules is cancelled too (as in Convex).
        self.parent_job: str | None = None
        self.scheduled_bytes = 0
        self._iterators: list[weakref.ref[Any]] = []
        # Tables this transaction inserted into, whose names ``ensure_table`` accepted:
        # no other table can take a name equal to theirs ignoring case meanwhile (the
        # writer lock is held), so later inserts skip the check. A rollback forgets them.
        self._inserted_tables: set[str] = set()
        # Strictly after every creation time handed out before, pending ones included.
        self._creation_time = max(now * 1000.0, math.nextafter(db.last_creation_time, math.inf))

    @property
    def rng(self) -> random.Random:
        """The call's seeded generator (``random.*``, ``uuid4``, ``ctx.random``).

        Created on first use: most queries never draw a random number, and seeding a
        ``random.Random`` costs a few microseconds.
        """
        rng = self._rng
        if rng is None:
            # The call's identity, a process-wide counter and a random salt: two calls of
            # the same function at the same (frozen, possibly coarse) clock reading must
            # not draw the same numbers, or they would generate the same document ids.
            # (os.urandom per call would cost a system call, ~8 us here.)
            material = f"{self._seed}|{os.getpid()}|{next(_CALLS)}".encode() + _SALT
            digest = hashlib.blake2b(material, digest_size=8).digest()
            rng = self._rng = random.Random(int.from_bytes(digest, "big"))
        return rng

    # -- Reader protocol (used by nbreactive.query) ------------------------------

    def index_fields(self, table: str, index: str) -> tuple[str, ...]:
        # Called when a query plan is resolved (not for a cached plan); the schema check
        # is one dict lookup for a table the schema lists.
        schema = self.db.schema
        if schema is not None and table not in schema.tables:
            check_listed(schema, table)
        return self.db.index_key_fields(table, index)

    def field_validator(self, table: str, path: str) -> Validator | None:
        tdef = self.db.table_definition(table)
        return None if tdef is None else tdef.field_validator(path)

    def scan(self, table: str, index: str, lo: bytes, hi: bytes, desc: bool) -> Iterator[tuple[bytes, Doc]]:
        self._count_range()
        idx = self.db.index(table, index)
        mt = self.db.base.tables.get(table)
        if mt is not None and not self.view.touches(table):
            return self._scan_base(mt, idx.spec.name, lo, hi, desc)
        return self._scan_layered(table, idx, mt, lo, hi, desc)

    def read_range(self, table: str, index: str, lo: bytes, hi: bytes, desc: bool,
                   limit: int | None) -> list[tuple[bytes, Doc]]:
        """The first ``limit`` (all when None) pairs of ``scan(...)`` as a list
        (Reader protocol, optional): ``collect`` and ``take`` without a filter."""
        it = self.scan(table, index, lo, hi, desc)
        return list(it if limit is None else itertools.islice(it, limit))

    def _scan_base(self, mt: MemTable, index: str, lo: bytes, hi: bytes,
                   desc: bool) -> Iterator[tuple[bytes, Doc]]:
        """The scan of a table no write layer touches (every query, and most mutation
        reads): one loop straight over the base ordering.

        The counters are the transaction's own, updated per document: other reads
        (``db.get``, another query) may run while this generator is paused. The id is
        cut from the key's tail inline (see ``id_from_key``); the sizes of base
        documents are cached per table and always current (a write drops its entry)."""
        limits = self.limits
        max_scanned, max_bytes = limits.documents_scanned, limits.bytes_read
        docs, sizes = mt.docs, mt.sizes
        for key in mt.index(index).scan(lo, hi, desc):  # type: ignore[union-attr]
            i = key[key.rindex(b"\x10", 0, len(key) - 1) + 1 : -1].decode("ascii")
            doc = docs[i]
            self.scanned += 1
            if self.scanned > max_scanned:
                raise limits.too_many_scanned()
            size = sizes.get(i)
            if size is None:
                size = sizes[i] = document_size(doc)
            self.bytes_read += size
            if self.bytes_read > max_bytes:
                raise limits.too_many_bytes_read()
            yield key, doc

    def _scan_layered(self, table: str, idx: MemIndex, mt: MemTable | None, lo: bytes, hi: bytes,
                      desc: bool) -> Iterator[tuple[bytes, Doc]]:
        limits = self.limits
        max_scanned, max_bytes = limits.documents_scanned, limits.bytes_read
        # Sizes of published documents are cached per table; documents of pending
        # layers are measured each time (they are few).
        base_docs = mt.docs if mt is not None else {}
        sizes = mt.sizes if mt is not None else {}
        for key, doc in self.view.scan(table, idx, lo, hi, desc):
            self.scanned += 1
            if self.scanned > max_scanned:
                raise limits.too_many_scanned()
            i = doc["_id"]
            size = sizes.get(i)
            if size is None or base_docs.get(i) is not doc:
                size = document_size(doc)
                if base_docs.get(i) is doc:
                    sizes[i] = size
            self.bytes_read += size
            if self.bytes_read > max_bytes:
                raise limits.too_many_bytes_read()
            yield key, doc

    def scan_prefix(self, table: str, index: str, equal: tuple[Any, ...],
                    upto: float | None = None) -> Iterator[Doc]:
        """Documents whose ``index`` key starts with ``equal`` (and whose next field is
        at most ``upto``), in index order: a direct probe for nbreactive's own lookups
        of system tables, whose bounds change at every call and so would fill the
        shared plan cache that ``Query`` keeps for user queries."""
        prefix = encode_key(equal)
        hi = prefix_end(prefix if upto is None else encode_key((*equal, float(upto))))
        for _, doc in self.scan(table, index, prefix, hi, False):
            yield doc

    def record_read(self, table: str, index: str, lo: bytes, hi: bytes) -> None:
        self.read_set.append((table, index, lo, hi))

    def track_iterator(self, it: Any) -> None:
        """Remember a lazy query iterator; ``finish`` closes it if it is still open."""
        self._iterators.append(weakref.ref(it))

    def finish(self) -> None:
        """End of the transaction's user code: close the query iterators it left open
        (kept alive by a traceback, or a variable), which records what they read."""
        iterators, self._iterators = self._iterators, []
        for ref in iterators:
            it = ref()
            if it is not None:
                it.close()

    def _count_range(self) -> None:
        self.ranges_read += 1
        if self.ranges_read > self.limits.index_ranges_read:
            raise self.limits.too_many_ranges()

    def _count_bytes(self, table: str, doc: Doc) -> None:
        mt = self.db.base.tables.get(table)
        size = None
        if mt is not None and mt.docs.get(doc["_id"]) is doc:
            size = mt.sizes.get(doc["_id"])
            if size is None:
                size = mt.sizes[doc["_id"]] = document_size(doc)
        if size is None:
            size = document_size(doc)
        self.bytes_read += size
        if self.bytes_read > self.limits.bytes_read:
            raise self.limits.too_many_bytes_read()

    # -- point reads -------------------------------------------------------------

    def resolve(self, doc_id: Any, table: str | None, op: str) -> tuple[str, str]:
        """(table, id) of ``doc_id``, checking it is an id (of ``table`` if given)."""
        where = op if "." in op else f"db.{op}"
        if not isinstance(doc_id, str):
            raise ValidationError(
                f"Invalid argument `id` for `{where}`: expected a document id (a string), "
                f"got {doc_id!r}"
            )
        shown = str(doc_id)
        # The table an id belongs to is the one its text encodes (as in Convex); an
        # ``Id``'s ``.table`` label is not trusted (anyone can build ``Id(text, "t")``).
        actual = self.db.table_of_id(shown)
        if actual is None:
            raise ValidationError(
                f"Invalid argument `id` for `{where}`: {shown!r} is not a document id of this "
                "app. Ids come from ctx.db.insert or a document's _id field; use "
                "ctx.db.normalize_id(table, s) to check a string."
            )
        if table is not None and actual != table:
            raise ValidationError(
                f"Invalid argument `id` for `{where}`: {shown!r} is an id of table "
                f"{actual!r}, not of table {table!r}"
            )
        return actual, str(doc_id)

    def get(self, doc_id: Any, table: str | None = None, *, system: bool = False) -> Doc | None:
        """The stored document (not a copy) or None. Records a point read on ``by_id``.

        Documents of system tables only with ``system=True`` (``ctx.db.system.get``).
        """
        return self._get(doc_id, table, system)[1]

    def get_copy(self, doc_id: Any, table: str | None = None, *, system: bool = False) -> Doc | None:
        """``get``, copied for user code (see ``copier``)."""
        t, doc = self._get(doc_id, table, system)
        return None if doc is None else self.db.copier(t)(doc)

    def copier(self, table: str) -> Callable[[Doc], Doc]:
        """How to copy ``table``'s documents for user code (Reader protocol, optional)."""
        return self.db.copier(table)

    def _get(self, doc_id: Any, table: str | None, system: bool) -> tuple[str, Doc | None]:
        if type(doc_id) is Id and (table is None or doc_id.table == table):
            # Fast path: trust the label while it finds the document; a wrong label
            # finds nothing (an id's text names one table), so a miss checks the text.
            t, i = doc_id.table, str(doc_id)
            doc = self.view.get(t, i)
            if doc is None:
                t, i = self.resolve(doc_id, table, "get")
                doc = self.view.get(t, i)
        else:
            t, i = self.resolve(doc_id, table, "get")
            doc = self.view.get(t, i)
        if (t[0] == "_") is not system:
            raise ValidationError(_wrong_reader(t, system))
        self.ranges_read += 1
        limits = self.limits
        if self.ranges_read > limits.index_ranges_read:
            raise limits.too_many_ranges()
        self.point_reads.append((t, i))
        if doc is not None:
            self.scanned += 1
            if self.scanned > limits.documents_scanned:
                raise limits.too_many_scanned()
            self._count_bytes(t, doc)
        return t, doc

    def count(self, table: str, index: str, lo: bytes, hi: bytes) -> int:
        """How many documents have keys in ``[lo, hi)``: index positions, no documents read.

        Counts as one index range read (not as documents scanned); the caller records
        the read.
        """
        self._count_range()
        return self.view.count(table, self.db.index(table, index), lo, hi)

    # -- SQL -------------------------------------------------------------------------

    def sql(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        """Read-only SQL over committed data, consistent with this query's snapshot.

        Records every table the statement reads (DuckDB's own parser names them), so
        the query re-runs when any of them changes. ``params`` as for ``app.sql``: a
        list, tuple or other iterable for ``?``, a dict for ``$name`` (anything else,
        a string or a set among them, is a SqlError).
        """
        from nbreactive.storage.sql_values import rows_to_values

        if self.writable:
            raise FunctionError(
                "ctx.db.sql is available in queries only: SQL reads committed data in DuckDB, "
                "which cannot see this mutation's own writes. Read with ctx.db.get / "
                "ctx.db.query in a mutation, or move the SQL into a query."
            )
        db = self.db
        # DuckDB resolves table names case-insensitively: so does the read set.
        self.sql_tables |= {t.lower() for t in db.store.tables_read(query)}
        synced = self.sql_synced
        if not synced:
            seq = db.flush_seq
            if not db.sql_in_sync():
                raise SqlNeedsSync()
        self._count_range()
        table = db.store.sql(query, params)
        if not synced and (db.flush_seq != seq or not db.sql_in_sync()):
            raise SqlNeedsSync()
        if table.num_rows > self.limits.documents_scanned - self.scanned:
            raise self.limits.too_many_scanned()
        self.scanned += table.num_rows
        return rows_to_values(table)

    # -- writes --------------------------------------------------------------------

    def _require_writable(self, op: str) -> WriteLayer:
        if self.layer is None:
            raise FunctionError(
                f"ctx.db.{op} is not available in a query: queries are read-only. "
                "Write from a mutation (@app.mutation)."
            )
        return self.layer

    def _validate(self, table: str, fields: Doc) -> Doc:
        schema = self.db.schema
        tdef = self.db.table_definition(table)
        if tdef is not None:
            try:
                valid = tdef.validate_document(fields, resolve_id=self.db.table_of_id)
                # Validators check shapes, not document-wide limits: the nesting depth
                # counts from the document itself (a v.any() field restarts nothing). An
                # allocation-free pass; it returns ``valid`` itself.
                return normalize_value(valid, max_nesting=MAX_NESTING, copy=False)
            except ValidationError as e:
                if schema is None or schema.schema_validation:
                    raise ValidationError(
                        f'Document for table "{table}" does not match the schema: {e}',
                        path=e.path, expected=e.expected, value=e.value, detail=e.detail,
                    ) from None
                # Convex's schemaValidation=false: a document that does not fit is
                # written unchecked (below); one that fits was normalized like a checked
                # write (a v.number() field stores 3.0 for 3), since queries convert their
                # literals by the same validators.
        elif schema is not None and not schema.allows_table(table):
            raise SchemaError(
                f'Table "{table}" is not in the schema. Add it to the schema with '
                f"nr.define_table(...) and app.set_schema(...), or use one of: "
                f"{', '.join(sorted(schema.tables)) or '(no tables)'}. (To let tables "
                "outside the schema hold any document, as Convex does at run time, pass "
                "strict_table_name_types=False to nr.define_schema.)"
            )
        for k in fields:
            if k in _SYSTEM_FIELDS:
                raise ValidationError(
                    f'Field "{k}" is set by the system and cannot be written; remove it from the document.',
                    path=f".{k}",
                )
        return normalize_value(fields, top_level_fields=True)

    def _count_write(self, doc: Doc | None, system: bool = False) -> None:
        """Check the document's size limit and count the write against the limits.

        The size is computed once here (it walks the whole document). System
        documents have their own limits (a scheduled job's arguments may take 4 MiB,
        as in Convex), checked by the code that writes them.
        """
        self.written += 1
        if self.written > self.limits.documents_written:
            raise self.limits.too_many_writes()
        if doc is not None:
            size = document_size(doc)
            if size > MAX_DOCUMENT_SIZE and not system:
                check_document_size(doc)  # raises with the message
            self.bytes_written += size
            if self.bytes_written > self.limits.bytes_written:
                raise self.limits.too_many_bytes_written()

    def insert(self, table: str, fields: Doc, *, system: bool = False) -> Id:
        """Insert a document; ``system=True`` (nbreactive's own code) writes a system table."""
        layer = self._require_writable("insert")
        if not isinstance(table, str):
            raise ValidationError(f"ctx.db.insert expects a table name first, got {table!r}")
        if system:
            if system_table(table) is None:
                raise ValueError(f"{table!r} is not a system table")
        elif is_system_table(table):
            raise ValidationError(_system_write("insert into", table))
        else:
            check_identifier("table", table)
        if not isinstance(fields, dict):
            raise ValidationError(
                f"ctx.db.insert({table!r}, doc) expects a dict, got {type(fields).__name__}"
            )
        # System documents are built by nbreactive from checked parts (tests check their
        # shapes against the system tables' definitions): not validated again.
        body = fields if system else self._validate(table, fields)
        mt = self.db.base.tables.get(table) if table in self._inserted_tables else None
        if mt is None:
            mt = self.db.ensure_table(table, layer)
            self._inserted_tables.add(table)
        ct = self._creation_time
        self._creation_time = math.nextafter(ct, math.inf)
        # Ids draw from the database's generator (mutations run one at a time), not the
        # call's: seeding a generator per mutation would cost more than the insert.
        rng = self.db.id_rng
        doc_id = Id(new_id(mt.number, rng, self.now), table)
        while self.view.get(table, doc_id) is not None:  # 112 random bits: never, in practice
            doc_id = Id(new_id(mt.number, rng, self.now), table)
        doc = {"_id": doc_id, "_creationTime": ct, **body}
        self._count_write(doc, system)
        layer.put(table, doc_id, None, doc)
        return doc_id

    def _existing(self, doc_id: Any, table: str | None, op: str, system: bool) -> tuple[str, str, Doc]:
        t, i = self.resolve(doc_id, table, op)
        if is_system_table(t) and not system:
            raise ValidationError(_system_write(op, t))
        old = self.view.get(t, i)
        if old is None:
            raise DocumentNotFoundError(
                f"Cannot {op} document {i!r} of table {t!r}: it does not exist "
                "(it was never inserted, or was deleted)."
            )
        return t, i, old

    def patch(self, doc_id: Any, fields: Doc, table: str | None = None, *, system: bool = False) -> None:
        layer = self._require_writable("patch")
        if not isinstance(fields, dict):
            raise ValidationError(f"ctx.db.patch(id, fields) expects a dict, got {type(fields).__name__}")
        t, i, old = self._existing(doc_id, table, "patch", system)
        merged = {k: v for k, v in old.items() if k not in _SYSTEM_FIELDS}
        for k, val in fields.items():
            if k in _SYSTEM_FIELDS:
                if val is UNDEFINED or val != old[k]:
                    raise ValidationError(
                        f'Cannot patch system field "{k}": it is set by the system.', path=f".{k}"
                    )
                continue
            if val is UNDEFINED:
                merged.pop(k, None)
            else:
                merged[k] = val
        self._write(layer, t, i, old, merged, system)

    def replace(self, doc_id: Any, fields: Doc, table: str | None = None, *, system: bool = False) -> None:
        layer = self._require_writable("replace")
        if not isinstance(fields, dict):
            raise ValidationError(f"ctx.db.replace(id, doc) expects a dict, got {type(fields).__name__}")
        t, i, old = self._existing(doc_id, table, "replace", system)
        body = {}
        for k, val in fields.items():
            if k in _SYSTEM_FIELDS:
                if val != old[k]:
                    raise ValidationError(
                        f'Cannot replace system field "{k}": it is set by the system.', path=f".{k}"
                    )
                continue
            body[k] = val
        self._write(layer, t, i, old, body, system)

    def _write(self, layer: WriteLayer, table: str, doc_id: str, old: Doc, body: Doc, system: bool) -> None:
        valid = body if system else self._validate(table, body)
        doc = {"_id": old["_id"], "_creationTime": old["_creationTime"], **valid}
        self._count_write(doc, system)
        layer.put(table, doc_id, old, doc)

    def delete(self, doc_id: Any, table: str | None = None, *, system: bool = False) -> None:
        layer = self._require_writable("delete")
        t, i, old = self._existing(doc_id, table, "delete", system)
        self._count_write(None)
        layer.put(t, i, old, None)

    # -- sub-transactions ------------------------------------------------------------

    @contextlib.contextmanager
    def unmetered(self) -> Iterator[None]:
        """nbreactive's own bookkeeping inside a user's transaction: what it reads and
        writes neither counts against nor is limited by the user's limits."""
        saved = (self.limits, self.scanned, self.bytes_read, self.ranges_read, self.written,
                 self.bytes_written)
        self.limits = SYSTEM_LIMITS
        try:
            yield
        finally:
            (self.limits, self.scanned, self.bytes_read, self.ranges_read, self.written,
             self.bytes_written) = saved

    def savepoint(self) -> tuple[Any, ...]:
        """State to roll back to if a nested mutation call fails."""
        layer = self.layer
        if layer is None:
            return ()
        return (dict(layer.docs), dict(layer.old), self.written, self.bytes_written, self._creation_time,
                self.scheduled, self.scheduled_bytes)

    def rollback_to(self, sp: tuple[Any, ...]) -> None:
        layer = self.layer
        if layer is None or not sp:
            return
        docs, old, self.written, self.bytes_written, self._creation_time, self.scheduled, \
            self.scheduled_bytes = sp
        layer.docs.clear()
        layer.docs.update(docs)
        layer.old.clear()
        layer.old.update(old)
        layer._sorted.clear()
        self._inserted_tables.clear()


def _system_write(op: str, table: str) -> str:
    hint = (" Schedule and cancel jobs with ctx.scheduler." if table == "_scheduled_functions"
            else " Cron jobs are registered with app.crons." if table.startswith("_cron") else "")
    return (f'Cannot {op} system table "{table}": system tables are written by nbreactive '
            f"and read with ctx.db.system.{hint}")


def _wrong_reader(table: str, system: bool) -> str:
    if system:
        return (f'ctx.db.system reads system tables only; "{table}" is an app table: read it '
                "with ctx.db.get / ctx.db.query")
    return (f'"{table}" is a system table: read it with ctx.db.system.get(id) or '
            f'ctx.db.system.query("{table}")')
