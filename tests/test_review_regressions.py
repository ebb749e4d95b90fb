"""Regression tests for defects found in the engine review (storage/, functions/, app.py, bulk.py).

Each test reproduces one defect; see the review report for root causes and fixes.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

import nbreactive as nr
from nbreactive.errors import BulkImportError, NbReactiveError, StorageError
from nbreactive.functions import sandbox

FROZEN = 1_700_000_000.0


@pytest.fixture
def frozen_clock(monkeypatch):
    """``time.time()`` stands still (a coarse clock: Windows' 15.6 ms tick, a VM, freezegun)."""
    sandbox._install()  # install the sandbox wrappers first, so that monkeypatch restores them
    monkeypatch.setattr(time, "time", lambda: FROZEN)


def _run_in_thread(fn, timeout: float):
    """Run ``fn`` on a daemon thread; return (finished, result-or-exception)."""
    out: dict[str, object] = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as e:
            out["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    return (not t.is_alive()), out


# -- 1. ids derived from a clock-based seed collide: silent data loss ---------------------


def test_same_mutation_twice_in_one_clock_tick_gets_distinct_ids(frozen_clock):
    app = nr.App()

    @app.mutation
    def add(ctx, n):
        return ctx.db.insert("t", {"n": n})

    a = add(n=1)
    b = add(n=2)
    try:
        assert a != b, "two inserts got the same _id: the second overwrote the first document"
        assert app.count("t") == 2
    finally:
        app.close()


def test_same_mutation_twice_in_one_clock_tick_durable(frozen_clock, tmp_db_path):
    app = nr.App(tmp_db_path)

    @app.mutation
    def add(ctx, n):
        return ctx.db.insert("t", {"n": n})

    try:
        a = add(n=1)
        b = add(n=2)  # today: StorageError (duplicate primary key) or a silent overwrite
        assert a != b
        assert app.count("t") == 2
    finally:
        app.close()


# -- 2. _creationTime is not strictly increasing across mutations -------------------------


def test_creation_time_strictly_increases_across_mutations(frozen_clock):
    app = nr.App()

    @app.mutation
    def first(ctx):
        return ctx.db.insert("t", {"n": 1})

    @app.mutation
    def second(ctx):
        return ctx.db.insert("t", {"n": 2})

    a, b = first(), second()
    docs = app._db.base.tables["t"].docs
    try:
        assert docs[b]["_creationTime"] > docs[a]["_creationTime"]
    finally:
        app.close()


def test_creation_time_strictly_increases_over_pending_batches(frozen_clock, tmp_db_path):
    """Durable: a mutation executing on top of an unpublished batch must still get a later
    _creationTime than every document of that batch."""
    app = nr.App(tmp_db_path)
    db = app._db

    @app.mutation
    def three(ctx):
        return [ctx.db.insert("t", {"n": i}) for i in range(3)]

    @app.mutation
    def one(ctx):
        return ctx.db.insert("t", {"n": 99})

    @app.mutation
    def setup(ctx):
        return ctx.db.insert("t", {"n": -1})

    setup()  # create the table first (a different function: a different seed, see test 1)
    gate = threading.Event()
    real_flush = db.committer._flush

    def slow_flush(batch):
        gate.wait(10)
        real_flush(batch)

    db.committer._flush = slow_flush
    results: dict[str, object] = {}
    ta = threading.Thread(target=lambda: results.setdefault("a", three()), daemon=True)
    ta.start()
    deadline = time.monotonic() + 5
    while sum(len(b.records) for b in list(db.pending)) < 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    tb = threading.Thread(target=lambda: results.setdefault("b", one()), daemon=True)
    tb.start()
    while sum(len(b.records) for b in list(db.pending)) < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    gate.set()
    ta.join(10)
    tb.join(10)
    db.committer._flush = real_flush
    try:
        docs = db.base.tables["t"].docs
        a_times = [docs[i]["_creationTime"] for i in results["a"]]
        b_time = docs[results["b"]]["_creationTime"]
        assert b_time > max(a_times), (a_times, b_time)
    finally:
        app.close()


# -- 3. using an app after close() hangs forever ------------------------------------------


def test_mutation_after_close_fails_instead_of_hanging(tmp_db_path):
    app = nr.App(tmp_db_path)

    @app.mutation
    def add(ctx, n):
        return ctx.db.insert("t", {"n": n})

    add(n=1)
    app.close()
    finished, out = _run_in_thread(lambda: add(n=2), timeout=5)
    assert finished, "a mutation after app.close() blocks forever (record.wait() without timeout)"
    assert isinstance(out.get("error"), NbReactiveError)


def test_mutation_after_close_in_memory_is_refused():
    app = nr.App()

    @app.mutation
    def add(ctx, n):
        return ctx.db.insert("t", {"n": n})

    app.close()
    finished, out = _run_in_thread(lambda: add(n=2), timeout=5)
    assert finished
    # Today it "succeeds" into a closed app; a following app.sql then waits 60 s for a
    # committer that no longer runs and fails with a misleading timeout.
    assert isinstance(out.get("error"), NbReactiveError), out


# -- 4. the committer thread dies on any exception after a flush --------------------------


def test_committer_survives_a_failing_commit_listener(tmp_db_path):
    app = nr.App(tmp_db_path)

    @app.mutation
    def add(ctx, n):
        return ctx.db.insert("t", {"n": n})

    def bad_listener(records):
        raise RuntimeError("bug in a subscriber")

    app._db.commit_listeners.append(bad_listener)
    add(n=1)
    app._db.commit_listeners.remove(bad_listener)
    finished, _out = _run_in_thread(lambda: add(n=2), timeout=5)
    assert finished, "the committer thread died; every later mutation hangs forever"
    assert app._db.committer._thread.is_alive()
    app.close()


# -- 5. reopening a file that is already open (re-running a notebook cell) ----------------


def test_second_app_on_the_same_file_does_not_diverge(tmp_db_path):
    a1 = nr.App(tmp_db_path)

    @a1.mutation
    def add1(ctx, n):
        return ctx.db.insert("t", {"n": n})

    add1(n=1)
    # Re-running a notebook cell opens the file again: the earlier App is closed (its
    # pending writes flushed) with a warning, so two working sets never diverge.
    with pytest.warns(UserWarning, match="still open by an earlier nr.App"):
        a2 = nr.App(tmp_db_path)
    try:

        @a2.mutation
        def add2(ctx, n):
            return ctx.db.insert("t", {"n": n})

        add2(n=2)
        with pytest.raises(nr.StorageError, match="this App is closed"):
            add1(n=3)
        stored = a2.sql("SELECT count(*) AS n FROM t").to_pylist()[0]["n"]
        assert a2.count("t") == stored == 2
    finally:
        a2.close()
        a1.close()


# -- 6. imports: the document size limit ------------------------------------------------------


def test_import_reports_an_oversized_row_as_bulk_import_error():
    app = nr.App()
    try:
        with pytest.raises(BulkImportError):
            app.import_documents("t", [{"n": 1}, {"s": "x" * (1024 * 1024 + 10)}])
        assert app.count("t") == 0
    finally:
        app.close()


def test_large_import_still_enforces_the_document_size_limit():
    app = nr.App()
    rows = [{"n": i} for i in range(10_000)] + [{"s": "x" * (1024 * 1024 + 10)}]
    try:
        with pytest.raises(NbReactiveError):
            app.import_documents("t", rows)
        assert app.count("t") == 0, "a >1 MiB document was stored because the import had 10k rows"
    finally:
        app.close()


# -- 7. in-memory apps: a failed background flush breaks app.sql for good -----------------


def test_in_memory_flush_failure_does_not_leave_sql_diverged_forever():
    app = nr.App()
    db = app._db

    @app.mutation
    def add(ctx, n):
        return ctx.db.insert("t", {"n": n})

    add(n=0)
    db.drain()
    real = db.store.apply_batch
    calls = {"n": 0}

    def flaky(changes, meta):
        calls["n"] += 1
        if calls["n"] == 1:
            raise StorageError("disk hiccup")
        return real(changes, meta)

    db.store.apply_batch = flaky
    add(n=1)  # acknowledged: in memory it is already published
    add(n=2)
    try:
        rows = app.sql("SELECT count(*) AS n FROM t").to_pylist()[0]["n"]
        assert rows == app.count("t"), "SQL permanently misses an acknowledged document"
    finally:
        db.store.apply_batch = real
        db.committer.failure = None
        app.close()


# -- 8. the last commit timestamp is not persisted per commit ------------------------------


def test_commit_timestamps_keep_growing_after_a_crash(tmp_path):
    path = tmp_path / "ts.duckdb"
    child = textwrap.dedent(
        f"""
        import os, time
        real_ns = time.time_ns
        time.time_ns = lambda: real_ns() + 3600 * 10**9   # this process's clock is 1 h ahead
        import nbreactive as nr
        app = nr.App({str(path)!r})

        @app.mutation
        def add(ctx, n):
            return ctx.db.insert("t", {{"n": n}})

        add(n=1)   # creates the table: the meta (with last_ts) is written
        add(n=2)   # fast path: last_ts is not written
        print(app._db.last_ts, flush=True)
        os._exit(0)  # crash: no close()
        """
    )
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    acknowledged_ts = int(proc.stdout.split()[0])
    app = nr.App(path)  # the wall clock was stepped back (here: the child ran ahead)
    try:
        assert app.count("t") == 2
        assert app._db.next_ts() > acknowledged_ts, "a commit timestamp went backwards across a restart"
    finally:
        app.close()


# -- 9. app.sql inside a query deadlocks against the committer while a write is pending ----


def test_sql_inside_a_query_while_a_durable_write_is_pending(tmp_db_path):
    import functools

    app = nr.App(tmp_db_path)
    db = app._db

    @app.mutation
    def add(ctx, n):
        return ctx.db.insert("t", {"n": n})

    @app.query
    def stored_rows(ctx):
        return app.sql("SELECT count(*) AS n FROM t").to_pylist()[0]["n"]

    add(n=0)
    real_barrier = db.committer.barrier
    db.committer.barrier = functools.partial(real_barrier, timeout=3.0)  # instead of 60 s
    gate = threading.Event()
    real_flush = db.committer._flush

    def slow_flush(batch):
        gate.wait(10)
        real_flush(batch)

    db.committer._flush = slow_flush
    writer = threading.Thread(target=lambda: add(n=1), daemon=True)
    writer.start()
    while not any(b.records for b in list(db.pending)):
        time.sleep(0.001)
    threading.Timer(0.2, gate.set).start()  # the flush finishes soon after the query starts
    try:
        # The query holds the base lock; app.sql must not wait for the committer (which
        # needs that lock to publish). A durable app's acknowledged writes are all in
        # DuckDB already, so SQL sees at least those: 1 row, or 2 if the flush of the
        # pending one completed meanwhile.
        t0 = time.monotonic()
        assert stored_rows() in (1, 2)
        assert time.monotonic() - t0 < 2.5, "app.sql waited for the committer"
    finally:
        gate.set()
        writer.join(10)
        db.committer._flush = real_flush
        db.committer.barrier = real_barrier
        app.close()


# -- 10. random.seed() inside a handler reseeds the process-wide generator -----------------


def test_random_seed_in_a_handler_does_not_touch_the_global_generator():
    import random

    app = nr.App()

    @app.mutation
    def reseeds(ctx):
        random.seed(0)
        return random.random()

    try:
        random.seed(12345)
        expected = [random.random() for _ in range(3)]
        random.seed(12345)
        reseeds()
        got = [random.random() for _ in range(3)]
        assert got == expected, "the handler's random.seed() reseeded the notebook's global random"
    finally:
        app.close()
