"""DuckDB: the store of record and the SQL engine.

One DuckDB database (a file, or ``:memory:``) holds every user table (layout in
``columns.py``) and two internal tables: ``_nr_meta`` (the schema, the table
numbers, the last commit timestamp) and ``_nr_exact`` (the exact values of odd
NaNs in DOUBLE columns, by table and ``_id``; see ``columns.py``), which every
write of rows keeps in step, in the same transaction. The committer thread alone writes, through
``apply_batch``: one DuckDB transaction per group of mutations, using the
Appender (12-26x cheaper per row than statement-per-row, see the reference
baselines). Readers use a cursor per thread, so ``app.sql`` never blocks writes
and sees committed data only.

nbreactive writes only to tables it created, those named in the meta's table
registry: a file that holds tables but no ``_nr_meta`` is refused, and any other
table in an nbreactive file (one added with DuckDB directly) can be read with
``app.sql`` but is never written to nor dropped. The internal tables are neither
ours nor foreign (never listed, claimed or dropped); ``app.sql`` may read them.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from nbreactive.errors import SqlError, StorageError
from nbreactive.storage.columns import EXACT_TABLE, ExactRow, TableLayout, quote
from nbreactive.storage.sql_statements import check_read_only, tables_read
from nbreactive.values.foreign import python_value

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from nbreactive.values.validator_base import ResolveId

__all__ = ["DuckDBStore", "SqlParams", "TableChanges"]

Doc = dict[str, Any]
# Values for a statement's placeholders: positional (``?``, ``$1``) or named (``$name``).
SqlParams = Iterable[Any] | Mapping[str, Any] | None

META = "_nr_meta"
FORMAT_VERSION = "1"
# The side table of odd NaNs (``columns.py``): one row per document holding one.
_EXACT_DDL = (
    f'CREATE TABLE IF NOT EXISTS {EXACT_TABLE} ("table_name" VARCHAR, "_id" VARCHAR, '
    '"fields" JSON, PRIMARY KEY ("table_name", "_id"))'
)
INTERNAL_TABLES = frozenset({META, EXACT_TABLE})


@dataclass
class TableChanges:
    """The net effect of a batch on one table."""

    table: str
    layout: TableLayout
    upserts_new: list[Doc] = field(default_factory=list)  # did not exist before the batch
    upserts_old: list[Doc] = field(default_factory=list)  # existed; replaced
    deletes: list[str] = field(default_factory=list)


class DuckDBStore:
    """The DuckDB side of a database. Thread rules: ``apply_batch`` and the DDL
    methods are called by one writer at a time; ``sql`` from any thread."""

    def __init__(self, path: str | None) -> None:
        """Open (or create) the database at ``path`` (None: in memory).

        Raises:
            StorageError: the file cannot be opened (damaged, not a DuckDB file, locked
                by another process), or it holds tables but was not created by
                nbreactive. The connection is closed again.
        """
        import duckdb

        self.path = path
        try:
            self.con: duckdb.DuckDBPyConnection = duckdb.connect(path or ":memory:")
        except duckdb.Error as e:
            raise open_failure(path, e) from e
        self._local = threading.local()
        self._cursor_lock = threading.Lock()
        self._cursors: list[Any] = []
        # Ours: the tables of the registry (see ``claim``). Foreign: every other table
        # of the file, by lower-cased name (DuckDB names are case-insensitive).
        self.tables: set[str] = set()
        self._foreign: dict[str, str] = {}
        self._existing: set[str] = set()  # the file's tables in schema main, until ``claim``
        self._appenders: dict[str, Any] = {}
        # The ids of each table's documents that have a row in the side table: only a
        # write that replaces or deletes one of them touches it (``apply_batch``).
        self.exact_ids: dict[str, set[str]] = {}
        try:
            found = self.con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database()"
            ).fetchall()
            if path is not None and found and ("main", META) not in found:
                names = sorted(n if schema == "main" else f"{schema}.{n}" for schema, n in found)
                raise StorageError(
                    f"{path} is a DuckDB database that nbreactive did not create (it has no "
                    f"{META} table), and it holds tables: {', '.join(names[:10])}"
                    f"{', ...' if len(names) > 10 else ''}. nbreactive keeps its documents in "
                    "a DuckDB file of its own and never changes tables it did not create, so "
                    "it does not open this file. Open a new file, e.g. nr.App('app.duckdb'), "
                    "and bring rows in as documents: app.import_documents('"
                    f"{names[0]}', duckdb.connect({path!r}, read_only=True).sql('SELECT * "
                    f"FROM {names[0]}').to_arrow_table())"
                )
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {META} (key VARCHAR PRIMARY KEY, value VARCHAR)")
            self.con.execute(_EXACT_DDL)
            for table, doc_id in self.con.execute(
                f'SELECT "table_name", "_id" FROM {EXACT_TABLE}'
            ).fetchall():
                self.exact_ids.setdefault(table, set()).add(doc_id)
            self._existing = {
                n for schema, n in found if schema == "main" and n not in INTERNAL_TABLES
            }
        except BaseException as e:
            self.con.close()
            if isinstance(e, duckdb.Error):
                raise open_failure(path, e) from e
            raise

    def claim(self, registry: Iterable[str]) -> None:
        """Tell the store which of the file's tables are nbreactive's: those of the
        meta's table registry. Every other table is foreign: ``apply_batch``,
        ``bulk_insert`` and ``rebuild_tables`` refuse to touch it, and ``write_meta``
        keeps it out of the registry."""
        ours = set(registry)
        self.tables = {t for t in self._existing if t in ours}
        self._foreign = {t.lower(): t for t in self._existing if t not in ours}

    def refuse_foreign(self, tables: Iterable[str]) -> None:
        """Raise StorageError if any of ``tables`` is a table of the file that nbreactive
        did not create (compared ignoring case, as DuckDB does)."""
        for table in tables:
            foreign = self._foreign.get(table.lower())
            if foreign is not None:
                raise StorageError(
                    f"the table {foreign!r} in {self.path} was not created by nbreactive, "
                    f"and nbreactive never writes to or drops a table it did not create; "
                    f"nothing was written. Use another table name for {table!r}; to bring "
                    f"its rows in as documents: app.import_documents('new_name', "
                    f"app.sql('SELECT * FROM {quote(foreign)}'))"
                )

    # -- meta -----------------------------------------------------------------

    def read_meta(self) -> dict[str, Any]:
        rows = self.con.execute(f"SELECT key, value FROM {META}").fetchall()
        meta = {k: orjson.loads(v) for k, v in rows}
        if "format" not in meta:
            self.write_meta({"format": FORMAT_VERSION})
            meta["format"] = FORMAT_VERSION
        elif meta["format"] != FORMAT_VERSION:
            raise StorageError(
                f"{self.path} was written by an incompatible nbreactive (format "
                f"{meta['format']}, this version reads {FORMAT_VERSION})"
            )
        return meta

    def write_meta(self, items: dict[str, Any]) -> None:
        registry = items.get("tables")
        if self._foreign and isinstance(registry, dict):
            # A name nbreactive gave a number to but never wrote (the write was refused)
            # must not make a foreign table look like ours when the file is reopened.
            items = {**items, "tables": {
                t: n for t, n in registry.items() if t.lower() not in self._foreign
            }}
        for k, v in items.items():
            self.con.execute(
                f"INSERT OR REPLACE INTO {META} VALUES (?, ?)", [k, orjson.dumps(v).decode()]
            )

    # -- loading --------------------------------------------------------------

    def load_table(
        self, layout: TableLayout, resolve_id: ResolveId | None = None, checked: bool = False
    ) -> list[Doc]:
        tbl = self.con.sql(f"SELECT * FROM {quote(layout.table)}").to_arrow_table()
        exact: list[ExactRow] = []
        if self.exact_ids.get(layout.table):
            exact = self.con.execute(
                f'SELECT "_id", "fields" FROM {EXACT_TABLE} WHERE "table_name" = ?', [layout.table]
            ).fetchall()
        return layout.docs_from_arrow(tbl, resolve_id, checked, exact)

    def stored_columns(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """The columns of each of our tables as they are in the file, in order, as
        (name, DuckDB type) pairs (compare ``TableLayout.stored_columns``)."""
        rows = self.con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = 'main' "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
        out: dict[str, list[tuple[str, str]]] = {}
        for table, column, sql_type in rows:
            if table in self.tables:
                out.setdefault(table, []).append((column, sql_type))
        return {t: tuple(cols) for t, cols in out.items()}

    def count(self, table: str) -> int:
        row = self.con.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()
        return int(row[0]) if row is not None else 0

    def export_parquet(self, table: str, path: str) -> int:
        """Write ``table``'s committed rows to a Parquet file at ``path`` (replacing it);
        the number of rows written (one statement: one snapshot).

        Raises:
            OSError: the file cannot be written (``FileNotFoundError`` for a missing
                directory, ``IsADirectoryError`` for a directory), with the reason.
        """
        import errno
        import os

        import duckdb

        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, "cannot export to a directory; give a file path", path)
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise FileNotFoundError(
                errno.ENOENT, f"cannot export: the directory {parent} does not exist (create it "
                "first, e.g. with os.makedirs)", path)
        target = path.replace("'", "''")
        try:
            row = self.cursor().execute(
                f"COPY (SELECT * FROM {quote(table)}) TO '{target}' (FORMAT parquet)"
            ).fetchone()
        except duckdb.IOException as e:
            raise OSError(f"cannot export {table!r} to {path}: {e}") from None
        return int(row[0]) if row is not None else 0

    # -- writing (the committer) ----------------------------------------------

    def apply_batch(self, changes: Iterable[TableChanges], meta: dict[str, Any] | None) -> None:
        """Write one batch in one DuckDB transaction; roll back entirely on failure.

        A batch of new rows in one existing table, with no meta change and no odd
        NaN (``columns.py``), takes the fast path: one Appender flush, which commits
        on its own. The side table of odd NaNs is written in the same transaction as
        the rows, and touched only for documents that hold (or held) one.
        """
        changes = [c for c in changes if c.upserts_new or c.upserts_old or c.deletes]
        if self._foreign:
            self.refuse_foreign(c.table for c in changes)
        con = self.con
        if (
            len(changes) == 1
            and not meta
            and changes[0].table in self.tables
            and changes[0].upserts_new
            and not changes[0].upserts_old
            and not changes[0].deletes
        ):
            c = changes[0]
            rows, exact = c.layout.rows(c.upserts_new)
            if not exact:
                # Inserts only, into one table: one Appender flush outside an explicit
                # transaction is its own transaction, and the cheapest DuckDB commit
                # there is (~0.75 ms for 1-8 rows, against ~1.1 ms for BEGIN + INSERT
                # + COMMIT). New documents have no side rows to remove.
                app = self._appender(c.table)
                try:
                    app.append_rows(rows)
                    app.flush()
                except Exception as e:
                    self._drop_appender(c.table)
                    raise StorageError(
                        f"writing to DuckDB failed; nothing of this batch was kept: {e}"
                    ) from e
                return
        created: list[str] = []
        # Side-table changes, applied to ``exact_ids`` once the transaction commits.
        gone: dict[str, list[str]] = {}
        added: dict[str, list[str]] = {}
        with self._transaction("writing to DuckDB failed; nothing of this batch was kept"):
            for c in changes:
                if c.table not in self.tables:
                    con.execute(c.layout.ddl())
                    created.append(c.table)
                removed = c.deletes + [str(d["_id"]) for d in c.upserts_old]
                if removed:
                    if len(removed) <= 8:
                        marks = ", ".join("?" * len(removed))
                        con.execute(f'DELETE FROM {quote(c.table)} WHERE "_id" IN ({marks})', removed)
                    else:
                        deleter = con.appender(c.table, action="delete", key=["_id"])
                        deleter.append_rows([(i,) for i in removed])
                        deleter.flush()
                    had = self.exact_ids.get(c.table)
                    if had:
                        stale = [i for i in removed if i in had]
                        if stale:
                            self._delete_exact(c.table, stale)
                            gone[c.table] = stale
                rows, exact = c.layout.rows((*c.upserts_new, *c.upserts_old))
                if rows:
                    app = self._appender(c.table)
                    app.append_rows(rows)
                    app.flush()
                if exact:
                    self._insert_exact(c.table, exact)
                    added[c.table] = [i for i, _ in exact]
            if meta:
                self.write_meta(meta)
        self.tables.update(created)
        for table, ids in gone.items():
            self.exact_ids[table].difference_update(ids)
        for table, ids in added.items():
            self.exact_ids.setdefault(table, set()).update(ids)

    def bulk_insert(
        self,
        layout: TableLayout,
        arrow_table: pa.Table,
        meta: dict[str, Any],
        *,
        exact: list[ExactRow],
    ) -> None:
        """Insert an Arrow table (``layout.arrow``) and its side-table rows
        (``layout.exact_rows``: new documents have none yet) in one transaction (imports)."""
        self.refuse_foreign([layout.table])
        with self._transaction(f"bulk insert into {layout.table!r} failed; nothing was kept"):
            if layout.table not in self.tables:
                self.con.execute(layout.ddl())
            self._insert_arrow(layout.table, arrow_table)
            if exact:
                self._insert_exact(layout.table, exact)
            self.write_meta(meta)
        self.tables.add(layout.table)
        if exact:
            self.exact_ids.setdefault(layout.table, set()).update(i for i, _ in exact)

    def rebuild_tables(self, rebuilt: dict[str, tuple[TableLayout, list[Doc]]], meta: dict[str, Any]) -> None:
        """Replace whole tables (schema changes) with their side-table rows, and the
        meta, in one transaction."""
        self.refuse_foreign(rebuilt)
        fresh: dict[str, set[str]] = {}
        with self._transaction("changing the stored tables failed; nothing was changed"):
            for name, (layout, docs) in rebuilt.items():
                self._drop_appender(name)  # an Appender is bound to the table's old layout
                if name in self.tables:
                    self.con.execute(f"DROP TABLE {quote(name)}")
                self.con.execute(f'DELETE FROM {EXACT_TABLE} WHERE "table_name" = ?', [name])
                self.con.execute(layout.ddl())
                if docs:
                    self._insert_arrow(name, layout.arrow(docs))
                exact = layout.exact_rows(docs)
                if exact:
                    self._insert_exact(name, exact)
                fresh[name] = {i for i, _ in exact}
            self.write_meta(meta)
        self.tables.update(rebuilt)
        for name, ids in fresh.items():
            if ids:
                self.exact_ids[name] = ids
            else:
                self.exact_ids.pop(name, None)

    def _insert_exact(self, table: str, exact: list[ExactRow]) -> None:
        """Add side-table rows of ``table`` (caller is inside a transaction)."""
        if len(exact) <= 16:
            self.con.executemany(
                f"INSERT INTO {EXACT_TABLE} VALUES (?, ?, ?)", [(table, i, raw) for i, raw in exact]
            )
            return
        import pyarrow as pa

        ids, raws = zip(*exact, strict=True)
        rows = pa.table({
            "table_name": pa.array([table] * len(exact), pa.string()),
            "_id": pa.array(ids, pa.string()),
            "fields": pa.array(raws, pa.string()),
        })
        self._insert_arrow(EXACT_TABLE, rows)

    def _delete_exact(self, table: str, ids: list[str]) -> None:
        """Remove the side-table rows of documents ``ids`` of ``table`` (in a transaction)."""
        for start in range(0, len(ids), 512):
            part = ids[start:start + 512]
            marks = ", ".join("?" * len(part))
            self.con.execute(
                f'DELETE FROM {EXACT_TABLE} WHERE "table_name" = ? AND "_id" IN ({marks})',
                [table, *part],
            )

    def _appender(self, table: str) -> Any:
        """The cached insert Appender of ``table`` on the writer connection.

        Creating an Appender costs ~0.2 ms, a third of a small commit; one Appender
        serves every batch, inside or outside an explicit transaction.
        """
        app = self._appenders.get(table)
        if app is None:
            app = self._appenders[table] = self.con.appender(table)
        return app

    def _drop_appender(self, table: str) -> None:
        app = self._appenders.pop(table, None)
        if app is not None:
            try:
                app.clear()  # rows buffered by a failed flush must not reach a later one
            except Exception:
                pass

    @contextlib.contextmanager
    def _transaction(self, failure: str) -> Iterator[None]:
        """BEGIN ... COMMIT on the writer connection; on any error ROLLBACK and raise
        ``StorageError(failure: cause)`` — nothing of the transaction is kept."""
        con = self.con
        try:
            con.execute("BEGIN TRANSACTION")
            yield
            con.execute("COMMIT")
        except Exception as e:
            try:
                con.execute("ROLLBACK")
            except Exception:  # the transaction may already be aborted
                pass
            for table in list(self._appenders):
                self._drop_appender(table)
            raise StorageError(f"{failure}: {e}") from e

    def _insert_arrow(self, table: str, arrow_table: pa.Table) -> None:
        self.con.register("_nr_bulk", arrow_table)
        try:
            self.con.execute(f'INSERT INTO {quote(table)} SELECT * FROM "_nr_bulk"')
        finally:
            self.con.unregister("_nr_bulk")

    # -- reading (any thread) -------------------------------------------------

    def cursor(self) -> Any:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._cursor_lock:
                cur = self.con.cursor()
                self._cursors.append(cur)
            self._local.cursor = cur
        return cur

    def sql(self, query: str, params: SqlParams = None) -> pa.Table:
        """Run one read-only statement over committed data; return a ``pyarrow.Table``.

        ``params`` fill the statement's placeholders: a list, tuple or other
        iterable for ``?`` (or ``$1``), a dict for ``$name`` (``_sql_params``). What counts as read-only is in ``sql_statements``.

        Raises:
            SqlError: not one statement, not read-only, bad ``params``, or DuckDB
                failed to run it (the message is DuckDB's).
        """
        import duckdb

        if not isinstance(query, str) or not query.strip():
            raise SqlError("app.sql expects a SQL string, e.g. app.sql('SELECT * FROM posts')")
        values = _sql_params(params)
        cur = self.cursor()
        try:
            statements = cur.extract_statements(query)
        except duckdb.Error as e:
            raise SqlError(f"invalid SQL: {e}") from e
        if len(statements) != 1:
            raise SqlError(
                f"app.sql runs exactly one statement; got {len(statements)}. Run them one at a time."
            )
        guarded = check_read_only(cur, statements[0])
        try:
            if not guarded:
                return cur.sql(query, params=values).to_arrow_table()
            # A second guard for statements the parse tree cannot vouch for: DuckDB
            # itself refuses any write inside a READ ONLY transaction.
            cur.execute("BEGIN TRANSACTION READ ONLY")
            try:
                return cur.sql(query, params=values).to_arrow_table()
            finally:
                self._end_read_only(cur)
        except duckdb.TransactionException as e:
            if "read-only" in str(e):
                raise SqlError(
                    "app.sql is read-only: this statement tried to write to the database. "
                    "Change data through mutations (app.run_mutation / ctx.db.insert, patch, "
                    "replace, delete)."
                ) from e
            raise SqlError(f"{type(e).__name__}: {e}") from e
        except duckdb.Error as e:
            raise SqlError(f"{type(e).__name__}: {e}{_json_hint(str(e))}") from e

    def _end_read_only(self, cur: Any) -> None:
        """Roll back the READ ONLY transaction of ``sql``. Should that fail, the cursor
        is dropped: left inside a transaction, it would read a stale snapshot forever."""
        try:
            cur.execute("ROLLBACK")
        except Exception:
            self._local.cursor = None
            with self._cursor_lock:
                if cur in self._cursors:
                    self._cursors.remove(cur)
            with contextlib.suppress(Exception):
                cur.close()

    def tables_read(self, query: str) -> frozenset[str]:
        """The tables a SQL statement reads, named by DuckDB's own parser; ``"*"`` if it
        may read any (``sql_statements.tables_read``)."""
        if not isinstance(query, str) or not query.strip():
            raise SqlError("expected a SQL string, e.g. 'SELECT count(*) FROM posts'")
        return tables_read(query)

    def close(self, *, checkpoint: bool = True) -> None:
        """Close every cursor and the connection; ``checkpoint=False`` when the file
        failed to load, so that nothing more is written to a damaged file."""
        self._appenders.clear()
        with self._cursor_lock:
            for cur in self._cursors:
                try:
                    cur.close()
                except Exception:
                    pass
            self._cursors.clear()
        if checkpoint:
            with contextlib.suppress(Exception):
                self.con.execute("CHECKPOINT")
        self.con.close()


def _sql_params(params: Any) -> list[Any] | dict[str, Any] | None:
    """``params`` as DuckDB takes them, or ``SqlError`` saying what they should be.

    Any iterable of values fills ``?`` placeholders (a list, tuple, ``range``, a
    generator, ...) and any mapping ``$name`` ones. Refused: a string or bytes (one
    value, not a list of them) and a set (no order to bind by)."""
    if params is None:
        return None
    if isinstance(params, (list, tuple)):
        return [python_value(x) for x in params]
    if isinstance(params, Mapping):
        odd = [k for k in params if not isinstance(k, str)]
        if odd:
            raise SqlError(
                f"app.sql(sql, params): a dict of params names $name placeholders, so its "
                f"keys are strings; got {odd[0]!r}. E.g. app.sql('SELECT * FROM t WHERE n = "
                "$n', {'n': 5})"
            )
        return {k: python_value(x) for k, x in params.items()}
    if isinstance(params, Iterable) and not isinstance(params, _NOT_A_LIST_OF_VALUES):
        return [python_value(x) for x in params]
    if isinstance(params, (str, bytes, bytearray, memoryview)):
        why = " (one value, not a list of them: write [value])"
    elif isinstance(params, AbstractSet):
        why = " (a set has no order to bind the ? placeholders by: pass a list)"
    else:
        why = ""
    raise SqlError(
        f"app.sql(sql, params): params must be a list or tuple (or other iterable) of "
        f"values for the ? placeholders, or a dict for $name placeholders; got "
        f"{type(params).__name__} {params!r:.60}{why}. E.g. app.sql('SELECT * FROM t "
        "WHERE n = ?', [5])"
    )


_MALFORMED_JSON = re.compile(r'Malformed JSON.*?Input: "(.*?)"', re.S)


def _json_hint(message: str) -> str:
    """For DuckDB's "Malformed JSON ... Input: "admin"" (text compared with a JSON
    column): which columns are JSON, and what to write instead."""
    m = _MALFORMED_JSON.search(message)
    if m is None:
        return ""
    text = m.group(1).replace("'", "''")
    return (
        "\n(a field stored as JSON was compared with text that is not JSON. Fields whose "
        "validator is a union, literal, array, object or v.any(), and the _doc column of "
        "tables without a schema, are stored as JSON: compare the value inside with "
        f"->>'$', e.g. field->>'$' = '{text}', or write JSON text, e.g. field = "
        f"'{orjson.dumps(m.group(1)).decode()}')"
    )


# Iterable, but not a list of values for ``?`` placeholders.
_NOT_A_LIST_OF_VALUES = (str, bytes, bytearray, memoryview, AbstractSet)


def open_failure(path: str | None, error: BaseException) -> StorageError:
    """The ``StorageError`` for a DuckDB database that could not be opened or read."""
    text = str(error)
    where = path or "the in-memory DuckDB database"
    if "lock" in text.lower():
        hint = (
            "It is open in another process: close the App there (app.close()) or end that "
            "process, then open it again."
        )
    elif "No such file or directory" in text:
        hint = "Create the directory first, or choose another path."
    elif path and os.path.isdir(path):
        hint = (
            f"{path} is a directory: give the path of a file, e.g. "
            f"nr.App({os.path.join(path, 'app.duckdb')!r})."
        )
    else:
        hint = (
            "The file may be damaged (truncated by a full disk or a crash, or copied while "
            "an App was writing to it), or not a DuckDB database at all (an empty file is "
            "not one either). Restore it from a backup, or open another path: nbreactive "
            "creates a new file there."
        )
    return StorageError(f"could not open {where}: {type(error).__name__}: {text.rstrip('.!')}. {hint}")
