"""System tables (``_...``): written only by nbreactive, read with ``ctx.db.system``,
invisible to the app's schema and table list, durable like any table."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbreactive as nr
from nbreactive import v
from nbreactive.functions.requests import Request


def _app(path: str | None = None, clock: nr.ManualClock | None = None) -> nr.App:
    app = nr.App(path, clock=clock)

    @app.mutation(args={"n": v.number()})
    def add(ctx, n):
        return ctx.db.insert("t", {"n": n})

    return app


@pytest.mark.parametrize("body, message", [
    ("ctx.db.insert('_scheduled_functions', {'name': 'x'})",
     'Cannot insert into system table "_scheduled_functions"'),
    ("ctx.db.query('_scheduled_functions').collect()",
     'read it with ctx.db.system.query("_scheduled_functions")'),
    ("ctx.db.system.query('t').collect()", '"t" is an app table'),
    ("ctx.db.system.query('_session_requests').collect()", "not a system table that functions can read"),
    ("ctx.db.system.query('_nope').collect()", "not a system table that functions can read"),
])
def test_user_code_cannot_write_or_misread_system_tables(body: str, message: str) -> None:
    app = _app()

    @app.mutation()
    def bad(ctx):
        return eval(body)

    with pytest.raises(nr.ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bad()
    app.close()


def test_system_documents_cannot_be_patched_or_read_as_app_documents() -> None:
    app = _app()
    app._call("mutation", "add", {"n": 1}, None, None, Request("s", 1))
    rid = app.sql("SELECT _id FROM _session_requests").to_pylist()[0]["_id"]

    @app.mutation()
    def touch(ctx, op):
        if op == "patch":
            ctx.db.patch(rid, {"result": 2})
        elif op == "delete":
            ctx.db.delete(rid)
        elif op == "get":
            return ctx.db.get(rid)
        elif op == "system_get_app":
            return ctx.db.system.get(ctx.db.query("t").first()["_id"])

    for op, message in [("patch", "Cannot patch system table"), ("delete", "Cannot delete system table"),
                        ("get", "is a system table"), ("system_get_app", "is an app table")]:
        with pytest.raises(nr.ValidationError, match=message):
            touch(op=op)
    app.close()


def test_system_tables_stay_out_of_the_schema_and_the_table_list(tmp_path: Path) -> None:
    path = str(tmp_path / "sys.duckdb")
    app = _app(path)
    app._call("mutation", "add", {"n": 1}, None, None, Request("s", 1))
    assert app.tables() == ["t"]
    assert "_session_requests" not in app.infer_schema().tables
    # a schema without the system tables is fine, also a strict one
    app.set_schema(nr.define_schema({"t": nr.define_table({"n": v.number()})}))
    assert app.count("_session_requests") == 1
    app.close()
    again = _app(path)  # durable, indexes rebuilt at load
    assert again.count("_session_requests") == 1
    assert again._call("mutation", "add", {"n": 1}, None, None, Request("s", 1)) is not None
    assert again.count("t") == 1  # the request was recognised after the restart
    again.close()


def test_every_system_document_fits_its_table_definition() -> None:
    """nbreactive writes system documents without validating them again (they are built
    from checked parts): this checks every shape it produces against the definitions."""
    from nbreactive.functions import requests
    from nbreactive.schema.system import SYSTEM_TABLES

    clock = nr.ManualClock()
    app = _app(clock=clock)

    @app.mutation()
    def boom(ctx):
        raise nr.AppError({"code": 1})

    @app.action()
    def act(ctx):
        return 1

    @app.mutation()
    def plan(ctx):
        ctx.scheduler.run_after(0, "add", {"n": 1})
        ctx.scheduler.run_after(0, boom, {})
        ctx.scheduler.run_after(0, act, {})
        ctx.scheduler.cancel(ctx.scheduler.run_after(5, act, {}))

    plan()
    app.crons.interval("i", "add", {"n": 2}, seconds=10)
    app.crons.hourly("h", boom)
    app.run_due_jobs()
    clock.advance(7200)
    app.run_due_jobs()
    app._call("mutation", "add", {"n": 3}, None, None, Request("s", 1))

    @app.mutation()
    def big(ctx):
        ctx.db.insert("t", {"n": 0})
        return "x" * (requests.MAX_RESULT_BYTES + 1)

    app._call("mutation", big, {}, None, None, Request("s", 2))
    seen = set()
    for name, table in SYSTEM_TABLES.items():
        mt = app._db.base.tables.get(name)
        for doc in (mt.docs.values() if mt is not None else ()):
            body = {k: val for k, val in doc.items() if k not in ("_id", "_creationTime")}
            table.validate_document(body)
            seen.add((name, str(body.get("state", {}).get("kind", ""))))
    assert {("_scheduled_functions", k) for k in ("success", "failed", "canceled")} <= seen
    assert {("_cron_job_logs", k) for k in ("success", "failed", "skipped")} <= seen
    assert ("_session_requests", "") in seen
    with pytest.raises(nr.FunctionError, match="not kept for a resend"):
        app._call("mutation", big, {}, None, None, Request("s", 2))
    app.close()


def test_jobs_finished_a_week_ago_are_deleted() -> None:
    clock = nr.ManualClock()
    app = nr.App(clock=clock)

    @app.mutation()
    def work(ctx):
        pass

    @app.mutation()
    def plan(ctx):
        ctx.scheduler.run_after(0, work, {})

    plan()
    app.run_due_jobs()
    clock.advance(6 * 86400)
    plan()
    app.run_due_jobs()
    assert app.count("_scheduled_functions") == 2
    clock.advance(1.5 * 86400)  # the first finished 7.5 days ago, the second 1.5
    app.run_due_jobs()
    assert app.count("_scheduled_functions") == 1
    app.close()
