"""Bulk paths: importing many documents at once, exporting a table.

An import validates every row before writing anything; a refused import lists
the first offending rows and leaves the table unchanged. Accepted rows are
written to DuckDB in one transaction from an Arrow table (the fast path:
~10^6 rows/s) and then loaded into the working set. Long imports and exports
show a progress bar (``tqdm.auto``: a widget in notebooks, a bar in terminals).
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from nbreactive.errors import BulkImportError, SchemaError, ValidationError
from nbreactive.storage.committer import CommitRecord
from nbreactive.storage.gcpause import gc_paused
from nbreactive.storage.ids import new_ids
from nbreactive.values import wire
from nbreactive.values.foreign import python_value
from nbreactive.values.model import MAX_DOCUMENT_SIZE, Id, check_identifier, normalize_value
from nbreactive.values.sizes import check_document_size

if TYPE_CHECKING:
    from nbreactive.storage.database import Database

__all__ = ["export_jsonl", "export_parquet", "import_documents"]

Doc = dict[str, Any]
MAX_REPORTED_PROBLEMS = 10
_PROGRESS_THRESHOLD = 50_000


def _progress(total: int, desc: str, enabled: bool | None) -> Any:
    show = total >= _PROGRESS_THRESHOLD if enabled is None else enabled
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="doc", unit_scale=True, leave=False)


_ACCEPTED = "a list of dicts, a pyarrow.Table or a pandas DataFrame"
_BATCH = 65536


def _not_rows(rows: Any, hint: str = "") -> BulkImportError:
    if rows is None:
        what = "got None"
    else:
        name = type(rows).__name__
        mod = type(rows).__module__.split(".")[0]
        what = f"got a {mod} {name}" if mod not in ("builtins", "__main__") else (
            f"got an {name}" if name[:1] in "aeiou" else f"got a {name}")
    return BulkImportError(f"import_documents expects many rows ({_ACCEPTED}), {what}{hint}")


def _rows(rows: Any) -> tuple[Iterable[Doc], int]:
    """Rows as dicts, whatever the input: list (or iterable) of dicts, pyarrow.Table,
    RecordBatch or RecordBatchReader, pandas DataFrame, or any object offering an Arrow
    stream (``__arrow_c_stream__``: polars, DuckDB results).

    Null cells of Arrow/pandas input mean "field missing" (Convex has no column
    nulls; a document that should hold ``null`` must come as a dict).
    """
    mod = type(rows).__module__
    if mod.startswith("pandas"):
        return _frame_rows(rows)
    if mod.startswith("pyarrow") or hasattr(type(rows), "__arrow_c_stream__"):
        return _arrow_rows(rows)
    if isinstance(rows, dict):
        raise BulkImportError("import_documents expects many rows (a list of dicts), got one dict")
    if isinstance(rows, str):
        raise _not_rows(rows, "; to import a file, read it first, e.g. with "
                        "pyarrow.parquet.read_table(path) or pandas.read_csv(path)")
    if isinstance(rows, (bytes, bytearray)) or not isinstance(rows, Iterable):
        raise _not_rows(rows)
    if not isinstance(rows, list):
        rows = list(rows)
    return rows, len(rows)


def _arrow_rows(rows: Any) -> tuple[Iterable[Doc], int]:
    import pyarrow as pa

    if isinstance(rows, pa.RecordBatch):
        table = pa.Table.from_batches([rows])
    elif isinstance(rows, pa.RecordBatchReader):
        table = rows.read_all()
    elif isinstance(rows, pa.Table):
        table = rows
    elif hasattr(type(rows), "__arrow_c_stream__"):
        try:
            table = pa.table(rows)
        except (TypeError, ValueError, pa.ArrowException):
            raise _not_rows(rows) from None
    else:
        raise _not_rows(rows)
    names = table.column_names
    _check_unique(names)
    batches = ([c.to_pylist() for c in batch.columns] for batch in table.to_batches(max_chunksize=_BATCH))
    return _docs(names, batches), table.num_rows


def _docs(names: list[str], batches: Iterator[list[list[Any]]]) -> Iterator[Doc]:
    """Documents from batches of columns (lists of cells); a None cell is a missing field."""
    for cols in batches:
        for values in zip(*cols, strict=True):
            yield {k: val for k, val in zip(names, values, strict=True) if val is not None}


def _check_unique(names: list[str]) -> None:
    dups = sorted(n for n, count in Counter(names).items() if count > 1)
    if dups:
        raise BulkImportError(
            f"import_documents got duplicate column names {', '.join(map(repr, dups))}: each "
            "column is a field of the documents; rename or drop the duplicates first"
        )


def _frame_rows(frame: Any) -> tuple[Iterable[Doc], int]:
    """A pandas DataFrame's rows. Typed columns go through Arrow; object columns hold
    Python values and are taken as they are (Arrow would type them: a column of dicts
    became a struct column, every dict getting the others' keys as nulls, and a column
    mixing types failed), with numpy values made Python values and None, NaN, pd.NA and
    NaT as missing fields."""
    import pandas as pd  # type: ignore[import-untyped]
    import pyarrow as pa

    if not isinstance(frame, pd.DataFrame):
        hint = "; pass series.to_frame()" if isinstance(frame, pd.Series) else ""
        raise _not_rows(frame, hint)
    names = [str(c) for c in frame.columns]
    _check_unique(names)
    typed = [n for n, dtype in enumerate(frame.dtypes) if not pd.api.types.is_object_dtype(dtype)]
    arrow = pa.Table.from_pandas(frame.iloc[:, typed], preserve_index=False) if typed else None
    columns: list[Any] = [None] * len(names)
    for k, n in enumerate(typed):
        assert arrow is not None
        columns[n] = arrow.column(k)
    for n in range(len(names)):
        if columns[n] is None:
            columns[n] = frame.iloc[:, n].to_numpy(dtype=object, copy=False)
    total = len(frame)
    na, nat = pd.NA, pd.NaT

    def cells(column: Any, start: int) -> list[Any]:
        if isinstance(column, pa.ChunkedArray):
            return column.slice(start, _BATCH).to_pylist()
        out: list[Any] = []
        for x in column[start : start + _BATCH]:
            t = type(x)
            if t is str or t is int or t is bool:
                out.append(x)
            elif x is None or x is na or x is nat or (isinstance(x, float) and x != x):
                out.append(None)
            else:
                x = python_value(x)
                out.append(None if isinstance(x, float) and x != x else x)  # numpy NaN
        return out

    batches = ([cells(c, start) for c in columns] for start in range(0, total, _BATCH))
    return _docs(names, batches), total


def import_documents(db: Database, table: str, rows: Any, *, progress: bool | None = None) -> int:
    """See ``App.import_documents``."""
    with gc_paused():
        n = _import_documents(db, table, rows, progress)
    db.freeze_working_set(n)
    return n


def _import_documents(db: Database, table: str, rows: Any, progress: bool | None) -> int:
    if not isinstance(table, str) or table.startswith("_"):
        raise BulkImportError(f"import_documents needs a user table name, got {table!r}")
    check_identifier("table", table)
    it, total = _rows(rows)
    schema = db.schema
    tdef = schema.tables.get(table) if schema is not None else None
    if schema is not None and tdef is None and not schema.allows_table(table):
        raise SchemaError(
            f'Table "{table}" is not in the schema; add it before importing into it (or '
            "pass strict_table_name_types=False to nr.define_schema to let tables outside "
            "the schema hold any document)."
        )
    # schema_validation=False: like writes, a row that fits is normalized by the schema,
    # any other is imported unchecked.
    checked = schema is None or schema.schema_validation
    with db.writer_lock:
        # Before validating the rows: a name equal to another table's ignoring case is
        # refused (ensure_table checks again, under the same lock, before writing).
        db.check_new_table(table)
    resolve = db.table_of_id
    bar = _progress(total, f"validating {table}", progress)
    bodies: list[Doc] = []
    problems: list[tuple[int, str]] = []
    try:
        for n, row in enumerate(it):
            try:
                if not isinstance(row, dict):
                    raise ValidationError(f"expected a dict, got {type(row).__name__}")
                if "_id" in row or "_creationTime" in row:
                    raise ValidationError("_id and _creationTime are set by the system; remove them")
                body = None
                if tdef is not None:
                    try:
                        body = tdef.validate_document(row, resolve_id=resolve)
                    except ValidationError:
                        if checked:
                            raise
                    else:
                        # Nesting counts from the document.
                        body = normalize_value(body, copy=False)
                if body is None:
                    body = normalize_value(row, top_level_fields=True)
                bodies.append(body)
            except ValidationError as e:
                problems.append((n, str(e)))
                if len(problems) >= MAX_REPORTED_PROBLEMS:
                    break
            if bar is not None and n % 4096 == 0:
                bar.n = n
                bar.refresh()
    finally:
        if bar is not None:
            bar.close()
    if problems:
        lines = "\n".join(f"  row {n}: {msg}" for n, msg in problems)
        more = " (showing the first ones)" if len(problems) >= MAX_REPORTED_PROBLEMS else ""
        raise BulkImportError(
            f"import into {table!r} refused: invalid rows{more}; nothing was written.\n{lines}"
            + _float_column_hints(rows, problems),
            problems,
        )
    if not bodies:
        return 0
    with db.writer_lock:
        db.drain()
        mt = db.ensure_table(table)
        rng = random.Random()
        now = time.time()
        ct = max(now * 1000.0, math.nextafter(db.last_creation_time, math.inf))
        docs: list[Doc] = []
        for body, text in zip(bodies, new_ids(mt.number, len(bodies), rng, now), strict=True):
            docs.append({"_id": Id(text, table), "_creationTime": ct, **body})
            ct = math.nextafter(ct, math.inf)
        ct = docs[-1]["_creationTime"]
        layout = db.layouts[table]
        bar = _progress(len(docs), f"writing {table}", progress)
        try:
            arrow = layout.arrow(docs)
            _check_sizes(table, arrow, docs)
            ts = db.next_ts()
            with db.rewriting():
                # Never below the bound reserved ahead of every timestamp (Database._flush).
                meta = {"tables": db.table_numbers, "last_ts": max(ts, db.reserved_ts)}
                db.store.bulk_insert(layout, arrow, meta, exact=layout.exact_rows(docs))
                with db.base_lock:
                    mt.bulk_load(docs)
                    db.last_creation_time = max(db.last_creation_time, ct)
                    # Live queries over the table re-run once (not once per document).
                    db.publish_rewrite(ts, frozenset({table}), "import")
        finally:
            if bar is not None:
                bar.update(len(docs))
                bar.close()
        record = CommitRecord(ts, [(table, str(d["_id"]), None, d) for d in docs], source="import")
        record.done.set()
    db._notify_listeners([record])
    return len(docs)


_INT_GOT_FLOAT = re.compile(r"^\.([A-Za-z][A-Za-z0-9_]*): expected .*int64.*\(float64\)$")


def _float_column_hints(rows: Any, problems: list[tuple[int, str]]) -> str:
    """For a refused DataFrame: the int64 fields given a float64 column (pandas makes an
    int column with missing values float64), with the way to keep them ints."""
    if not type(rows).__module__.startswith("pandas"):
        return ""
    columns = {str(c): dtype for c, dtype in zip(rows.columns, rows.dtypes, strict=True)}
    hinted: list[str] = []
    for _, message in problems:
        m = _INT_GOT_FLOAT.match(message)
        name = m.group(1) if m is not None else None
        if name is not None and name not in hinted and getattr(columns.get(name), "kind", "") == "f":
            hinted.append(name)
    return "".join(
        f"\n  column {name!r} is float64 (pandas stores an int column with missing values as "
        f"floats): convert it with frame.astype({{{name!r}: 'Int64'}}), whose missing values are "
        "missing fields"
        for name in hinted
    )


def _check_sizes(table: str, arrow: Any, docs: list[Doc]) -> None:
    """Refuse the import if a document passes the 1 MiB limit, naming the rows.

    Exact sizes cost a walk of every document; instead the stored text and binary
    lengths are summed per row with Arrow (vectorized), and only rows whose stored
    form passes 1/8 of the limit (Convex's accounting is at most a few times larger
    than the JSON text) are measured exactly.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    approx = None
    for col in arrow.columns:
        if pa.types.is_string(col.type) or pa.types.is_binary(col.type):
            lengths = pc.fill_null(pc.binary_length(col), 0)
            approx = lengths if approx is None else pc.add(approx, lengths)
    if approx is None:
        return
    suspects = pc.indices_nonzero(pc.greater(approx, MAX_DOCUMENT_SIZE // 8)).to_pylist()
    problems: list[tuple[int, str]] = []
    for n in suspects:
        try:
            check_document_size(docs[n])
        except ValidationError as e:
            problems.append((n, str(e)))
            if len(problems) >= MAX_REPORTED_PROBLEMS:
                break
    if problems:
        lines = "\n".join(f"  row {n}: {msg}" for n, msg in problems)
        raise BulkImportError(
            f"import into {table!r} refused: documents over the size limit; nothing was "
            f"written.\n{lines}",
            problems,
        )


def export_parquet(db: Database, table: str, path: str) -> int:
    """See ``App.export_parquet``."""
    db.drain()
    if table not in db.store.tables:
        raise _unknown_table(db, table)
    return db.store.export_parquet(table, path)


def _unknown_table(db: Database, table: str) -> BulkImportError:
    known = sorted(t for t in db.base.tables if not t.startswith("_"))  # user tables
    return BulkImportError(
        f"no table {table!r} to export: it is not in the schema and no document was ever "
        f"written to it (tables: {', '.join(map(repr, known)) or 'none'})"
    )


def _escape_line_breaks(line: bytes) -> bytes:
    """Escape U+2028, U+2029 and U+0085 (valid raw in JSON strings, where alone they can
    occur) so that readers splitting lines with ``str.splitlines()`` see one record a line."""
    return (
        line.replace(b"\xe2\x80\xa8", b"\\u2028")
        .replace(b"\xe2\x80\xa9", b"\\u2029")
        .replace(b"\xc2\x85", b"\\u0085")
    )


def export_jsonl(db: Database, table: str, path: str, *, progress: bool | None = None) -> int:
    """See ``App.export_jsonl``."""
    with db.base_lock:
        mt = db.base.tables.get(table)
        if mt is None:
            raise _unknown_table(db, table)
        docs = list(mt.docs.values())
    docs.sort(key=lambda d: (d["_creationTime"], d["_id"]))
    bar = _progress(len(docs), f"exporting {table}", progress)
    with open(path, "wb") as f:
        for n, d in enumerate(docs):
            line = orjson.dumps(wire.to_wire(normalize_value(d)))
            if b"\xe2\x80\xa8" in line or b"\xe2\x80\xa9" in line or b"\xc2\x85" in line:
                line = _escape_line_breaks(line)
            f.write(line + b"\n")
            if bar is not None and n % 4096 == 0:
                bar.n = n
                bar.refresh()
    if bar is not None:
        bar.close()
    return len(docs)
