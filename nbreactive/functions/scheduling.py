"""``ctx.scheduler``: scheduled jobs as documents of ``_scheduled_functions``.

In a mutation, scheduling writes the job into the mutation's own transaction:
it commits with the mutation's other writes, and a mutation that fails
schedules nothing. In an action, each call is a small transaction of its own
that commits at once, whatever the action does next (as in Convex).

A job is ``{name, args: [args], scheduledTime (ms), state: {kind}, completedTime?}``.
The target must be a mutation or an action (public or internal); its arguments
are validated now, against its validators, so a bad call fails where it is made
and not later in the background. Scheduled functions run without the caller's
identity. The scheduler (``nbreactive/scheduler``) runs due jobs.

Limits, as in Convex: 1,000 jobs scheduled per transaction, 4 MiB of arguments
per job and 16 MiB per transaction.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from nbreactive.errors import (
    DocumentNotFoundError,
    FunctionError,
    LimitExceededError,
    ValidationError,
)
from nbreactive.functions.actions import run_in_thread
from nbreactive.functions.clock import YEAR_3000, is_real, to_epoch_seconds
from nbreactive.schema.system import SCHEDULED_FUNCTIONS
from nbreactive.values.model import MAX_NESTING, Id, normalize_value, plain_ids
from nbreactive.values.sizes import document_size

if TYPE_CHECKING:
    from nbreactive.functions.registry import RegisteredFunction
    from nbreactive.functions.transaction import Transaction

__all__ = ["ImmediateScheduler", "Scheduling", "TxScheduler", "cancel_job", "schedule_job"]

T = TypeVar("T")

MAX_JOBS_PER_TRANSACTION = 1000
MAX_JOB_ARGS_BYTES = 4 * 1024 * 1024
MAX_ARGS_BYTES_PER_TRANSACTION = 16 * 1024 * 1024


@dataclass(frozen=True)
class Scheduling:
    """What scheduling needs from the app: finding and checking the target, and (for
    actions) running a small system transaction of its own."""

    resolve: Callable[[Any], RegisteredFunction]
    validate_args: Callable[[RegisteredFunction, Any], dict[str, Any]]
    run_system: Callable[[Callable[[Transaction], Any]], Any]
    # The scheduled action job this scheduling happens in (the action itself, or a
    # mutation or action it calls): once that job is cancelled, what it schedules is
    # cancelled too (as in Convex, which passes the parent job down the call tree).
    parent_job: str | None = None


def schedule_job(tx: Transaction, scheduling: Scheduling, when_ms: float, ref: Any, args: Any) -> Id:
    """Insert a pending job running ``ref(args)`` at ``when_ms`` into ``tx``."""
    fn = scheduling.resolve(ref)
    if fn.kind == "query":
        raise FunctionError(
            f"{fn.path} is a query: only mutations and actions can be scheduled (a query "
            "changes nothing, so running it later has no effect)"
        )
    validated = scheduling.validate_args(fn, args)
    # The job document holds the arguments two levels down: within a document's limits.
    normalize_value(validated, max_nesting=MAX_NESTING - 2, copy=False)
    size = document_size(validated)
    if size > MAX_JOB_ARGS_BYTES:
        raise LimitExceededError(
            f"the arguments of scheduled {fn.path} take {size} bytes, more than the "
            f"{MAX_JOB_ARGS_BYTES} allowed per job: pass ids of stored documents instead"
        )
    tx.scheduled += 1
    tx.scheduled_bytes += size
    if tx.scheduled > MAX_JOBS_PER_TRANSACTION:
        raise LimitExceededError(
            f"too many functions scheduled in one transaction (limit {MAX_JOBS_PER_TRANSACTION}): "
            "schedule one job that schedules the rest, in batches"
        )
    if tx.scheduled_bytes > MAX_ARGS_BYTES_PER_TRANSACTION:
        raise LimitExceededError(
            f"the arguments of the functions scheduled in one transaction exceed "
            f"{MAX_ARGS_BYTES_PER_TRANSACTION} bytes"
        )
    # Stored as they read back after a restart: ids as plain text (the job's run
    # validates its arguments again, and v.id makes Ids of them there).
    job: dict[str, Any] = {"name": fn.path, "args": [plain_ids(validated)],
                           "scheduledTime": float(when_ms),
                           "state": {"kind": "pending"}}
    if scheduling.parent_job is not None:
        with tx.unmetered():
            parent = tx.get(scheduling.parent_job, SCHEDULED_FUNCTIONS, system=True)
        if parent is not None and parent["state"]["kind"] == "canceled":
            job.update(state={"kind": "canceled"}, completedTime=tx.now * 1000.0)
    return tx.insert(SCHEDULED_FUNCTIONS, job, system=True)


def cancel_job(tx: Transaction, job_id: Any) -> None:
    """Cancel a job that has not finished (a pending job never runs; a running action
    finishes, but its result is not recorded and what it schedules from then on is
    cancelled too). A finished job is left as it is."""
    tx.resolve(job_id, SCHEDULED_FUNCTIONS, "ctx.scheduler.cancel")
    doc = tx.get(job_id, SCHEDULED_FUNCTIONS, system=True)
    if doc is None:
        raise DocumentNotFoundError(
            f"no scheduled job {job_id!r}: it never existed, or finished more than 7 days ago "
            "and was cleaned up"
        )
    if doc["state"]["kind"] in ("pending", "inProgress"):
        tx.patch(doc["_id"], {"state": {"kind": "canceled"}, "completedTime": tx.now * 1000.0},
                 SCHEDULED_FUNCTIONS, system=True)


def _delay_ms(delay_seconds: Any) -> float:
    if isinstance(delay_seconds, datetime.timedelta):
        delay_seconds = delay_seconds.total_seconds()
    if not is_real(delay_seconds) or not math.isfinite(delay_seconds) or delay_seconds < 0:
        raise ValidationError(
            f"ctx.scheduler.run_after(delay_seconds, ...) expects a finite number of seconds "
            f">= 0, got {delay_seconds!r}"
        )
    return float(delay_seconds) * 1000.0


def _due_ms(now_seconds: float, delay_ms: float) -> float:
    """When a job ``delay_ms`` from ``now_seconds`` is due; refused past the year 3000,
    as ``run_at`` refuses such times."""
    if now_seconds + delay_ms / 1000.0 > YEAR_3000:
        raise ValidationError(
            f"ctx.scheduler.run_after(delay_seconds, ...): a delay of {delay_ms / 1000.0!r} "
            "seconds ends beyond the year 3000. Delays are in seconds here (Convex uses "
            "milliseconds: divide by 1000)."
        )
    return now_seconds * 1000.0 + delay_ms


class TxScheduler:
    """``ctx.scheduler`` in a mutation: jobs commit with the mutation (or not at all)."""

    __slots__ = ("_scheduling", "_tx")

    def __init__(self, tx: Transaction, scheduling: Scheduling) -> None:
        self._tx = tx
        self._scheduling = scheduling

    def run_after(self, delay_seconds: float, ref: Any, args: dict[str, Any] | None = None) -> Id:
        """Run mutation or action ``ref`` with ``args`` ``delay_seconds`` (a number of
        seconds, or a ``timedelta``) after this mutation's start; returns the job's id
        (an ``Id`` of ``_scheduled_functions``)."""
        return schedule_job(self._tx, self._scheduling, _due_ms(self._tx.now, _delay_ms(delay_seconds)),
                            ref, args)

    def run_at(self, when: Any, ref: Any, args: dict[str, Any] | None = None) -> Id:
        """Run ``ref`` with ``args`` at ``when`` (an aware datetime or epoch seconds; a time
        in the past means as soon as possible); returns the job's id."""
        at = to_epoch_seconds(when, "ctx.scheduler.run_at(when, ...)")
        return schedule_job(self._tx, self._scheduling, at * 1000.0, ref, args)

    def cancel(self, job_id: Any) -> None:
        """Cancel a scheduled job that has not finished yet."""
        cancel_job(self._tx, job_id)


class ImmediateScheduler:
    """``ctx.scheduler`` in an action: each call commits at once, on its own. In an
    ``async def`` action the methods are awaitable (they wait for the commit)."""

    __slots__ = ("_is_async", "_scheduling")

    def __init__(self, scheduling: Scheduling, *, is_async: bool) -> None:
        self._scheduling = scheduling
        self._is_async = is_async

    def _run(self, body: Callable[[Transaction], T]) -> Any:
        if self._is_async:
            return run_in_thread(self._scheduling.run_system, body)
        return self._scheduling.run_system(body)

    def run_after(self, delay_seconds: float, ref: Any, args: dict[str, Any] | None = None) -> Any:
        """Run ``ref`` with ``args`` in ``delay_seconds``; returns the job's id."""
        delay = _delay_ms(delay_seconds)
        return self._run(lambda tx: schedule_job(tx, self._scheduling, _due_ms(tx.now, delay), ref, args))

    def run_at(self, when: Any, ref: Any, args: dict[str, Any] | None = None) -> Any:
        """Run ``ref`` with ``args`` at ``when`` (aware datetime or epoch seconds)."""
        at = to_epoch_seconds(when, "ctx.scheduler.run_at(when, ...)") * 1000.0
        return self._run(lambda tx: schedule_job(tx, self._scheduling, at, ref, args))

    def cancel(self, job_id: Any) -> Any:
        """Cancel a scheduled job that has not finished yet."""
        return self._run(lambda tx: cancel_job(tx, job_id))
