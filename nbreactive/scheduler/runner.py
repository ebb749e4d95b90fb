"""The scheduler: runs due jobs and cron jobs, in the background or when told to.

With a clock that runs in the background (the wall clock, the default), a thread
of its own (``nbreactive-scheduler``, started when there is something to run)
sleeps until the next job or cron run is due, or until a commit writes
``_scheduled_functions`` / ``_cron_jobs`` or a function is registered. It runs due
mutation jobs itself, one transaction each, without waiting for each commit to
reach DuckDB (group commit makes many jobs one DuckDB transaction; it waits once
per pass), and hands action jobs to ``PARALLEL_ACTIONS`` threads (Convex runs 8 at
a time).

With ``nr.ManualClock`` nothing runs by itself: ``app.run_due_jobs()`` runs
everything due at the clock's time, actions included, on the calling thread,
until nothing more is due.

Jobs are never lost to a failure of nbreactive itself: a job whose transaction
could not commit stays pending and is tried again after a back-off; one job that
fails in an unexpected way does not hold up the others. Jobs of functions this
process has not registered wait for them (a warning names each such function).
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any

from nbreactive.errors import FunctionError, StorageError
from nbreactive.functions.actions import DaemonPool
from nbreactive.scheduler.crons import Crons, recover_crons
from nbreactive.scheduler.jobs import (
    HELD_UP,
    MAX_WAITING_PASSED,
    due_jobs,
    next_due_ms,
    prune_finished,
    reading,
    recover_jobs,
    run_action_job,
    run_mutation_job,
)
from nbreactive.schema.system import CRON_JOBS, SCHEDULED_FUNCTIONS

if TYPE_CHECKING:
    from nbreactive.app import App
    from nbreactive.storage.committer import CommitRecord

__all__ = ["JobRunner"]

log = logging.getLogger("nbreactive.scheduler")

PARALLEL_ACTIONS = 8
BATCH = 256  # jobs per pass
MAX_SLEEP = 30.0  # re-check at least this often (the wall clock may jump)
RETRY_BASE = 0.05  # seconds; doubled per failed attempt, at most RETRY_MAX
RETRY_MAX = 10.0
MAX_PASSES = 10_000  # run_due_jobs: jobs that keep scheduling jobs due now
CLOSE_WAIT = 5.0  # seconds close() waits for running actions to record their end
PRUNE_EVERY_MS = 60_000.0  # look for jobs finished 7 days ago this often (clock time)
PRUNE_BATCH = 1000

_ALL = frozenset({"mutation", "action"})
_MUTATIONS = frozenset({"mutation"})


class JobRunner:
    """Runs one app's scheduled jobs and crons (see the module docstring)."""

    def __init__(self, app: App, crons: Crons) -> None:
        self.app = app
        self.crons = crons
        self.background = bool(getattr(app.clock, "runs_in_background", True))
        self._cond = threading.Condition()
        self._lock = threading.Lock()  # _running, _retry, _tasks (runner, pool and caller threads)
        self._woken = False
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._pool: DaemonPool | None = None
        self._tasks: set[concurrent.futures.Future[Any]] = set()
        self._running: set[str] = set()  # action jobs / crons under way in this process
        self._retry: dict[str, tuple[float, int]] = {}  # id -> (monotonic time, attempts)
        self._saturated = False  # due actions are waiting for a free thread
        # Due in the published base but no longer due in a batch still on its way to
        # DuckDB (a durable app): skipped until the next publication, not retried at once.
        self._stale: set[str] = set()
        self._now = 0.0  # the monotonic time _skip compares back-offs with
        self._orphans: set[str] = set()  # functions due jobs wait for (warned once each)
        self._pruned_ms = -math.inf
        self._recover()
        app._db.commit_listeners.append(self._on_commit)
        app._db.close_hooks.append(self.close)  # also when the database is closed directly
        if self.background and self._has_work():
            self.wake()

    # -- waking -------------------------------------------------------------------------

    def _on_commit(self, records: list[Any]) -> None:
        if self._stale:  # what the last pass found done in an unpublished batch is published now
            with self._lock:
                self._stale.clear()
        for r in records:
            if r.whole_tables or any(w[0] in (SCHEDULED_FUNCTIONS, CRON_JOBS) for w in r.writes):
                self.poke()
                return

    def poke(self) -> None:
        """Jobs may be due (one was written, or a function they wait for registered):
        look again, starting the thread if there is work for it."""
        thread = self._thread
        if (thread is not None and thread.is_alive()) or self._has_work():
            self.wake()

    def wake(self) -> None:
        """Something may be due earlier than the runner thinks: look again."""
        if not self.background or self._stopped:
            return
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="nbreactive-scheduler", daemon=True)
                self._thread.start()
            self._woken = True
            self._cond.notify()

    def _has_work(self) -> bool:
        tables = self.app._db.base.tables
        return bool((t := tables.get(SCHEDULED_FUNCTIONS)) and t.docs) or bool((c := tables.get(CRON_JOBS)) and c.docs)

    # -- the background loop --------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopped:
            try:
                ran = self._pass(inline_actions=False)
                timeout = 0.0 if ran else self._sleep_for()
            except BaseException:  # never let the thread die: the jobs would stop for good
                if self._stopped or self.app._db._closed:
                    return
                log.exception("the scheduler's pass failed; trying again shortly")
                timeout = RETRY_BASE
            if not timeout:
                continue
            with self._cond:
                if not self._woken and not self._stopped:
                    self._cond.wait(timeout)
                self._woken = False

    def _sleep_for(self) -> float:
        now = self._now = time.monotonic()  # one reading for _skip and the back-offs below
        now_ms = self.app.clock.now() * 1000.0
        candidates = [MAX_SLEEP]
        # While every action thread is busy, the due actions wait for one to finish
        # (which wakes the loop): only mutations count then.
        kinds = _MUTATIONS if self._saturated else _ALL
        job = next_due_ms(self.app, self._skip, kinds)
        if job is not None:
            candidates.append((job - now_ms) / 1000.0)
        cron = self.crons.due(None, 1, self._skip, kinds)
        if cron:
            candidates.append((cron[0].next_run - now_ms) / 1000.0)
        with self._lock:
            later = [t for t, _ in self._retry.values() if t > now]
        if later:
            candidates.append(min(later) - now)
        return max(0.001, min(candidates))

    # -- one pass ---------------------------------------------------------------------------

    def _skip(self, doc_id: str) -> bool:
        with self._lock:
            if doc_id in self._running or doc_id in self._stale:
                return True
            retry = self._retry.get(doc_id)
        return retry is not None and retry[0] > self._now

    def _pass(self, *, inline_actions: bool) -> int:
        """Run (or start) what is due now; returns how many jobs and cron runs it started."""
        self._now = time.monotonic()
        now_ms = self.app.clock.now() * 1000.0
        ran = 0
        pending: list[tuple[str, CommitRecord]] = []
        orphans: set[str] = set()
        with self._lock:
            slots = BATCH if inline_actions else PARALLEL_ACTIONS - len(self._running)
        jobs = due_jobs(self.app, now_ms, BATCH, self._skip, orphans, slots)
        crons = self.crons.due(now_ms, BATCH, self._skip)
        for job in jobs:
            if job.fn.kind == "mutation":
                record = self._guard(job.id, lambda job=job: run_mutation_job(self.app, job))
                if record is not None:
                    pending.append((job.id, record))
                    ran += 1
            else:
                ran += self._start_action(job.id, lambda job=job: run_action_job(self.app, job), inline_actions)
        for cron in crons:
            if cron.fn.kind == "mutation":
                record = self._guard(cron.id, lambda cron=cron: self.crons.run_mutation(cron))
                if record is not None:
                    pending.append((cron.id, record))
                    ran += 1
            else:
                ran += self._start_action(cron.id, lambda cron=cron: self.crons.run_action(cron), inline_actions)
        if not inline_actions:  # every thread busy: due actions wait for one (it wakes us)
            with self._lock:
                self._saturated = len(self._running) >= PARALLEL_ACTIONS
        if len(jobs) < BATCH and len(crons) < BATCH:  # a full scan: forget the back-offs of
            due = {j.id for j in jobs} | {c.id for c in crons}  # what is no longer due
            with self._lock:
                for doc_id in [i for i, (t, _) in self._retry.items() if t <= self._now and i not in due]:
                    del self._retry[doc_id]
        for doc_id, record in pending:
            try:
                self.app._db.wait(record)
            except StorageError as e:
                self._back_off(doc_id, e)
        if now_ms - self._pruned_ms >= PRUNE_EVERY_MS:
            self._pruned_ms = now_ms
            self._prune()
        for name in orphans - self._orphans:
            self._orphans.add(name)
            if name == HELD_UP:
                log.warning(
                    "more than %d due jobs wait for functions not registered in this process "
                    "(%s), and the jobs due after them wait too: register those functions, or "
                    "cancel their jobs", MAX_WAITING_PASSED, ", ".join(sorted(orphans - {HELD_UP})))
                continue
            fn = self.app.functions.get(name)
            if fn is not None:  # a query (or an HTTP route) now goes by that name
                log.warning(
                    "scheduled jobs wait for function %r, which is a %s now: jobs run mutations "
                    "and actions. Register a mutation or action under that name (they run "
                    "then), or cancel them", name, fn.kind)
                continue
            log.warning(
                "scheduled jobs wait for function %r, which is not registered in this process: "
                "register it (they run then), or cancel them", name)
        return ran

    def _prune(self) -> None:
        """Delete jobs finished more than 7 days ago (a read first: usually none)."""
        with reading(self.app, SCHEDULED_FUNCTIONS) as tx:
            if tx is None or not prune_finished(tx, 0, dry_run=True):
                return
        while self.app._system_mutation(lambda tx: prune_finished(tx, PRUNE_BATCH)) == PRUNE_BATCH:
            pass

    def _guard(self, doc_id: str, run: Any) -> Any:
        """Run one job (or cron run): a commit that failed backs it off; any other
        failure is logged and backs it off too, without holding up the others. A run
        that found its job no longer due (None / False) marks it stale."""
        try:
            result = run()
        except StorageError as e:
            self._back_off(doc_id, e)
            return None
        except Exception as e:
            log.exception("running scheduled %s failed", doc_id)
            self._back_off(doc_id, e)
            return None
        with self._lock:
            self._retry.pop(doc_id, None)
            if (result is None or result is False) and self.app._db.view_layers():
                self._stale.add(doc_id)  # done in a batch not yet published: wait for it
        return result

    def _back_off(self, doc_id: str, error: BaseException) -> None:
        if self._stopped or self.app._db._closed:
            return  # the app is closing: the job stays as it is for the next opening
        with self._lock:
            attempts = self._retry.get(doc_id, (0.0, 0))[1] + 1
            delay = min(RETRY_MAX, RETRY_BASE * 2 ** (attempts - 1))
            self._retry[doc_id] = (time.monotonic() + delay, attempts)
        log.warning("scheduled %s could not run (%s); trying again in %.2f s", doc_id, error, delay)

    def _start_action(self, doc_id: str, run: Any, inline: bool) -> int:
        if inline:
            return 1 if self._guard(doc_id, run) else 0
        with self._lock:
            if len(self._running) >= PARALLEL_ACTIONS:
                return 0
            self._running.add(doc_id)
            if self._pool is None:
                self._pool = DaemonPool(PARALLEL_ACTIONS, "nbreactive-job")

        def task() -> None:
            try:
                self._guard(doc_id, run)
            finally:
                with self._lock:
                    self._running.discard(doc_id)
                self.wake()

        future = self._pool.submit(task)
        with self._lock:
            self._tasks.add(future)
        future.add_done_callback(self._task_done)
        return 1

    def _task_done(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._tasks.discard(future)

    # -- driving by hand --------------------------------------------------------------------

    def run_due(self) -> int:
        """Run everything due at the clock's time, actions included, until nothing more
        is due (jobs that jobs schedule for now run too). Returns how many ran."""
        total = 0
        for _ in range(MAX_PASSES):
            ran = self._pass(inline_actions=True)
            if not ran:
                return total
            total += ran
        raise FunctionError(
            f"run_due_jobs ran {total} jobs and more keep becoming due: a job seems to schedule "
            "itself with no delay. Give it a delay, or cancel it."
        )

    # -- start and stop ---------------------------------------------------------------------

    def _recover(self) -> None:
        """Finish what a previous process left under way (see jobs.py and crons.py)."""
        def stuck(table: str, index: str) -> bool:
            with reading(self.app, table) as tx:
                return tx is not None and next(tx.scan_prefix(table, index, ("inProgress",)), None) is not None

        if stuck(SCHEDULED_FUNCTIONS, "by_state") or stuck(CRON_JOBS, "by_next_run"):
            self.app._system_mutation(lambda tx: recover_jobs(tx) + recover_crons(tx))

    def close(self) -> None:
        """Stop the background thread (a pass under way finishes first), cancel the
        ``async`` actions still running and give running actions ``CLOSE_WAIT`` seconds
        to record how they ended. Idempotent; the database is still open."""
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        with self._lock:
            tasks = list(self._tasks)
        if tasks:
            self.app._actions.close()  # cancels async actions: their jobs record it
            concurrent.futures.wait(tasks, timeout=CLOSE_WAIT)
        if self._pool is not None:
            self._pool.close()
