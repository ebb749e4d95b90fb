"""Cron job schedules (nbreactive.scheduler.schedules): builders, validation, first_run,
next_after (skipping, not back-filling), UTC-only calendar arithmetic, JSON, describe()."""

from __future__ import annotations

import calendar
import dataclasses
import itertools
import json
import math
import os
import random
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nbreactive.errors import ValidationError
from nbreactive.scheduler.schedules import (
    MAX_COUNTED_SKIPS,
    Schedule,
    cron,
    daily,
    hourly,
    interval,
    monthly,
    weekly,
)

HOUR_MS = 3_600_000.0
DAY_MS = 24 * HOUR_MS
HINT = "(five fields: minute hour day-of-month month day-of-week, UTC)"


def ms(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> float:
    """Epoch milliseconds of a UTC wall time (calendar.timegm: no local time zone)."""
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1000.0


@pytest.fixture(params=["America/New_York", "Europe/Berlin"])
def dst_local_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test with the process's local time zone set to one with DST."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset() is Unix-only")
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    try:
        yield request.param
    finally:
        monkeypatch.undo()
        time.tzset()


# ---------------------------------------------------------------------------
# builders: what they build
# ---------------------------------------------------------------------------


def test_interval_units_add_up_to_seconds() -> None:
    assert interval(seconds=90) == Schedule("interval", seconds=90.0)
    assert interval(minutes=2).seconds == 120.0
    assert interval(hours=1.5).seconds == 5400.0
    assert interval(seconds=0.05).seconds == 0.05
    assert isinstance(interval(seconds=3).seconds, float)


@pytest.mark.parametrize(
    ("schedule", "expr"),
    [
        pytest.param(hourly(), "0 * * * *", id="hourly-default"),
        pytest.param(hourly(minute_utc=15), "15 * * * *", id="hourly"),
        pytest.param(daily(hour_utc=23, minute_utc=59), "59 23 * * *", id="daily"),
        pytest.param(daily(hour_utc=7), "0 7 * * *", id="daily-default-minute"),
        pytest.param(weekly(day_of_week="monday", hour_utc=10), "0 10 * * 1", id="weekly-name"),
        pytest.param(weekly(day_of_week="SunDay", hour_utc=0), "0 0 * * 0", id="weekly-any-case"),
        pytest.param(
            weekly(day_of_week="saturday", hour_utc=1, minute_utc=2), "2 1 * * 6", id="sat"
        ),
        pytest.param(weekly(day_of_week=0, hour_utc=9), "0 9 * * 0", id="weekly-int-sunday"),
        pytest.param(weekly(day_of_week=3, hour_utc=9), "0 9 * * 3", id="weekly-int"),
        pytest.param(monthly(day=31, hour_utc=12, minute_utc=30), "30 12 31 * *", id="monthly"),
        pytest.param(cron("  0   10 *\t* 1 "), "0 10 * * 1", id="cron-spacing-normalized"),
        pytest.param(cron("*/15 9-17 * * mon-fri"), "*/15 9-17 * * mon-fri", id="cron-names"),
        pytest.param(cron("0 0 L * *"), "0 0 L * *", id="cron-last-day"),
        pytest.param(cron("@hourly"), "0 * * * *", id="macro-hourly"),
        pytest.param(cron("@daily"), "0 0 * * *", id="macro-daily"),
        pytest.param(cron("@midnight"), "0 0 * * *", id="macro-midnight"),
        pytest.param(cron("@weekly"), "0 0 * * 0", id="macro-weekly"),
        pytest.param(cron("@monthly"), "0 0 1 * *", id="macro-monthly"),
        pytest.param(cron("@YEARLY"), "0 0 1 1 *", id="macro-yearly"),
        pytest.param(cron("@annually"), "0 0 1 1 *", id="macro-annually"),
    ],
)
def test_calendar_builders_make_cron_expressions(schedule: Schedule, expr: str) -> None:
    assert schedule.kind == "cron"
    assert schedule.expr == expr
    assert schedule.seconds is None


def test_schedules_are_frozen_values() -> None:
    s = daily(hour_utc=0)
    assert s == cron("@daily") == cron("0 0 * * *")
    assert hash(s) == hash(cron("0  0 * * *"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.expr = "1 * * * *"  # type: ignore[misc]


# ---------------------------------------------------------------------------
# builders: validation errors
# ---------------------------------------------------------------------------

ONE_OF = "crons.interval needs exactly one of seconds=, minutes=, hours="


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(lambda: interval(), f"{ONE_OF} (got none)", id="none"),
        pytest.param(
            lambda: interval(seconds=5, minutes=1), f"{ONE_OF} (got seconds=5, minutes=1)", id="two"
        ),
        pytest.param(
            lambda: interval(seconds=1, minutes=1, hours=1),
            f"{ONE_OF} (got seconds=1, minutes=1, hours=1)",
            id="three",
        ),
        pytest.param(
            lambda: interval(seconds=0),
            "crons.interval: seconds must be a positive finite number, got 0",
            id="zero",
        ),
        pytest.param(
            lambda: interval(minutes=-1),
            "crons.interval: minutes must be a positive finite number, got -1",
            id="negative",
        ),
        pytest.param(
            lambda: interval(hours=math.inf),
            "crons.interval: hours must be a positive finite number, got inf",
            id="inf",
        ),
        pytest.param(
            lambda: interval(seconds=math.nan),
            "crons.interval: seconds must be a positive finite number, got nan",
            id="nan",
        ),
        pytest.param(
            lambda: interval(seconds=True),
            "crons.interval: seconds must be a positive finite number, got True",
            id="bool",
        ),
        pytest.param(
            lambda: interval(seconds="5"),
            "crons.interval: seconds must be a positive finite number, got '5'",
            id="string",
        ),
        pytest.param(
            lambda: interval(seconds=0.0001),
            "crons.interval: seconds=0.0001 is out of range; an interval must be at least 1 ms",
            id="below-1ms",
        ),
        pytest.param(
            lambda: interval(hours=1e306),
            "crons.interval: hours=1e+306 is out of range",
            id="overflows-to-inf",
        ),
        pytest.param(
            lambda: hourly(minute_utc=60),
            "crons.hourly: minute_utc must be an int 0-59, got 60",
            id="hourly-minute",
        ),
        pytest.param(
            lambda: hourly(minute_utc=True),
            "crons.hourly: minute_utc must be an int 0-59, got True",
            id="hourly-bool",
        ),
        pytest.param(
            lambda: daily(hour_utc=24),
            "crons.daily: hour_utc must be an int 0-23, got 24",
            id="daily-hour",
        ),
        pytest.param(
            lambda: daily(hour_utc=10.0),
            "crons.daily: hour_utc must be an int 0-23, got 10.0",
            id="daily-float-hour",
        ),
        pytest.param(
            lambda: daily(hour_utc=1, minute_utc=-1),
            "crons.daily: minute_utc must be an int 0-59, got -1",
            id="daily-minute",
        ),
        pytest.param(
            lambda: weekly(day_of_week="funday", hour_utc=1),
            "crons.weekly: day_of_week must be a weekday name 'monday'..'sunday' or an int 0-6 "
            "(0 = sunday, as in cron), got 'funday'",
            id="weekly-name",
        ),
        pytest.param(
            lambda: weekly(day_of_week=7, hour_utc=1),
            "crons.weekly: day_of_week must be a weekday name",
            id="weekly-7",
        ),
        pytest.param(
            lambda: weekly(day_of_week=False, hour_utc=1),
            "crons.weekly: day_of_week must be a weekday name",
            id="weekly-bool",
        ),
        pytest.param(
            lambda: weekly(day_of_week="mon", hour_utc=1),
            "crons.weekly: day_of_week must be a weekday name",
            id="weekly-abbreviation",
        ),
        pytest.param(
            lambda: weekly(day_of_week=1, hour_utc=25),
            "crons.weekly: hour_utc must be an int 0-23, got 25",
            id="weekly-hour",
        ),
        pytest.param(
            lambda: monthly(day=0, hour_utc=0),
            "crons.monthly: day must be an int 1-31, got 0",
            id="monthly-day-0",
        ),
        pytest.param(
            lambda: monthly(day=32, hour_utc=0),
            "crons.monthly: day must be an int 1-31, got 32",
            id="monthly-day-32",
        ),
        pytest.param(
            lambda: monthly(day=1, hour_utc=0, minute_utc=99),
            "crons.monthly: minute_utc must be an int 0-59, got 99",
            id="monthly-minute",
        ),
    ],
)
def test_builder_errors(build: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        build()


@pytest.mark.parametrize(
    ("expr", "detail"),
    [
        pytest.param("61 * * * *", "minute 61 is out of range 0-59", id="minute"),
        pytest.param("0 24 * * *", "hour 24 is out of range 0-23", id="hour"),
        pytest.param("0 0 0 * *", "day-of-month 0 is out of range 1-31", id="dom-0"),
        pytest.param("0 0 1-40 * *", "day-of-month 40 is out of range 1-31", id="dom-range"),
        pytest.param("0 0 * 13 *", "month 13 is out of range 1-12", id="month"),
        pytest.param("0 0 * * 8", "day-of-week 8 is out of range 0-7", id="dow"),
        pytest.param("5,61 * * * *", "minute 61 is out of range 0-59", id="in-a-list"),
        pytest.param(
            "a * * * *", "the minute field 'a' is not valid (croniter:", id="not-a-number"
        ),
        pytest.param("*/0 * * * *", "the minute field '*/0' is not valid (croniter:", id="step-0"),
        pytest.param("0 0 * * 1#6", "the day-of-week field '1#6' is not valid", id="nth-6"),
        pytest.param("* * * * * *", "expected five fields, got 6; a seconds field", id="6-fields"),
        pytest.param("0 * * * * * 2030", "expected five fields, got 7", id="7-fields"),
        pytest.param("0 * * *", "expected five fields, got 4", id="4-fields"),
        pytest.param("", "expected five fields, got 0", id="empty"),
        pytest.param(
            "@reboot", "'@reboot' is not a supported macro; use one of @yearly", id="reboot"
        ),
        pytest.param("R * * * *", "random (R) and hashed (H) values are not supported", id="R"),
        pytest.param("0 R(0-5) * * *", "'R(0-5)': random (R) and hashed", id="R-range"),
        pytest.param("H/5 * * * *", "'H/5': random (R) and hashed", id="H"),
        pytest.param("0 0 30 2 *", "no date ever matches it", id="february-30"),
        pytest.param("0 0 31 4 *", "no date ever matches it", id="april-31"),
    ],
)
def test_cron_errors(expr: str, detail: str) -> None:
    with pytest.raises(ValidationError) as info:
        cron(expr)
    message = str(info.value)
    assert message.startswith(f"invalid cron expression {expr!r}: ")
    assert detail in message
    assert message.endswith(HINT)


def test_cron_error_message_in_full() -> None:
    with pytest.raises(ValidationError) as info:
        cron("61 * * * *")
    assert str(info.value) == (
        "invalid cron expression '61 * * * *': minute 61 is out of range 0-59 " + HINT
    )


def test_cron_needs_a_string() -> None:
    with pytest.raises(ValidationError, match="a cron expression must be a string"):
        cron(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "daily"},
        {"kind": "interval"},
        {"kind": "interval", "seconds": -1.0},
        {"kind": "interval", "seconds": 5.0, "expr": "* * * * *"},
        {"kind": "cron"},
        {"kind": "cron", "expr": "* * * * * *"},
        {"kind": "cron", "expr": "* * * * *", "seconds": 5.0},
    ],
)
def test_direct_construction_validates(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Schedule(**kwargs)


# ---------------------------------------------------------------------------
# first_run
# ---------------------------------------------------------------------------


def test_interval_first_run_is_now() -> None:
    now = ms(2026, 5, 17, 8, 3, 12) + 123.5
    assert interval(seconds=30).first_run(now) == now


def test_cron_first_run_is_strictly_after_now() -> None:
    s = daily(hour_utc=10)
    ten = ms(2026, 5, 17, 10)
    assert s.first_run(ten - 60_000) == ten
    assert s.first_run(ten - 0.5) == ten  # fractions of a millisecond count
    assert s.first_run(ten) == ten + DAY_MS  # not "at or after"
    assert s.first_run(ten + 0.5) == ten + DAY_MS
    assert hourly(minute_utc=0).first_run(ms(2026, 5, 17, 10, 0, 59)) == ms(2026, 5, 17, 11)


def test_weekly_monday_from_a_sunday() -> None:
    s = cron("0 10 * * 1")
    sunday_noon = ms(2026, 3, 1, 12)  # 2026-03-01 is a Sunday
    assert s.first_run(sunday_noon) == ms(2026, 3, 2, 10)
    assert weekly(day_of_week="Monday", hour_utc=10) == s


# ---------------------------------------------------------------------------
# next_after: interval
# ---------------------------------------------------------------------------


def test_interval_next_after_on_time() -> None:
    s = interval(seconds=90)
    prev = ms(2026, 1, 1)
    assert s.next_after(prev, prev + 5_000) == (prev + 90_000, 0)
    # finishing before the run was even due (clock skew) still moves one step on
    assert s.next_after(prev, prev - 5_000) == (prev + 90_000, 0)


def test_interval_next_after_is_strictly_after_now() -> None:
    s = interval(seconds=1)
    prev = ms(2026, 1, 1)
    assert s.next_after(prev, prev + 999.5) == (prev + 1_000, 0)
    assert s.next_after(prev, prev + 1_000) == (prev + 2_000, 1)
    assert s.next_after(prev, prev + 2_500) == (prev + 3_000, 2)


def test_interval_skips_a_large_gap_arithmetically() -> None:
    s = interval(seconds=1)
    prev = ms(2026, 1, 1)
    now = prev + 10 * DAY_MS + 250
    assert s.next_after(prev, now) == (prev + 10 * DAY_MS + 1_000, 864_000)
    # a century of 1 ms steps: ~3e12 skipped runs, which no loop would count in time
    tiny = interval(seconds=0.001)
    nxt, skipped = tiny.next_after(0.0, ms(2100, 1, 1) + 0.5)
    assert (nxt, skipped) == (ms(2100, 1, 1) + 1, int(ms(2100, 1, 1)))


def test_interval_next_after_keeps_the_phase() -> None:
    rng = random.Random(1234)
    for _ in range(2_000):
        step_s = rng.choice([0.001, 0.05, 0.1, 1, 7.3, 60, 3_600, 86_400])
        s = interval(seconds=step_s)
        prev = ms(2026, 1, 1) + rng.uniform(-1e9, 1e9)
        now = prev + rng.uniform(-1e6, 1e10)
        nxt, skipped = s.next_after(prev, now)
        step = step_s * 1000.0
        assert nxt == prev + (skipped + 1) * step
        assert nxt > now
        assert skipped >= 0
        assert skipped == 0 or prev + skipped * step <= now  # smallest such k


# ---------------------------------------------------------------------------
# next_after: cron
# ---------------------------------------------------------------------------


def test_cron_next_after_on_time() -> None:
    s = hourly(minute_utc=30)
    prev = ms(2026, 6, 1, 8, 30)
    assert s.next_after(prev, prev + 12_000) == (ms(2026, 6, 1, 9, 30), 0)
    assert s.next_after(prev, prev - 1_000) == (ms(2026, 6, 1, 9, 30), 0)


def test_cron_next_after_skips_missed_runs() -> None:
    s = hourly(minute_utc=30)
    prev = ms(2026, 6, 1, 8, 30)
    # the run overran to 11:30 exactly: 9:30, 10:30, 11:30 were missed
    assert s.next_after(prev, ms(2026, 6, 1, 11, 30)) == (ms(2026, 6, 1, 12, 30), 3)
    assert s.next_after(prev, ms(2026, 6, 1, 11, 29, 59)) == (ms(2026, 6, 1, 11, 30), 2)
    # a day down: 24 runs missed, one run next
    assert s.next_after(prev, prev + DAY_MS + 1) == (ms(2026, 6, 2, 9, 30), 24)


def test_cron_skip_count_stops_at_the_cap() -> None:
    s = cron("* * * * *")
    prev = ms(2026, 1, 1)
    now = ms(2026, 1, 31, 6, 7, 8)  # ~43 000 missed minutes
    assert s.next_after(prev, now) == (ms(2026, 1, 31, 6, 8), MAX_COUNTED_SKIPS)
    assert MAX_COUNTED_SKIPS == 10_000
    # just under the cap is still exact
    assert s.next_after(prev, prev + 9_999 * 60_000) == (prev + 10_000 * 60_000, 9_999)


def test_monthly_31_skips_months_without_a_31st() -> None:
    s = monthly(day=31, hour_utc=0)
    march = ms(2026, 3, 31)
    assert s.next_after(march, march + 1_000) == (ms(2026, 5, 31), 0)
    assert s.first_run(ms(2026, 4, 1)) == ms(2026, 5, 31)
    assert s.first_run(ms(2026, 1, 31, 0, 0, 1)) == ms(2026, 3, 31)  # no Feb 31


def test_daily_across_new_year() -> None:
    s = daily(hour_utc=23, minute_utc=59)
    dec30 = ms(2026, 12, 30, 23, 59)
    assert s.next_after(dec30, dec30 + 1_000) == (ms(2026, 12, 31, 23, 59), 0)
    dec31 = ms(2026, 12, 31, 23, 59)
    assert s.next_after(dec31, dec31 + 1_000) == (ms(2027, 1, 1, 23, 59), 0)
    assert s.next_after(dec31, dec31 + 1_000) == (dec31 + DAY_MS, 0)


def test_weekly_monday_across_a_month_end() -> None:
    s = weekly(day_of_week="monday", hour_utc=10)
    mon = ms(2026, 3, 30, 10)  # the last Monday of March 2026
    assert s.next_after(mon, mon + 60_000) == (ms(2026, 4, 6, 10), 0)
    assert s.next_after(mon, ms(2026, 4, 20, 11)) == (ms(2026, 4, 27, 10), 3)


def test_leap_day() -> None:
    s = cron("0 0 29 2 *")
    assert s.first_run(ms(2026, 1, 1)) == ms(2028, 2, 29)
    leap = ms(2028, 2, 29)
    assert s.next_after(leap, leap + 60_000) == (ms(2032, 2, 29), 0)
    assert s.next_after(leap, ms(2040, 1, 1)) == (ms(2040, 2, 29), 2)  # 2032, 2036 missed
    # 2100 is not a leap year: eight years to the next February 29
    assert s.first_run(ms(2097, 1, 1)) == ms(2104, 2, 29)


# ---------------------------------------------------------------------------
# UTC only: the local time zone and its DST changes do not matter
# ---------------------------------------------------------------------------

DST_CHANGE_DATES = [(2026, 3, 8), (2026, 3, 29), (2026, 10, 25), (2026, 11, 1)]


def _hourly_runs_around(y: int, mo: int, d: int) -> list[float]:
    s = hourly()
    t = s.first_run(ms(y, mo, d) - DAY_MS)
    runs = [t]
    for _ in range(72):
        t, skipped = s.next_after(t, t + 1_000)
        assert skipped == 0
        runs.append(t)
    return runs


@pytest.mark.parametrize("date", DST_CHANGE_DATES, ids=lambda d: "-".join(map(str, d)))
def test_hourly_spacing_is_exact_across_dst_changes(
    date: tuple[int, int, int], dst_local_tz: str
) -> None:
    runs = _hourly_runs_around(*date)
    assert runs[0] == ms(*date) - DAY_MS + HOUR_MS
    assert {b - a for a, b in itertools.pairwise(runs)} == {HOUR_MS}


@pytest.mark.parametrize("date", DST_CHANGE_DATES, ids=lambda d: "-".join(map(str, d)))
def test_daily_runs_are_unchanged_by_the_local_time_zone(
    date: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset() is Unix-only")
    # 02:30 and 01:30 are local times that do not exist / happen twice in New York or Berlin
    schedules = [daily(hour_utc=2, minute_utc=30), daily(hour_utc=1, minute_utc=30), hourly()]
    start = ms(*date) - 3 * DAY_MS

    def runs() -> list[tuple[float, ...]]:
        out = []
        for s in schedules:
            t = s.first_run(start)
            seq = [t]
            for _ in range(7):
                t = s.next_after(t, t + 1)[0]
                seq.append(t)
            out.append(tuple(seq))
        return out

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        in_utc = runs()
        for zone in ("America/New_York", "Europe/Berlin", "Australia/Lord_Howe"):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            assert runs() == in_utc, zone
    finally:
        monkeypatch.undo()
        time.tzset()
    daily_230 = in_utc[0]
    assert daily_230[0] == ms(*date) - 3 * DAY_MS + 2.5 * HOUR_MS
    assert {b - a for a, b in itertools.pairwise(daily_230)} == {DAY_MS}


def test_tz_fixture_really_changes_local_time(dst_local_tz: str) -> None:
    # guards the DST tests against a TZ setting that silently does nothing
    assert time.localtime(ms(2026, 7, 1) / 1000).tm_isdst == 1
    assert os.environ["TZ"] == dst_local_tz


def test_times_must_be_finite() -> None:
    with pytest.raises(ValueError, match="now_ms must be a finite epoch time"):
        daily(hour_utc=1).first_run(math.nan)
    with pytest.raises(ValueError, match="previous_ms must be a finite epoch time"):
        interval(seconds=1).next_after(math.inf, 0.0)


# ---------------------------------------------------------------------------
# JSON and describe()
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "as_json"),
    [
        (interval(seconds=90), {"kind": "interval", "seconds": 90.0}),
        (interval(seconds=0.05), {"kind": "interval", "seconds": 0.05}),
        (interval(hours=2), {"kind": "interval", "seconds": 7200.0}),
        (cron("0 10 * * 1"), {"kind": "cron", "cron": "0 10 * * 1"}),
        (monthly(day=31, hour_utc=0), {"kind": "cron", "cron": "0 0 31 * *"}),
        (cron("@weekly"), {"kind": "cron", "cron": "0 0 * * 0"}),
    ],
)
def test_json_round_trip(schedule: Schedule, as_json: dict[str, Any]) -> None:
    assert schedule.to_json() == as_json
    assert Schedule.from_json(as_json) == schedule
    assert Schedule.from_json(json.loads(json.dumps(schedule.to_json()))) == schedule


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "0 10 * * 1",
        {},
        {"kind": "interval"},
        {"kind": "interval", "seconds": 5, "extra": 1},
        {"kind": "cron", "expr": "* * * * *"},
        {"kind": "daily", "cron": "* * * * *"},
    ],
)
def test_from_json_refuses_other_shapes(bad: Any) -> None:
    with pytest.raises(ValidationError, match="a schedule in JSON must be"):
        Schedule.from_json(bad)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"kind": "interval", "seconds": -5}, "positive|at least"),
        ({"kind": "interval", "seconds": "5"}, "got '5'"),
        ({"kind": "cron", "cron": "61 * * * *"}, "minute 61 is out of range 0-59"),
    ],
)
def test_from_json_validates_values(bad: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Schedule.from_json(bad)


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        (interval(seconds=90), "every 90 s"),
        (interval(seconds=1), "every 1 s"),
        (interval(seconds=0.5), "every 0.5 s"),
        (interval(minutes=5), "every 5 min"),
        (interval(minutes=1.5), "every 90 s"),
        (interval(hours=2), "every 2 h"),
        (interval(minutes=180), "every 3 h"),
        (interval(hours=0.5), "every 30 min"),
        (cron("0 10 * * 1"), "cron '0 10 * * 1' (UTC)"),
        (daily(hour_utc=23, minute_utc=59), "cron '59 23 * * *' (UTC)"),
    ],
)
def test_describe(schedule: Schedule, text: str) -> None:
    assert schedule.describe() == text
