"""The ``ctx`` objects handed to function handlers.

| ctx                                   | query  | mutation          | action |
|---------------------------------------|--------|-------------------|--------|
| ``ctx.db``                            | reader | reader + writer   | —      |
| ``ctx.auth.get_user_identity()``      | ✓      | ✓                 | ✓      |
| ``ctx.scheduler``                     | —      | ✓ (with the commit) | ✓ (at once) |
| ``ctx.run_query/run_mutation/run_action`` | —  | —                 | ✓      |

Documents handed to user code are copies: changing them never changes stored data.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from nbreactive.errors import FunctionError, ValidationError
from nbreactive.functions.scheduling import (
    ImmediateScheduler,
    Scheduling,
    TxScheduler,
)
from nbreactive.schema.system import READABLE_SYSTEM_TABLES, is_system_table
from nbreactive.values.model import Id

if TYPE_CHECKING:
    from nbreactive.functions.transaction import Transaction
    from nbreactive.query.query import Query
    from nbreactive.storage.duckdb_store import SqlParams

__all__ = [
    "ActionCtx", "Auth", "DatabaseReader", "DatabaseWriter", "MutationCtx", "QueryCtx", "SystemReader",
]

Doc = dict[str, Any]


class Auth:
    """``ctx.auth``: the identity of the caller (None when unauthenticated)."""

    def __init__(self, identity: dict[str, Any] | None, tx: Transaction | None = None) -> None:
        self._identity = identity
        self._tx = tx

    def get_user_identity(self) -> dict[str, Any] | None:
        """The caller's identity (``tokenIdentifier``, ``subject``, ``issuer``, claims) or None.

        In a query, calling this makes the result depend on who asks: cached results
        and shared live queries are then kept apart per identity.
        """
        if self._tx is not None:
            self._tx.identity_read = True
        return None if self._identity is None else dict(self._identity)


def _split(op: str, a: Any, b: Any, c: Any = None, *, has_payload: bool) -> tuple[str | None, Any, Any]:
    """Accept both ``op(id, ...)`` and Convex's newer ``op(table, id, ...)`` forms."""
    if has_payload:
        if c is None:
            return None, a, b
        return a, b, c
    if b is None:
        return None, a, None
    return a, b, None


class DatabaseReader:
    """``ctx.db`` in a query: ``get``, ``query``, ``normalize_id``."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, table_or_id: Any, doc_id: Any = None) -> Doc | None:
        """The document with this id, or None. ``get(id)`` or ``get(table, id)``.

        Cost: a dict lookup (the working set), no DuckDB statement. Raises
        ValidationError when the argument is not an id (of ``table``).
        """
        table, i, _ = _split("get", table_or_id, doc_id, has_payload=False)
        return self._tx.get_copy(i, table)

    def query(self, table: str) -> Query:
        """Start a query over ``table`` (in ``_creationTime`` order unless an index is chosen)."""
        from nbreactive.query.query import Query

        if not isinstance(table, str) or not table:
            raise ValidationError(f"ctx.db.query expects a table name, got {table!r}")
        if is_system_table(table):
            raise ValidationError(
                f'"{table}" is a system table: read it with ctx.db.system.query("{table}")'
            )
        return Query(self._tx, table)

    @property
    def system(self) -> SystemReader:
        """Read the system tables (``_scheduled_functions``, ``_cron_jobs``,
        ``_cron_job_logs``), live like any table: ``ctx.db.system.get(id)``,
        ``ctx.db.system.query("_scheduled_functions")``."""
        return SystemReader(self._tx)

    def sql(self, sql: str, params: SqlParams = None) -> list[dict[str, Any]]:
        """Read-only SQL over the app's tables; the rows as a list of dicts. Queries only.

        The query becomes live on every table the statement reads: any commit to one
        of them re-runs it. The rows are at the same snapshot as the query's other
        reads. ``params`` as for ``app.sql``: a list, tuple or other iterable for
        ``?``, a dict for ``$name``. Aggregates run inside DuckDB, so
        ``SELECT channel, count(*) ... GROUP BY channel`` loads no documents into
        Python. DuckDB types map to values as described in
        ``nbreactive.storage.sql_values`` (e.g. ``sum`` -> int, timestamps -> ms).

        Example::

            @app.query()
            def per_channel(ctx):
                return ctx.db.sql("SELECT channel, count(*) AS n FROM messages GROUP BY 1 ORDER BY 1")
        """
        return self._tx.sql(sql, params)

    def normalize_id(self, table: str, id_string: Any) -> Id | None:
        """``id_string`` as an Id of ``table``, or None if it is not one.

        The table encoded in the text decides, as in Convex: an ``Id``'s ``.table``
        is only a label, so ``normalize_id("users", nr.Id(str(post_id), "users"))``
        is None.
        """
        if not isinstance(id_string, str):
            return None
        if self._tx.db.table_of_id(id_string) != table:
            return None
        if type(id_string) is Id and id_string.table == table:
            return id_string
        return Id(str(id_string), table)


    def _read_only(self, op: str) -> Any:
        raise FunctionError(
            f"ctx.db.{op} is not available in a query: queries are read-only. "
            "Write from a mutation (@app.mutation)."
        )

    def insert(self, table: str, document: Doc) -> Id:
        """Not available in queries (raises FunctionError)."""
        return self._read_only("insert")  # type: ignore[no-any-return]

    def patch(self, table_or_id: Any, doc_id: Any, fields: Any = None) -> None:
        """Not available in queries (raises FunctionError)."""
        self._read_only("patch")

    def replace(self, table_or_id: Any, doc_id: Any, document: Any = None) -> None:
        """Not available in queries (raises FunctionError)."""
        self._read_only("replace")

    def delete(self, table_or_id: Any, doc_id: Any = None) -> None:
        """Not available in queries (raises FunctionError)."""
        self._read_only("delete")


class SystemReader:
    """``ctx.db.system``: read-only access to the system tables, as in Convex."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, doc_id: Any) -> Doc | None:
        """The system document with this id (e.g. a scheduled job's), or None."""
        if not isinstance(doc_id, str):
            raise ValidationError(f"ctx.db.system.get expects a document id, got {doc_id!r}")
        table = doc_id.table if isinstance(doc_id, Id) else self._tx.db.table_of_id(doc_id)
        if table is not None:
            _readable(table)
        return self._tx.get_copy(doc_id, system=True)

    def query(self, table: str) -> Query:
        """Start a query over a system table (``_scheduled_functions``, ``_cron_jobs``,
        ``_cron_job_logs``)."""
        from nbreactive.query.query import Query

        if not isinstance(table, str):
            raise ValidationError(f"ctx.db.system.query expects a table name, got {table!r}")
        _readable(table)
        return Query(self._tx, table)


def _readable(table: str) -> None:
    if table not in READABLE_SYSTEM_TABLES:
        what = "an app table: read it with ctx.db.query" if not is_system_table(table) else \
            "not a system table that functions can read"
        raise ValidationError(
            f'"{table}" is {what}. ctx.db.system reads: {", ".join(sorted(READABLE_SYSTEM_TABLES))}'
        )


class DatabaseWriter(DatabaseReader):
    """``ctx.db`` in a mutation: the reader plus ``insert``, ``patch``, ``replace``, ``delete``.

    Reads see the mutation's own earlier writes. Nothing is visible to anyone
    else until the mutation returns and commits; if it raises, nothing happens.
    """

    __slots__ = ()

    def insert(self, table: str, document: Doc) -> Id:
        """Insert ``document`` into ``table`` (validated against the schema); return its id."""
        return self._tx.insert(table, document)

    def patch(self, table_or_id: Any, doc_id: Any, fields: Any = None) -> None:
        """Shallow-merge ``fields`` into a document; ``nr.UNDEFINED`` removes a field.

        ``patch(id, fields)`` or ``patch(table, id, fields)``.
        """
        table, i, payload = _split("patch", table_or_id, doc_id, fields, has_payload=True)
        self._tx.patch(i, payload, table)

    def replace(self, table_or_id: Any, doc_id: Any, document: Any = None) -> None:
        """Replace a document's user fields (system fields are kept)."""
        table, i, payload = _split("replace", table_or_id, doc_id, document, has_payload=True)
        self._tx.replace(i, payload, table)

    def delete(self, table_or_id: Any, doc_id: Any = None) -> None:
        """Delete a document. ``delete(id)`` or ``delete(table, id)``."""
        table, i, _ = _split("delete", table_or_id, doc_id, has_payload=False)
        self._tx.delete(i, table)


class _TxCtx:
    _kind = ""  # "query" or "mutation", for the messages

    def __init__(self, tx: Transaction, identity: dict[str, Any] | None) -> None:
        self._tx = tx
        self.auth = Auth(identity, tx)

    # ctx.run_* exist only in actions (SPEC §1.4); Convex users reach for ctx.runQuery
    # out of habit, so say what to write instead of raising AttributeError.

    def run_query(self, ref: Any, args: dict[str, Any] | None = None) -> NoReturn:
        """Not available in queries and mutations (raises FunctionError): call the query
        directly instead, ``other_query(arg=...)``; it runs in this transaction."""
        raise FunctionError(
            f"ctx.run_query is only available in actions. In a {self._kind}, call the query "
            f"directly: {_call_example('query', ref, args)} runs it inside this {self._kind}'s "
            "transaction, on the same snapshot."
        )

    def run_mutation(self, ref: Any, args: dict[str, Any] | None = None) -> NoReturn:
        """Not available in queries and mutations (raises FunctionError)."""
        if self._kind == "query":
            raise FunctionError(
                "ctx.run_mutation is only available in actions, and a query cannot run a "
                "mutation at all: queries are read-only. Write from a mutation (@app.mutation), "
                "or run the mutation from an action or the notebook."
            )
        raise FunctionError(
            "ctx.run_mutation is only available in actions. In a mutation, call the mutation "
            f"directly: {_call_example('mutation', ref, args)} runs it inside this mutation's transaction "
            "(if it raises, its writes are undone and the error reaches you)."
        )

    def run_action(self, ref: Any, args: dict[str, Any] | None = None) -> NoReturn:
        """Not available in queries and mutations (raises FunctionError)."""
        if self._kind == "query":
            hint = "Run it from an action or the notebook, or schedule it from a mutation."
        else:
            hint = (
                "Schedule it instead: `ctx.scheduler.run_after(0, "
                f"{_ref_code(ref)}{', {...}' if args else ''})` runs it once this mutation has "
                "committed."
            )
        raise FunctionError(
            f"ctx.run_action is only available in actions: an action has side effects and is "
            f"not transactional, so it cannot run inside a {self._kind}. {hint}"
        )

    @property
    def now(self) -> datetime.datetime:
        """The transaction's frozen start time, as an aware UTC datetime."""
        self._tx.time_read = True
        return datetime.datetime.fromtimestamp(self._tx.now, tz=datetime.UTC)

    @property
    def random(self) -> Any:
        """The transaction's seeded ``random.Random``."""
        return self._tx.rng


class QueryCtx(_TxCtx):
    """The ``ctx`` of a query: ``ctx.db`` (read-only), ``ctx.auth``."""

    _kind = "query"

    def __init__(self, tx: Transaction, identity: dict[str, Any] | None = None) -> None:
        super().__init__(tx, identity)
        self.db = DatabaseReader(tx)

    @property
    def scheduler(self) -> Any:
        raise FunctionError(
            "ctx.scheduler is not available in a query: queries are read-only. Schedule from a "
            "mutation (the job commits with it) or an action."
        )


class MutationCtx(_TxCtx):
    """The ``ctx`` of a mutation: ``ctx.db`` (read + write), ``ctx.auth``, ``ctx.scheduler``."""

    _kind = "mutation"

    def __init__(self, tx: Transaction, identity: dict[str, Any] | None = None,
                 scheduling: Scheduling | None = None) -> None:
        super().__init__(tx, identity)
        self.db = DatabaseWriter(tx)
        self._scheduling = scheduling

    @property
    def scheduler(self) -> TxScheduler:
        """Schedule mutations and actions: ``run_after(seconds, fn, args)``,
        ``run_at(when, fn, args)``, ``cancel(job_id)``. Jobs commit with this mutation."""
        if self._scheduling is None:
            raise FunctionError("ctx.scheduler is not available here")
        return TxScheduler(self._tx, self._scheduling)


def _ref_name(ref: Any) -> str | None:
    """The Python name of a registered function object, if it has a usable one."""
    name = getattr(ref, "__name__", None)
    return name if isinstance(name, str) and name.isidentifier() else None


def _ref_code(ref: Any) -> str:
    """The function as code: its Python name, else its path as a string."""
    name = _ref_name(ref)
    if name is not None:
        return name
    path = getattr(ref, "path", ref)
    return repr(path) if isinstance(path, str) else "fn"


def _call_example(kind: str, ref: Any, args: Any) -> str:
    """How to call the function inside the current transaction, as code."""
    arg = "{...}" if args else ""
    name = _ref_name(ref)
    if name is not None:
        return f"`{name}({arg})`"
    return f"`app.run_{kind}({_ref_code(ref)}{', ' + arg if arg else ''})`"


class ActionCtx:
    """The ``ctx`` of an action: ``run_query``, ``run_mutation``, ``run_action``, ``auth``,
    ``scheduler``.

    Each ``run_*`` call is its own transaction, so two ``run_query`` calls may
    see different snapshots. Actions have no ``ctx.db``. In an ``async def``
    action the ``run_*`` methods are awaitable.
    """

    def __init__(
        self,
        runner: Callable[..., Any],
        identity: dict[str, Any] | None,
        *,
        is_async: bool,
        scheduling: Scheduling | None = None,
    ) -> None:
        # runner(kind, ref, args, identity, job, is_async): the call (a plain action), or
        # an awaitable of it (an async action); ``job``: the scheduled job this action
        # runs as, so that cancelling it reaches what nested actions schedule.
        self._runner = runner
        self._identity = identity
        self.auth = Auth(identity)
        self._is_async = is_async
        self._scheduling = scheduling

    @property
    def scheduler(self) -> ImmediateScheduler:
        """Schedule mutations and actions; each call commits at once (awaitable in an
        ``async def`` action)."""
        if self._scheduling is None:
            raise FunctionError("ctx.scheduler is not available here")
        return ImmediateScheduler(self._scheduling, is_async=self._is_async)

    def _call(self, kind: str, ref: Any, args: Any) -> Any:
        job = self._scheduling.parent_job if self._scheduling is not None else None
        return self._runner(kind, ref, args, self._identity, job, self._is_async)

    def run_query(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        """Run a query (public or internal) in its own transaction."""
        return self._call("query", ref, args)

    def run_mutation(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        """Run a mutation (public or internal) in its own transaction."""
        return self._call("mutation", ref, args)

    def run_action(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        """Run another action."""
        return self._call("action", ref, args)

    @property
    def db(self) -> Any:
        raise FunctionError(
            "Actions have no ctx.db: they are not transactions. Read with "
            "ctx.run_query(...) and write with ctx.run_mutation(...)."
        )
