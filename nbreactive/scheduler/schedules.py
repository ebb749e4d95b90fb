"""When cron jobs run: the pure, clock-free schedule arithmetic behind ``app.crons``.

Modelled on Convex's crons (``crons.interval``, ``hourly``, ``daily``, ``weekly``,
``monthly``, ``cron``). Nothing here reads a clock or sleeps: callers pass the times in.

Units
    Every time is **epoch milliseconds as a float**, the unit of Convex's
    ``scheduledTime`` (``time.time() * 1000``). Interval lengths are given in seconds
    (``Schedule.seconds``); calendar schedules are five-field cron expressions.

UTC only
    Calendar schedules are evaluated in UTC, with aware UTC datetimes, never in the
    machine's local time zone, so daylight-saving changes do not move, skip or repeat runs.

Two kinds of schedule
    ``interval``: the first run is at deploy time (``first_run(now) == now``, as Convex
    does), then every ``seconds`` after the previous *scheduled* time, keeping the phase.
    ``cron``: the occurrences of a five-field cron expression (``hourly``, ``daily``,
    ``weekly`` and ``monthly`` build one); the first run is the first occurrence strictly
    after ``now``.

Missed runs are skipped, not back-filled
    ``next_after(previous, now)`` returns the first occurrence after both the previous
    scheduled time and ``now`` (when the previous run finished), plus how many occurrences
    fell in between and were skipped. A job that overran, or a server that was down for a
    week, runs once and then continues on the schedule.

No splay
    Occurrences are exact and deterministic: no random jitter is added, and cron's
    random/hashed values (``R``, ``H``) are refused.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# croniter ships no type information (no py.typed)
from croniter import (
    CroniterBadDateError,
    CroniterError,
    croniter,
)

from nbreactive.errors import ValidationError

__all__ = [
    "MAX_COUNTED_SKIPS",
    "MIN_INTERVAL_SECONDS",
    "Schedule",
    "cron",
    "daily",
    "hourly",
    "interval",
    "monthly",
    "weekly",
]

#: The shortest interval: 1 ms, the resolution of the millisecond clock (and far above
#: the float resolution of epoch milliseconds, so ``previous + k * step`` always moves).
MIN_INTERVAL_SECONDS = 0.001

#: ``next_after`` counts skipped cron occurrences one by one and stops here; a larger
#: gap reports exactly this many (a floor: "at least 10 000 runs were skipped").
MAX_COUNTED_SKIPS = 10_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

# (name, lowest, highest) of the five fields; croniter also takes 7 for sunday
_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
)
_FIELDS_HINT = "five fields: minute hour day-of-month month day-of-week, UTC"

# the @-macros of Vixie cron that name a schedule (not @reboot), stored expanded
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# croniter's random ("R", "R(0-29)", "R/5") and hashed ("H...") values
_RANDOM_OR_HASHED = re.compile(r"[hr](?:$|[(/])", re.IGNORECASE)

_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


@dataclass(frozen=True)
class Schedule:
    """When a cron job runs: every ``seconds`` (``kind="interval"``) or at the
    occurrences of the UTC cron expression ``expr`` (``kind="cron"``).

    Build one with :func:`interval`, :func:`hourly`, :func:`daily`, :func:`weekly`,
    :func:`monthly` or :func:`cron`. Constructing it directly validates too (and
    normalizes ``seconds`` to a float and ``expr`` to single-spaced five fields).
    """

    kind: str
    seconds: float | None = None
    expr: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "interval":
            if self.expr is not None:
                raise ValidationError("an interval Schedule takes seconds=, not expr=")
            secs: Any = self.seconds
            if not _is_number(secs) or not (MIN_INTERVAL_SECONDS <= float(secs) < math.inf):
                raise ValidationError(
                    "an interval Schedule needs seconds= as a finite number of at least "
                    f"{MIN_INTERVAL_SECONDS} (1 ms), got {secs!r}"
                )
            object.__setattr__(self, "seconds", float(secs))
        elif self.kind == "cron":
            if self.seconds is not None:
                raise ValidationError("a cron Schedule takes expr=, not seconds=")
            object.__setattr__(self, "expr", _normalize_cron(self.expr))
        else:
            raise ValidationError(f"Schedule kind must be 'interval' or 'cron', got {self.kind!r}")

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """``{"kind": "interval", "seconds": 90.0}`` or ``{"kind": "cron", "cron": "0 10 * * 1"}``."""
        if self.kind == "interval":
            return {"kind": "interval", "seconds": self.seconds}
        return {"kind": "cron", "cron": self.expr}

    @classmethod
    def from_json(cls, d: Any) -> Schedule:
        """The inverse of :meth:`to_json` (validates like the builders)."""
        shapes = "{'kind': 'interval', 'seconds': ...} or {'kind': 'cron', 'cron': '...'}"
        if isinstance(d, dict):
            if d.get("kind") == "interval" and set(d) == {"kind", "seconds"}:
                return cls("interval", seconds=d["seconds"])
            if d.get("kind") == "cron" and set(d) == {"kind", "cron"}:
                return cls("cron", expr=d["cron"])
        raise ValidationError(f"a schedule in JSON must be {shapes}, got {d!r}")

    # ------------------------------------------------------------------ text

    def describe(self) -> str:
        """Human text: ``"every 90 s"``, ``"every 5 min"``, ``"every 2 h"``,
        ``"cron '0 10 * * 1' (UTC)"``."""
        if self.kind == "cron":
            return f"cron {self.expr!r} (UTC)"
        secs = self.seconds
        assert secs is not None
        for unit, size in (("h", 3600), ("min", 60)):
            if secs % size == 0:
                return f"every {_num(secs / size)} {unit}"
        return f"every {_num(secs)} s"

    # ------------------------------------------------------------------ arithmetic

    def first_run(self, now_ms: float) -> float:
        """When a job deployed at ``now_ms`` first runs: ``now_ms`` itself for an
        interval (Convex runs those at deploy time), the first occurrence strictly after
        ``now_ms`` for a cron schedule."""
        _check_time("now_ms", now_ms)
        if self.kind == "interval":
            return float(now_ms)
        return _from_dt(self._iter(now_ms).get_next(datetime))

    def next_after(self, previous_ms: float, now_ms: float) -> tuple[float, int]:
        """The next run after the run scheduled at ``previous_ms`` finished at ``now_ms``,
        and how many occurrences were skipped because they were already past.

        Interval: ``previous_ms + k * seconds * 1000`` for the smallest ``k >= 1`` that
        lies after ``now_ms``; ``k - 1`` were skipped. Computed arithmetically, so a gap
        of years costs the same as none.

        Cron: the first occurrence after both ``previous_ms`` and ``now_ms``; skipped
        are the occurrences in ``(previous_ms, now_ms]``, counted one by one up to
        :data:`MAX_COUNTED_SKIPS` (a larger count is reported as exactly that, a floor).
        """
        _check_time("previous_ms", previous_ms)
        _check_time("now_ms", now_ms)
        if self.kind == "interval":
            assert self.seconds is not None
            return _next_interval(float(previous_ms), float(now_ms), self.seconds * 1000.0)
        it = self._iter(previous_ms)
        nxt = it.get_next(datetime)
        # occurrences are whole minutes, so "<= now_ms" is "<= floor(now_ms)"
        now_dt = _to_dt(now_ms)
        skipped = 0
        while nxt <= now_dt:
            skipped += 1
            if skipped == MAX_COUNTED_SKIPS:
                return _from_dt(self._iter(now_ms).get_next(datetime)), skipped
            nxt = it.get_next(datetime)
        return _from_dt(nxt), skipped

    def _iter(self, start_ms: float) -> croniter:
        # start at floor(start_ms): occurrences are whole minutes, so "strictly after
        # start_ms" is "strictly after floor(start_ms)", and the conversion is exact
        assert self.expr is not None
        return croniter(self.expr, _to_dt(start_ms))


# ---------------------------------------------------------------------- builders


def interval(
    *, seconds: float | None = None, minutes: float | None = None, hours: float | None = None
) -> Schedule:
    """Every ``seconds``, ``minutes`` or ``hours`` (exactly one, positive and finite;
    fractions allowed, down to 1 ms in all), first at deploy time. ``crons.interval``
    in Convex."""
    given = {
        name: value
        for name, value in (("seconds", seconds), ("minutes", minutes), ("hours", hours))
        if value is not None
    }
    if len(given) != 1:
        got = ", ".join(f"{k}={v!r}" for k, v in given.items()) or "none"
        raise ValidationError(
            f"crons.interval needs exactly one of seconds=, minutes=, hours= (got {got})"
        )
    [(name, value)] = given.items()
    if not _is_number(value) or not (0 < float(value) < math.inf):
        raise ValidationError(
            f"crons.interval: {name} must be a positive finite number, got {value!r}"
        )
    total = float(value) * {"seconds": 1, "minutes": 60, "hours": 3600}[name]
    if not MIN_INTERVAL_SECONDS <= total < math.inf:
        raise ValidationError(
            f"crons.interval: {name}={value!r} is out of range; an interval must be at "
            f"least 1 ms ({MIN_INTERVAL_SECONDS} s) and finite"
        )
    return Schedule("interval", seconds=total)


def hourly(*, minute_utc: int = 0) -> Schedule:
    """Every hour at ``minute_utc`` past (cron ``"m * * * *"``)."""
    m = _int_in("crons.hourly", "minute_utc", minute_utc, 0, 59)
    return Schedule("cron", expr=f"{m} * * * *")


def daily(*, hour_utc: int, minute_utc: int = 0) -> Schedule:
    """Every day at ``hour_utc:minute_utc`` UTC (cron ``"m h * * *"``)."""
    h = _int_in("crons.daily", "hour_utc", hour_utc, 0, 23)
    m = _int_in("crons.daily", "minute_utc", minute_utc, 0, 59)
    return Schedule("cron", expr=f"{m} {h} * * *")


def weekly(*, day_of_week: str | int, hour_utc: int, minute_utc: int = 0) -> Schedule:
    """Every week on ``day_of_week`` at ``hour_utc:minute_utc`` UTC (cron ``"m h * * dow"``).

    ``day_of_week`` is a name, ``"monday"`` .. ``"sunday"`` (any case), or an int 0-6
    with 0 = sunday, as in cron.
    """
    if isinstance(day_of_week, str) and day_of_week.lower() in _WEEKDAYS:
        dow = _WEEKDAYS.index(day_of_week.lower())
    elif _is_int(day_of_week) and 0 <= int(day_of_week) <= 6:
        dow = int(day_of_week)
    else:
        raise ValidationError(
            "crons.weekly: day_of_week must be a weekday name 'monday'..'sunday' or an "
            f"int 0-6 (0 = sunday, as in cron), got {day_of_week!r}"
        )
    h = _int_in("crons.weekly", "hour_utc", hour_utc, 0, 23)
    m = _int_in("crons.weekly", "minute_utc", minute_utc, 0, 59)
    return Schedule("cron", expr=f"{m} {h} * * {dow}")


def monthly(*, day: int, hour_utc: int, minute_utc: int = 0) -> Schedule:
    """Every month on ``day`` (1-31) at ``hour_utc:minute_utc`` UTC (cron ``"m h d * *"``).

    As in cron, months without that day are skipped: ``day=31`` does not run in
    February, April, June, September or November (it is not moved to the last day).
    """
    d = _int_in("crons.monthly", "day", day, 1, 31)
    h = _int_in("crons.monthly", "hour_utc", hour_utc, 0, 23)
    m = _int_in("crons.monthly", "minute_utc", minute_utc, 0, 59)
    return Schedule("cron", expr=f"{m} {h} {d} * *")


def cron(expr: str) -> Schedule:
    """A five-field UTC cron expression: ``"minute hour day-of-month month day-of-week"``.

    Validated and evaluated by croniter, so its syntax is accepted: lists, ranges, steps,
    month and weekday names, ``L``, ``W``, ``#`` and ``?``. When both day-of-month and
    day-of-week are restricted, either matching is enough (classic cron). The named
    macros ``@hourly``, ``@daily``/``@midnight``, ``@weekly``, ``@monthly`` and
    ``@yearly``/``@annually`` are accepted and stored as their five fields. Refused:
    ``@reboot``, six- or seven-field forms (seconds, years), croniter's random ``R`` and
    hashed ``H`` values, and expressions that never match a date (``"0 0 30 2 *"``).
    """
    return Schedule("cron", expr=expr)


# ---------------------------------------------------------------------- helpers


def _normalize_cron(expr: Any) -> str:
    if not isinstance(expr, str):
        raise ValidationError(
            f"a cron expression must be a string like '0 10 * * 1' ({_FIELDS_HINT}), got {expr!r}"
        )

    def bad(detail: str) -> ValidationError:
        return ValidationError(f"invalid cron expression {expr!r}: {detail} ({_FIELDS_HINT})")

    text = expr.strip()
    if text.startswith("@"):
        if text.lower() not in _MACROS:
            raise bad(f"{text!r} is not a supported macro; use one of {', '.join(_MACROS)}")
        text = _MACROS[text.lower()]
    fields = text.split()
    if len(fields) != 5:
        hint = (
            "; a seconds field is not supported, use crons.interval(seconds=...) for that"
            if len(fields) in (6, 7)
            else ""
        )
        raise bad(f"expected five fields, got {len(fields)}{hint}")
    for field in fields:
        for item in field.split(","):
            if _RANDOM_OR_HASHED.match(item):
                raise bad(
                    f"{item!r}: random (R) and hashed (H) values are not supported, "
                    "schedules are deterministic; write the value out"
                )
    normalized = " ".join(fields)
    try:
        croniter(normalized, _EPOCH).get_next(datetime)
    except CroniterBadDateError:
        raise bad("no date ever matches it (e.g. day 30 or 31 of February)") from None
    except (CroniterError, TypeError) as exc:
        raise bad(_explain(fields, exc)) from None
    return normalized


def _explain(fields: list[str], exc: Exception) -> str:
    """Name the field at fault, and an out-of-range number in it, if we can."""
    for i, (name, lo, hi) in enumerate(_FIELDS):
        probe = ["*"] * 5
        probe[i] = fields[i]
        try:
            croniter(" ".join(probe), _EPOCH)
        except (CroniterError, TypeError):
            for item in fields[i].split(","):
                base = item.split("/")[0].split("#")[0]
                for digits in re.findall(r"\d+", base):
                    if not lo <= int(digits) <= hi:
                        return f"{name} {int(digits)} is out of range {lo}-{hi}"
            return f"the {name} field {fields[i]!r} is not valid (croniter: {exc})"
    return str(exc)


def _next_interval(previous: float, now: float, step: float) -> tuple[float, int]:
    k = 1
    if previous + step <= now:
        k = math.floor((now - previous) / step) + 1
        # the division rounds; settle on the smallest k with previous + k*step > now
        while previous + k * step <= now:
            k += 1
        while k > 1 and previous + (k - 1) * step > now:
            k -= 1
    return previous + k * step, k - 1


def _to_dt(ms: float) -> datetime:
    # exact: whole milliseconds, no float seconds in between
    return _EPOCH + timedelta(milliseconds=math.floor(ms))


def _from_dt(dt: datetime) -> float:
    return float((dt - _EPOCH) // _MS)


def _check_time(name: str, ms: Any) -> None:
    if not _is_number(ms) or not math.isfinite(ms):
        raise ValueError(f"{name} must be a finite epoch time in milliseconds, got {ms!r}")


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _int_in(where: str, name: str, value: Any, lo: int, hi: int) -> int:
    if not _is_int(value) or not lo <= int(value) <= hi:
        raise ValidationError(f"{where}: {name} must be an int {lo}-{hi}, got {value!r}")
    return int(value)


def _num(x: float) -> str:
    return str(int(x)) if x.is_integer() else repr(x)
