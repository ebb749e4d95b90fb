"""The scheduler figures of issue 6, each beside a peer measured in the same run.

1. **10,000 jobs due at once.** Ten mutations schedule 1,000 jobs each with
   ``ctx.scheduler.run_at(due, job, {"k": k})`` for one moment ``due`` (about a second
   ahead, so scheduling is over before it); each job is a small mutation inserting one
   document. The background runner (the default wall clock) runs them; timed from ``due``
   until the last job's state is ``success`` (its document is visible: the job's write
   and its state change commit together), for an in-memory app and a durable one (a
   DuckDB file in a temp dir). Peer: the same 10,000 mutations called directly with
   ``app.run_mutation`` back to back from one thread, on a fresh app of the same kind.
2. **Scheduling overhead per job.** A mutation inserting one document vs the same
   mutation also scheduling one job (``run_after(3600, ...)``, so it never runs during
   the measurement), called in rotating order (A B C D, B C D A, ...) to cancel drift;
   medians and their difference in µs. Beside it, the same mutation inserting a second
   document instead of scheduling, into the same table and into another table (a job is
   a document of another table, ``_scheduled_functions``); and a mutation scheduling
   1,000 jobs per call (per-job µs over the plain mutation). In-memory and durable; with the default clock
   (the background runner is woken by every commit that schedules) and, in memory, with
   ``nr.ManualClock`` (no runner thread: the transaction's own cost).
3. **Start lag under load.** One thread runs 500 insert mutations/s (paced with
   absolute deadlines) for ``--duration`` seconds; another schedules 50 jobs/s, each
   ``run_after`` a random 0.05-0.5 s. Lag = ``completedTime - scheduledTime`` (the job
   transaction's frozen clock, i.e. when it started). Peers in the same run, under the
   same load, aimed at the very same target times: ``threading.Timer`` and one
   condition-wait thread over a heap (the runner's own design, without a database);
   lag = the callback's ``time.time()`` - target.

The machine is shared and noisy (2 cores): compare within one run, read the ratios.

Run:
    python benchmarks/bench_scheduler.py            # ~2 min (3 s per overhead figure, 15 s load runs)
    python benchmarks/bench_scheduler.py --quick    # ~40 s (1 s per figure, 5 s load runs)
    python benchmarks/bench_scheduler.py --json
"""

from __future__ import annotations

import argparse
import functools
import gc
import heapq
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))

from _util import append_markdown_section, environment, fmt, met, now, percentile, run_steps

import nbreactive as nr
from nbreactive import v

SF = "_scheduled_functions"
N_JOBS = 10_000
PER_CALL = 1_000  # Convex's (and nbreactive's) limit of jobs scheduled per transaction
LOAD_RATE = 500.0
JOB_RATE = 50.0
DELAY_RANGE = (0.05, 0.5)
FAR = 3600.0  # seconds: jobs scheduled for the overhead figures never run meanwhile
WAIT_LIMIT_S = 60.0  # the longest any figure waits for jobs to finish

SCHEMA = nr.define_schema({
    "items": nr.define_table({"k": v.int64()}),
    "load": nr.define_table({"k": v.int64()}),
    "done": nr.define_table({"k": v.int64()}),
})


def make_app(path: str | None = None, clock: Any = None) -> nr.App:
    app = nr.App(path, clock=clock)
    app.set_schema(SCHEMA)

    @app.mutation(name="job", args={"k": v.int64()})
    def job(ctx: Any, k: int) -> None:
        """The scheduled job: a small mutation inserting one document."""
        ctx.db.insert("done", {"k": k})

    @app.mutation(name="schedule_at", args={"start": v.int64(), "n": v.int64(), "at": v.float64()})
    def schedule_at(ctx: Any, start: int, n: int, at: float) -> None:
        for k in range(start, start + n):
            ctx.scheduler.run_at(at, job, {"k": k})

    @app.mutation(name="plain", args={"k": v.int64()})
    def plain(ctx: Any, k: int) -> None:
        ctx.db.insert("items", {"k": k})

    @app.mutation(name="plain_two", args={"k": v.int64()})
    def plain_two(ctx: Any, k: int) -> None:
        ctx.db.insert("items", {"k": k})
        ctx.db.insert("items", {"k": -k})

    @app.mutation(name="plain_other", args={"k": v.int64()})
    def plain_other(ctx: Any, k: int) -> None:
        ctx.db.insert("items", {"k": k})
        ctx.db.insert("load", {"k": -k})

    @app.mutation(name="plain_sched", args={"k": v.int64()})
    def plain_sched(ctx: Any, k: int) -> None:
        ctx.db.insert("items", {"k": k})
        ctx.scheduler.run_after(FAR, job, {"k": k})

    @app.mutation(name="plain_sched_many", args={"k": v.int64(), "n": v.int64()})
    def plain_sched_many(ctx: Any, k: int, n: int) -> None:
        ctx.db.insert("items", {"k": k})
        for j in range(n):
            ctx.scheduler.run_after(FAR, job, {"k": j})

    @app.mutation(name="load", args={"k": v.int64()})
    def load(ctx: Any, k: int) -> None:
        ctx.db.insert("load", {"k": k})

    @app.mutation(name="schedule_in", args={"delay": v.float64(), "k": v.int64()})
    def schedule_in(ctx: Any, delay: float, k: int) -> float:
        """Schedule one job ``delay`` s from now; returns its scheduledTime (ms)."""
        job_id = ctx.scheduler.run_after(delay, job, {"k": k})
        return float(ctx.db.system.get(job_id)["scheduledTime"])

    return app


class Apps:
    """Fresh apps for the figures: in memory, or durable files under one temp dir."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="nbr-bench-sched-"))
        self.n = 0

    def new(self, durable: bool, clock: Any = None) -> nr.App:
        self.n += 1
        return make_app(str(self.tmp / f"app{self.n}.duckdb") if durable else None, clock)

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def close(app: nr.App) -> None:
    app.close()
    gc.collect()


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.001) -> bool:
    """Poll ``predicate`` every ``step`` s for at most ``timeout`` s; whether it came true."""
    deadline = now() + timeout
    while not predicate():
        if now() > deadline:
            return False
        time.sleep(step)
    return True


def job_rows(app: nr.App) -> list[dict[str, Any]]:
    """Every job: scheduledTime, completedTime (ms) and state kind."""
    rows = app.sql(f'SELECT "scheduledTime" AS s, "completedTime" AS c, state FROM {SF}').to_pylist()
    for r in rows:
        state = r["state"]
        r["kind"] = (orjson.loads(state) if isinstance(state, str) else state)["kind"]
    return rows


def warm_up(app: nr.App) -> None:
    for k in range(200):
        app.run_mutation("plain", {"k": -1 - k})


# ------------------------------------------------------------------ 1. 10,000 jobs at once


def bench_burst(apps: Apps, durable: bool, n_jobs: int = N_JOBS, lead_s: float = 1.0) -> dict[str, Any]:
    app = apps.new(durable)
    try:
        warm_up(app)
        gc.collect()
        calls = n_jobs // PER_CALL
        due = time.time() + lead_s
        t0 = now()
        for c in range(calls):
            app.run_mutation("schedule_at", {"start": c * PER_CALL, "n": PER_CALL, "at": due})
        schedule_s = now() - t0
        slack_s = due - time.time()  # > 0: every job was committed before the due moment
        finished = wait_for(lambda: app.count("done") >= n_jobs, max(0.0, slack_s) + WAIT_LIMIT_S)
        end = time.time()
        rows = job_rows(app)
        kinds: dict[str, int] = {}
        for r in rows:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        started = sorted(r["c"] for r in rows if r["c"] is not None)
        total_s = end - due
        return {
            "durable": durable, "jobs": n_jobs, "finished": finished, "states": kinds,
            "schedule_s": schedule_s, "schedule_per_job_us": schedule_s / n_jobs * 1e6,
            "slack_s": slack_s, "seconds": total_s, "jobs_per_s": n_jobs / total_s,
            "first_start_ms": (started[0] - due * 1000) if started else float("nan"),
            "last_start_ms": (started[-1] - due * 1000) if started else float("nan"),
        }
    finally:
        close(app)


def bench_direct(apps: Apps, durable: bool, n_jobs: int = N_JOBS) -> dict[str, Any]:
    """The peer: the jobs' 10,000 mutations called directly, back to back, one thread."""
    app = apps.new(durable)
    try:
        warm_up(app)
        gc.collect()
        t0 = now()
        for k in range(n_jobs):
            app.run_mutation("job", {"k": k})
        seconds = now() - t0
        assert app.count("done") == n_jobs
        return {"durable": durable, "jobs": n_jobs, "seconds": seconds, "jobs_per_s": n_jobs / seconds}
    finally:
        close(app)


# ------------------------------------------------------------------ 2. overhead per job


def alternate(app: nr.App, calls: dict[str, Callable[[int], Any]], seconds: float,
              max_rounds: int = 200_000, min_rounds: int = 20) -> dict[str, dict[str, float]]:
    """Call each of ``calls`` once per round, rotating the order every round, for
    ``seconds``; per-call latencies -> median / p10 / p90 in µs."""
    names = list(calls)
    lat: dict[str, list[float]] = {n: [] for n in names}
    for k in range(20):  # warm-up
        for n in names:
            calls[n](k)
    gc.collect()
    end = now() + seconds
    r = 0
    while (now() < end or r < min_rounds) and r < max_rounds:
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            t0 = now()
            calls[n](r)
            lat[n].append(now() - t0)
        r += 1
    out: dict[str, dict[str, float]] = {}
    for n in names:
        xs = sorted(lat[n])
        out[n] = {"median_us": statistics.median(xs) * 1e6, "p10_us": percentile(xs, 10) * 1e6,
                  "p90_us": percentile(xs, 90) * 1e6, "calls": len(xs)}
    return out


def bench_overhead(apps: Apps, durable: bool, manual_clock: bool, seconds: float,
                   many_calls: int) -> dict[str, Any]:
    clock = nr.ManualClock() if manual_clock else None
    app = apps.new(durable, clock)
    try:
        warm_up(app)
        run = app.run_mutation
        one = alternate(app, {
            "plain": lambda i: run("plain", {"k": i}),
            "plain_sched": lambda i: run("plain_sched", {"k": i}),
            "plain_two": lambda i: run("plain_two", {"k": i}),
            "plain_other": lambda i: run("plain_other", {"k": i}),
        }, seconds)
        many = alternate(app, {
            "plain": lambda i: run("plain", {"k": i}),
            "plain_sched_many": lambda i: run("plain_sched_many", {"k": i, "n": PER_CALL}),
        }, 0.0, max_rounds=many_calls, min_rounds=many_calls)
        base, sched, two, other = (one[n]["median_us"] for n in ("plain", "plain_sched", "plain_two",
                                                                  "plain_other"))
        return {
            "durable": durable, "manual_clock": manual_clock, "one": one, "many": many,
            "overhead_us": sched - base, "second_insert_us": two - base,
            "other_table_insert_us": other - base,
            "per_job_us_many": (many["plain_sched_many"]["median_us"] - many["plain"]["median_us"]) / PER_CALL,
            "pending_jobs_at_end": app.count(SF),
        }
    finally:
        close(app)


# ------------------------------------------------------------------ 3. lag under load


class HeapTimer:
    """One thread sleeping on a condition until the earliest target of a heap (what the
    runner does, without a database). ``add(target_ms)``; lags (ms) in ``lags``."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.heap: list[float] = []
        self.lags: list[float] = []
        self.stopped = False
        self.thread = threading.Thread(target=self._loop, name="peer-heap-timer", daemon=True)
        self.thread.start()

    def add(self, target_ms: float) -> None:
        with self.cond:
            heapq.heappush(self.heap, target_ms)
            self.cond.notify()

    def _loop(self) -> None:
        with self.cond:
            while not self.stopped:
                if not self.heap:
                    self.cond.wait(0.5)
                    continue
                delay = self.heap[0] / 1000.0 - time.time()
                if delay > 0:
                    self.cond.wait(delay)
                    continue
                target = heapq.heappop(self.heap)
                self.lags.append(time.time() * 1000.0 - target)

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify()
        self.thread.join(timeout=5)


def bench_lag(apps: Apps, durable: bool, duration: float, load_rate: float = LOAD_RATE,
              job_rate: float = JOB_RATE) -> dict[str, Any]:
    app = apps.new(durable)
    heap_peer = HeapTimer()
    timer_lags: list[float] = []
    timers: list[threading.Timer] = []
    errors: list[BaseException] = []
    try:
        warm_up(app)
        gc.collect()
        stop = threading.Event()
        load_stats: dict[str, float] = {}

        def fire(target_ms: float) -> None:
            timer_lags.append(time.time() * 1000.0 - target_ms)

        def paced(rate: float, body: Callable[[int], None], stats: dict[str, float]) -> None:
            try:
                t_start = now()
                behind = 0.0
                i = 0
                while not stop.is_set():
                    due = t_start + i / rate
                    t = now()
                    if t < due:
                        time.sleep(due - t)
                    else:
                        behind = max(behind, t - due)
                    body(i)
                    i += 1
                stats.update(calls=i, seconds=now() - t_start, behind_ms=behind * 1e3)
            except BaseException as e:  # re-raised by the main thread
                errors.append(e)
                stop.set()

        rng = random.Random(6)
        scheduled: list[float] = []

        def schedule(i: int) -> None:
            delay = rng.uniform(*DELAY_RANGE)
            target = app.run_mutation("schedule_in", {"delay": delay, "k": i})
            scheduled.append(target)
            heap_peer.add(target)
            t = threading.Timer(max(0.0, target / 1000.0 - time.time()), fire, (target,))
            t.daemon = True
            t.start()
            timers.append(t)

        job_stats: dict[str, float] = {}
        threads = [
            threading.Thread(target=paced, args=(load_rate, lambda i: app.run_mutation("load", {"k": i}),
                                                  load_stats), name="bench-load"),
            threading.Thread(target=paced, args=(job_rate, schedule, job_stats), name="bench-schedule"),
        ]
        for t in threads:
            t.start()
        stop.wait(duration)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        if errors:
            raise errors[0]
        n = len(scheduled)
        finished = wait_for(lambda: app.count("done") >= n and len(timer_lags) >= n
                            and len(heap_peer.lags) >= n, WAIT_LIMIT_S, step=0.01)
        rows = job_rows(app)
        lags = sorted(r["c"] - r["s"] for r in rows if r["c"] is not None)
        out: dict[str, Any] = {
            "durable": durable, "duration_s": duration, "finished": finished,
            "load_rate": load_stats["calls"] / load_stats["seconds"],
            "load_behind_ms": load_stats["behind_ms"],
            "job_rate": job_stats["calls"] / job_stats["seconds"], "jobs": n,
            "jobs_success": sum(r["kind"] == "success" for r in rows),
        }
        for name, xs in (("nbreactive", lags), ("timer", sorted(timer_lags)),
                         ("heap", sorted(heap_peer.lags))):
            out[name] = {"n": len(xs), "p50_ms": percentile(xs, 50), "p99_ms": percentile(xs, 99),
                         "max_ms": xs[-1] if xs else float("nan"),
                         "min_ms": xs[0] if xs else float("nan")}
        return out
    finally:
        heap_peer.stop()
        for t in timers:
            t.cancel()
        close(app)


# ------------------------------------------------------------------ report


def report_rows(r: dict[str, Any]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []

    def add(figure: str, ours: str, peer: str, target: str, met: str) -> None:
        rows.append({"figure": figure, "measured": ours, "peer (same run)": peer,
                     "target": target, "met?": met})

    for kind in ("memory", "durable"):
        if f"burst_{kind}" not in r:
            continue
        b, d = r[f"burst_{kind}"], r[f"direct_{kind}"]
        where = "in-memory app" if kind == "memory" else "durable app (DuckDB file)"
        states = ", ".join(f"{v} {k}" for k, v in sorted(b["states"].items()))
        add(f"{b['jobs']:,} jobs due at once, {where}, background runner: due → last job success",
            f"{b['seconds']:.2f} s = {fmt(b['jobs_per_s'])} jobs/s (first job started "
            f"{fmt(b['first_start_ms'])} ms after the due time; {states})",
            f"`app.run_mutation` × {d['jobs']:,} back to back: {d['seconds']:.2f} s = "
            f"{fmt(d['jobs_per_s'])}/s (runner / direct time **{b['seconds'] / d['seconds']:.2f}×**)",
            "≤ 5 s", met(b["finished"] and b["seconds"] <= 5.0 and b["states"].get("success") == b["jobs"]))
        add(f"  scheduling those {b['jobs']:,} ({b['jobs'] // PER_CALL} mutations × {PER_CALL:,} jobs)",
            f"{b['schedule_s']:.2f} s ({fmt(b['schedule_per_job_us'])} µs/job; done {b['slack_s']:.2f} s "
            "before the due time)", "–", "–", "–")

    for key, label in (("overhead_memory", "in-memory app"), ("overhead_durable", "durable app"),
                       ("overhead_manual", "in-memory app, `nr.ManualClock` (no runner thread)")):
        o = r.get(key)
        if o is None:
            continue
        one = o["one"]
        add(f"scheduling overhead, 1 job per mutation, {label}",
            f"**{fmt(o['overhead_us'])} µs** (median {fmt(one['plain_sched']['median_us'])} vs "
            f"{fmt(one['plain']['median_us'])} µs, {one['plain']['calls']:,} alternating calls each)",
            f"instead of scheduling, a second insert into the same table: {fmt(o['second_insert_us'])} µs; "
            f"into another table: {fmt(o['other_table_insert_us'])} µs (scheduling / that "
            f"**{o['overhead_us'] / o['other_table_insert_us']:.2f}×**)",
            "≤ 100 µs", met(o["overhead_us"] <= 100.0))
        m = o["many"]
        add(f"  {PER_CALL:,} jobs in one mutation, {label}",
            f"**{fmt(o['per_job_us_many'])} µs/job** (median {fmt(m['plain_sched_many']['median_us'] / 1e3)} ms "
            f"per call vs {fmt(m['plain']['median_us'] / 1e3)} ms, {m['plain']['calls']} calls each)",
            "–", "≤ 100 µs", met(o["per_job_us_many"] <= 100.0))

    for kind in ("memory", "durable"):
        g = r.get(f"lag_{kind}")
        if g is None:
            continue
        where = "in-memory app" if kind == "memory" else "durable app"
        nb, tm, hp = g["nbreactive"], g["timer"], g["heap"]
        add(f"job start lag (completedTime − scheduledTime), {where}, {fmt(g['load_rate'])} mutations/s "
            f"for {fmt(g['duration_s'])} s + {fmt(g['job_rate'])} jobs/s scheduled 0.05-0.5 s ahead",
            f"p50 {fmt(nb['p50_ms'])} ms, **p99 {fmt(nb['p99_ms'])} ms**, max {fmt(nb['max_ms'])} ms "
            f"({nb['n']:,} jobs, {g['jobs_success']:,} success)",
            f"`threading.Timer` p50 {fmt(tm['p50_ms'])}, p99 {fmt(tm['p99_ms'])}, max {fmt(tm['max_ms'])} ms "
            f"(p99 **{nb['p99_ms'] / tm['p99_ms']:.1f}×**); condition-wait thread over a heap p50 "
            f"{fmt(hp['p50_ms'])}, p99 {fmt(hp['p99_ms'])}, max {fmt(hp['max_ms'])} ms "
            f"(p99 **{nb['p99_ms'] / hp['p99_ms']:.1f}×**)",
            "p99 ≤ 20 ms", met(g["finished"] and nb["p99_ms"] <= 20.0))
        add("  achieved load (paced loop)", f"{fmt(g['load_rate'])} mutations/s (at most "
            f"{fmt(g['load_behind_ms'])} ms behind schedule)", "–", f"{fmt(LOAD_RATE)}/s",
            met(g["load_rate"] >= 0.98 * LOAD_RATE))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 s per overhead figure, 5 s load runs")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per overhead figure (default 3)")
    ap.add_argument("--duration", type=float, default=None, help="seconds of each load run (default 15)")
    ap.add_argument("--no-durable", action="store_true", help="in-memory figures only")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    seconds = args.seconds or (1.0 if args.quick else 3.0)
    duration = args.duration or (5.0 if args.quick else 15.0)
    many_calls = 10 if args.quick else 30
    kinds = [("memory", False)] + ([] if args.no_durable else [("durable", True)])
    env = environment(("duckdb", "pyarrow", "orjson"))
    t0 = now()
    apps = Apps()
    results: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    for kind, durable in kinds:
        steps += [(f"burst_{kind}", functools.partial(bench_burst, apps, durable)),
                  (f"direct_{kind}", functools.partial(bench_direct, apps, durable))]
    for kind, durable in kinds:
        steps.append((f"overhead_{kind}",
                      functools.partial(bench_overhead, apps, durable, False, seconds, many_calls)))
    steps.append(("overhead_manual", functools.partial(bench_overhead, apps, False, True, seconds, many_calls)))
    for kind, durable in kinds:
        steps.append((f"lag_{kind}", functools.partial(bench_lag, apps, durable, duration)))
    try:
        run_steps(steps, results, env, t0)
    finally:
        apps.cleanup()
    env["seconds_per_figure"] = seconds
    env["load_run_s"] = duration
    if args.json:
        print(json.dumps({"env": env, **results}, indent=1, default=str))
        return 0
    print(append_markdown_section("", "Scheduler, same run", report_rows(results), env=env))
    print(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
