"""``app.crons``: functions that run on a schedule, recorded in ``_cron_jobs``.

A cron job is defined in code (``app.crons.daily("digest", send_digest, {...},
hour_utc=8)``) and stored as a document of ``_cron_jobs`` with its next run,
so that its schedule survives a restart: registering the same job again (the
notebook cell re-run, the app re-opened) keeps its next run; changing its
function, arguments or schedule starts the new schedule.

Runs follow Convex's rules: one run of a job at a time (the next run is
computed when a run finishes); runs missed while a run took long or the app
was closed are skipped, not back-filled (an overdue job runs once, late, and
the log records how many runs were skipped); a mutation run commits with its
record, an action run is marked in progress first (at most once, as scheduled
actions). Every run is logged in ``_cron_job_logs`` (the newest
``MAX_LOGS_PER_JOB`` per job are kept): ``app.crons.history(name)``. Jobs
stored by an earlier process but not registered in this one do not run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbreactive.errors import FunctionError, ValidationError
from nbreactive.functions.transaction import Transaction
from nbreactive.query.query import Query
from nbreactive.scheduler import schedules
from nbreactive.scheduler.jobs import (
    reading,
    run_action_at_most_once,
    run_mutation_once,
    runnable,
)
from nbreactive.scheduler.schedules import Schedule
from nbreactive.schema.system import CRON_JOB_LOGS, CRON_JOBS
from nbreactive.values.copies import copy_document
from nbreactive.values.keys import encode_value
from nbreactive.values.model import plain_ids

if TYPE_CHECKING:
    from nbreactive.app import App
    from nbreactive.functions.registry import RegisteredFunction
    from nbreactive.storage.committer import CommitRecord

__all__ = ["Crons", "DueCron"]

MAX_LOGS_PER_JOB = 100

Doc = dict[str, Any]
Docs = list[Doc]  # (the class below has a method named ``list``)


@dataclass(frozen=True)
class _Registered:
    path: str
    args: dict[str, Any]
    schedule: Schedule


@dataclass(frozen=True)
class DueCron:
    id: str
    name: str
    fn: RegisteredFunction
    args: dict[str, Any]
    next_run: float
    schedule: dict[str, Any]


_DueCrons = list[DueCron]


class Crons:
    """``app.crons``: register functions to run on a schedule (UTC).

    Example::

        app.crons.interval("clear old messages", clear_old, {"days": 7}, hours=1)
        app.crons.daily("digest", send_digest, hour_utc=8, minute_utc=30)
        app.crons.cron("weekly report", "0 10 * * 1", weekly_report)
        app.crons.history("digest")
    """

    def __init__(self, app: App) -> None:
        self._app = app
        self._registered: dict[str, _Registered] = {}

    def __repr__(self) -> str:
        jobs = dict(self._registered)  # (a copy: a cell may register one meanwhile)
        if not jobs:
            return "<nbreactive crons: none registered>"
        lines = [f"<nbreactive crons: {len(jobs)} registered"]
        lines += [f"  {name!r}: {r.path} {r.schedule.describe()}" for name, r in jobs.items()]
        return "\n".join(lines) + ">"

    # -- registration ------------------------------------------------------------------

    def interval(self, name: str, ref: Any, args: dict[str, Any] | None = None, *,
                 seconds: float | None = None, minutes: float | None = None,
                 hours: float | None = None) -> Doc:
        """Run ``ref`` every ``seconds=``, ``minutes=`` or ``hours=`` (exactly one), first
        now. Each next run is the previous scheduled one plus the interval."""
        return self._register(name, ref, args, schedules.interval(seconds=seconds, minutes=minutes, hours=hours))

    def hourly(self, name: str, ref: Any, args: dict[str, Any] | None = None, *,
               minute_utc: int = 0) -> Doc:
        """Run ``ref`` every hour at ``minute_utc``."""
        return self._register(name, ref, args, schedules.hourly(minute_utc=minute_utc))

    def daily(self, name: str, ref: Any, args: dict[str, Any] | None = None, *,
              hour_utc: int, minute_utc: int = 0) -> Doc:
        """Run ``ref`` every day at ``hour_utc:minute_utc`` (UTC)."""
        return self._register(name, ref, args, schedules.daily(hour_utc=hour_utc, minute_utc=minute_utc))

    def weekly(self, name: str, ref: Any, args: dict[str, Any] | None = None, *,
               day_of_week: str | int, hour_utc: int, minute_utc: int = 0) -> Doc:
        """Run ``ref`` every week on ``day_of_week`` (``"monday"``..., or 0-6 from Sunday)
        at ``hour_utc:minute_utc`` (UTC)."""
        return self._register(name, ref, args, schedules.weekly(
            day_of_week=day_of_week, hour_utc=hour_utc, minute_utc=minute_utc))

    def monthly(self, name: str, ref: Any, args: dict[str, Any] | None = None, *,
                day: int, hour_utc: int, minute_utc: int = 0) -> Doc:
        """Run ``ref`` every month on ``day`` (1-31; months without that day are skipped)
        at ``hour_utc:minute_utc`` (UTC)."""
        return self._register(name, ref, args, schedules.monthly(
            day=day, hour_utc=hour_utc, minute_utc=minute_utc))

    def cron(self, name: str, expr: str, ref: Any, args: dict[str, Any] | None = None) -> Doc:
        """Run ``ref`` on a five-field cron expression in UTC, e.g. ``"0 10 * * 1"``
        (Mondays at 10:00)."""
        return self._register(name, ref, args, schedules.cron(expr))

    def _register(self, name: str, ref: Any, args: Any, schedule: Schedule) -> Doc:
        app = self._app
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"a cron job needs a name (a non-empty string), got {name!r}")
        fn = app.resolve(ref)
        if fn.kind == "query":
            raise FunctionError(f"{fn.path} is a query: a cron job runs a mutation or an action")
        validated = app._validate_args(fn, args)
        # ids as plain text, as the stored spec reads back after a restart
        spec = {"function": fn.path, "args": [plain_ids(validated)], "schedule": schedule.to_json()}

        def upsert(tx: Transaction) -> Doc:
            existing = _by_name(tx, name)
            # Compared by their encodings: 1, 1.0 and True are different arguments.
            if existing is not None and all(encode_value(existing[k]) == encode_value(spec[k]) for k in spec):
                return copy_document(existing)
            doc: Doc = {"name": name, **spec, "nextRun": schedule.first_run(tx.now * 1000.0),
                        "state": {"kind": "scheduled"}}
            if existing is None:
                tx.insert(CRON_JOBS, doc, system=True)
            else:  # a new definition: its own schedule from now; a run under way finishes
                doc["state"] = existing["state"]
                if "lastRun" in existing:
                    doc["lastRun"] = existing["lastRun"]
                tx.replace(existing["_id"], doc, CRON_JOBS, system=True)
            return copy_document(doc)  # not the stored document's own parts

        stored = app._system_mutation(upsert, "app.crons")
        self._registered[name] = _Registered(fn.path, validated, schedule)
        app._jobs.wake()
        return stored

    def remove(self, name: str) -> None:
        """Stop and forget the cron job ``name`` (its logs stay)."""
        self._registered.pop(name, None)

        def delete(tx: Transaction) -> None:
            doc = _by_name(tx, name)
            if doc is None:
                raise ValidationError(f"there is no cron job named {name!r}; see app.crons.list()")
            tx.delete(doc["_id"], CRON_JOBS, system=True)

        self._app._system_mutation(delete, "app.crons.remove")

    # -- reading -------------------------------------------------------------------------

    def list(self) -> Docs:
        """The stored cron jobs, each with ``registered``: whether it runs in this process.
        A job stored by an earlier process runs again once registered again; one that
        is not wanted any more stays stored until ``app.crons.remove(name)``."""
        return [{**d, "registered": d["name"] in self._registered} for d in self._read(CRON_JOBS, None)]

    def history(self, name: str | None = None, limit: int = 20) -> Docs:
        """The latest runs (of job ``name``, or of all), newest first: ``scheduledTime``,
        ``completedTime`` (ms) and ``state`` (success / failed with ``error`` / skipped
        with ``runs``)."""
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ValueError(f"crons.history(limit=...) expects an int >= 0, got {limit!r}")
        return self._read(CRON_JOB_LOGS, name)[::-1][:limit]

    def _read(self, table: str, name: str | None) -> Docs:
        with reading(self._app, table) as tx:
            if tx is None:
                return []
            q = Query(tx, table)
            if name is not None:
                q = q.with_index("by_name", lambda r: r.eq("name", name))
            return [copy_document(d) for d in q.collect()]

    # -- running (the scheduler's side) --------------------------------------------------

    def due(self, now_ms: float | None, limit: int, skip: Any,
            kinds: frozenset[str] = frozenset({"mutation", "action"})) -> _DueCrons:
        """Registered jobs (running a function of ``kinds``) due at ``now_ms`` (None: the
        next ones, whenever due)."""
        app = self._app
        out: _DueCrons = []
        if not self._registered:
            return out
        with reading(app, CRON_JOBS) as tx:
            if tx is None:
                return out
            for doc in tx.scan_prefix(CRON_JOBS, "by_next_run", ("scheduled",), now_ms):
                reg = self._registered.get(doc["name"])
                fn = runnable(app, doc["function"], kinds)
                if reg is None or fn is None or reg.path != doc["function"] or skip(doc["_id"]):
                    continue
                out.append(DueCron(doc["_id"], doc["name"], fn, doc["args"][0], doc["nextRun"], doc["schedule"]))
                if len(out) >= limit:
                    break
        return out

    def run_mutation(self, cron: DueCron) -> CommitRecord | None:
        """One run of a mutation job, committed with its record; None if it is not due."""
        return run_mutation_once(self._app, CRON_JOBS, cron.id, cron.fn, cron.args,
                                 lambda doc: _still_due(doc, cron), _complete)

    def run_action(self, cron: DueCron) -> bool:
        """One run of an action job: marked in progress, run, completed."""
        def complete(tx: Transaction, doc: Doc, state: Doc) -> None:
            if _same_definition(doc, cron):
                _complete(tx, doc, state)
            else:
                _complete_replaced(tx, doc, state, cron)

        return run_action_at_most_once(self._app, CRON_JOBS, cron.id, cron.fn, cron.args,
                                       lambda doc: _still_due(doc, cron), complete)


def recover_crons(tx: Transaction) -> int:
    """Complete (as failed) the action runs a previous process left in progress."""
    stuck = Query(tx, CRON_JOBS).with_index("by_next_run", lambda r: r.eq("state.kind", "inProgress")).collect()
    for doc in stuck:
        _complete(tx, doc, {"kind": "failed", "error": "the app stopped while this run was under way"})
    return len(stuck)


def _by_name(tx: Transaction, name: str) -> Doc | None:
    return Query(tx, CRON_JOBS).with_index("by_name", lambda r: r.eq("name", name)).first()


def _still_due(doc: Doc | None, cron: DueCron) -> bool:
    return (doc is not None and doc["state"]["kind"] == "scheduled" and doc["nextRun"] == cron.next_run
            and doc["function"] == cron.fn.path)


def _same_definition(doc: Doc, cron: DueCron) -> bool:
    """Whether job ``doc`` is still the definition whose run ``cron`` is (registering it
    anew while an action run is under way replaces it, keeping the run's state)."""
    return (doc["nextRun"] == cron.next_run and doc["function"] == cron.fn.path
            and encode_value(doc["args"][0]) == encode_value(cron.args)
            and encode_value(doc["schedule"]) == encode_value(cron.schedule))


def _complete_replaced(tx: Transaction, doc: Doc, state: Doc, cron: DueCron) -> None:
    """Record the end of a run of a definition replaced while it ran: logged as the old
    definition's run; the new definition keeps its own next run."""
    now_ms = tx.now * 1000.0
    run = {"scheduledTime": cron.next_run, "completedTime": now_ms, "state": state}
    tx.patch(doc["_id"], {"state": {"kind": "scheduled"}, "lastRun": run}, CRON_JOBS, system=True)
    tx.insert(CRON_JOB_LOGS, {"name": doc["name"], "function": cron.fn.path, **run}, system=True)
    _trim_logs(tx, doc["name"])


def _trim_logs(tx: Transaction, name: str) -> None:
    logs = Query(tx, CRON_JOB_LOGS).with_index("by_name", lambda r: r.eq("name", name))
    extra = logs.count() - MAX_LOGS_PER_JOB
    if extra > 0:
        for old in logs.take(min(extra, 4)):
            tx.delete(old["_id"], CRON_JOB_LOGS, system=True)


def _complete(tx: Transaction, doc: Doc, state: Doc) -> None:
    """Record a finished run: the job's next run (missed ones skipped) and its logs."""
    now_ms = tx.now * 1000.0
    scheduled = doc["nextRun"]
    schedule = Schedule.from_json(doc["schedule"])
    next_run, skipped = schedule.next_after(scheduled, now_ms)
    tx.patch(doc["_id"], {
        "nextRun": next_run, "state": {"kind": "scheduled"},
        "lastRun": {"scheduledTime": scheduled, "completedTime": now_ms, "state": state},
    }, CRON_JOBS, system=True)
    base = {"name": doc["name"], "function": doc["function"], "completedTime": now_ms}
    tx.insert(CRON_JOB_LOGS, {**base, "scheduledTime": scheduled, "state": state}, system=True)
    if skipped:  # dated by the first run left out
        first_skipped = schedule.next_after(scheduled, scheduled)[0]
        tx.insert(CRON_JOB_LOGS, {**base, "scheduledTime": first_skipped,
                                  "state": {"kind": "skipped", "runs": int(skipped)}}, system=True)
    _trim_logs(tx, doc["name"])
