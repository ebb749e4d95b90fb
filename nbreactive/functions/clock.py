"""The app's clock: the wall clock, or a clock a notebook or a test moves by hand.

Everything time-related in an app reads its clock: a query's or mutation's
frozen ``now``, when a scheduled job is due, when a cron runs next. With a
``ManualClock`` time stands still until ``clock.advance(seconds)``, nothing runs
in the background, and ``app.run_due_jobs()`` runs what is due — so a lesson or
a test of scheduling is deterministic and takes no real time. (Commit
timestamps, which order commits, always come from the real clock.)
"""

from __future__ import annotations

import datetime
import math
import numbers
import threading
import time
from typing import Protocol, TypeGuard, runtime_checkable

from nbreactive.errors import ValidationError

__all__ = ["YEAR_3000", "Clock", "ManualClock", "SystemClock", "is_real", "to_epoch_seconds"]


@runtime_checkable
class Clock(Protocol):
    """What ``nr.App(clock=...)`` accepts: ``now()`` in seconds since the epoch.

    A clock may say ``runs_in_background = False`` (as ``ManualClock`` does): then due
    jobs run only on ``app.run_due_jobs()``. Otherwise the app runs them itself.
    """

    def now(self) -> float: ...


class SystemClock:
    """The wall clock (``time.time()``); due work runs in the background."""

    runs_in_background = True

    def now(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to.

    Args:
        start: the initial time: a ``datetime`` (aware) or seconds since the epoch;
            the current time when omitted.

    Example::

        clock = nr.ManualClock()
        app = nr.App(clock=clock)
        ...                        # a mutation schedules a job in 60 s
        clock.advance(60)
        app.run_due_jobs()         # -> 1
    """

    runs_in_background = False

    def __init__(self, start: datetime.datetime | float | None = None) -> None:
        self._lock = threading.Lock()
        self._now = time.time() if start is None else to_epoch_seconds(start, "ManualClock(start)")

    def now(self) -> float:
        """The clock's time, in seconds since the epoch."""
        return self._now

    def advance(self, seconds: float | datetime.timedelta) -> float:
        """Move the clock forward by ``seconds`` (≥ 0; a ``timedelta`` works too);
        returns the new time."""
        if isinstance(seconds, datetime.timedelta):
            seconds = seconds.total_seconds()
        if not is_real(seconds) or not math.isfinite(seconds) or seconds < 0:
            raise ValidationError(
                f"clock.advance(seconds) expects a finite number of seconds >= 0, got {seconds!r} "
                "(time only moves forward)"
            )
        with self._lock:
            self._now += float(seconds)
            return self._now

    def set(self, when: datetime.datetime | float) -> float:
        """Move the clock to ``when`` (not earlier than now); returns the new time."""
        target = to_epoch_seconds(when, "clock.set(when)")
        with self._lock:
            if target < self._now:
                raise ValidationError(
                    f"clock.set: {target} is before the clock's time {self._now}; time only moves forward"
                )
            self._now = target
            return target

    def __repr__(self) -> str:
        at = datetime.datetime.fromtimestamp(self._now, tz=datetime.UTC).isoformat()
        return f"ManualClock({at})"


def to_epoch_seconds(when: object, where: str) -> float:
    """``when`` (an aware ``datetime`` or epoch seconds) as seconds since the epoch."""
    if isinstance(when, datetime.datetime):
        if when.tzinfo is None:
            raise ValidationError(
                f"{where}: got a naive datetime ({when}); give an aware one, e.g. "
                "datetime.now(timezone.utc), or seconds since the epoch"
            )
        return when.timestamp()
    if not is_real(when) or not math.isfinite(when):
        raise ValidationError(
            f"{where}: expected an aware datetime or seconds since the epoch, got {when!r}"
        )
    if abs(when) > YEAR_3000:
        raise ValidationError(
            f"{where}: {when!r} seconds since the epoch is beyond the year 3000. Times are in "
            "seconds here (Convex uses milliseconds: divide by 1000)."
        )
    return float(when)


def is_real(x: object) -> TypeGuard[float]:
    """Whether ``x`` is a real number (a NumPy or pandas scalar too), not a bool: one
    that ``float()`` converts."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


#: 3000-01-01T00:00:00Z in seconds since the epoch: the latest time a job may be due.
YEAR_3000 = 32_503_680_000.0
