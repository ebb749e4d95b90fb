"""The scheduler on its edges: limits, exceptions that are not errors, closing and
re-opening while work is under way, a saturated action pool, nested actions, and
functions that changed since their jobs were scheduled."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import orjson
import pytest

import nbreactive as nr
from nbreactive import v
from nbreactive.functions.requests import Request
from tests.waiting import wait_until

SF = "_scheduled_functions"


def states(app: nr.App) -> dict[str, Any]:
    app._db.drain()
    if SF not in app._db.store.tables:
        return {}
    rows = app.sql(f'SELECT name, state FROM {SF} ORDER BY "_creationTime"').to_pylist()
    return {r["name"]: orjson.loads(r["state"]) for r in rows}


def app_with_busy_action(**options: Any) -> tuple[nr.App, threading.Event, Any]:
    """An App with an action ``busy`` that holds its thread until ``release`` is set."""
    app = nr.App(**options)
    release = threading.Event()

    @app.action()
    def busy(ctx):
        release.wait(10)

    return app, release, busy


def test_jobs_at_and_over_their_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job's own bookkeeping does not count against the function's limits; a job
    over them fails, and the jobs behind it still run."""
    app = nr.App(clock=nr.ManualClock(), limits=nr.TransactionLimits(documents_written=3,
                                                                     index_ranges_read=4))

    @app.mutation()
    def at_limit(ctx):
        for i in range(3):
            ctx.db.insert("t", {"i": i})
        for _ in range(4):
            ctx.db.query("t").first()

    @app.mutation()
    def over_limit(ctx):
        for _ in range(5):
            ctx.db.query("t").first()

    @app.mutation()
    def after(ctx):
        ctx.db.insert("u", {})

    @app.mutation()
    def plan(ctx):
        for fn in (at_limit, over_limit, after):
            ctx.scheduler.run_after(0, fn, {})

    plan()
    assert app.run_due_jobs() == 3
    got = states(app)
    assert got["at_limit"] == {"kind": "success"} and got["after"] == {"kind": "success"}
    assert got["over_limit"]["kind"] == "failed" and "Too many reads" in got["over_limit"]["error"]
    # a sync-protocol mutation at its write limit: its de-duplication record fits too
    assert app._call("mutation", at_limit, {}, None, None, Request("s", 1)) is None
    app.close()


def test_sys_exit_in_a_job_fails_it_and_the_scheduler_goes_on() -> None:
    app = nr.App()

    @app.mutation()
    def quits(ctx):
        raise SystemExit("bye")

    @app.mutation()
    def later(ctx):
        ctx.db.insert("t", {})

    @app.mutation()
    def plan(ctx):
        ctx.scheduler.run_after(0, quits, {})
        ctx.scheduler.run_after(0.2, later, {})

    plan()
    wait_until(lambda: states(app).get("later") == {"kind": "success"}, "the job after sys.exit")
    assert states(app)["quits"] == {"kind": "failed", "error": "SystemExit: bye"}
    app.close()


def test_an_interrupted_cron_action_is_recorded_and_keeps_its_schedule() -> None:
    clock = nr.ManualClock()
    app = nr.App(clock=clock)
    calls = []

    @app.action()
    def act(ctx):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt  # the notebook's interrupt button during run_due_jobs

    app.crons.interval("i", act, seconds=10)
    with pytest.raises(KeyboardInterrupt):
        app.run_due_jobs()
    [job] = app.crons.list()
    assert job["state"] == {"kind": "scheduled"} and job["lastRun"]["state"]["kind"] == "failed"
    clock.advance(10)
    assert app.run_due_jobs() == 1 and len(calls) == 2
    app.close()


def test_closing_with_an_async_job_running_records_it_and_returns(tmp_path: Any) -> None:
    path = str(tmp_path / "close.duckdb")

    def open_app() -> nr.App:
        a = nr.App(path)

        @a.action()
        async def slow(ctx):
            await asyncio.sleep(30)

        @a.mutation()
        def plan(ctx):
            ctx.scheduler.run_after(0, slow, {})

        return a

    app = open_app()
    app.run_mutation("plan")
    wait_until(lambda: states(app).get("slow") == {"kind": "inProgress"}, "the action to start")
    t0 = time.monotonic()
    app.close()
    assert time.monotonic() - t0 < 8
    again = open_app()
    assert states(again)["slow"] == {"kind": "failed", "error": "the app was closed while this action was running"}
    again.close()


def test_crons_cannot_be_registered_inside_a_mutation() -> None:
    app = nr.App(clock=nr.ManualClock())

    @app.mutation()
    def tick(ctx):
        pass

    @app.mutation()
    def register(ctx):
        app.crons.hourly("h", tick)

    with pytest.raises(nr.FunctionError, match=r"app\.crons cannot run inside a query or mutation"):
        register()
    assert app.crons.list() == []
    app.close()


def test_reopening_the_file_stops_the_earlier_apps_scheduler(tmp_path: Any) -> None:
    path = str(tmp_path / "again.duckdb")
    first = nr.App(path)

    @first.mutation()
    def tick(ctx):
        ctx.scheduler.run_after(60, tick, {})

    tick()
    wait_until(lambda: first._jobs._thread is not None and first._jobs._thread.is_alive(), "the runner")
    old = first._jobs._thread
    assert old is not None
    with pytest.warns(UserWarning, match="still open"):
        second = nr.App(path)  # a re-run notebook cell
    old.join(timeout=10)
    assert not old.is_alive()
    second.close()


def test_a_busy_action_pool_does_not_delay_mutation_jobs() -> None:
    app, release, hold = app_with_busy_action()

    @app.mutation()
    def quick(ctx):
        ctx.db.insert("t", {"at": time.time()})

    @app.mutation()
    def plan(ctx):
        for _ in range(10):  # more than the 8 action threads
            ctx.scheduler.run_after(0, hold, {})
        ctx.scheduler.run_after(0.3, quick, {})

    start = time.time()
    plan()
    wait_until(lambda: states(app).get("quick") == {"kind": "success"}, "the mutation job", timeout=5)
    ran_at = app.sql("SELECT CAST(_doc->>'at' AS DOUBLE) AS at FROM t").to_pylist()[0]["at"]
    assert ran_at - start < 1.5
    release.set()
    wait_until(lambda: app.sql(f"SELECT count(*) AS n FROM {SF} WHERE state->>'kind' = 'success'")
               .to_pylist()[0]["n"] == 11, "every action")
    app.close()


def test_action_timeouts_count_from_the_start_and_nested_actions_run_inline() -> None:
    app, release, busy = app_with_busy_action(action_timeout=1.0)

    @app.action()
    def leaf(ctx):
        return 1

    @app.action()
    async def middle(ctx):
        await asyncio.sleep(0.2)
        return await ctx.run_action(leaf)

    @app.action()
    def outer(ctx):
        return ctx.run_action(middle)

    results: list[Any] = []

    def call(fn: Any) -> None:
        try:
            results.append(app.run_action(fn))
        except Exception as e:
            results.append(e)

    # sync -> async -> sync, eight at once: the inner ones run on their callers' threads
    threads = [threading.Thread(target=call, args=(outer,)) for _ in range(8)]
    [t.start() for t in threads]
    [t.join(10) for t in threads]
    assert results == [1] * 8
    # all eight threads busy: a ninth call could not start, and says so
    results.clear()
    threads = [threading.Thread(target=call, args=(busy,)) for _ in range(8)]
    [t.start() for t in threads]
    time.sleep(0.2)
    with pytest.raises(nr.ActionTimeoutError, match="could not start within 1 s: all 8 action threads"):
        app.run_action(leaf)
    release.set()
    [t.join(10) for t in threads]
    app.close()


def test_jobs_check_their_function_as_it_is_now() -> None:
    clock = nr.ManualClock()
    app = nr.App(clock=clock)

    @app.mutation(args={"n": v.int64()})
    def work(ctx, n):
        pass

    @app.mutation()
    def plan(ctx):
        ctx.scheduler.run_after(0, work, {"n": 1})

    plan()

    @app.mutation(args={"n": v.string()}, name="work")  # the cell was edited
    def work2(ctx, n):
        pass

    assert app.run_due_jobs() == 1
    assert states(app)["work"]["kind"] == "failed"
    assert "Invalid arguments for work: .n: expected v.string()" in states(app)["work"]["error"]

    # a job whose function became a query waits (no busy loop) instead of running it
    plan()

    @app.query(name="work")
    def work3(ctx, n):
        return None

    passes = 0
    real = app._jobs._pass

    def counting(**kw: Any) -> int:
        nonlocal passes
        passes += 1
        return real(**kw)

    app._jobs._pass = counting  # type: ignore[method-assign]
    assert app.run_due_jobs() == 0 and passes == 1
    app.close()


@pytest.mark.parametrize("how", ["itself", "through a mutation", "through a mutation, async"])
def test_cancelling_a_running_action_cancels_what_it_schedules(how: str) -> None:
    """The usual loop "action -> (mutation that saves and) schedules the next step": the
    job's cancellation reaches what the action schedules, itself or through the
    mutations it calls (as Convex propagates the parent job down the call tree), so the
    loop stops."""
    app = nr.App(clock=nr.ManualClock())
    started, go_on = threading.Event(), threading.Event()

    @app.mutation()
    def note(ctx):
        ctx.db.insert("t", {})

    @app.mutation()
    def save_and_continue(ctx):
        ctx.scheduler.run_after(0, note, {})

    if how == "itself":
        @app.action()
        def worker(ctx):
            started.set()
            go_on.wait(10)
            return ctx.scheduler.run_after(0, note, {})
    elif how == "through a mutation":
        @app.action()
        def worker(ctx):
            started.set()
            go_on.wait(10)
            ctx.run_mutation(save_and_continue, {})
    else:
        @app.action()
        async def worker(ctx):
            started.set()
            go_on.wait(10)
            await ctx.run_mutation(save_and_continue, {})

    @app.mutation()
    def plan(ctx):
        return ctx.scheduler.run_after(0, worker, {})

    @app.mutation(args={"job": v.id(SF)})
    def stop(ctx, job):
        ctx.scheduler.cancel(job)

    job = plan()
    runner = threading.Thread(target=app.run_due_jobs)
    runner.start()
    assert started.wait(10)
    stop(job=job)
    go_on.set()
    runner.join(10)
    got = states(app)
    assert got["worker"] == {"kind": "canceled"} and got["note"] == {"kind": "canceled"}
    assert app.run_due_jobs() == 0
    app.close()


def test_run_at_refuses_milliseconds() -> None:
    app = nr.App(clock=nr.ManualClock())

    @app.mutation()
    def plan(ctx):
        ctx.scheduler.run_at(1.7e12, plan, {})

    with pytest.raises(nr.ValidationError, match="divide by 1000"):
        plan()
    app.close()


def test_run_after_refuses_delays_past_the_year_3000_as_run_at_does() -> None:
    """A delay in milliseconds by mistake (or an absurd one) used to be stored as a job
    due in the year 10^295; run_at refuses such times, and so does run_after now, in a
    mutation and in an action. Nothing is scheduled."""
    app = nr.App(clock=nr.ManualClock())

    @app.mutation()
    def noop(ctx):
        pass

    @app.mutation(args={"delay": v.float64()})
    def plan(ctx, delay):
        ctx.scheduler.run_after(delay, noop, {})

    @app.action(args={"delay": v.float64()})
    def plan_later(ctx, delay):
        ctx.scheduler.run_after(delay, noop, {})

    for fn in (plan, plan_later):
        with pytest.raises(nr.ValidationError, match=r"beyond the year 3000.*divide by 1000"):
            fn(delay=1e300)
    plan(delay=3600.0 * 24 * 365 * 900)  # 900 years: allowed
    assert app.count("_scheduled_functions") == 1
    app.close()


def test_cron_history_refuses_a_negative_limit() -> None:
    app = nr.App(clock=nr.ManualClock())
    assert app.crons.history(limit=0) == []
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="history"):
            app.crons.history(limit=bad)
    app.close()


# -- found by the second review ------------------------------------------------------------


def test_nested_async_actions_do_not_starve_each_other() -> None:
    app = nr.App(action_timeout=5.0)

    @app.query()
    def one(ctx):
        return 1

    @app.action()
    async def inner(ctx):
        await asyncio.sleep(0.1)
        return await ctx.run_query(one)

    @app.action()
    async def outer(ctx):
        return await ctx.run_action(inner)

    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(app.run_action(outer))) for _ in range(12)]
    t0 = time.monotonic()
    [t.start() for t in threads]
    [t.join(10) for t in threads]
    assert results == [1] * 12 and time.monotonic() - t0 < 3
    app.close()


def test_an_actions_own_timeout_error_is_its_own() -> None:
    app = nr.App(action_timeout=5.0)

    @app.action()
    def call_upstream(ctx):
        raise TimeoutError("upstream read timed out")

    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="upstream") as e:
        app.run_action(call_upstream)
    assert not isinstance(e.value, nr.ActionTimeoutError) and time.monotonic() - t0 < 1
    app.close()


def test_many_due_actions_neither_spin_the_scheduler_nor_hold_up_mutation_jobs() -> None:
    from nbreactive.scheduler import runner

    app = nr.App()
    release = threading.Event()
    passes = 0
    real = app._jobs._pass

    def counting(**kw: Any) -> int:
        nonlocal passes
        passes += 1
        return real(**kw)

    app._jobs._pass = counting  # type: ignore[method-assign]

    @app.action(args={"i": v.int64()})
    def slow(ctx, i):
        release.wait(10)

    @app.mutation()
    def quick(ctx):
        ctx.db.insert("t", {})

    @app.mutation()
    def plan(ctx):
        for i in range(runner.BATCH + 50):
            ctx.scheduler.run_after(0, slow, {"i": i})
        ctx.scheduler.run_after(0.01, quick, {})

    plan()
    wait_until(lambda: states(app).get("quick") == {"kind": "success"}, "the mutation job", timeout=5)
    before = passes
    time.sleep(1.0)
    assert passes - before < 20  # asleep while every action thread is busy
    release.set()
    app.close()


def test_a_scheduled_action_does_not_wait_for_the_shared_action_threads() -> None:
    app, release, busy = app_with_busy_action(action_timeout=0.5)

    @app.action()
    def job(ctx):
        return "ran"

    @app.mutation()
    def plan(ctx):
        ctx.scheduler.run_after(0, job, {})

    def hold() -> None:
        try:
            app.run_action(busy)
        except nr.ActionTimeoutError:
            pass

    callers = [threading.Thread(target=hold) for _ in range(8)]
    [t.start() for t in callers]
    time.sleep(0.1)
    plan()  # all 8 shared threads are busy; the job runs on its own
    wait_until(lambda: states(app).get("job") == {"kind": "success"}, "the scheduled action", timeout=5)
    release.set()
    [t.join(10) for t in callers]
    app.close()


def test_blocking_calls_from_inside_actions_are_refused() -> None:
    app = nr.App(clock=nr.ManualClock())

    @app.action()
    async def inner(ctx):
        return 1

    @app.action()
    async def direct(ctx):
        return app.run_action(inner)

    @app.action()
    def closes(ctx):
        app.close()

    with pytest.raises(nr.FunctionError, match=r"use `await ctx\.run_action"):
        app.run_action(direct)
    with pytest.raises(nr.FunctionError, match=r"app\.close cannot run inside an action"):
        app.run_action(closes)
    app.close()


def test_stored_results_and_cron_definitions_are_copies_compared_by_type() -> None:
    clock = nr.ManualClock()
    app = nr.App(clock=clock)
    kept: list[Any] = []

    @app.mutation(args={"flag": v.any()})
    def tick(ctx, flag):
        kept.append(flag)
        ctx.db.insert("t", {})
        return {"list": [1]}

    result = app._call("mutation", tick, {"flag": 0}, None, None, Request("s", 1))
    result["list"].append("changed by the caller")
    assert app._call("mutation", tick, {"flag": 0}, None, None, Request("s", 1)) == {"list": [1]}

    doc = app.crons.interval("c", tick, {"flag": 1}, seconds=60)
    doc["args"][0]["flag"] = "not stored"
    app.crons.interval("c", tick, {"flag": True}, seconds=60)  # True is not 1: a new definition
    kept.clear()
    app.run_due_jobs()
    assert kept == [True]
    app.close()


def test_job_arguments_are_kept_within_a_documents_nesting() -> None:
    app = nr.App(clock=nr.ManualClock())

    @app.mutation(args={"x": v.any()})
    def deep(ctx, x):
        pass

    @app.mutation()
    def plan(ctx):
        x: Any = 1
        for _ in range(14):  # fine as an argument (16 levels), too deep inside a job document
            x = [x]
        ctx.scheduler.run_after(0, deep, {"x": x})

    with pytest.raises(nr.ValidationError, match="nested more than 14 levels"):
        plan()
    app.close()


def test_a_hung_nested_action_does_not_keep_the_process_alive(tmp_path: Any) -> None:
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "hang.py"
    script.write_text(textwrap.dedent("""
        import threading, nbreactive as nr
        app = nr.App(action_timeout=0.3)

        @app.action()
        def hangs(ctx):
            threading.Event().wait()

        @app.action()
        async def outer(ctx):
            await ctx.run_action(hangs, {})

        try:
            outer()
        except nr.ActionTimeoutError:
            print("timed out", flush=True)
        app.close()
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "timed out" in done.stdout


# -- found by the third review ------------------------------------------------------------


def test_closing_wakes_calls_still_waiting_for_an_action_thread() -> None:
    app, release, busy = app_with_busy_action(action_timeout=30)

    @app.action()
    def queued(ctx):
        return 1

    holders = [threading.Thread(target=lambda: app.run_action(busy)) for _ in range(8)]
    [t.start() for t in holders]
    time.sleep(0.2)
    errors: list[BaseException] = []

    def wait_in_line() -> None:
        try:
            app.run_action(queued)
        except BaseException as e:
            errors.append(e)

    waiter = threading.Thread(target=wait_in_line)
    waiter.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    app._actions.close()
    waiter.join(10)
    assert time.monotonic() - t0 < 2 and "closed" in str(errors[0])
    release.set()
    [t.join(10) for t in holders]
    app.close()


def test_bad_nested_action_calls_fail_where_they_are_awaited() -> None:
    app = nr.App()

    @app.action()
    async def outer(ctx):
        pending = ctx.run_action("nope", {})  # no exception here...
        try:
            await pending  # ...but here, as for ctx.run_query
        except nr.FunctionError as e:
            return str(e)
        return "no error"

    assert "Could not find function 'nope'" in app.run_action(outer)
    app.close()


def test_each_app_has_its_own_threads_for_async_actions_calls() -> None:
    first = nr.App(action_timeout=0.3)
    never = threading.Event()

    @first.action()
    def hangs(ctx):
        never.wait(5)

    @first.action()
    async def outer(ctx):
        await ctx.run_action(hangs, {})

    for _ in range(3):
        with pytest.raises(nr.ActionTimeoutError):
            first.run_action(outer)
    first.close()
    second = nr.App(action_timeout=2)

    @second.query()
    def one(ctx):
        return 1

    @second.action()
    async def reads(ctx):
        return await ctx.run_query(one)

    assert second._actions._io is not first._actions._io
    assert second.run_action(reads) == 1
    never.set()
    second.close()
