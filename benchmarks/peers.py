"""Peer figures to report beside nbreactive's own, measured in the same run.

The workload is the one the issue names: a file-backed table of 100k documents with six
user fields and two secondary indexes,

    docs(_id, _creationTime, author, title, n, score, published, tags)
    indexes: (author), (published, n)

and the peers are

- plain DuckDB (the store of record without nbreactive on top): one-row autocommit
  inserts from one thread;
- SQLite (stdlib ``sqlite3``, WAL, ``synchronous=NORMAL``; ``tags`` as TEXT) doing the same
  work: one-row inserts from one caller and from 8 concurrent callers, point lookups by
  ``_id``, a 20-document index range, a bulk import of 1M rows, reopening that file and
  reading every row into Python dicts (what a working-set design has to do at start-up),
  and the memory those dicts take.

Each function sets up what it needs under the path it is given (re-using a file another
function already prepared) and returns a flat dict of figures. Every measurement is bounded
in time; files live under a temp dir that ``main`` removes.

Run:
    python benchmarks/peers.py            # ~3 s per figure, about a minute
    python benchmarks/peers.py --quick    # ~1 s per figure, well under a minute
    python benchmarks/peers.py --json     # the raw figures as JSON
"""

from __future__ import annotations

import argparse
import base64
import functools
import itertools
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _util import (
    append_markdown_section,
    environment,
    measure,
    now,
    rss_bytes,
    timed,
    timing_from_latencies,
)

PRELOAD_ROWS = 100_000
BULK_ROWS = 1_000_000
N_AUTHORS = 1_000  # 100 documents per author in the preloaded table
RANGE_LIMIT = 20
CONCURRENT_CALLERS = 8
# A caller retries an insert that found the database busy at most this many times;
# beyond that the insert counts as given up (reported, never silently dropped).
BUSY_RETRY_LIMIT = 1_000

COLUMNS = ("_id", "_creationTime", "author", "title", "n", "score", "published", "tags")
DUCKDB_DDL = """CREATE TABLE IF NOT EXISTS docs (
    _id VARCHAR PRIMARY KEY, _creationTime DOUBLE, author VARCHAR, title VARCHAR,
    n BIGINT, score DOUBLE, published BOOLEAN, tags JSON)"""
SQLITE_DDL = """CREATE TABLE IF NOT EXISTS docs (
    _id TEXT PRIMARY KEY, _creationTime REAL, author TEXT, title TEXT,
    n INTEGER, score REAL, published INTEGER, tags TEXT)"""
# The same two secondary indexes in both engines, as the issue states them.
INDEXES = (
    "CREATE INDEX IF NOT EXISTS docs_by_author ON docs(author)",
    "CREATE INDEX IF NOT EXISTS docs_by_published_n ON docs(published, n)",
)
# Convex's index "by author" is ordered by (author, _creationTime, _id); with it SQLite
# reads the 20 documents of the range in order instead of sorting the author's 100.
CONVEX_SHAPED_AUTHOR_INDEX = (
    "CREATE INDEX IF NOT EXISTS docs_by_author_ct ON docs(author, _creationTime)"
)
INSERT = "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
POINT_QUERY = "SELECT * FROM docs WHERE _id = ?"
RANGE_QUERY = f"SELECT * FROM docs WHERE author = ? ORDER BY _creationTime LIMIT {RANGE_LIMIT}"

BULK_DDL = """CREATE TABLE bulk (
    _id TEXT PRIMARY KEY, _creationTime REAL,
    author TEXT, title TEXT, n INTEGER, score REAL, published INTEGER)"""

_TAGS = tuple(json.dumps(["alpha", f"t{k}", "beta"][: 1 + k % 3]) for k in range(17))

Row = tuple[Any, ...]


# ------------------------------------------------------------------------- data


def make_ids(n: int, rng: random.Random) -> list[str]:
    """``n`` 32-character base32 ids (the length of a Convex id); unique in practice."""
    text = base64.b32encode(rng.randbytes(20 * n)).decode("ascii").lower()
    return [text[k : k + 32] for k in range(0, 32 * n, 32)]


def make_docs(n: int, *, start: int = 0, seed: int | None = None) -> list[Row]:
    """``n`` rows shaped like ``COLUMNS`` (tags as a JSON string).

    ``seed=None`` draws fresh ids each call, so insert pools never collide with rows
    an earlier call put in the same file.
    """
    ids = make_ids(n, random.Random(seed))
    t0 = 1.7e12
    return [
        (
            ids[k],
            t0 + (start + k) * 0.5,
            f"author_{(start + k) % N_AUTHORS:04d}",
            f"title number {start + k}",
            start + k,
            ((start + k) % 1000) / 7.0,
            (start + k) % 2 == 0,
            _TAGS[(start + k) % len(_TAGS)],
        )
        for k in range(n)
    ]


def make_bulk_rows(n: int, *, seed: int = 3) -> list[Row]:
    """``n`` rows of ``_id``, ``_creationTime`` and 5 scalar fields."""
    ids = make_ids(n, random.Random(seed))
    t0 = 1.7e12
    return [
        (
            ids[k],
            t0 + k * 0.5,
            f"author_{k % N_AUTHORS:04d}",
            f"title number {k}",
            k,
            (k % 1000) / 7.0,
            k % 2,
        )
        for k in range(n)
    ]


@functools.lru_cache(maxsize=1)
def _preloaded_rows() -> list[Row]:
    """The 100k preloaded rows (the same in every file; built once per process)."""
    return make_docs(PRELOAD_ROWS, seed=2)


# ----------------------------------------------------------------------- DuckDB


def _duckdb_prepare(con: Any) -> float:
    """Create and preload ``docs`` (100k rows, both indexes) unless present; seconds spent."""
    import pyarrow as pa

    t0 = now()
    con.execute(DUCKDB_DDL)
    if con.execute("SELECT count(*) FROM docs").fetchall()[0][0] == 0:
        columns = list(zip(*_preloaded_rows()))
        con.register("preload_rows", pa.table(dict(zip(COLUMNS, columns))))
        con.execute("INSERT INTO docs SELECT * FROM preload_rows")
        con.unregister("preload_rows")
        for ddl in INDEXES:
            con.execute(ddl)
        con.execute("CHECKPOINT")
    return now() - t0


def duckdb_one_row_txn_inserts(path: str | Path, seconds: float) -> dict[str, Any]:
    """Plain DuckDB: one-row ``INSERT`` per autocommit transaction, one thread.

    The file-backed ``docs`` table holds 100k rows and both secondary indexes first.
    Returns rows/s, per-insert p50/p99/max (ms) and the preload time (s).
    """
    import duckdb

    con = duckdb.connect(str(path))
    try:
        preload_s = _duckdb_prepare(con)
        before = con.execute("SELECT count(*) FROM docs").fetchall()[0][0]
        pool = make_docs(max(2_000, int(seconds * 5_000)), start=10**9)
        timing = measure(
            lambda i: con.execute(INSERT, pool[i]), seconds=seconds, iterations=len(pool)
        )
        after = con.execute("SELECT count(*) FROM docs").fetchall()[0][0]
    finally:
        con.close()
    assert after == before + timing.ops, (before, after, timing.ops)
    return {
        "rows_per_s": timing.ops_per_s,
        "p50_ms": timing.p50_ms,
        "p99_ms": timing.p99_ms,
        "max_ms": timing.max_ms,
        "rows_inserted": timing.ops,
        "table_rows_before": before,
        "preload_s": preload_s,
        "duckdb": duckdb.__version__,
    }


# ----------------------------------------------------------------------- SQLite


def sqlite_connect(path: str | Path, *, busy_timeout_s: float = 5.0) -> sqlite3.Connection:
    """A connection in autocommit mode, WAL, ``synchronous=NORMAL``.

    ``busy_timeout_s`` is SQLite's own busy handler: how long a statement waits for
    another connection's write lock before raising ``SQLITE_BUSY`` (0 = raise at once).
    """
    con = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
    )
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def _sqlite_prepare(path: str | Path) -> float:
    """Create and preload ``docs`` (100k rows, both indexes) unless present; seconds spent."""
    t0 = now()
    con = sqlite_connect(path)
    try:
        con.execute(SQLITE_DDL)
        if con.execute("SELECT count(*) FROM docs").fetchall()[0][0] == 0:
            con.execute("BEGIN")
            con.executemany(INSERT, _preloaded_rows())
            for ddl in INDEXES:
                con.execute(ddl)
            con.execute("COMMIT")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return now() - t0


def sqlite_one_row_txn_inserts(path: str | Path, seconds: float) -> dict[str, Any]:
    """SQLite: one-row ``INSERT`` per autocommit transaction, one sequential caller."""
    preload_s = _sqlite_prepare(path)
    con = sqlite_connect(path)
    try:
        pool = make_docs(max(10_000, int(seconds * 60_000)), start=2 * 10**9)
        timing = measure(
            lambda i: con.execute(INSERT, pool[i]), seconds=seconds, iterations=len(pool)
        )
    finally:
        con.close()
    return {**timing.as_dict(), "rows_per_s": timing.ops_per_s, "preload_s": preload_s}


def _insert_with_retry(con: sqlite3.Connection, row: Row, backoff: bool) -> int:
    """Insert ``row``, retrying while the database is busy; returns the number of retries.

    Raises ``sqlite3.OperationalError`` once ``BUSY_RETRY_LIMIT`` retries did not help.
    """
    delay = 20e-6
    for attempt in range(BUSY_RETRY_LIMIT + 1):
        try:
            con.execute(INSERT, row)
            return attempt
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode != sqlite3.SQLITE_BUSY or attempt == BUSY_RETRY_LIMIT:
                raise
            if backoff:
                time.sleep(delay)
                delay = min(delay * 2, 1e-3)
    raise AssertionError("unreachable")


def sqlite_concurrent_inserts(
    path: str | Path,
    seconds: float,
    *,
    callers: int = CONCURRENT_CALLERS,
    busy_timeout_s: float = 5.0,
) -> dict[str, Any]:
    """SQLite: ``callers`` threads, each with its own connection, inserting one row per
    autocommit transaction for ``seconds``.

    A caller retries an insert that still got ``SQLITE_BUSY`` in a bounded loop. With
    ``busy_timeout_s > 0`` SQLite's own busy handler waits first (the usual setup); with
    0 every lock conflict comes back to Python, which backs off 20 µs..1 ms and retries.
    Returns total rows/s, per-insert p50/p99 (including waits), busy retries, give-ups.
    """
    _sqlite_prepare(path)
    # One shared pool: callers take the next row under the GIL (itertools.count is atomic),
    # so an unfair lock that favours one caller cannot run that caller out of rows.
    pool = make_docs(max(20_000, int(seconds * 60_000)), start=3 * 10**9)
    next_row = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(callers)]
    retries = [0] * callers
    gave_up = [0] * callers
    errors: list[BaseException] = []
    ready = threading.Barrier(callers + 1)
    stop = threading.Event()

    def caller(c: int) -> None:
        con = None
        lat = latencies[c]
        try:
            con = sqlite_connect(path, busy_timeout_s=busy_timeout_s)
            ready.wait()
            while not stop.is_set():
                i = next(next_row)
                if i >= len(pool):
                    break
                t0 = now()
                try:
                    retries[c] += _insert_with_retry(con, pool[i], backoff=busy_timeout_s == 0)
                except sqlite3.OperationalError:
                    gave_up[c] += 1
                lat.append(now() - t0)
        except BaseException as e:  # re-raised by the main thread
            errors.append(e)
            stop.set()
            ready.abort()
        finally:
            if con is not None:
                con.close()

    threads = [
        threading.Thread(target=caller, args=(c,), name=f"sqlite-caller-{c}")
        for c in range(callers)
    ]
    for t in threads:
        t.start()
    try:
        ready.wait(timeout=60)
    except threading.BrokenBarrierError:
        stop.set()  # a caller failed to start; its error is raised below
    t0 = now()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = now() - t0
    if errors:
        raise errors[0]
    all_lat = [x for lat in latencies for x in lat]
    timing = timing_from_latencies(all_lat, elapsed)
    return {
        "rows_per_s": (timing.ops - sum(gave_up)) / elapsed,
        "p50_ms": timing.p50_ms,
        "p99_ms": timing.p99_ms,
        "max_ms": timing.max_ms,
        "callers": callers,
        "busy_timeout_s": busy_timeout_s,
        "busy_retries": sum(retries),
        "gave_up": sum(gave_up),
        "rows_per_caller_min": min(len(lat) for lat in latencies),
        "rows_per_caller_max": max(len(lat) for lat in latencies),
    }


def _random_ids(con: sqlite3.Connection, k: int) -> list[str]:
    ids = [r[0] for r in con.execute("SELECT _id FROM docs")]
    rng = random.Random(7)
    return [rng.choice(ids) for _ in range(k)]


def sqlite_point_lookups(path: str | Path, seconds: float) -> dict[str, Any]:
    """SQLite: ``SELECT * FROM docs WHERE _id = ?`` + ``fetchall`` (a tuple per row)."""
    _sqlite_prepare(path)
    con = sqlite_connect(path)
    try:
        ids = _random_ids(con, 100_000)
        plan = _plan(con, POINT_QUERY, [ids[0]])
        timing = measure(
            lambda i: con.execute(POINT_QUERY, [ids[i % len(ids)]]).fetchall(), seconds=seconds
        )
    finally:
        con.close()
    return {**timing.as_dict(), "lookups_per_s": timing.ops_per_s, "plan": plan}


def sqlite_range_queries(
    path: str | Path, seconds: float, *, convex_shaped_index: bool = False
) -> dict[str, Any]:
    """SQLite: ``author = ? ORDER BY _creationTime LIMIT 20``, a 20-document index range.

    With the issue's index on ``(author)`` SQLite reads the author's 100 rows and sorts
    them; ``convex_shaped_index=True`` first adds ``(author, _creationTime)``, the order
    a Convex index on author really has, so the 20 rows are read in order.
    """
    _sqlite_prepare(path)
    con = sqlite_connect(path)
    try:
        if convex_shaped_index:
            con.execute(CONVEX_SHAPED_AUTHOR_INDEX)
        rng = random.Random(11)
        authors = [f"author_{rng.randrange(N_AUTHORS):04d}" for _ in range(50_000)]
        plan = _plan(con, RANGE_QUERY, [authors[0]])
        got = len(con.execute(RANGE_QUERY, [authors[0]]).fetchall())
        timing = measure(
            lambda i: con.execute(RANGE_QUERY, [authors[i % len(authors)]]).fetchall(),
            seconds=seconds,
        )
    finally:
        con.close()
    assert got == RANGE_LIMIT, got
    return {**timing.as_dict(), "queries_per_s": timing.ops_per_s, "plan": plan}


def _plan(con: sqlite3.Connection, query: str, params: Sequence[Any]) -> str:
    return "; ".join(str(r[-1]) for r in con.execute("EXPLAIN QUERY PLAN " + query, params))


def sqlite_bulk_import(path: str | Path, rows: int = BULK_ROWS) -> dict[str, Any]:
    """SQLite: import ``rows`` rows of 5 scalar fields (plus ``_id``, ``_creationTime``)
    into a new table with ``executemany`` in one transaction.

    Generating the rows in Python is not timed. The table has its primary key and no
    secondary index.
    """
    data = make_bulk_rows(rows)
    con = sqlite_connect(path)
    try:
        con.execute("DROP TABLE IF EXISTS bulk")
        con.execute(BULK_DDL)

        def load() -> None:
            con.execute("BEGIN")
            con.executemany("INSERT INTO bulk VALUES (?, ?, ?, ?, ?, ?, ?)", data)
            con.execute("COMMIT")

        _, seconds = timed(load)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "file_mb": os.path.getsize(path) / 2**20,
    }


def sqlite_reopen_in_process(path: str | Path) -> dict[str, Any]:
    """Open the bulk file, ``SELECT count(*)``, then read every row into a dict of dicts.

    Times the two parts separately and measures the resident memory the dicts add.
    Run it in a fresh process (``sqlite_reopen``) for a clean memory figure.
    """
    rss0 = rss_bytes()
    t0 = now()
    con = sqlite_connect(path)
    count = con.execute("SELECT count(*) FROM bulk").fetchone()[0]
    t1 = now()
    cur = con.execute("SELECT * FROM bulk")
    names = [d[0] for d in cur.description]
    docs = {row[0]: dict(zip(names, row)) for row in cur}
    t2 = now()
    rss1 = rss_bytes()
    con.close()
    assert len(docs) == count, (len(docs), count)
    return {
        "rows": count,
        "open_and_count_ms": (t1 - t0) * 1e3,
        "load_dicts_s": t2 - t1,
        "rows_per_s": count / (t2 - t1),
        "rss_delta_mb": (rss1 - rss0) / 2**20,
        "rss_bytes_per_doc": (rss1 - rss0) / max(1, count),
    }


def sqlite_reopen(path: str | Path) -> dict[str, Any]:
    """``sqlite_reopen_in_process`` in a new Python process (clean heap; warm OS cache)."""
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--reopen-child", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------------- main


def run_all(tmp: Path, seconds: float) -> list[dict[str, Any]]:
    """Every peer figure, as table rows (``peer``, ``measurement``, ``value``, ``unit``, ...)."""
    rows: list[dict[str, Any]] = []

    def add(
        peer: str, what: str, value: float, unit: str, fig: dict[str, Any], note: str = ""
    ) -> None:
        row = {"peer": peer, "measurement": what, "value": value, "unit": unit}
        if "p50_ms" in fig:
            row["p50 ms"] = fig["p50_ms"]
            row["p99 ms"] = fig["p99_ms"]
        row["note"] = note
        rows.append(row)
        print(f"  {peer:<26} {what:<52} {value:>12,.1f} {unit}", file=sys.stderr, flush=True)

    duck = duckdb_one_row_txn_inserts(tmp / "docs.duckdb", seconds)
    add(
        f"DuckDB {duck['duckdb']} file",
        "insert 1 row/txn, 1 thread",
        duck["rows_per_s"],
        "rows/s",
        duck,
        f"{duck['table_rows_before']:,} rows, 2 indexes",
    )

    # Each write figure starts from its own freshly preloaded file, and the reads run on
    # one more, so every figure sees the 100k-document table the issue describes.
    seq = sqlite_one_row_txn_inserts(tmp / "seq.sqlite", seconds)
    add(
        "SQLite WAL+NORMAL",
        "insert 1 row/txn, 1 caller",
        seq["rows_per_s"],
        "rows/s",
        seq,
        f"{PRELOAD_ROWS:,} rows preloaded, 2 indexes",
    )
    conc = sqlite_concurrent_inserts(tmp / "conc.sqlite", seconds)
    add(
        "SQLite WAL+NORMAL",
        f"insert 1 row/txn, {conc['callers']} caller threads",
        conc["rows_per_s"],
        "rows/s",
        conc,
        f"busy_timeout 5 s + retry loop; {conc['busy_retries']} retries, "
        f"{conc['gave_up']} given up",
    )
    conc0 = sqlite_concurrent_inserts(tmp / "conc0.sqlite", seconds, busy_timeout_s=0.0)
    add(
        "SQLite WAL+NORMAL",
        f"insert 1 row/txn, {conc0['callers']} callers, no busy handler",
        conc0["rows_per_s"],
        "rows/s",
        conc0,
        f"Python backoff retry; {conc0['busy_retries']} retries, {conc0['gave_up']} given up",
    )
    reads = tmp / "reads.sqlite"
    pt = sqlite_point_lookups(reads, seconds)
    add("SQLite WAL+NORMAL", "point lookup by _id (fetchall)", pt["lookups_per_s"], "lookups/s", pt)
    rq = sqlite_range_queries(reads, seconds)
    add(
        "SQLite WAL+NORMAL",
        f"author = ? ORDER BY _creationTime LIMIT {RANGE_LIMIT}",
        rq["queries_per_s"],
        "queries/s",
        rq,
        "index (author): " + rq["plan"],
    )
    rq2 = sqlite_range_queries(reads, seconds, convex_shaped_index=True)
    add(
        "SQLite WAL+NORMAL",
        "same, index (author, _creationTime)",
        rq2["queries_per_s"],
        "queries/s",
        rq2,
        rq2["plan"],
    )

    bulk_path = tmp / "bulk.sqlite"
    bulk = sqlite_bulk_import(bulk_path)
    add(
        "SQLite WAL+NORMAL",
        f"bulk import {bulk['rows']:,} rows (executemany, 1 txn)",
        bulk["seconds"],
        "s",
        bulk,
        f"{bulk['rows_per_s']:,.0f} rows/s, file {bulk['file_mb']:.0f} MB",
    )
    ro = sqlite_reopen(bulk_path)
    add(
        "SQLite WAL+NORMAL",
        "reopen: open + SELECT count(*)",
        ro["open_and_count_ms"],
        "ms",
        ro,
        "new process, warm OS cache",
    )
    add(
        "SQLite WAL+NORMAL",
        f"reopen: read {ro['rows']:,} rows into dicts",
        ro["load_dicts_s"],
        "s",
        ro,
        f"{ro['rows_per_s']:,.0f} rows/s",
    )
    add(
        "SQLite WAL+NORMAL",
        f"RSS of {ro['rows']:,} docs as Python dicts",
        ro["rss_delta_mb"],
        "MB",
        ro,
        f"{ro['rss_bytes_per_doc']:.0f} bytes/doc (7 fields)",
    )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s per figure instead of 3 s")
    parser.add_argument("--seconds", type=float, help="seconds per timed figure")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--reopen-child", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reopen_child:
        print(json.dumps(sqlite_reopen_in_process(args.reopen_child)))
        return 0

    seconds = args.seconds or (1.0 if args.quick else 3.0)
    env = environment()
    t0 = now()
    tmp = Path(tempfile.mkdtemp(prefix="nbr-peers-"))
    try:
        rows = run_all(tmp, seconds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    env["loadavg_after"] = environment()["loadavg"]
    env["seconds_per_figure"] = seconds
    env["total_s"] = round(now() - t0, 1)
    if args.json:
        print(json.dumps({"env": env, "rows": rows}, indent=1))
    else:
        print(append_markdown_section("", "Peers, same run", rows, env=env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
