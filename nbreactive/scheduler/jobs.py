"""Running scheduled jobs (documents of ``_scheduled_functions``) exactly as promised.

- A **mutation** job runs in one transaction that first checks the job is still
  pending, then runs the mutation and marks the job ``success`` (or, if the
  mutation raised, rolls the mutation's writes back and marks it ``failed``
  with the error). Effects and state change commit together, so a crash
  before the commit leaves the job pending and it runs after a restart; a
  crash after leaves it done. If the commit itself fails (DuckDB), nothing was
  recorded and the job is tried again later: exactly once.
- An **action** job is first marked ``inProgress`` (committed before the action
  starts), then run, then marked ``success`` or ``failed``. An app that stops
  while it runs finds it ``inProgress`` when it opens again and marks it
  ``failed``: at most once.
- Scheduled functions run without an identity. Finished jobs are deleted 7
  days after they finished (as in Convex), a few at a time by the transactions
  that finish other jobs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from nbreactive.errors import AppError, StorageError
from nbreactive.functions.context import MutationCtx
from nbreactive.functions.limits import SYSTEM_LIMITS
from nbreactive.functions.transaction import Transaction
from nbreactive.query.query import Query
from nbreactive.schema.system import SCHEDULED_FUNCTIONS
from nbreactive.values.keys import encode_key

if TYPE_CHECKING:
    from nbreactive.app import App
    from nbreactive.functions.registry import RegisteredFunction
    from nbreactive.storage.committer import CommitRecord

__all__ = ["HELD_UP", "DueJob", "describe_error", "due_jobs", "reading", "recover_jobs", "run_action_at_most_once",
           "run_action_job", "run_mutation_job", "run_mutation_once", "run_target"]

log = logging.getLogger("nbreactive.scheduler")

RETENTION_MS = 7 * 24 * 3600 * 1000.0
MAX_EXAMINED = 1024  # due jobs looked at per pass (see due_jobs)
MAX_WAITING_PASSED = 16 * MAX_EXAMINED  # jobs of unregistered functions passed over per pass
_ALL_KINDS = frozenset({"mutation", "action"})
HELD_UP = ""  # in due_jobs' orphans: so many jobs wait that later ones are held up too

Doc = dict[str, Any]


@dataclass(frozen=True)
class DueJob:
    id: str
    fn: RegisteredFunction
    args: dict[str, Any]
    scheduled_ms: float


def describe_error(e: BaseException) -> str:
    """The error text stored in a failed job's state."""
    if isinstance(e, AppError):
        data = e.data if isinstance(e.data, str) else orjson.dumps(e.data, default=repr).decode()
        return f"Uncaught AppError: {data}"
    return f"{type(e).__name__}: {e}"


def runnable(app: App, name: str, kinds: frozenset[str] = frozenset({"mutation", "action"})
             ) -> RegisteredFunction | None:
    """The registered mutation or action called ``name`` (of ``kinds``), or None: a job
    of a function this process has not registered (yet) waits for it."""
    fn = app.functions.get(name)
    return fn if fn is not None and fn.kind in kinds else None


def run_target(app: App, tx: Transaction, fn: RegisteredFunction, args: Doc) -> Doc:
    """Run mutation ``fn`` inside ``tx``; its writes stay only if it succeeds. Returns
    the run's state: ``{"kind": "success"}`` or ``{"kind": "failed", "error": ...}``.
    The arguments are checked again (the function may have changed since the job was
    scheduled). A ``StorageError`` (nbreactive's own failure, not the function's) and
    a ``KeyboardInterrupt`` propagate; anything else the function raises (``sys.exit``
    included) fails the run."""
    sp = tx.savepoint()
    try:
        app._run_in_tx(fn, MutationCtx(tx, None, app._scheduling), app._validate_args(fn, args), tx)
    except (StorageError, KeyboardInterrupt):
        raise
    except BaseException as e:
        tx.rollback_to(sp)
        log.warning("scheduled %s failed: %s", fn.path, describe_error(e))
        return {"kind": "failed", "error": describe_error(e)}
    return {"kind": "success"}


@contextlib.contextmanager
def reading(app: App, table: str) -> Iterator[Transaction | None]:
    """A read-only transaction over the published base, under the base lock, for the
    scheduler's own looks at system table ``table`` (no user limits); None while that
    table does not exist yet."""
    db = app._db
    with db.base_lock:
        if db.base.tables.get(table) is None:
            yield None
        else:
            yield Transaction(db, writable=False, limits=SYSTEM_LIMITS, now=app.clock.now(), seed="scheduler")


def due_jobs(app: App, now_ms: float, limit: int, skip: Callable[[str], bool],
             orphans: set[str], action_slots: int) -> list[DueJob]:
    """Pending jobs due at ``now_ms``, oldest first, whose function is registered in
    this process and that ``skip`` does not rule out: up to ``limit`` mutation jobs and
    ``action_slots`` action jobs. Due actions that cannot start now are passed over, so
    they do not crowd out the mutations behind them, but at most ``MAX_EXAMINED`` jobs
    of registered functions are looked at per call: a backlog of actions costs each pass
    a bounded scan (under the base lock), and a mutation job behind more than that many
    waiting actions waits for them to thin out. The names of due jobs' functions that
    are not registered are added to ``orphans`` (see ``_registered_jobs``)."""
    out: list[DueJob] = []
    with reading(app, SCHEDULED_FUNCTIONS) as tx:
        if tx is None:
            return out
        docs = tx.scan_prefix(SCHEDULED_FUNCTIONS, "by_state", ("pending",), now_ms)
        for doc, fn in _registered_jobs(app, docs, _ALL_KINDS, orphans):
            if skip(doc["_id"]):
                continue
            if fn.kind == "action":
                if action_slots <= 0:
                    continue
                action_slots -= 1
            else:
                limit -= 1
            out.append(DueJob(doc["_id"], fn, doc["args"][0], doc["scheduledTime"]))
            if limit <= 0:
                break  # a full batch: the rest waits for the next pass
    return out


def next_due_ms(app: App, skip: Callable[[str], bool], kinds: frozenset[str]) -> float | None:
    """When the next pending job of a registered function of ``kinds`` is due, or None."""
    with reading(app, SCHEDULED_FUNCTIONS) as tx:
        if tx is None:
            return None
        docs = tx.scan_prefix(SCHEDULED_FUNCTIONS, "by_state", ("pending",))
        for doc, _ in _registered_jobs(app, docs, kinds, set()):  # as due_jobs: a bounded look
            if not skip(doc["_id"]):
                return float(doc["scheduledTime"])
    return None


def _registered_jobs(app: App, docs: Iterator[Doc], kinds: frozenset[str], orphans: set[str]
                     ) -> Iterator[tuple[Doc, RegisteredFunction]]:
    """The first ``MAX_EXAMINED`` of ``docs`` whose function is a registered one of
    ``kinds``, with it. The jobs of functions not registered in this process (a
    function renamed, or not registered yet) are passed over, their names added to
    ``orphans``, and do not count: a backlog of them must not hold up the jobs behind
    it. Still, at most ``MAX_WAITING_PASSED`` of them are passed over per call (each
    costs a look under the base lock): past that ``HELD_UP`` is added to ``orphans``
    (the jobs due after them wait too)."""
    examined = passed = 0
    for doc in docs:
        fn = app.functions.get(doc["name"])
        if fn is None or fn.kind not in _ALL_KINDS:
            orphans.add(doc["name"])
            passed += 1
            if passed >= MAX_WAITING_PASSED:
                orphans.add(HELD_UP)
                return
            continue
        if fn.kind in kinds:
            yield doc, fn
        examined += 1
        if examined >= MAX_EXAMINED:
            return


def _system_tx(app: App) -> Transaction:
    now = app.clock.now()
    return Transaction(app._db, writable=True, limits=app.limits, now=now, seed=f"scheduler|{now!r}")


IsDue = Callable[[Doc | None], bool]
Complete = Callable[[Transaction, Doc, Doc], None]


def run_mutation_once(app: App, table: str, doc_id: str, fn: RegisteredFunction, args: Doc,
                      is_due: IsDue, complete: Complete) -> CommitRecord | None:
    """In one transaction: check the job document ``doc_id`` of ``table`` is still due,
    run mutation ``fn``, record the run with ``complete(tx, doc, state)``; commit without
    waiting and return the record (None if it was not due any more). The bookkeeping
    does not count against the function's limits."""
    db = app._db
    with db.writer_lock, db.base_lock:
        tx = _system_tx(app)
        with tx.unmetered():
            doc = tx.get(doc_id, table, system=True)
        if doc is None or not is_due(doc):
            return None
        state = run_target(app, tx, fn, args)
        with tx.unmetered():
            complete(tx, doc, state)
        assert tx.layer is not None
        return db.commit(tx.layer)


def run_action_at_most_once(app: App, table: str, doc_id: str, fn: RegisteredFunction, args: Doc,
                            is_due: IsDue, complete: Complete) -> bool:
    """Mark the job document ``doc_id`` of ``table`` in progress (committed before the
    action starts), run action ``fn``, then ``complete(tx, doc, state)`` unless it was
    cancelled meanwhile. Blocks for the action's duration; False if it was not due."""

    def claim(tx: Transaction) -> bool:
        doc = tx.get(doc_id, table, system=True)
        if doc is None or not is_due(doc):
            return False
        tx.patch(doc_id, {"state": {"kind": "inProgress"}}, table, system=True)
        return True

    if not app._system_mutation(claim):
        return False
    interrupted: BaseException | None = None
    try:
        job = doc_id if table == SCHEDULED_FUNCTIONS else None
        app._run_action(fn, app._validate_args(fn, args), None, job=job, own_thread=True)
        state: Doc = {"kind": "success"}
    except (asyncio.CancelledError, concurrent.futures.CancelledError):
        state = {"kind": "failed", "error": "the app was closed while this action was running"}
    except KeyboardInterrupt as e:  # recorded, then passed on
        state = {"kind": "failed", "error": "KeyboardInterrupt: the run was interrupted"}
        interrupted = e
    except BaseException as e:
        log.warning("scheduled %s failed: %s", fn.path, describe_error(e))
        state = {"kind": "failed", "error": describe_error(e)}

    def finish(tx: Transaction) -> None:
        doc = tx.get(doc_id, table, system=True)
        if doc is not None and doc["state"]["kind"] == "inProgress":  # not cancelled meanwhile
            complete(tx, doc, state)

    for attempt in range(3):
        try:
            app._system_mutation(finish)
            break
        except StorageError:
            if attempt == 2 or app._db._closed:
                raise  # it stays inProgress; reopening the app completes it as failed
            time.sleep(0.05 * 2**attempt)
    if interrupted is not None:
        raise interrupted
    return True


def _pending(doc: Doc | None) -> bool:
    return doc is not None and doc["state"]["kind"] == "pending"


def run_mutation_job(app: App, job: DueJob) -> CommitRecord | None:
    """Run a due mutation job and commit (see the module docstring); returns the commit
    record to wait on, or None if the job is no longer pending. Does not wait."""
    return run_mutation_once(app, SCHEDULED_FUNCTIONS, job.id, job.fn, job.args, _pending,
                             lambda tx, doc, state: _finish(tx, job.id, state))


def run_action_job(app: App, job: DueJob) -> bool:
    """Claim, run and finish a due action job (blocks for the action's duration).
    Returns False if the job was no longer pending."""
    return run_action_at_most_once(app, SCHEDULED_FUNCTIONS, job.id, job.fn, job.args, _pending,
                                   lambda tx, doc, state: _finish(tx, job.id, state))


def _finish(tx: Transaction, job_id: str, state: dict[str, Any]) -> None:
    tx.patch(job_id, {"state": state, "completedTime": tx.now * 1000.0}, SCHEDULED_FUNCTIONS, system=True)


def prune_finished(tx: Transaction, limit: int, *, dry_run: bool = False) -> int:
    """Delete up to ``limit`` jobs that finished more than 7 days ago (as Convex does);
    returns how many (``dry_run``: whether there is any, deleting nothing). The
    scheduler calls it now and then, not per job."""
    lo = encode_key((-math.inf,))  # every number (finished jobs), nothing unfinished
    hi = encode_key((tx.now * 1000.0 - RETENTION_MS,))
    old = tx.scan(SCHEDULED_FUNCTIONS, "by_completion", lo, hi, False)
    if dry_run:
        return 1 if next(old, None) is not None else 0
    doomed = [doc["_id"] for _, doc in itertools.islice(old, limit)]
    for doc_id in doomed:
        tx.delete(doc_id, SCHEDULED_FUNCTIONS, system=True)
    return len(doomed)


def recover_jobs(tx: Transaction) -> int:
    """Mark the action jobs left ``inProgress`` by a previous process as failed."""
    stuck = Query(tx, SCHEDULED_FUNCTIONS).with_index(
        "by_state", lambda q: q.eq("state.kind", "inProgress")).collect()
    for doc in stuck:
        tx.patch(doc["_id"], {
            "state": {"kind": "failed", "error": "the app stopped while this action was running; "
                      "actions run at most once, so it was not run again"},
            "completedTime": tx.now * 1000.0,
        }, SCHEDULED_FUNCTIONS, system=True)
    return len(stuck)
