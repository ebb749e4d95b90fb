"""Scheduled functions: ``ctx.scheduler``, ``_scheduled_functions``, exactly-once mutations,
at-most-once actions, a controllable clock, and the background runner."""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
import time
from typing import Any

import pytest

import nbreactive as nr
from nbreactive import v
from nbreactive.errors import StorageError
from tests.waiting import wait_until

SF = "_scheduled_functions"


def jobs(app: nr.App) -> list[dict[str, Any]]:
    app._db.drain()
    if SF not in app._db.store.tables:
        return []
    rows = app.sql(f'SELECT name, state, "scheduledTime", "completedTime" FROM {SF} ORDER BY "_creationTime"')
    out = rows.to_pylist()
    import orjson

    for r in out:
        r["state"] = orjson.loads(r["state"])
    return out


def make_app(clock: Any = None, path: str | None = None, **kw: Any) -> nr.App:
    app = nr.App(path, clock=clock, **kw)

    @app.mutation(args={"text": v.string()})
    def note(ctx, text):
        ctx.db.insert("notes", {"text": text, "at": time.time()})

    @app.mutation(args={"text": v.string()})
    def broken(ctx, text):
        ctx.db.insert("notes", {"text": text})
        raise nr.AppError({"why": text})

    @app.mutation(args={"delay": v.number(), "text": v.string(), "fail": v.optional(v.boolean())})
    def later(ctx, delay, text, fail=False):
        job = ctx.scheduler.run_after(delay, note, {"text": text})
        if fail:
            raise nr.AppError("changed my mind")
        return job

    @app.mutation(args={"job": v.id(SF)})
    def cancel(ctx, job):
        ctx.scheduler.cancel(job)

    @app.action(args={"text": v.string()})
    def act(ctx, text):
        ctx.run_mutation(note, {"text": text})
        return threading.current_thread().name

    @app.query()
    def scheduled(ctx):
        return [[j["name"], j["state"]["kind"]] for j in ctx.db.system.query(SF).collect()]

    @app.query()
    def all_jobs(ctx):
        return ctx.db.system.query(SF).collect()

    return app


@pytest.fixture
def clock() -> nr.ManualClock:
    return nr.ManualClock(datetime.datetime(2026, 1, 31, 23, 59, tzinfo=datetime.UTC))


@pytest.fixture
def app(clock: nr.ManualClock) -> Any:
    a = make_app(clock)
    yield a
    a.close()


def notes(app: nr.App) -> list[str]:
    return sorted(d["t"] for d in app.sql("SELECT _doc->>'text' AS t FROM notes").to_pylist()) if "notes" in app.tables() else []


# -- scheduling --------------------------------------------------------------------------


def test_a_job_runs_when_due_and_not_before(app: nr.App, clock: nr.ManualClock) -> None:
    job = app.run_mutation("later", {"delay": 60, "text": "hi"})
    assert isinstance(job, nr.Id) and job.table == SF
    [j] = jobs(app)
    assert j["name"] == "note" and j["state"] == {"kind": "pending"} and j["completedTime"] is None
    assert j["scheduledTime"] == clock.now() * 1000 + 60_000
    clock.advance(59.9)
    assert app.run_due_jobs() == 0 and notes(app) == []
    clock.advance(0.1)
    assert app.run_due_jobs() == 1 and notes(app) == ["hi"]
    [j] = jobs(app)
    assert j["state"] == {"kind": "success"} and j["completedTime"] == clock.now() * 1000
    assert app.run_due_jobs() == 0  # exactly once
    assert app.run_query("scheduled") == [["note", "success"]]


def test_a_jobs_id_arguments_have_the_same_types_before_and_after_a_restart(tmp_path: Any) -> None:
    """Stored job arguments keep ids as plain text, as they read back from the file; the
    run validates them again, so ``v.id`` arguments are Ids and ``v.any()`` ones str."""
    path = str(tmp_path / "jobs.duckdb")
    seen: list[list[type]] = []

    def register(app: nr.App) -> None:
        @app.mutation(args={"ref": v.id("notes"), "loose": v.any()})
        def look(ctx, ref, loose):
            seen.append([type(ref), type(loose["ref"])])

        @app.mutation(args={"text": v.string()})
        def schedule(ctx, text):
            ref = ctx.db.insert("notes", {"text": text})
            ctx.scheduler.run_after(60, look, {"ref": ref, "loose": {"ref": ref}})

    clock = nr.ManualClock(datetime.datetime(2026, 1, 31, 23, 59, tzinfo=datetime.UTC))
    with nr.App(path, clock=clock) as app:
        register(app)
        app.run_mutation("schedule", {"text": "runs before the restart"})
        clock.advance(61)
        assert app.run_due_jobs() == 1
        app.run_mutation("schedule", {"text": "runs after it"})
    with nr.App(path, clock=clock) as again:
        register(again)
        clock.advance(61)
        assert again.run_due_jobs() == 1
    assert seen == [[nr.Id, str], [nr.Id, str]]


def test_a_failed_mutation_schedules_nothing(app: nr.App) -> None:
    with pytest.raises(nr.AppError):
        app.run_mutation("later", {"delay": 0, "text": "x", "fail": True})
    assert jobs(app) == []


def test_arguments_and_targets_are_checked_when_scheduling(app: nr.App) -> None:
    @app.mutation()
    def bad(ctx, what):
        if what == "args":
            ctx.scheduler.run_after(1, "note", {"text": 3})
        elif what == "query":
            ctx.scheduler.run_after(1, "scheduled", {})
        elif what == "delay":
            ctx.scheduler.run_after(-1, "note", {"text": "x"})
        elif what == "naive":
            ctx.scheduler.run_at(datetime.datetime(2030, 1, 1), "note", {"text": "x"})
        elif what == "unknown":
            ctx.scheduler.run_after(1, "nope", {})

    for what, error, message in [
        ("args", nr.ArgumentValidationError, "Invalid arguments for note: .text: expected v.string()"),
        ("query", nr.FunctionError, "is a query: only mutations and actions can be scheduled"),
        ("delay", nr.ValidationError, "finite number of seconds >= 0"),
        ("naive", nr.ValidationError, "naive datetime"),
        ("unknown", nr.FunctionError, "Could not find function 'nope'"),
    ]:
        with pytest.raises(error, match=message):
            bad(what=what)
    assert jobs(app) == []

    @app.query()
    def q(ctx):
        return ctx.scheduler.run_after(1, "note", {"text": "x"})

    with pytest.raises(nr.FunctionError, match="not available in a query"):
        q()


def test_run_at_takes_datetimes_and_epoch_seconds(app: nr.App, clock: nr.ManualClock) -> None:
    @app.mutation()
    def at(ctx, when):
        return ctx.scheduler.run_at(when, "note", {"text": str(when)})

    at(when=clock.now() + 30)
    at({"when": clock.now() - 5})  # in the past: as soon as possible
    with app._db.base_lock:
        pass
    assert app.run_due_jobs() == 1
    clock.set(datetime.datetime.fromtimestamp(clock.now() + 30, tz=datetime.UTC))
    assert app.run_due_jobs() == 1 and len(notes(app)) == 2


def test_times_and_delays_may_be_numpy_numbers(app: nr.App, clock: nr.ManualClock) -> None:
    """A delay or a time read from a DataFrame is a NumPy scalar: a number like any other."""
    np = pytest.importorskip("numpy")

    @app.mutation()
    def plan(ctx):
        ctx.scheduler.run_after(np.int64(10), "note", {"text": "after"})
        ctx.scheduler.run_at(np.int64(int(ctx.now.timestamp()) + 20), "note", {"text": "at"})
        ctx.scheduler.run_after(np.float32(30.0), "note", {"text": "float32"})

    plan()
    assert [j["scheduledTime"] - j["_creationTime"] for j in app.run_query("all_jobs")] == \
        pytest.approx([10_000, 20_000, 30_000], abs=1)
    clock.advance(np.int64(30))
    assert app.run_due_jobs() == 3
    assert nr.ManualClock(np.int64(1_700_000_000)).now() == 1_700_000_000
    with pytest.raises(nr.ValidationError, match="finite number of seconds >= 0"):
        app.run_mutation("later", {"delay": -1, "text": "x"})


def test_delays_may_be_timedeltas(app: nr.App, clock: nr.ManualClock) -> None:
    """``run_after`` and ``clock.advance`` take a ``timedelta`` as well as seconds."""
    week = datetime.timedelta(days=7)

    @app.mutation()
    def plan(ctx):
        ctx.scheduler.run_after(week, "note", {"text": "in a week"})

    plan()
    [job] = app.run_query("all_jobs")
    assert job["scheduledTime"] - job["_creationTime"] == pytest.approx(week.total_seconds() * 1000, abs=1)
    clock.advance(datetime.timedelta(days=6))
    assert app.run_due_jobs() == 0
    clock.advance(datetime.timedelta(days=1))
    assert app.run_due_jobs() == 1
    with pytest.raises(nr.ValidationError, match="finite number of seconds >= 0"):
        clock.advance(-week)


def test_a_failing_job_is_marked_failed_and_its_writes_are_rolled_back(app: nr.App) -> None:
    @app.mutation()
    def schedule_broken(ctx):
        ctx.scheduler.run_after(0, "broken", {"text": "boom"})

    schedule_broken()
    assert app.run_due_jobs() == 1
    [j] = jobs(app)
    assert j["state"] == {"kind": "failed", "error": 'Uncaught AppError: {"why":"boom"}'}
    assert notes(app) == []
    assert app.run_due_jobs() == 0  # not retried: the function failed, not nbreactive


def test_cancel(app: nr.App, clock: nr.ManualClock) -> None:
    job = app.run_mutation("later", {"delay": 10, "text": "never"})
    app.run_mutation("cancel", {"job": job})
    clock.advance(20)
    assert app.run_due_jobs() == 0 and notes(app) == []
    [j] = jobs(app)
    assert j["state"] == {"kind": "canceled"}
    app.run_mutation("cancel", {"job": job})  # a finished job is left as it is
    app.run_mutation("note", {"text": "x"})
    note_id = app.sql("SELECT _id FROM notes").to_pylist()[0]["_id"]
    with pytest.raises(nr.ValidationError, match=r'expected v.id\("_scheduled_functions"\)'):
        app.run_mutation("cancel", {"job": note_id})

    @app.mutation()
    def cancel_any(ctx, job):
        ctx.scheduler.cancel(job)

    with pytest.raises(nr.ValidationError, match="is an id of table 'notes', not of table '_scheduled_functions'"):
        cancel_any(job=note_id)


def test_jobs_scheduled_by_jobs_run_in_the_same_call_and_a_self_loop_is_stopped(
        app: nr.App, monkeypatch: pytest.MonkeyPatch) -> None:
    @app.mutation(args={"n": v.int64()})
    def chain(ctx, n):
        ctx.db.insert("notes", {"text": f"c{n}"})
        if n < 3:
            ctx.scheduler.run_after(0, chain, {"n": n + 1})

    chain(n=0)
    assert app.run_due_jobs() == 3 and notes(app) == ["c0", "c1", "c2", "c3"]

    from nbreactive.scheduler import runner

    monkeypatch.setattr(runner, "MAX_PASSES", 20)

    @app.mutation()
    def forever(ctx):
        ctx.scheduler.run_after(0, forever, {})

    forever()
    with pytest.raises(nr.FunctionError, match="schedule itself with no delay"):
        app.run_due_jobs()


def test_the_clock_is_the_functions_clock(app: nr.App, clock: nr.ManualClock) -> None:
    @app.query()
    def now(ctx):
        return (time.time(), ctx.now.timestamp())

    assert app.run_query(now) == [clock.now(), clock.now()]


# -- actions ----------------------------------------------------------------------------


def test_scheduled_actions_run_once_and_can_schedule(app: nr.App) -> None:
    @app.action()
    async def async_act(ctx):
        job = await ctx.scheduler.run_after(0, "note", {"text": "from async"})
        return job

    @app.mutation()
    def go(ctx):
        ctx.scheduler.run_after(0, "act", {"text": "from action"})
        ctx.scheduler.run_after(0, async_act, {})

    go()
    assert app.run_due_jobs() == 3  # two actions, then the job the async one scheduled
    assert notes(app) == ["from action", "from async"]
    assert [j["state"]["kind"] for j in jobs(app)] == ["success"] * 3


def test_an_action_schedules_at_once_even_if_it_fails_later(app: nr.App) -> None:
    @app.action()
    def schedule_then_fail(ctx):
        ctx.scheduler.run_after(0, "note", {"text": "kept"})
        raise RuntimeError("later failure")

    with pytest.raises(RuntimeError):
        app.run_action(schedule_then_fail)
    assert app.run_due_jobs() == 1 and notes(app) == ["kept"]


def test_actions_run_off_the_calling_thread_and_time_out() -> None:
    app = nr.App(action_timeout=0.3)

    @app.action()
    def where(ctx):
        return threading.current_thread().name

    @app.action()
    async def where_async(ctx):
        return threading.current_thread().name

    @app.action()
    def slow(ctx):
        time.sleep(1.0)

    @app.action()
    async def slow_async(ctx):
        await asyncio.sleep(5)

    @app.action()
    async def own_timeout(ctx):
        raise TimeoutError("the remote service timed out")

    try:
        assert app.run_action(where).startswith("nbreactive-action")
        assert app.run_action(where_async) == "nbreactive-actions"
        t0 = time.monotonic()
        with pytest.raises(nr.ActionTimeoutError, match=r"slow_async did not finish within 0.3 s"):
            app.run_action(slow_async)
        with pytest.raises(nr.ActionTimeoutError, match="Python cannot stop a thread"):
            app.run_action(slow)
        assert time.monotonic() - t0 < 2.0
        with pytest.raises(TimeoutError, match="remote service") as e:
            app.run_action(own_timeout)
        assert not isinstance(e.value, nr.ActionTimeoutError)
    finally:
        app.close()
    with pytest.raises(TypeError, match="action_timeout"):
        nr.App(action_timeout=0)


def test_a_scheduled_action_that_times_out_is_failed() -> None:
    clock = nr.ManualClock()
    app = nr.App(clock=clock, action_timeout=0.2)

    @app.action()
    async def hang(ctx):
        await asyncio.sleep(10)

    @app.mutation()
    def go(ctx):
        ctx.scheduler.run_after(0, hang, {})

    go()
    assert app.run_due_jobs() == 1
    [j] = jobs(app)
    assert j["state"]["kind"] == "failed" and "ActionTimeoutError" in j["state"]["error"]
    app.close()


# -- exactly once, recovery --------------------------------------------------------------


def test_a_job_whose_commit_fails_is_retried_and_runs_exactly_once(tmp_path: Any, clock: nr.ManualClock) -> None:
    app = make_app(clock, str(tmp_path / "retry.duckdb"))
    app.run_mutation("later", {"delay": 0, "text": "once"})
    store = app._db.store
    real = store.apply_batch
    failures = {"left": 1}

    def flaky(*a: Any, **kw: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise StorageError("injected: the disk is full")
        return real(*a, **kw)

    store.apply_batch = flaky  # type: ignore[method-assign]
    app.run_due_jobs()
    assert notes(app) == [] and jobs(app)[0]["state"] == {"kind": "pending"}
    time.sleep(0.1)  # past the back-off
    assert app.run_due_jobs() == 1
    assert notes(app) == ["once"] and jobs(app)[0]["state"] == {"kind": "success"}
    app.close()


def test_an_action_running_when_the_app_stopped_is_failed_on_reopen(tmp_path: Any) -> None:
    path = str(tmp_path / "stuck.duckdb")
    app = make_app(nr.ManualClock(), path)
    app.run_mutation("later", {"delay": 0, "text": "x"})
    job_id = app.sql(f"SELECT _id FROM {SF}").to_pylist()[0]["_id"]

    def mark(tx: Any) -> None:  # as a process killed while the action ran leaves it
        tx.patch(job_id, {"state": {"kind": "inProgress"}}, SF, system=True)

    app._system_mutation(mark)
    app.close()
    again = make_app(nr.ManualClock(), path)
    [j] = jobs(again)
    assert j["state"]["kind"] == "failed" and "at most once" in j["state"]["error"]
    assert again.run_due_jobs() == 0
    again.close()


# -- live, in the background ---------------------------------------------------------------


def test_background_jobs_update_watchers_while_idle() -> None:
    app = make_app()
    seen: list[Any] = []
    app.watch("scheduled", {}, seen.append)
    start = time.time()
    app.run_mutation("later", {"delay": 0.1, "text": "bg"})
    wait_until(lambda: notes(app) == ["bg"], "the background runner")
    wait_until(lambda: seen[-1] == [["note", "success"]], "the live _scheduled_functions query")
    assert [["note", "pending"]] in seen
    [j] = jobs(app)
    assert j["completedTime"] / 1000 - start >= 0.1
    app.close()


def test_jobs_of_functions_not_registered_yet_wait_for_them(tmp_path: Any) -> None:
    path = str(tmp_path / "wait.duckdb")
    app = make_app(None, path)
    app.run_mutation("later", {"delay": 0.2, "text": "after restart"})
    app.close()
    bare = nr.App(path)  # reopened; the function comes later (a notebook's next cell)
    time.sleep(0.4)
    assert jobs(bare)[0]["state"] == {"kind": "pending"}

    @bare.mutation(args={"text": v.string()})
    def note(ctx, text):
        ctx.db.insert("notes", {"text": text})

    wait_until(lambda: jobs(bare)[0]["state"] == {"kind": "success"}, "the waiting job")
    bare.close()


def test_jobs_of_a_name_that_is_a_query_now_say_so(caplog: pytest.LogCaptureFixture) -> None:
    """A notebook cell redefined a scheduled mutation as a query: its jobs wait (as for
    a missing function), and the warning says why, not "not registered"."""
    app = nr.App(clock=nr.ManualClock())

    @app.mutation()
    def step(ctx):
        pass

    @app.mutation()
    def plan(ctx):
        ctx.scheduler.run_after(0, step, {})

    plan()

    @app.query(name="step")
    def step_query(ctx):
        return 1

    with caplog.at_level(logging.WARNING, logger="nbreactive"):
        assert app.run_due_jobs() == 0
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "'step', which is a query now" in said and "not registered" not in said
    app.close()


def test_many_waiting_jobs_of_an_unregistered_function_do_not_block_the_others(tmp_path: Any) -> None:
    """More due jobs of a function that is gone than the scheduler looks at per pass
    (a renamed function's backlog) must not keep every later job from running."""
    path = str(tmp_path / "orphans.duckdb")
    clock = nr.ManualClock(datetime.datetime(2026, 1, 31, tzinfo=datetime.UTC))
    app = nr.App(path, clock=clock)

    @app.mutation(args={"n": v.number()})
    def old_name(ctx, n):
        pass

    @app.mutation(args={"n": v.number()})
    def backlog(ctx, n):
        for _ in range(int(n)):
            ctx.scheduler.run_after(0, old_name, {"n": 0})

    for _ in range(3):
        app.run_mutation(backlog, {"n": 1000})
    app.close()

    clock.advance(1)
    again = make_app(clock, path)  # old_name is not registered any more
    again.run_mutation("later", {"delay": 0, "text": "behind the backlog"})
    assert again.run_due_jobs() == 1
    assert notes(again) == ["behind the backlog"]
    again.close()

    bg = make_app(None, path)  # the background runner, with the wall clock
    try:
        bg.run_mutation("later", {"delay": 0.2, "text": "due a bit later"})
        wait_until(lambda: "due a bit later" in notes(bg), "the job due after the backlog", timeout=10)
    finally:
        bg.close()


def test_background_jobs_reach_widgets_and_remote_clients() -> None:
    """A job's commit, made by the scheduler's thread while nobody calls anything,
    updates a live widget in this process and a remote client's subscription."""
    pytest.importorskip("anywidget")
    app = make_app()
    try:
        widget = app.live("scheduled")
        with app.serve(quiet=True) as server, nr.Client(server.url) as client:
            sub = client.subscribe("scheduled", {})
            assert sub.value == []
            app.run_mutation("later", {"delay": 0.2, "text": "to everyone"})
            wait_until(lambda: sub.value == [["note", "success"]], "the remote client")
            wait_until(lambda: widget.value == [["note", "success"]], "the widget")
            sub.unsubscribe()
        widget.close()
    finally:
        app.close()
