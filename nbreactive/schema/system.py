"""System tables: the tables nbreactive itself writes, named with a leading ``_``.

They live in the same DuckDB database and working set as the app's tables and
commit in the same transactions as the writes they go with (a scheduled job
with the mutation that scheduled it, a mutation's de-duplication record with
its writes), so they are as durable, as consistent and as live as any table.
Their shapes are fixed here, not by the app's schema: ``set_schema`` neither
checks nor changes them, and user code cannot write them.

- ``_scheduled_functions``: one document per scheduled job (Convex's shape).
- ``_cron_jobs``: one document per registered cron job (its schedule and next run).
- ``_cron_job_logs``: the recent runs of each cron job.
- ``_session_requests``: the results of mutations sent over the sync protocol, by
  (session, request id), so that a mutation a client sends again after a
  reconnect (or a server restart) is answered, not run twice. Internal: not
  readable with ``ctx.db.system``.

Functions read the public ones with ``ctx.db.system.get(id)`` and
``ctx.db.system.query(table)``; ``app.sql`` reads all of them.
"""

from __future__ import annotations

from nbreactive.schema.definition import TableDefinition, define_table
from nbreactive.values.validators import Validator, v

__all__ = [
    "CRON_JOBS",
    "CRON_JOB_LOGS",
    "READABLE_SYSTEM_TABLES",
    "SCHEDULED_FUNCTIONS",
    "SESSION_REQUESTS",
    "SYSTEM_TABLES",
    "is_system_table",
    "system_table",
]

SCHEDULED_FUNCTIONS = "_scheduled_functions"
CRON_JOBS = "_cron_jobs"
CRON_JOB_LOGS = "_cron_job_logs"
SESSION_REQUESTS = "_session_requests"


def _kind(kind: str, **fields: Validator) -> Validator:
    return v.object({"kind": v.literal(kind), **fields})


_RUN_STATE = v.union(
    _kind("success"),
    _kind("failed", error=v.string()),
)

_DEFINITIONS: dict[str, TableDefinition] = {
    SCHEDULED_FUNCTIONS: define_table({
        "name": v.string(),  # the function's path
        "args": v.array(v.any()),  # [args object], as Convex stores them
        "scheduledTime": v.float64(),  # ms since the epoch
        "completedTime": v.optional(v.float64()),
        "state": v.union(
            _kind("pending"),
            _kind("inProgress"),
            _kind("success"),
            _kind("failed", error=v.string()),
            _kind("canceled"),
        ),
    })
    .index("by_state", ["state.kind", "scheduledTime"])
    .index("by_completion", ["completedTime"]),
    CRON_JOBS: define_table({
        "name": v.string(),
        "function": v.string(),
        "args": v.array(v.any()),
        "schedule": v.any(),  # Schedule.to_json()
        "nextRun": v.float64(),  # ms since the epoch
        # "inProgress" while an action run is under way (one run at a time).
        "state": v.union(_kind("scheduled"), _kind("inProgress")),
        "lastRun": v.optional(v.object({
            "scheduledTime": v.float64(),
            "completedTime": v.float64(),
            "state": _RUN_STATE,
        })),
    })
    .index("by_name", ["name"])
    .index("by_next_run", ["state.kind", "nextRun"]),
    CRON_JOB_LOGS: define_table({
        "name": v.string(),
        "function": v.string(),
        "scheduledTime": v.float64(),
        "completedTime": v.float64(),
        # "skipped": runs that were due while the job ran long or the app was closed.
        "state": v.union(
            _kind("success"),
            _kind("failed", error=v.string()),
            _kind("skipped", runs=v.int64()),
        ),
    }).index("by_name", ["name"]),
    SESSION_REQUESTS: define_table({
        "sessionId": v.string(),
        "requestId": v.int64(),
        "result": v.optional(v.any()),
        # The result did not fit in a document: a resend is told so instead.
        "resultTooLarge": v.optional(v.boolean()),
    }).index("by_request", ["sessionId", "requestId"]),
}
SYSTEM_TABLES: dict[str, TableDefinition] = {n: t._named(n) for n, t in _DEFINITIONS.items()}

# What ctx.db.system may read.
READABLE_SYSTEM_TABLES = frozenset({SCHEDULED_FUNCTIONS, CRON_JOBS, CRON_JOB_LOGS})


def is_system_table(name: str) -> bool:
    """Whether ``name`` is a system table's name (system names start with ``_``)."""
    return name.startswith("_")


def system_table(name: str) -> TableDefinition | None:
    """The definition of the system table ``name``, or None if there is no such table."""
    return SYSTEM_TABLES.get(name)
