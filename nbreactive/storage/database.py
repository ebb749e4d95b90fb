"""The database: working set + DuckDB store + group commit, behind three locks.

Locks, always taken in this order:

- ``writer_lock`` (RLock): one mutation executes at a time (and admin changes
  such as ``set_schema`` and imports run alone).
- ``base_lock`` (RLock): guards the base working set and the pending-layer
  list. Queries hold it while they run; mutations hold it while they execute;
  the committer takes it to publish a flushed batch.
- ``pending_lock`` (Lock): a short critical section for handing batches to the
  committer.

Only published state is in the base: queries never see a write before its
DuckDB commit (durable apps), and a failed mutation never leaves a trace.
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import logging
import os
import random
import threading
import time
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from nbreactive.errors import (
    NbReactiveError,
    QueryError,
    SchemaError,
    StorageError,
    ValidationError,
)
from nbreactive.schema.system import is_system_table, system_table
from nbreactive.storage.columns import TableLayout, _contains_id
from nbreactive.storage.committer import Batch, CommitRecord, Committer
from nbreactive.storage.duckdb_store import DuckDBStore, TableChanges, open_failure
from nbreactive.storage.gcpause import freeze, gc_paused, thaw
from nbreactive.storage.ids import decode_table_number
from nbreactive.storage.layers import WriteLayer
from nbreactive.storage.working_set import IndexSpec, MemIndex, MemTable, WorkingSet
from nbreactive.values.compound_validators import ids_need_resolving
from nbreactive.values.copies import copy_document, document_copier

if TYPE_CHECKING:
    from nbreactive.schema.definition import Schema, TableDefinition

__all__ = ["Database"]

log = logging.getLogger("nbreactive")

# How far ahead of the newest commit timestamp the persisted bound is kept.
TS_RESERVATION_NS = 60 * 10**9


class _Current(enum.Enum):
    """The type of ``CURRENT``."""

    SCHEMA = 0


# The ``schema`` argument of ``Database.table_definition`` (and ``layout_for``,
# ``index_specs``) when not given: the app's current schema. ``None`` means no schema.
CURRENT = _Current.SCHEMA

# Durable databases open in this process, by real path: a second App on the same
# file would diverge from the first (two working sets over one DuckDB database).
_open_files: dict[str, weakref.ref[Database]] = {}
_open_files_lock = threading.Lock()
# Every open database, closed at interpreter exit: a script or kernel that ends
# without app.close() still gets a checkpointed file and no leaked connections.
_all_open: weakref.WeakSet[Database] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for db in list(_all_open):
        try:
            db.close()
        except Exception:
            log.exception("closing %s at exit failed", db.path or "an in-memory app")

Doc = dict[str, Any]


class Database:
    """Storage for one app. ``path=None`` is in memory (DuckDB ``:memory:``)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.durable = path is not None
        self._key = os.path.realpath(path) if path is not None else None
        self._closed = False
        if self._key is not None:
            _close_previous(self._key)
        self.store = DuckDBStore(path)
        self.base = WorkingSet()
        self.base.table_of_id = self.table_of_id
        self.writer_lock = threading.RLock()
        self.base_lock = threading.RLock()
        self.pending_lock = threading.Lock()
        self.pending: list[Batch] = []
        self.schema: Schema | None = None
        self.table_numbers: dict[str, int] = {}
        self.table_names: dict[int, str] = {}
        self.layouts: dict[str, TableLayout] = {}
        self.last_ts = 0
        self.last_creation_time = 0.0
        self.commit_listeners: list[Any] = []
        # Called with the records of every publication *while the base lock is held*,
        # so that a hook sees publications in order and in step with the base (the
        # reactivity layer marks invalidated queries here). Hooks must be quick and
        # must not raise; a failure is logged.
        self.publish_hooks: list[Callable[[list[CommitRecord]], None]] = []
        # Timestamps of the newest commit published to the base, and of the newest one
        # in DuckDB; ``flush_seq`` is odd while a batch is being written to DuckDB. SQL
        # inside a query is consistent with the working set only when the two are
        # equal and no flush is in progress (see ``sql_in_sync``).
        # Called first when the database closes (also at interpreter exit): layers above
        # stop their threads (the reactivity engine) before the store goes away.
        self.close_hooks: list[Callable[[], None]] = []
        self.flush_seq = 0
        # Resolved query plans, keyed by query shape and range values; they depend on
        # the schema (indexes, float64 coercion), so schema changes clear it.
        self.plan_cache: OrderedDict[Any, Any] = OrderedDict()
        # Copy functions per table (see ``copier``); schema changes clear them too.
        self.copiers: dict[str, Callable[[Doc], Doc]] = {}
        # The random part of new document ids; used under the writer lock only.
        self.id_rng = random.Random(os.urandom(32))
        try:
            self._load()
        except BaseException as e:
            self.store.close(checkpoint=False)
            thaw(self)
            if isinstance(e, NbReactiveError) or not isinstance(e, Exception):
                raise
            # A damaged file opens, then fails on the first read; a file this version
            # cannot read fails somewhere in loading.
            raise open_failure(path, e) from e
        self.committer = Committer(
            flush=self._flush,
            publish=self._publish,
            fail=self._fail,
            pending=self.pending,
            pending_lock=self.pending_lock,
            durable=self.durable,
            name=path or "memory",
        )
        if self._key is not None:
            with _open_files_lock:
                _open_files[self._key] = weakref.ref(self)
        _all_open.add(self)

    # -- start-up ---------------------------------------------------------------

    def _load(self) -> None:
        from nbreactive.schema.definition import Schema

        meta = self.store.read_meta()
        if "schema" in meta and meta["schema"] is not None:
            self.schema = Schema.from_json(meta["schema"])
        self.table_numbers = dict(meta.get("tables", {}))
        self.table_names = {n: t for t, n in self.table_numbers.items()}
        self.store.claim(self.table_numbers)
        # Timestamps only grow: never below the wall clock, nor below the bound persisted.
        self.reserved_ts = int(meta.get("last_ts", 0))
        self.last_ts = max(self.reserved_ts, time.time_ns())
        # What was loaded is the state as of now: the first snapshot's timestamp (a
        # mutation that writes nothing right after opening is visible at it).
        self.base_ts = self.store_ts = self.last_ts
        checked = self.schema is None or self.schema.schema_validation
        stored = self.store.stored_columns()
        # Tables stored with the layout of an earlier version, rewritten in the current
        # one once every table is loaded (one DuckDB transaction).
        migrate: dict[str, tuple[TableLayout, list[Doc]]] = {}
        with gc_paused():
            for name in sorted(self.store.tables):  # ours only (see ``claim``)
                layout = self.layout_for(name)
                found = stored.get(name, ())
                read_with = layout
                if found != layout.stored_columns():
                    read_with = self._earlier_layout(name, found, layout)
                table = self._new_mem_table(name)
                # Ids stored inside JSON get back the table their text names (the
                # table numbers are known by now), as when they were written. Every
                # document was checked against the schema unless validation is off.
                docs = self.store.load_table(read_with, self.table_of_id, checked)
                tdef = self.table_definition(name)
                if tdef is not None and (
                    (not checked and not is_system_table(name))
                    or (layout.schemaless and _contains_id(tdef.document_validator))
                ):
                    # Documents that are a union of shapes are stored in one JSON column,
                    # like a table without a schema, but their v.id fields hold Ids. With
                    # validation off, a write stores a document that fits the schema as
                    # validating it returns (numbers as floats, v.id fields as Ids) and
                    # any other as it is: loading does the same, so a document reads
                    # back as it was written (and as files of earlier versions did).
                    resolve = None
                    if not checked or ids_need_resolving(tdef.document_validator):
                        resolve = self.table_of_id
                    for n, d in enumerate(docs):
                        body = {k: x for k, x in d.items() if k != "_id" and k != "_creationTime"}
                        try:
                            body = tdef.validate_document(body, resolve_id=resolve)
                        except ValidationError:
                            continue  # never refuse to open a file: keep it as stored
                        docs[n] = {"_id": d["_id"], "_creationTime": d["_creationTime"], **body}
                table.bulk_load(docs)
                if docs:
                    self.last_creation_time = max(
                        self.last_creation_time, max(d["_creationTime"] for d in docs)
                    )
                self.base.tables[name] = table
                if read_with is not layout:
                    migrate[name] = (layout, docs)
        if migrate:
            # Before anything else is written: the file then has every table in the
            # layout this version writes (batches append rows in that layout).
            log.info("nbreactive: rewriting tables %s in the current column layout",
                     ", ".join(sorted(migrate)))
            self.store.rebuild_tables(migrate, {"tables": self.table_numbers})
        self.freeze_working_set(sum(len(t.docs) for t in self.base.tables.values()))

    def _earlier_layout(
        self, name: str, found: tuple[tuple[str, str], ...], layout: TableLayout
    ) -> TableLayout:
        """The layout table ``name`` was stored with by an earlier version, whose columns
        are ``found`` (not those of ``layout``, the current one), to read it with.

        Earlier versions kept the exact values of odd NaNs in a trailing ``_nr_exact``
        JSON column of every typed table (``legacy_exact``), not in the side table.
        Before schema_validation=False tables were stored as one JSON column, they had
        the typed columns of a validated schema (a schema's fields, validation or not).

        Raises:
            StorageError: the columns match no layout this version knows.
        """
        tdef = self.table_definition(name)
        fields = getattr(tdef.document_validator, "fields", None) if tdef is not None else None
        if fields is not None:
            for legacy_exact in (True, False):
                earlier = TableLayout(name, dict(fields), legacy_exact=legacy_exact)
                if found == earlier.stored_columns():
                    return earlier

        def show(cols: tuple[tuple[str, str], ...]) -> str:
            return ", ".join(f"{c} {t}" for c, t in cols)

        raise StorageError(
            f"could not open {self.store.path or 'the in-memory database'}: the stored columns "
            f'of table "{name}" ({show(found)}) do not match what this version of nbreactive '
            f"expects for it under the stored schema ({show(layout.stored_columns())}). The "
            "file was probably written by another version of nbreactive: open it with that "
            "version, or export the documents there and import them here."
        )

    def freeze_working_set(self, documents: int) -> None:
        """After loading or importing ``documents`` documents: keep the cyclic garbage
        collector's full passes off them if they are many (see ``gcpause``); ``close``
        gives them back."""
        freeze(self, documents)

    def _new_mem_table(self, name: str) -> MemTable:
        table = MemTable(name, self.table_numbers[name])
        table.set_indexes(self.index_specs(name))
        self.layouts.setdefault(name, self.layout_for(name))
        return table

    # -- tables, indexes, ids -------------------------------------------------

    def table_definition(
        self, name: str, schema: Schema | _Current | None = CURRENT
    ) -> TableDefinition | None:
        """The definition of table ``name``: a system table's own, else the schema's.

        ``schema`` is the app's current schema unless given; ``None`` is "no schema"
        (a schema change asks for the layout and indexes each table will have under
        the schema it sets, which may be no schema at all).
        """
        if is_system_table(name):
            return system_table(name)
        if schema is CURRENT:
            schema = self.schema
        return schema.tables.get(name) if schema is not None else None

    def copier(self, table: str) -> Callable[[Doc], Doc]:
        """How to copy a stored document of ``table`` for user code: from the table's
        validator when the schema is enforced (every stored document then matches it),
        else field by field (``copy_document``)."""
        copy = self.copiers.get(table)
        if copy is None:
            schema = self.schema
            tdef = None if is_system_table(table) else self.table_definition(table)
            if tdef is not None and schema is not None and schema.schema_validation:
                copy = document_copier(tdef.document_validator)
            else:
                copy = copy_document
            self.copiers[table] = copy
        return copy

    def layout_for(self, name: str, schema: Schema | _Current | None = CURRENT) -> TableLayout:
        """The column layout of table ``name`` under ``schema`` (as in ``table_definition``)."""
        tdef = self.table_definition(name, schema)
        fields = getattr(tdef.document_validator, "fields", None) if tdef is not None else None
        if schema is CURRENT:
            schema = self.schema
        # A table without a schema, whose documents are a union of shapes, or whose
        # schema is not enforced (schema_validation=False: its documents may hold any
        # value in any field, and fields the schema does not name) is stored as one
        # JSON column, which keeps every value exactly. System tables always validate.
        if schema is not None and not schema.schema_validation and not is_system_table(name):
            fields = None
        return TableLayout(name, None if fields is None else dict(fields))

    def index_specs(self, name: str, schema: Schema | _Current | None = CURRENT) -> list[IndexSpec]:
        tdef = self.table_definition(name, schema)
        if tdef is None:
            return []
        return [IndexSpec(i.name, tuple(i.fields)) for i in tdef.indexes.values()]

    def table_of_id(self, text: str) -> str | None:
        """The table an id string belongs to, or None if it is not an id of ours."""
        n = decode_table_number(text)
        return None if n is None else self.table_names.get(n)

    def ensure_table(self, name: str, writing: WriteLayer | None = None) -> MemTable:
        """The in-memory table ``name``, created (empty) if needed.

        Caller holds the writer lock; ``writing`` is the layer of the transaction
        about to write to the table, if any. The DuckDB table is created by the
        first batch that writes to it.

        Raises:
            SchemaError: the table does not exist yet and its name equals another
                table's ignoring case (see ``check_new_table``); nothing changed.
            StorageError: the name is a table of the file nbreactive did not create.
        """
        table = self.base.tables.get(name)
        # A table with documents, or in DuckDB, exists: it passed this check when it
        # was first written. Any other (new, or empty and never stored) is checked.
        if table is None or not (table.docs or name in self.store.tables):
            self.check_new_table(name, writing)
        if table is None:
            if name not in self.table_numbers:
                number = max(self.table_names, default=10000) + 1
                self.table_numbers[name] = number
                self.table_names[number] = name
            with self.base_lock:
                table = self._new_mem_table(name)
                self.base.tables[name] = table
        return table

    def check_new_table(self, name: str, writing: WriteLayer | None = None) -> None:
        """Refuse to create table ``name`` if another table's name equals it ignoring case.

        DuckDB table names are case-insensitive: ``Users`` and ``users`` would be one
        table, and creating the second would fail at the DuckDB flush. A table counts
        when it exists: in DuckDB (ours or not), in the schema, holding documents, or
        written by a pending batch or by ``writing``. A name left behind by a mutation
        that failed after writing to it does not count (that table never existed).
        Costs a pass over the table names; more only when one differs only in case.
        """
        if is_system_table(name):
            return  # fixed names, all starting with "_", which user tables cannot
        # A table of the file that nbreactive did not create is refused here, before the
        # mutation commits, rather than by the DuckDB flush (which would fail its batch).
        self.store.refuse_foreign([name])
        folded = name.lower()
        schema = self.schema
        names = (*self.table_numbers, *self.store.tables,
                 *(schema.tables if schema is not None else ()))
        twins = {n for n in names if n != name and n.lower() == folded}
        for other in sorted(twins):
            if self._table_exists(other, writing):
                raise SchemaError(
                    f'Table "{name}" cannot be created: table "{other}" already exists, and '
                    "DuckDB table names are case-insensitive, so the two would be one table. "
                    f'Use "{other}", or a name that differs from it in more than case.'
                )

    def _table_exists(self, name: str, writing: WriteLayer | None) -> bool:
        if name in self.store.tables or (self.schema is not None and name in self.schema.tables):
            return True
        table = self.base.tables.get(name)
        if (table is not None and table.docs) or (writing is not None and writing.touches(name)):
            return True
        with self.pending_lock:
            return any(batch.touches(name) for batch in self.pending)

    def index(self, table: str, name: str) -> MemIndex:
        """The index ``table.name``; raises QueryError with Convex's message if unknown."""
        mt = self.base.tables.get(table)
        if mt is None:
            mt = MemTable(table, 0)  # an empty stand-in: unknown tables read as empty
            mt.set_indexes(self.index_specs(table))
        idx = mt.index(name)
        if idx is None:
            raise QueryError(f"Index {table}.{name} not found.")
        return idx

    def index_key_fields(self, table: str, name: str) -> tuple[str, ...]:
        if name == "by_id":
            return ("_id",)
        if name == "by_creation_time":
            return ("_creationTime", "_id")
        for spec in self.index_specs(table):
            if spec.name == name:
                return spec.key_fields
        raise QueryError(f"Index {table}.{name} not found.")

    # -- commits ----------------------------------------------------------------

    def view_layers(self) -> list[WriteLayer]:
        """Layers a mutation reads through below its own (caller holds the base lock)."""
        return list(self.pending) if self.durable else []

    def next_ts(self) -> int:
        ts = max(time.time_ns(), self.last_ts + 1)
        self.last_ts = ts
        return ts

    def commit(self, layer: WriteLayer) -> CommitRecord:
        """Commit a finished transaction's layer. Caller holds writer and base locks.

        Durable: the writes join the current batch; the caller waits on the
        record. In memory: the writes are published now and flushed later.
        """
        if self._closed:
            raise StorageError(
                f"this App is closed ({self.path or 'in memory'}); open it again with nr.App(...)"
            )
        # A document inserted and deleted by the same mutation is no write at all.
        writes = [
            (t, i, old, d) for i, (t, d) in layer.docs.items()
            if (old := layer.old[i]) is not None or d is not None
        ]
        for _, _, _, new in writes:
            # Later transactions start after every creation time handed out so far,
            # published or still pending.
            if new is not None and new["_creationTime"] > self.last_creation_time:
                self.last_creation_time = new["_creationTime"]
        record = CommitRecord(self.next_ts(), writes)
        layer.records.append(record)
        if not writes:
            # A mutation that wrote nothing: nothing to make durable, but if it read
            # writes still on their way to DuckDB it is acknowledged with them.
            with self.pending_lock:
                unfrozen = [b for b in self.pending if not b.frozen]
                if not self.pending or not self.durable:
                    record.done.set()
                    return record
                (unfrozen[0] if unfrozen else self.committer.current_batch()).records.append(record)
                self.committer.notify()
            return record
        if self.durable:
            with self.pending_lock:
                self.committer.current_batch().merge(layer)
                self.committer.notify()
        else:
            self._apply_to_base(layer)
            self.base_ts = record.ts
            with self.pending_lock:
                self.committer.current_batch().merge(layer)
                self.committer.notify()
            self.run_publish_hooks([record])
            record.done.set()
            self._notify_listeners([record])
        return record

    def run_publish_hooks(self, records: list[CommitRecord]) -> None:
        """Hand published records to the publish hooks (caller holds the base lock)."""
        for hook in self.publish_hooks:
            try:
                hook(records)
            except Exception:
                log.exception("a publish hook failed: %r", hook)

    def publish_rewrite(self, ts: int, tables: frozenset[str], source: str) -> CommitRecord:
        """Publish that ``tables`` (``"*"``: all) were rewritten wholesale at ``ts``.

        For changes made outside mutations (imports, schema changes) that are already
        in DuckDB and in the base. Caller holds the base lock.
        """
        record = CommitRecord(ts, [], whole_tables=tables, source=source)
        record.done.set()
        self.base_ts = self.store_ts = max(self.base_ts, ts)
        self.run_publish_hooks([record])
        return record

    @contextlib.contextmanager
    def rewriting(self) -> Iterator[None]:
        """Mark a write to DuckDB made outside the committer (an import, a schema
        change), from before the store write until the base has caught up, so that
        SQL inside a query running meanwhile knows DuckDB is ahead. Caller holds the
        writer lock and has drained the committer."""
        self.flush_seq += 1
        try:
            yield
        finally:
            self.flush_seq += 1

    def sql_in_sync(self) -> bool:
        """Whether DuckDB holds exactly the published base (caller holds the base lock).

        Read ``flush_seq`` before and after a SQL statement: if it is even and
        unchanged and this is true, the statement saw the same data as the base.
        """
        return self.flush_seq % 2 == 0 and self.store_ts == self.base_ts

    def _apply_to_base(self, layer: WriteLayer) -> None:
        for doc_id, (table, new) in layer.docs.items():
            self.base.tables[table].put(doc_id, self.base.get(table, doc_id), new)

    def _changes(self, layer: WriteLayer) -> list[TableChanges]:
        by_table: dict[str, TableChanges] = {}
        for doc_id, (table, new) in layer.docs.items():
            ch = by_table.get(table)
            if ch is None:
                ch = by_table[table] = TableChanges(table, self.layouts[table])
            existed = layer.old[doc_id] is not None
            if new is None:
                if existed:
                    ch.deletes.append(doc_id)
            elif existed:
                ch.upserts_old.append(new)
            else:
                ch.upserts_new.append(new)
        return list(by_table.values())

    def _flush(self, batch: WriteLayer) -> None:
        changes = self._changes(batch)
        meta: dict[str, Any] = {}
        if any(c.table not in self.store.tables for c in changes):
            meta["tables"] = dict(self.table_numbers)
        top = max((r.ts for r in batch.records), default=0)
        if top >= self.reserved_ts:
            # Timestamps only grow, also across a crash and a clock stepping back: the
            # store holds a bound above every timestamp handed out, moved forward
            # (in the same DuckDB transaction as the batch) once a minute at most.
            # ``reserved_ts`` is what the store holds: it moves once the batch is in.
            meta["last_ts"] = top + TS_RESERVATION_NS
        if changes or meta:
            self.flush_seq += 1
            try:
                self.store.apply_batch(changes, meta or None)
                self.store_ts = max(self.store_ts, top)
                if "last_ts" in meta:
                    self.reserved_ts = meta["last_ts"]
            finally:
                self.flush_seq += 1
        else:
            self.store_ts = max(self.store_ts, top)

    def _publish(self, batch: Batch) -> None:
        if self.durable:
            with self.base_lock:
                self._apply_to_base(batch)
                with self.pending_lock:
                    self.pending.remove(batch)
                if batch.records:
                    self.base_ts = max(self.base_ts, max(r.ts for r in batch.records))
                    self.run_publish_hooks(batch.records)
            for record in batch.records:
                record.done.set()
            self._notify_listeners(batch.records)
        else:
            with self.pending_lock:
                self.pending.remove(batch)

    def _fail(self, batch: Batch, error: BaseException) -> None:
        """``batch`` failed to reach DuckDB (committer thread).

        Durable: fail it and every batch executed on top of it; nothing of them was
        published. In memory the writes are published already, so DuckDB is repaired
        instead: the tables those batches touched are rewritten from the working set.
        """
        if not self.durable:
            self._repair_from_working_set(batch)
            return
        err = error if isinstance(error, StorageError) else StorageError(str(error))
        with self.base_lock, self.pending_lock:
            batches = list(self.pending)
            self.pending.clear()
        for b in batches:
            for record in b.records:
                record.error = err
                record.done.set()

    def _repair_from_working_set(self, batch: Batch) -> None:
        with self.base_lock, self.pending_lock:
            dropped = [batch, *(b for b in self.pending if b is not batch)]
            self.pending.clear()
            touched = {t for b in dropped for t, _ in b.docs.values()}
            snapshot = {
                t: (self.layouts[t], list(self.base.tables[t].docs.values())) for t in touched
            }
            base_ts = self.base_ts
        log.warning("writing to DuckDB failed; rewriting tables %s from memory", sorted(touched))
        self.flush_seq += 1
        try:
            self.store.rebuild_tables(snapshot, {"tables": dict(self.table_numbers)})
            self.store_ts = max(self.store_ts, base_ts)
        finally:
            self.flush_seq += 1

    def _notify_listeners(self, records: list[CommitRecord]) -> None:
        """Tell listeners about published commits. A failing listener is logged and
        never affects the commit (it is durable already) nor the other listeners."""
        for listener in list(self.commit_listeners):
            try:
                listener(records)
            except Exception:
                log.exception("a commit listener failed: %r", listener)

    def wait(self, record: CommitRecord) -> None:
        """Block until ``record`` is durable and published; raise if it failed.

        Never hangs on a dead committer: it checks, every half second, that the
        committer thread is still there to finish the job.
        """
        while not record.done.wait(0.5):
            if not self.committer.alive():
                raise StorageError(
                    "the commit could not complete: the committer stopped (the App was closed "
                    "or failed); nothing of this mutation is acknowledged"
                )
        if record.error is not None:
            raise record.error

    # -- admin ------------------------------------------------------------------

    def drain(self) -> None:
        """Wait until every pending batch is in DuckDB (and published)."""
        self.committer.barrier()

    def close(self) -> None:
        """Flush what is pending, stop the committer, checkpoint and close. Idempotent.

        Takes the writer lock, so a mutation running on another thread finishes
        first; any mutation after this raises StorageError.
        """
        for hook in list(self.close_hooks):
            try:
                hook()
            except Exception:
                log.exception("a close hook failed: %r", hook)
        with self.writer_lock:
            if self._closed:
                return
            self._closed = True
        if self._key is not None:
            with _open_files_lock:
                ref = _open_files.get(self._key)
                if ref is not None and ref() is self:
                    del _open_files[self._key]
        try:
            self.committer.barrier()
        finally:
            self.committer.stop()
            try:
                if self.durable:
                    self.store.write_meta({"last_ts": self.last_ts})
            finally:
                self.store.close()
                # Release the documents now: held through this object's reference
                # cycles (threads, hooks), they would otherwise wait for a full garbage
                # collection, which then walks them all at some later, random moment.
                with self.base_lock:
                    self.base.tables.clear()
                    self.plan_cache.clear()
                    self.copiers.clear()
                thaw(self)


def _close_previous(key: str) -> None:
    """Close an App still open on the same file in this process (a re-run notebook
    cell), so that two working sets never diverge over one database."""
    with _open_files_lock:
        ref = _open_files.pop(key, None)
    previous = ref() if ref is not None else None
    if previous is not None and not previous._closed:
        warnings.warn(
            f"{previous.path} was still open by an earlier nr.App in this process; that App "
            "has been closed (its pending writes were flushed first). Call app.close() when "
            "you are done with an App.",
            stacklevel=4,
        )
        previous.close()
