"""``nr.App``: the public entry point tying storage, schema and functions together."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from nbreactive.errors import (
    ArgumentValidationError,
    FunctionError,
    ReturnsValidationError,
    SqlError,
    StorageError,
    ValidationError,
)
from nbreactive.functions import requests
from nbreactive.functions.actions import ActionRuntime, in_action, run_in_thread
from nbreactive.functions.clock import Clock, SystemClock
from nbreactive.functions.context import ActionCtx, MutationCtx, QueryCtx
from nbreactive.functions.limits import SYSTEM_LIMITS, TransactionLimits
from nbreactive.functions.registry import RegisteredFunction, canonical_path
from nbreactive.functions.requests import Request
from nbreactive.functions.sandbox import sandboxed
from nbreactive.functions.scheduling import Scheduling
from nbreactive.functions.transaction import Transaction, check_listed
from nbreactive.reactive.engine import Reactor
from nbreactive.reactive.readset import ReadSet
from nbreactive.reactive.tracking import record as record_reads
from nbreactive.reactive.tracking import tracking
from nbreactive.scheduler.crons import Crons
from nbreactive.scheduler.runner import JobRunner
from nbreactive.schema.system import is_system_table
from nbreactive.storage.database import Database
from nbreactive.values.model import MAX_VALUE_NESTING, normalize_value

if TYPE_CHECKING:
    import pyarrow as pa

    from nbreactive.reactive.inspector import Inspection
    from nbreactive.reactive.subscription import Subscription
    from nbreactive.schema import Schema, SchemaCheckReport, SchemaDiff
    from nbreactive.server import Server
    from nbreactive.storage.committer import CommitRecord
    from nbreactive.storage.duckdb_store import SqlParams
    from nbreactive.widgets import LiveWidget
    from nbreactive.widgets.browser import BrowserWidget
    from nbreactive.widgets.form import FormWidget
    from nbreactive.widgets.inspector import InspectorWidget

__all__ = ["App"]

T = TypeVar("T")

# The transaction running on this thread/context, for nested calls.
_current_tx: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "nbreactive_tx", default=None
)


class App:
    """A reactive backend: tables of documents, functions, live queries, scheduled jobs.

    Args:
        path: a DuckDB file (created if missing) for a durable app; None (or
            DuckDB's ``":memory:"``) for an in-memory one.
        limits: per-transaction limits (Convex's defaults when omitted).
        redact_errors: hide the messages of unexpected errors from remote callers.
        query_cache_size: how many results of queries nobody subscribes to are kept
            (they are served again until a commit touches what they read); 0 turns
            the cache off.
        clock: the app's clock (``nr.ManualClock()`` to move time by hand: then due
            jobs run only on ``app.run_due_jobs()``); the wall clock when omitted.
        action_timeout: seconds an action may run before the caller gets
            ``ActionTimeoutError`` (None: no limit).

    Example::

        app = nr.App("blog.duckdb")

        @app.mutation(args={"title": v.string()})
        def create_post(ctx, title):
            return ctx.db.insert("posts", {"title": title})

        create_post(title="Hello")
        app.sql("SELECT title FROM posts")
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        limits: TransactionLimits | None = None,
        redact_errors: bool = False,
        query_cache_size: int = 1000,
        clock: Clock | None = None,
        action_timeout: float | None = 600.0,
    ) -> None:
        if limits is not None and not isinstance(limits, TransactionLimits):
            raise TypeError("limits= expects nr.TransactionLimits(...)")
        if type(query_cache_size) is not int or query_cache_size < 0:
            raise TypeError(
                f"query_cache_size= expects a non-negative int (0 disables the cache), "
                f"got {query_cache_size!r}"
            )
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock= expects an object with a now() method (e.g. nr.ManualClock()), got {clock!r}")
        if action_timeout is not None and (isinstance(action_timeout, bool) or not isinstance(
                action_timeout, (int, float)) or not action_timeout > 0):
            raise TypeError(f"action_timeout= expects a number of seconds > 0 or None, got {action_timeout!r}")
        self.path = None if path is None else os.fsdecode(path)  # bytes too, as DuckDB wants str
        if self.path in ("", ":memory:"):  # DuckDB's names for in memory, not file paths
            self.path = None
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.limits = limits or TransactionLimits()
        self.redact_errors = redact_errors
        self.functions: dict[str, RegisteredFunction] = {}
        self._db = Database(self.path)
        self._reactor = Reactor(
            self._db, self._new_query_tx, self._run_in_tx, cache_size=query_cache_size
        )
        self._servers: list[Server] = []  # running app.serve() servers
        self._actions = ActionRuntime(timeout=action_timeout)
        self._scheduling = Scheduling(self.resolve, self._validate_args, self._system_mutation)
        self.crons = Crons(self)
        """Functions that run on a schedule: ``app.crons.daily("digest", fn, hour_utc=8)``."""
        self._jobs = JobRunner(self, self.crons)
        self._db.close_hooks.append(self._actions.close)  # after the runner's own hook

    def __repr__(self) -> str:
        where = self.path or "in memory"
        n = len(self.functions)
        functions = f"{n} function{'' if n == 1 else 's'}"
        if self._db._closed:  # a notebook may still show it after closing or a re-run
            return f"<nbreactive.App {where}: closed, {functions}>"
        t = len(self.tables())
        return f"<nbreactive.App {where}: {t} table{'' if t == 1 else 's'}, {functions}>"

    # -- registration -------------------------------------------------------------

    def _decorator(self, kind: str, internal: bool) -> Callable[..., Any]:
        def decorate(
            fn: Callable[..., Any] | None = None,
            *,
            args: Any = None,
            returns: Any = None,
            name: str | None = None,
        ) -> Any:
            def register(handler: Callable[..., Any]) -> RegisteredFunction:
                rf = RegisteredFunction(
                    self, kind, handler, args=args, returns=returns, name=name, internal=internal
                )
                replaced = self.functions.get(rf.path)
                self.functions[rf.path] = rf
                if replaced is not None and replaced.kind == "query" and kind == "query":
                    self._reactor.function_replaced(rf, self._validate_args)  # no result of the old code
                self._jobs.poke()  # jobs may have been waiting for it
                return rf

            return register(fn) if fn is not None else register

        decorate.__name__ = ("internal_" if internal else "") + kind
        return decorate

    @property
    def query(self) -> Callable[..., Any]:
        """Decorator registering a public query: ``@app.query(args={...}, returns=..., name=...)``."""
        return self._decorator("query", False)

    @property
    def mutation(self) -> Callable[..., Any]:
        """Decorator registering a public mutation."""
        return self._decorator("mutation", False)

    @property
    def action(self) -> Callable[..., Any]:
        """Decorator registering a public action (``def`` or ``async def``)."""
        return self._decorator("action", False)

    @property
    def internal_query(self) -> Callable[..., Any]:
        """Decorator registering a query that remote clients cannot call."""
        return self._decorator("query", True)

    @property
    def internal_mutation(self) -> Callable[..., Any]:
        """Decorator registering a mutation that remote clients cannot call."""
        return self._decorator("mutation", True)

    @property
    def internal_action(self) -> Callable[..., Any]:
        """Decorator registering an action that remote clients cannot call."""
        return self._decorator("action", True)

    def resolve(self, ref: Any, kind: str | None = None) -> RegisteredFunction:
        """The registered function for a path or function object; checks its kind."""
        if isinstance(ref, RegisteredFunction):
            if ref.app is not self:
                raise FunctionError(f"{ref.path} is registered on another App")
            fn = ref
            if ref.kind == "query":
                # The query registered under its path now: ``ref`` may be from before a
                # notebook cell defined it again, and results are cached by path.
                now = self.functions.get(ref.path)
                if now is not None and now.kind == "query":
                    fn = now
        elif isinstance(ref, str):
            found = self.functions.get(canonical_path(ref))
            if found is None:
                known = ", ".join(sorted(self.functions)) or "(none registered)"
                raise FunctionError(f"Could not find function {ref!r}. Registered functions: {known}")
            fn = found
        else:
            raise FunctionError(f"expected a function path or a registered function, got {ref!r}")
        if kind is not None and fn.kind != kind:
            raise FunctionError(
                f"{fn.path} is a {fn.kind}, not a {kind}: call it with app.run_{fn.kind}(...)"
            )
        return fn

    # -- running ------------------------------------------------------------------

    def run_query(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        """Run a query (path or function) with ``args``; returns its result."""
        return self._call("query", ref, args, None)

    def run_mutation(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        """Run a mutation as one transaction; returns after it is committed."""
        return self._call("mutation", ref, args, None)

    def run_action(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        """Run an action (``async def`` actions run on the app's own event loop thread)."""
        return self._call("action", ref, args, None)

    def _check_open(self) -> None:
        if self._db._closed:
            raise StorageError(
                f"this App is closed ({self.path or 'in memory'}); open it again with nr.App(...)"
            )

    def _call(self, kind: str, ref: Any, args: Any, identity: dict[str, Any] | None,
              commit_ts: list[int] | None = None, request: Request | None = None,
              job: str | None = None) -> Any:
        """Run a function; ``commit_ts`` receives a mutation's commit timestamp; a
        mutation with a ``request`` (sync protocol) runs once per request; ``job``: the
        scheduled action job calling it (see ``_run_action``)."""
        self._check_open()
        fn = self.resolve(ref, kind)
        validated = self._validate_args(fn, args)
        if kind == "query":
            return self._run_query(fn, validated, identity)
        if kind == "mutation":
            return self._run_mutation(fn, validated, identity, commit_ts, request, job)
        return self._run_action(fn, validated, identity, job)

    def _validate_args(self, fn: RegisteredFunction, args: Any) -> dict[str, Any]:
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise ArgumentValidationError(
                f"Invalid arguments for {fn.path}: expected a dict of arguments, got {args!r}"
            )
        try:
            if fn.args_validator is None:
                out = normalize_value(args, max_nesting=MAX_VALUE_NESTING)
            else:
                out = fn.args_validator.validate(args, resolve_id=self._db.table_of_id)
                out = normalize_value(out, max_nesting=MAX_VALUE_NESTING, copy=False)
        except ValidationError as e:
            raise ArgumentValidationError(
                f"Invalid arguments for {fn.path}: {e}", path=e.path, expected=e.expected,
                value=e.value, detail=str(e),
            ) from None
        if not isinstance(out, dict):
            raise ArgumentValidationError(f"Invalid arguments for {fn.path}: expected an object")
        fn.check_call_args(out)
        return out

    def _check_returns(self, fn: RegisteredFunction, result: Any) -> Any:
        try:
            value = normalize_value(result, max_nesting=MAX_VALUE_NESTING, copy=False)
            if fn.returns_validator is not None:
                value = fn.returns_validator.validate(value, resolve_id=self._db.table_of_id)
        except ValidationError as e:
            raise ReturnsValidationError(
                f"{fn.path} returned an invalid value: {e}", path=e.path, expected=e.expected,
                value=e.value, detail=str(e),
            ) from None
        return value

    def _run_in_tx(self, fn: RegisteredFunction, ctx: Any, args: dict[str, Any], tx: Transaction) -> Any:
        token = _current_tx.set(tx)
        try:
            with sandboxed(tx.now, tx):
                result = fn.handler(ctx, **args)
        finally:
            _current_tx.reset(token)
        return self._check_returns(fn, result)

    def _run_query(self, fn: RegisteredFunction, args: dict[str, Any], identity: Any) -> Any:
        outer = _current_tx.get()
        if outer is not None:  # a query called from inside another function: same transaction
            return self._run_in_tx(fn, QueryCtx(outer, identity), args, outer)
        return self._reactor.query(fn, args, identity)

    def _new_query_tx(self, fn: RegisteredFunction, sql_synced: bool) -> Transaction:
        """A read-only transaction over the base (caller holds the base lock)."""
        now = self.clock.now()
        tx = Transaction(self._db, writable=False, limits=self.limits, now=now,
                         seed=f"{fn.path}|{now!r}")
        tx.sql_synced = sql_synced
        return tx

    def _run_mutation(self, fn: RegisteredFunction, args: dict[str, Any], identity: Any,
                      commit_ts: list[int] | None = None, request: Request | None = None,
                      job: str | None = None) -> Any:
        outer = _current_tx.get()
        if outer is not None:
            if not outer.writable:
                raise FunctionError(
                    f"{fn.path} is a mutation and cannot run inside a query: queries are read-only."
                )
            sp = outer.savepoint()  # a nested mutation is a sub-transaction
            try:
                return self._run_in_tx(fn, MutationCtx(outer, identity, self._job_scheduling(outer.parent_job)),
                                       args, outer)
            except BaseException:
                outer.rollback_to(sp)
                raise

        def body(tx: Transaction) -> Any:
            if request is not None:
                with tx.unmetered():
                    ran, result = requests.find(tx, request)
                if ran:
                    return result
            tx.parent_job = job
            result = self._run_in_tx(fn, MutationCtx(tx, identity, self._job_scheduling(job)), args, tx)
            if request is not None and tx.layer is not None and tx.layer.docs:
                with tx.unmetered():
                    requests.record(tx, request, result)
            return result

        result, record = self._commit(body, self.limits, fn.path)
        db = self._db
        if commit_ts is not None:
            # A mutation that wrote nothing is visible at the snapshot it read.
            wrote = bool(record.writes or record.whole_tables)
            commit_ts.append(record.ts if wrote else min(record.ts, db.base_ts))
        return result

    def _run_action(self, fn: RegisteredFunction, args: dict[str, Any], identity: Any,
                    job: str | None = None, own_thread: bool = False) -> Any:
        """Run an action; ``job``: the scheduled job it runs as (if it is cancelled, what
        the action schedules from then on is cancelled too); ``own_thread``: see
        ``ActionRuntime.run``."""
        if _current_tx.get() is not None:
            raise FunctionError(
                f"{fn.path} is an action and cannot run inside a query or mutation: actions have "
                "side effects and are not transactional. Schedule it, or call it from an action."
            )
        ctx = ActionCtx(self._action_runner, identity, is_async=fn.is_async,
                        scheduling=self._job_scheduling(job))
        return self._check_returns(fn, self._actions.run(fn.path, fn.handler, ctx, args,
                                                         is_async=fn.is_async, own_thread=own_thread))

    def _action_runner(self, kind: str, ref: Any, args: Any, identity: Any, job: str | None,
                       is_async: bool) -> Any:
        """``ctx.run_query/run_mutation/run_action`` of an action (see ``ActionCtx``)."""
        if kind == "action":
            try:
                self._check_open()
                fn = self.resolve(ref, "action")
                validated = self._validate_args(fn, args)
            except Exception as e:
                if not is_async:
                    raise
                failed = asyncio.get_running_loop().create_future()  # raised where awaited,
                failed.set_exception(e)  # as ctx.run_query's errors are
                return failed
            if is_async and fn.is_async:  # awaited on the actions' loop, no thread blocked
                return asyncio.ensure_future(self._run_nested_action(fn, validated, identity, job))
            if is_async:
                return run_in_thread(self._run_action, fn, validated, identity, job)
            return self._run_action(fn, validated, identity, job)
        if is_async:
            return run_in_thread(self._call, kind, ref, args, identity, None, None, job)
        return self._call(kind, ref, args, identity, job=job)

    async def _run_nested_action(self, fn: RegisteredFunction, args: dict[str, Any], identity: Any,
                                 job: str | None) -> Any:
        ctx = ActionCtx(self._action_runner, identity, is_async=True, scheduling=self._job_scheduling(job))
        return self._check_returns(fn, await self._actions.run_nested(fn.path, fn.handler, ctx, args))

    def _job_scheduling(self, job: str | None) -> Scheduling:
        return self._scheduling if job is None else dataclasses.replace(self._scheduling, parent_job=job)

    def _system_mutation(self, body: Callable[[Transaction], T], what: str = "this") -> T:
        """Run ``body(tx)`` as a transaction of nbreactive's own (system tables), commit
        it and wait until it is durable; returns what ``body`` returned. ``what`` names
        the caller in the error raised inside a query or mutation."""
        if _current_tx.get() is not None:
            raise FunctionError(
                f"{what} cannot run inside a query or mutation: it commits a transaction of its "
                "own. Call it from the notebook (or from an action)."
            )
        self._check_open()
        return self._commit(body, SYSTEM_LIMITS, "system")[0]

    def _commit(self, body: Callable[[Transaction], T], limits: TransactionLimits,
                seed: str) -> tuple[T, CommitRecord]:
        """Run ``body(tx)`` in a new writable transaction (clock frozen now), commit it
        and wait until it is durable; returns ``body``'s result and the commit record."""
        db = self._db
        with db.writer_lock:
            now = self.clock.now()
            with db.base_lock:
                tx = Transaction(db, writable=True, limits=limits, now=now, seed=f"{seed}|{now!r}")
                result = body(tx)
                assert tx.layer is not None
                record = db.commit(tx.layer)
        db.wait(record)
        return result, record

    # -- scheduling ---------------------------------------------------------------

    def run_due_jobs(self) -> int:
        """Run every scheduled job and cron run that is due at the clock's time, here and
        now, until nothing more is due; returns how many ran. With ``nr.ManualClock``
        this is how jobs run (nothing runs in the background): advance the clock, then
        call this. Actions run to completion before it returns.

        Example::

            clock = nr.ManualClock(); app = nr.App(clock=clock)
            ...                       # schedule something in 60 s
            clock.advance(60); app.run_due_jobs()   # -> 1
        """
        _not_inside_a_function("app.run_due_jobs")
        _not_inside_an_action("app.run_due_jobs")
        self._check_open()
        return self._jobs.run_due()

    # -- reactivity ---------------------------------------------------------------

    def subscribe(self, ref: Any, args: dict[str, Any] | None = None) -> Subscription:
        """A live query: ``sub.value`` is always its current result.

        Every commit that writes something the query read (an index range it
        scanned, a document it fetched, a table its SQL read) re-runs it; nothing
        else does. ``sub.on_change(callback)`` is called with each new result.
        Subscriptions to the same query and arguments share one execution. If the
        query fails, ``sub.value`` raises its error and the subscription recovers
        when the data does. Call ``sub.unsubscribe()`` when done.

        Example::

            sub = app.subscribe(list_messages, {"channel": "general"})
            sub.on_change(lambda msgs: print(len(msgs)))
        """
        _not_inside_a_function("app.subscribe")
        self._check_open()
        fn = self.resolve(ref, "query")
        validated = self._validate_args(fn, args)
        return self._reactor.subscribe(fn, validated, None)

    def watch(
        self,
        ref: Any,
        args: dict[str, Any] | None = None,
        callback: Callable[[Any], Any] | None = None,
        *,
        on_error: Callable[[BaseException], Any] | None = None,
    ) -> Subscription:
        """Call ``callback`` with the query's result now and after every change.

        The one-line form of ``subscribe`` + ``on_change``; returns the
        subscription (``.unsubscribe()`` to stop). ``on_error`` receives the
        exception when the query fails (now or later).

        Example::

            app.watch(total_balance, {}, lambda total: print("total:", total))
        """
        if callback is None or not callable(callback):
            raise TypeError("app.watch(ref, args, callback) needs a callable callback")
        if on_error is not None and not callable(on_error):
            raise TypeError(f"on_error expects a callable, got {on_error!r}")
        sub = self.subscribe(ref, args)
        try:
            sub._watch(callback, on_error)
        except BaseException:
            sub.unsubscribe()  # the first call failed: nothing is left watching
            raise
        return sub

    def serve(self, port: int = 0, host: str = "127.0.0.1", *,
              allowed_origins: Iterable[str] | None = None,
              allowed_hosts: Iterable[str] | None = None, admin_key: str | None = None,
              quiet: bool = False) -> Server:
        """Serve this app to other processes and browsers, and return at once.

        Speaks Convex's HTTP API and sync protocol, so the official Convex clients work
        against it. Runs on its own thread and event loop (the notebook stays usable)
        until ``server.stop()`` or ``app.close()``. Safe by default: listens on
        ``host`` (loopback unless told otherwise), answers only requests addressed to
        it by that name (DNS rebinding), accepts browser pages only from loopback
        origins and ``allowed_origins``, and calls internal functions only for
        requests carrying the admin key (``Authorization: Convex <server.admin_key>``,
        printed at start unless ``quiet``).

        Example::

            server = app.serve()          # port=0: any free port
            server.url                    # 'http://127.0.0.1:PORT'
            server.stop()
        """
        from nbreactive.server import Server

        return Server(self, host=host, port=port, allowed_origins=allowed_origins,
                      allowed_hosts=allowed_hosts, admin_key=admin_key, quiet=quiet)

    def live(self, ref: Any, args: dict[str, Any] | None = None, *, page_size: int = 2000,
             max_rows: int | None = 2_000_000) -> LiveWidget:
        """A widget showing a live query's result, redrawn on every commit that changes it.

        A list of documents is a table (columns from the schema or the fields
        present; sortable, resizable, virtualized; changed rows flash); any other
        value is shown formatted; a failing query shows its error and recovers when
        the data does. ``widget.value`` holds the current result. Updates arrive
        also while the kernel is idle, whichever thread committed.
        ``widget.close()`` stops it.

        A paginated query (one taking ``paginationOpts``, given without it) is a
        table of any size: the first page shows at once and the next ones load in
        the background, ``page_size`` documents each, up to ``max_rows`` (``None``:
        all); each page stays live, so a commit re-runs only the pages it touched.
        A million rows scroll smoothly this way (a query returns at most 8,192
        values, as in Convex).

        Example::

            app.live(list_messages, {"channel": "general"})
            app.live(all_orders)  # def all_orders(ctx, paginationOpts): ...paginate(paginationOpts)
        """
        try:
            from nbreactive.widgets import LiveWidget
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"app.live needs anywidget and ipywidgets ({e}); install them with "
                'pip install "nbreactive[widgets]"'
            ) from e
        return LiveWidget(self, ref, args, page_size=page_size, max_rows=max_rows)

    def form(self, ref: Any) -> FormWidget:
        """A form generated from a mutation's argument validators (strings, numbers,
        booleans, literals and unions as choices, ids as live pickers from the referenced
        table, optional fields, JSON for the rest) that calls the mutation and shows its
        result or error (field errors inline). Actions work too. Needs the ``widgets`` extra.

        Example::

            app.form(send_message)
        """
        try:
            from nbreactive.widgets.form import FormWidget
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"app.form needs anywidget and ipywidgets ({e}); install them with "
                'pip install "nbreactive[widgets]"'
            ) from e
        self._check_open()
        return FormWidget(self, ref)

    def browser(self, table: str | None = None) -> BrowserWidget:
        """A data browser: the tables with their document counts; the selected table's
        documents (live, windowed; an index chooser with range inputs), its schema; and
        insert / edit / delete run as mutations, with validation errors shown inline.
        Needs the ``widgets`` extra.

        Example::

            app.browser()            # or app.browser("messages")
        """
        try:
            from nbreactive.widgets.browser import BrowserWidget
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"app.browser needs anywidget and ipywidgets ({e}); install them with "
                'pip install "nbreactive[widgets]"'
            ) from e
        _not_inside_a_function("app.browser")
        return BrowserWidget(self, table=table)

    def inspector(self) -> InspectorWidget:
        """A widget showing reactivity live: the live queries and what each read, and a
        timeline of commits with the documents each wrote and the queries it
        invalidated (click a commit to highlight them). Needs the ``widgets`` extra."""
        try:
            from nbreactive.widgets.inspector import InspectorWidget
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"app.inspector needs anywidget and ipywidgets ({e}); install them with "
                'pip install "nbreactive[widgets]"'
            ) from e
        return InspectorWidget(self)

    def inspect(self) -> Inspection:
        """A snapshot of reactivity for teaching and debugging: the live queries with
        what each read, and the recent commits with what each wrote and invalidated."""
        from nbreactive.reactive.inspector import inspect

        return inspect(self._reactor, self._db)

    # -- schema -------------------------------------------------------------------

    @property
    def schema(self) -> Schema | None:
        """The current schema, or None (every table accepts any valid document)."""
        return self._db.schema

    def set_schema(self, schema: Schema | None, *, dry_run: bool = False) -> SchemaCheckReport:
        """Make ``schema`` the app's schema, after checking every existing document.

        Refuses with ``SchemaError`` (whose ``.report`` lists each offending
        document and why) when existing data does not fit; nothing changes then.
        With ``dry_run=True`` only the report is returned. Documents are stored
        normalized for the new schema (e.g. an int in a ``v.number()`` field
        becomes a float), and indexes are rebuilt where they changed.
        """
        from nbreactive.storage.schema_change import apply_schema

        _not_inside_a_function("app.set_schema")
        self._check_open()
        return apply_schema(self._db, schema, dry_run=dry_run)

    def infer_schema(self) -> Schema:
        """A schema inferred from the data now stored (print ``.to_python()`` to paste it)."""
        from nbreactive.schema import infer_schema

        self._check_open()
        with self._db.base_lock:
            docs = {n: list(t.docs.values()) for n, t in self._db.base.tables.items()
                    if t.docs and not is_system_table(n)}
        return infer_schema(docs, resolve_id=self._db.table_of_id)

    def diff_schema(self, new: Schema | None) -> SchemaDiff:
        """What would change going from the current schema to ``new`` (None: no schema)."""
        from nbreactive.schema import diff_schemas

        return diff_schemas(self._db.schema, new)

    # -- data ---------------------------------------------------------------------

    def tables(self) -> list[str]:
        """The names of the app's tables that exist: in the schema, stored, or holding
        documents (system tables, named ``_...``, are not listed; ``app.sql`` reads them).

        A table first written by a mutation that then failed does not exist.
        """
        self._check_open()
        db = self._db
        names = {n for n, t in db.base.tables.items() if t.docs} | (db.store.tables & set(db.table_numbers))
        if self._db.schema is not None:
            names |= set(self._db.schema.tables)
        return sorted(n for n in names if not is_system_table(n))

    def count(self, table: str) -> int:
        """The number of documents in ``table`` (from the working set; no scan)."""
        self._check_open()
        db = self._db
        if db.schema is not None and table not in db.schema.tables:
            check_listed(db.schema, table)  # a misspelt name is not an empty table
        if tracking():  # inside a live cell: re-run it when a document comes or goes
            record_reads(self._reactor, ReadSet.build([(table, "by_creation_time", b"", b"\xff")]),
                         db.base_ts)
        mt = db.base.tables.get(table)
        return 0 if mt is None else len(mt.docs)

    def sql(self, sql: str, params: SqlParams = None) -> pa.Table:
        """Run one read-only SQL statement over committed data; returns a ``pyarrow.Table``.

        Tables are ordinary DuckDB tables with native column types for fields of
        one scalar type; other fields are JSON: arrays, objects, ``v.any()``, unions
        and literals (compare their value with ``->>'$'``: ``role->>'$' = 'admin'``).
        ``params`` fill placeholders: a list, tuple or other iterable (``range``, a
        generator) for positional ``?``, a dict for named ``$name``.

        Runs SELECT (also DESCRIBE, SHOW, SUMMARIZE), EXPLAIN [ANALYZE] of those,
        and the PRAGMAs that only report (``table_info``, ``database_size``, ...).
        Anything that writes or changes settings is refused with ``SqlError``:
        INSERT/UPDATE/DELETE (also inside a ``WITH`` clause), COPY, ATTACH, SET,
        ``EXPLAIN ANALYZE`` of a write, ``PRAGMA enable_profiling``, and table
        functions that do the same (``FROM enable_profiling()``, ``FROM checkpoint()``).

        Raises:
            SqlError: the statement is not one read-only statement, ``params`` is
                not an iterable of values or a dict (a string or a set is refused),
                or DuckDB failed to run it.

        Example::

            app.sql("SELECT author, count(*) FROM posts GROUP BY author").to_pandas()
            app.sql("SELECT * FROM posts WHERE author = ?", ["ann"])
            app.sql("SELECT * FROM posts WHERE author = $who", {"who": "ann"})
        """
        self._check_open()
        db = self._db
        read_ts = db.base_ts  # the statement sees this commit or a later one
        # Durable apps acknowledge a mutation only once it is in DuckDB, so there is
        # nothing to wait for. In-memory apps flush in the background: wait for that,
        # except inside a function, which holds the locks the flush needs.
        if not db.durable and _current_tx.get() is None:
            db.drain()
        if tracking():  # inside a live cell: re-run it when a table this reads changes
            record_reads(self._reactor, ReadSet(tables=frozenset(
                t.lower() for t in db.store.tables_read(sql))), read_ts)
        try:
            return db.store.sql(sql, params)
        except SqlError as e:
            schemaless = sorted(n for n, layout in db.layouts.items() if layout.schemaless)
            if schemaless and "column" in str(e).lower():
                raise SqlError(
                    f"{e}\nHint: tables without a schema ({', '.join(schemaless)}) keep their "
                    "fields in one JSON column, _doc: write _doc->>'name' (text) or "
                    "CAST(_doc->>'n' AS BIGINT); set a schema to get typed columns."
                ) from e
            raise

    def import_documents(self, table: str, rows: Any, *, progress: bool | None = None) -> int:
        """Insert many documents at once: a list (or iterable) of dicts, a ``pyarrow.Table``,
        ``RecordBatch`` or ``RecordBatchReader``, a pandas DataFrame, or any object offering an
        Arrow stream (polars, DuckDB results). Null cells of a table are missing fields;
        a DataFrame's object columns are imported as the Python values they hold.

        Every row is validated first; if any is invalid, ``BulkImportError`` lists
        the first offending rows and nothing is written. Returns the number of
        documents inserted. Shows a progress bar for large imports.
        """
        from nbreactive.bulk import import_documents

        _not_inside_a_function("app.import_documents")
        self._check_open()
        return import_documents(self._db, table, rows, progress=progress)

    def export_parquet(self, table: str, path: str | os.PathLike[str]) -> int:
        """Write ``table`` to a Parquet file (native columns stay typed). Returns the row count."""
        from nbreactive.bulk import export_parquet

        self._check_open()
        return export_parquet(self._db, table, os.fspath(path))

    def export_jsonl(self, table: str, path: str | os.PathLike[str], *, progress: bool | None = None) -> int:
        """Write ``table`` as JSON Lines in Convex's JSON encoding (exact round trip)."""
        from nbreactive.bulk import export_jsonl

        self._check_open()
        return export_jsonl(self._db, table, os.fspath(path), progress=progress)

    # -- lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        """Flush pending writes, checkpoint and close the database. Idempotent.

        Live subscriptions stop receiving changes (they keep their last value); the
        documents held in memory are released at once. Calls that read or write data
        on a closed App (functions, SQL, imports, exports, counts, data widgets) raise
        ``StorageError``; the schema and the inspector's history stay readable.
        """
        _not_inside_a_function("app.close")
        _not_inside_an_action("app.close")
        for server in list(self._servers):  # first: clients must not see the engine gone
            server.stop()
        self._jobs.close()  # before the engine and the store: it commits
        self._reactor.close()
        self._actions.close()
        self._db.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



def _not_inside_a_function(what: str) -> None:
    if _current_tx.get() is not None:
        raise FunctionError(
            f"{what} cannot run inside a query or mutation: it changes the whole database "
            "and would wait for the very transaction that calls it. Call it from the notebook."
        )


def _not_inside_an_action(what: str) -> None:
    if in_action():
        raise FunctionError(
            f"{what} cannot run inside an action: it waits for work that may need the very "
            "threads actions run on. Call it from the notebook."
        )
