"""Scheduled jobs survive SIGKILL: a real subprocess runs a stream of scheduled mutations
and a long action in the background; it is killed mid-stream; the reopened app has
every finished job's effects exactly once, runs the rest, and marks the action that was
running failed (actions run at most once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import orjson

import nbreactive as nr
from nbreactive import v

JOBS = 400

CHILD = textwrap.dedent(
    f"""
    import sys, time
    import nbreactive as nr
    from nbreactive import v

    app = nr.App(sys.argv[1])

    @app.mutation(args={{"k": v.int64()}})
    def work(ctx, k):
        ctx.db.insert("done", {{"k": k}})
        time.sleep(0.002)
        print(k, flush=True)

    @app.action()
    def hang(ctx):
        print("action started", flush=True)
        time.sleep(3600)

    @app.mutation()
    def plan(ctx):
        ctx.scheduler.run_after(0, hang, {{}})
        for k in range({JOBS}):
            ctx.scheduler.run_after(0, work, {{"k": k}})

    plan()
    while True:
        time.sleep(1)
    """
)


def _reopen(path: Path) -> nr.App:
    app = nr.App(path, clock=nr.ManualClock())  # nothing runs until run_due_jobs()

    @app.mutation(args={"k": v.int64()})
    def work(ctx, k):
        ctx.db.insert("done", {"k": k})

    @app.action()
    def hang(ctx):
        raise AssertionError("an action that was running must not run again")

    return app


def test_sigkill_mid_stream_loses_no_job_and_runs_none_twice(tmp_path: Path) -> None:
    path = tmp_path / "jobs.duckdb"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen, started = 0, False
    deadline = time.monotonic() + 60
    while (seen < 100 or not started) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.strip() == "action started":
            started = True
        else:
            seen += 1
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert started and seen >= 100, "the child did not get going"

    app = _reopen(path)
    try:
        rows = app.sql('SELECT name, state FROM _scheduled_functions').to_pylist()
        states = [(r["name"], orjson.loads(r["state"])["kind"]) for r in rows]
        done = [r["k"] for r in app.sql("SELECT CAST(_doc->>'k' AS BIGINT) AS k FROM done").to_pylist()]
        succeeded = sum(1 for name, kind in states if name == "work" and kind == "success")
        # effects and state changes committed together: exactly as many documents as successes
        assert len(done) == len(set(done)) == succeeded
        assert succeeded < JOBS, "the kill came too late to test anything"
        [hang] = [orjson.loads(r["state"]) for r in rows if r["name"] == "hang"]
        assert hang["kind"] == "failed" and "at most once" in hang["error"]
        # the rest run now, once each
        assert app.run_due_jobs() == JOBS - succeeded
        done = [r["k"] for r in app.sql("SELECT CAST(_doc->>'k' AS BIGINT) AS k FROM done").to_pylist()]
        assert sorted(done) == list(range(JOBS))
        assert app.run_due_jobs() == 0
    finally:
        app.close()
