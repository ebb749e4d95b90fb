"""Cron jobs against a controllable clock: schedules across month boundaries, missed runs
skipped (not back-filled), one run at a time, history, re-registration, removal."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

import nbreactive as nr
from nbreactive import v

UTC = datetime.UTC


def at(*args: int) -> float:
    return datetime.datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


def iso(ms: float) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def clock() -> nr.ManualClock:
    return nr.ManualClock(at(2026, 1, 30, 12, 0))


@pytest.fixture
def app(clock: nr.ManualClock) -> Any:
    a = nr.App(clock=clock)

    @a.mutation(args={"tag": v.string()})
    def tick(ctx, tag):
        ctx.db.insert("ticks", {"tag": tag, "at": ctx.now.isoformat()})

    @a.mutation()
    def explode(ctx):
        ctx.db.insert("ticks", {"tag": "never stored"})
        raise ValueError("cron failure")

    @a.action(args={"tag": v.string()})
    def tick_action(ctx, tag):
        ctx.run_mutation("tick", {"tag": tag})

    yield a
    a.close()


def ticks(app: nr.App) -> list[str]:
    app._db.drain()
    if "ticks" not in app.tables():
        return []
    return [r["at"] for r in app.sql("SELECT _doc->>'at' AS at FROM ticks ORDER BY \"_creationTime\"").to_pylist()]


def test_monthly_runs_across_month_boundaries_and_skips_short_months(app: nr.App, clock: nr.ManualClock) -> None:
    doc = app.crons.monthly("rent", "tick", {"tag": "rent"}, day=31, hour_utc=9)
    assert iso(doc["nextRun"]) == "2026-01-31 09:00"
    runs = []
    for day in range(0, 125):  # walk 125 days, a day at a time
        clock.set(at(2026, 1, 30, 12, 0) + day * 86400)
        if app.run_due_jobs():
            runs.append(iso(clock.now() * 1000))
    # January, March, May have a 31st; February and April do not
    assert runs == ["2026-01-31 12:00", "2026-03-31 12:00", "2026-05-31 12:00"]
    assert iso(app.crons.list()[0]["nextRun"]) == "2026-07-31 09:00"


def test_daily_and_cron_expressions_in_utc(app: nr.App, clock: nr.ManualClock) -> None:
    app.crons.daily("daily", "tick", {"tag": "d"}, hour_utc=23, minute_utc=59)
    app.crons.cron("monday", "0 10 * * 1", "tick", {"tag": "m"})
    jobs = {d["name"]: iso(d["nextRun"]) for d in app.crons.list()}
    assert jobs == {"daily": "2026-01-30 23:59", "monday": "2026-02-02 10:00"}
    clock.set(at(2026, 1, 30, 23, 59))
    assert app.run_due_jobs() == 1
    clock.set(at(2026, 2, 2, 10, 0))  # Mon: the run of Jan 31 runs late, Feb 1 is skipped
    assert app.run_due_jobs() == 2
    history = app.crons.history("daily")
    assert [h["state"] for h in history[:2]] == [{"kind": "skipped", "runs": 1}, {"kind": "success"}]
    assert iso(history[0]["scheduledTime"]) == "2026-02-01 23:59"  # the first run left out
    assert iso(history[1]["scheduledTime"]) == "2026-01-31 23:59"  # the late run
    assert {d["name"]: iso(d["nextRun"]) for d in app.crons.list()} == {
        "daily": "2026-02-02 23:59", "monday": "2026-02-09 10:00"}


def test_interval_runs_now_then_every_interval_and_never_back_fills(app: nr.App, clock: nr.ManualClock) -> None:
    app.crons.interval("every 10 min", "tick", {"tag": "i"}, minutes=10)
    assert app.run_due_jobs() == 1  # first run at registration
    clock.advance(10 * 60)
    assert app.run_due_jobs() == 1
    clock.advance(3 * 3600)  # the 12:20 run runs late (15:10), 12:30...15:10 are skipped
    assert app.run_due_jobs() == 1
    assert len(ticks(app)) == 3
    assert app.crons.history("every 10 min", limit=1)[0]["state"] == {"kind": "skipped", "runs": 17}
    [job] = app.crons.list()
    assert iso(job["nextRun"]) == "2026-01-30 15:20"  # on the 10-minute grid, after now
    assert job["lastRun"]["state"] == {"kind": "success"} and job["registered"] is True


def test_a_failing_run_is_logged_and_the_schedule_goes_on(app: nr.App, clock: nr.ManualClock) -> None:
    app.crons.hourly("boom", "explode", minute_utc=30)
    clock.advance(30 * 60)
    assert app.run_due_jobs() == 1
    [log] = app.crons.history("boom")
    assert log["state"] == {"kind": "failed", "error": "ValueError: cron failure"}
    assert ticks(app) == []  # its writes were rolled back
    clock.advance(3600)
    assert app.run_due_jobs() == 1 and len(app.crons.history("boom")) == 2


def test_action_crons_run_once_at_a_time(app: nr.App, clock: nr.ManualClock) -> None:
    app.crons.interval("act", "tick_action", {"tag": "a"}, seconds=30)
    assert app.run_due_jobs() == 1 and len(ticks(app)) == 1
    clock.advance(30)
    assert app.run_due_jobs() == 1 and len(ticks(app)) == 2
    [job] = app.crons.list()
    assert job["state"] == {"kind": "scheduled"}


def test_registering_again_keeps_the_schedule_and_changes_restart_it(app: nr.App, clock: nr.ManualClock) -> None:
    first = app.crons.daily("d", "tick", {"tag": "x"}, hour_utc=15)
    clock.advance(60)
    assert app.crons.daily("d", "tick", {"tag": "x"}, hour_utc=15)["nextRun"] == first["nextRun"]
    changed = app.crons.daily("d", "tick", {"tag": "x"}, hour_utc=16)
    assert iso(changed["nextRun"]) == "2026-01-30 16:00" and len(app.crons.list()) == 1
    app.crons.remove("d")
    assert app.crons.list() == []
    clock.advance(86400)
    assert app.run_due_jobs() == 0
    with pytest.raises(nr.ValidationError, match="no cron job named 'd'"):
        app.crons.remove("d")


def test_a_definition_changed_while_an_action_run_is_under_way_keeps_its_own_schedule(
        app: nr.App, clock: nr.ManualClock) -> None:
    """The notebook cell defining a cron is re-run (with another function and schedule)
    while a slow action run of the old definition is under way: that run's end must not
    count as a run of the new definition (whose first run is due now)."""
    import threading

    started, go = threading.Event(), threading.Event()

    @app.action(args={"tag": v.string()})
    def slow(ctx, tag):
        started.set()
        assert go.wait(20)
        ctx.run_mutation("tick", {"tag": tag})

    app.crons.interval("job", slow, {"tag": "old"}, hours=1)
    runner = threading.Thread(target=app.run_due_jobs)
    runner.start()
    assert started.wait(20)
    clock.advance(60)
    new = app.crons.interval("job", "tick", {"tag": "new"}, minutes=30)
    assert new["nextRun"] == clock.now() * 1000  # an interval's first run: now
    go.set()
    runner.join(20)
    assert not runner.is_alive()

    # The runner went on with the new definition's first run, due now.
    [job] = app.crons.list()
    assert job["function"] == "tick" and job["state"] == {"kind": "scheduled"}
    assert job["nextRun"] == new["nextRun"] + 30 * 60_000
    assert job["lastRun"]["scheduledTime"] == new["nextRun"]
    old_run, new_run = app.crons.history("job")[::-1]
    assert old_run["function"] == "slow" and old_run["scheduledTime"] == at(2026, 1, 30, 12, 0) * 1000
    assert new_run["function"] == "tick" and new_run["scheduledTime"] == new["nextRun"]
    assert len(ticks(app)) == 2  # the old run's tick and the new one's


def test_bad_cron_definitions_are_refused(app: nr.App) -> None:
    @app.query()
    def q(ctx):
        return 1

    with pytest.raises(nr.FunctionError, match="is a query"):
        app.crons.hourly("q", q)
    with pytest.raises(nr.ArgumentValidationError, match=r"expected v\.string"):
        app.crons.hourly("bad args", "tick", {"tag": 1})
    with pytest.raises(nr.ValidationError, match="exactly one of"):
        app.crons.interval("two", "tick", {"tag": "x"}, seconds=1, minutes=1)
    with pytest.raises(nr.ValidationError, match="out of range"):
        app.crons.cron("bad", "61 * * * *", "tick", {"tag": "x"})
    with pytest.raises(nr.ValidationError, match="needs a name"):
        app.crons.hourly("", "tick", {"tag": "x"})
    assert app.crons.list() == []


def test_history_is_bounded_and_stored_jobs_run_only_once_registered(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbreactive.scheduler import crons

    monkeypatch.setattr(crons, "MAX_LOGS_PER_JOB", 3)
    path = str(tmp_path / "crons.duckdb")
    clock = nr.ManualClock(at(2026, 3, 1))

    def open_app() -> nr.App:
        a = nr.App(path, clock=clock)

        @a.mutation()
        def tick(ctx):
            ctx.db.insert("ticks", {"at": ctx.now.isoformat()})

        return a

    a = open_app()
    a.crons.interval("i", "tick", seconds=1)
    for _ in range(6):
        a.run_due_jobs()
        clock.advance(1)
    assert len(a.crons.history("i")) == 3
    a.close()
    b = open_app()
    assert b.crons.list()[0]["registered"] is False
    clock.advance(10)
    assert b.run_due_jobs() == 0  # not registered in this process: it waits
    b.crons.interval("i", "tick", seconds=1)  # the same definition: same schedule, overdue
    assert b.run_due_jobs() == 1
    assert b.crons.history("i", limit=1)[0]["state"] == {"kind": "skipped", "runs": 10}
    b.close()


def test_cron_tables_are_readable_and_live(app: nr.App, clock: nr.ManualClock) -> None:
    @app.query()
    def last_runs(ctx):
        return [d["state"]["kind"] for d in ctx.db.system.query("_cron_job_logs").collect()]

    seen: list[Any] = []
    app.watch(last_runs, {}, seen.append)
    app.crons.interval("i", "tick", {"tag": "x"}, hours=1)
    app.run_due_jobs()
    from tests.waiting import wait_until

    wait_until(lambda: seen[-1] == ["success"], "the live cron log")


def test_weekly_runs_on_its_day(app: nr.App, clock: nr.ManualClock) -> None:
    doc = app.crons.weekly("report", "tick", {"tag": "w"}, day_of_week="monday", hour_utc=10)
    assert iso(doc["nextRun"]) == "2026-02-02 10:00"  # 2026-01-30 is a Friday
    clock.set(at(2026, 2, 2, 10, 0))
    assert app.run_due_jobs() == 1
    assert iso(app.crons.list()[0]["nextRun"]) == "2026-02-09 10:00"


def test_the_crons_repr_lists_the_registered_jobs() -> None:
    app = nr.App(clock=nr.ManualClock())

    @app.mutation()
    def tick(ctx):
        pass

    assert repr(app.crons) == "<nbreactive crons: none registered>"
    app.crons.interval("tick", tick, minutes=5)
    app.crons.cron("weekly", "0 10 * * 1", tick)
    assert repr(app.crons) == (
        "<nbreactive crons: 2 registered\n"
        "  'tick': tick every 5 min\n"
        "  'weekly': tick cron '0 10 * * 1' (UTC)>"
    )
    app.close()
