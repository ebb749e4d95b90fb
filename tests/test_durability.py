"""Durability: acknowledged mutations survive SIGKILL; unacknowledged ones are all or nothing.

A real subprocess streams mutations into a DuckDB file (each inserts two
documents that must always appear together) and prints every acknowledged one;
the test kills it with SIGKILL mid-stream, reopens the file and checks. Commit
timestamps keep growing across such a crash, even with a clock that stepped back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest

import nbreactive as nr
import nbreactive.storage.database as database

WRITER = textwrap.dedent(
    """
    import sys, threading
    import nbreactive as nr
    from nbreactive import v

    app = nr.App(sys.argv[1])
    app.set_schema(nr.define_schema({
        "items": nr.define_table({"n": v.int64(), "half": v.string()}).index("by_n", ["n"]),
    }))

    @app.mutation(args={"n": v.int64()})
    def pair(ctx, n):
        ctx.db.insert("items", {"n": n, "half": "a"})
        ctx.db.insert("items", {"n": n, "half": "b"})

    out = threading.Lock()

    def worker(start):
        n = start
        while True:
            pair(n=n)
            with out:  # one whole line per acknowledgment, after the mutation returned
                print(n, flush=True)
            n += 4

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    """
)


def test_sigkill_loses_no_acknowledged_mutation_and_keeps_none_half_applied(tmp_path):
    db = tmp_path / "crash.duckdb"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db)], stdout=subprocess.PIPE, text=True
    )
    acked: list[int] = []
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while len(acked) < 400 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acked.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(acked) >= 400, "the writer did not get going"

    with nr.App(db) as app:
        rows = app.sql("SELECT n, half FROM items").to_pylist()
        # the working set reloaded from the file agrees with DuckDB, index included
        by_index = app.count("items")
    halves: dict[int, set[str]] = {}
    for r in rows:
        halves.setdefault(r["n"], set()).add(r["half"])
    missing = [n for n in acked if n not in halves]
    assert not missing, f"acknowledged mutations lost: {missing[:10]}"
    half_applied = [n for n, h in halves.items() if h != {"a", "b"}]
    assert not half_applied, f"half-applied mutations kept: {half_applied[:10]}"
    assert len(rows) == 2 * len(halves) == by_index


def test_a_script_that_never_closes_its_app_exits_cleanly(tmp_path):
    db = tmp_path / "unclosed.duckdb"
    script = textwrap.dedent(
        """
        import sys
        import nbreactive as nr

        app = nr.App(sys.argv[1])
        memory = nr.App()

        @app.mutation
        def add(ctx):
            return ctx.db.insert("t", {"a": 1})

        add()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(db)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "leaked" not in proc.stderr, proc.stderr  # every connection closed at exit
    with nr.App(db) as app:
        assert app.count("t") == 1


# A mutation reserves a timestamp bound a minute ahead in the file; then an import or a
# schema change, and five more acknowledged mutations (under that bound: they write no
# new one); then SIGKILL.
TS_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import nbreactive as nr

    app = nr.App(sys.argv[1])

    @app.mutation
    def add(ctx, n):
        ctx.db.insert("t", {"n": n})

    add(n=-1)
    if sys.argv[2] == "import":
        app.import_documents("t", [{"n": 0}])
    else:
        app.set_schema(nr.define_schema({"t": nr.define_table({"n": nr.v.int64()})}))
    seen = []
    app._db.commit_listeners.append(lambda records: seen.extend(r.ts for r in records))
    for k in range(5):
        add(n=k)
    print(max(seen), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _clock_stepped_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wall clock of the database module reads 1970 from now on."""
    monkeypatch.setattr(database, "time", types.SimpleNamespace(time_ns=lambda: 10**9))


@pytest.mark.parametrize("how", ["import", "set_schema"])
def test_commit_timestamps_keep_growing_after_a_crash_following_an_import_or_schema_change(
    tmp_path, monkeypatch, how
):
    # Imports and schema changes write the bound too: they must never lower it below the
    # one reserved by an earlier batch, which the database still counts on.
    path = tmp_path / "ts.duckdb"
    script = tmp_path / "writer.py"
    script.write_text(TS_WRITER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, str(script), str(path), how],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    acknowledged = int(proc.stdout.split()[0])
    _clock_stepped_back(monkeypatch)
    with nr.App(path) as app:
        seen: list[int] = []
        app._db.commit_listeners.append(lambda records: seen.extend(r.ts for r in records))

        @app.mutation
        def add(ctx, n):
            ctx.db.insert("t", {"n": n})

        add(n=100)
        assert seen[0] > acknowledged, "a commit timestamp went backwards across a crash"


def test_a_batch_that_failed_to_reach_duckdb_reserves_no_timestamp_bound(tmp_path, monkeypatch):
    # ``reserved_ts`` is the bound the file holds. A batch whose write failed saved no
    # bound, so the next batch must write one above its own timestamps.
    with nr.App(tmp_path / "bound.duckdb") as app:
        db = app._db
        seen: list[int] = []
        db.commit_listeners.append(lambda records: seen.extend(r.ts for r in records))

        @app.mutation
        def add(ctx, n):
            ctx.db.insert("t", {"n": n})

        before = db.reserved_ts

        def failing_apply(changes, meta):
            raise nr.StorageError("disk full (injected)")

        monkeypatch.setattr(db.store, "apply_batch", failing_apply)
        with pytest.raises(nr.StorageError, match="injected"):
            add(n=0)
        assert db.reserved_ts == before
        monkeypatch.undo()
        add(n=1)
        assert db.store.read_meta().get("last_ts", 0) == db.reserved_ts > seen[-1]
