"""Regression tests for defects found in the review of the reactivity engine
(nbreactive/reactive/, the SQL seqlock, App.subscribe/watch).

Each test reproduces one defect (now fixed) deterministically. Every wait is bounded.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import nbreactive as nr
from nbreactive import v

WAIT = 5.0


def wait_until(predicate: Callable[[], bool], seconds: float = WAIT) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture(params=["memory", "durable"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[nr.App]:
    a = nr.App(None if request.param == "memory" else tmp_path / "review.duckdb")
    yield a
    a.close()


@pytest.fixture
def quiet_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """Some defects make the engine log tens of thousands of tracebacks a second."""
    monkeypatch.setattr(logging.getLogger("nbreactive"), "disabled", True)


def counter(app: nr.App) -> dict[str, Any]:
    @app.mutation(args={"n": v.int64()})
    def setn(ctx, n):
        d = ctx.db.query("c").first()
        if d is None:
            ctx.db.insert("c", {"n": n})
        else:
            ctx.db.patch(d["_id"], {"n": n})

    @app.query(args={"k": v.int64()})
    def plus(ctx, k):
        d = ctx.db.query("c").first()
        return None if d is None else d["n"] + k

    setn(n=0)
    return {"setn": setn, "plus": plus}


# -- 1. a query raising a BaseException wedges the engine -----------------------------------


def test_a_query_raising_base_exception_does_not_freeze_other_live_queries(app, quiet_log) -> None:
    f = counter(app)

    @app.query()
    def exits(ctx):
        d = ctx.db.query("c").first()
        if d["n"] == 1:
            raise SystemExit("a query called sys.exit()")
        return d["n"]

    bad = app.subscribe(exits, {})
    good = app.subscribe(f["plus"], {"k": 100})
    f["setn"](n=1)
    assert wait_until(lambda: good.value == 101), "an unrelated live query stopped updating"
    assert bad.error is not None
    # A new subscription is not answered with the other query's SystemExit.
    assert app.subscribe(f["plus"], {"k": 7}).value == 8


# -- 2. a callback raising a BaseException kills the engine thread ---------------------------


def test_a_callback_raising_base_exception_does_not_stop_reactivity(app) -> None:
    f = counter(app)
    s = app.subscribe(f["plus"], {"k": 0})

    def cb(val):
        if val == 1:
            raise SystemExit("callback exits")

    s.on_change(cb)
    other = app.subscribe(f["plus"], {"k": 100})
    f["setn"](n=1)
    assert wait_until(lambda: other.value == 101)
    f["setn"](n=2)
    assert wait_until(lambda: other.value == 102 and s.value == 2), "live queries froze"
    assert app.subscribe(f["plus"], {"k": 5}).value == 7


# -- 3. imports and schema changes bypass the SQL seqlock ------------------------------------


def query_from_another_thread(app: nr.App, fn: Any, seen: list[Any]) -> None:
    """Start ``fn`` on another thread and give it time to run into the window (it may
    finish, or wait for the rewrite to end: either way its result must be consistent)."""
    results: list[Any] = []
    t = threading.Thread(target=lambda: results.append(app.run_query(fn, {"k": 1})))
    t.start()
    t.join(0.3)
    seen.append((t, results))


def finish(seen: list[Any]) -> Any:
    ((thread, results),) = seen
    thread.join(WAIT)
    assert not thread.is_alive()
    return results[0]


def test_sql_and_index_reads_agree_during_an_import(app) -> None:
    app.set_schema(nr.define_schema({"t": nr.define_table({"x": v.int64()})}))

    @app.query(args={"k": v.int64()})  # k: a fresh run each time, never a cached result
    def both(ctx, k):
        n_sql = ctx.db.sql("SELECT count(*) AS n FROM t")[0]["n"]
        return [n_sql, ctx.db.query("t").count()]

    assert app.run_query(both, {"k": 0}) == [0, 0]
    db = app._db
    original = db.store.bulk_insert
    seen: list[Any] = []

    def bulk_insert(*args, **kwargs):
        out = original(*args, **kwargs)
        # The window between DuckDB's commit and the base's update: a query running now
        # on another thread (which can take the base lock) must not mix the two.
        query_from_another_thread(app, both, seen)
        return out

    db.store.bulk_insert = bulk_insert  # type: ignore[method-assign]
    app.import_documents("t", [{"x": i} for i in range(10)], progress=False)
    a, b = finish(seen)
    assert a == b, f"one query saw {a} rows through SQL and {b} through the index"


def test_sql_and_index_reads_agree_during_a_schema_change(app) -> None:
    app.set_schema(nr.define_schema({"t": nr.define_table({"x": v.int64()})}))
    app.import_documents("t", [{"x": 1}], progress=False)

    @app.query(args={"k": v.int64()})  # k: a fresh run each time, never a cached result
    def both(ctx, k):
        r = ctx.db.sql("SELECT x FROM t")[0]["x"]
        d = ctx.db.query("t").first()["x"]
        return [type(r).__name__, type(d).__name__]

    assert app.run_query(both, {"k": 0}) == ["int", "int"]
    db = app._db
    original = db.store.rebuild_tables
    seen: list[Any] = []

    def rebuild_tables(*args, **kwargs):
        out = original(*args, **kwargs)
        query_from_another_thread(app, both, seen)
        return out

    db.store.rebuild_tables = rebuild_tables  # type: ignore[method-assign]
    app.set_schema(nr.define_schema({"t": nr.define_table({"x": v.number()})}))
    a, b = finish(seen)
    assert a == b, f"SQL saw a {a}, the index a {b}, in one run"


# -- 4. a round retried for SQL forgets the changes it already installed ---------------------


def test_a_change_is_delivered_when_a_new_sql_subscription_forces_a_retry() -> None:
    app = nr.App(None)
    try:
        f = counter(app)

        @app.query()
        def sql_count(ctx):
            return ctx.db.sql("SELECT count(*) AS n FROM c")[0]["n"]

        app.sql("SELECT 1")  # DuckDB caught up
        db, reactor = app._db, app._reactor
        flush_gate = threading.Event()
        flush_gate.set()
        original_flush = db.committer._flush

        def gated_flush(batch):
            flush_gate.wait(WAIT)
            original_flush(batch)

        db.committer._flush = gated_flush  # DuckDB lags the base while the gate is closed

        sub = app.subscribe(f["plus"], {"k": 0})
        got: list[Any] = []
        cb_gate = threading.Event()

        def cb(val):
            got.append(val)
            if val == 1:
                cb_gate.wait(WAIT)  # hold the engine thread in this dispatch

        sub.on_change(cb)
        f["setn"](n=1)
        assert wait_until(lambda: got == [1])
        flush_gate.clear()
        f["setn"](n=2)  # sub is stale; DuckDB does not have n=2 yet
        done: dict[str, Any] = {}
        t = threading.Thread(target=lambda: done.setdefault("sub", app.subscribe(sql_count, {})))
        t.start()
        assert wait_until(lambda: bool(reactor._requests))  # the request waits for the engine
        cb_gate.set()  # next round: re-run sub (changes to 2), then the SQL request -> retry
        assert wait_until(lambda: "sql_count" in reactor._sql_fns)
        flush_gate.set()
        t.join(WAIT)
        assert wait_until(lambda: sub.value == 2)
        assert wait_until(lambda: got == [1, 2], 1.0), f"callbacks got {got}; the change to 2 was lost"
    finally:
        app.close()


# -- 5. an interrupted subscribe leaves an orphan live query ---------------------------------


class _Interrupt(BaseException):
    """Stands for KeyboardInterrupt (Ctrl-C) arriving while a notebook cell waits."""


def test_an_interrupted_subscribe_leaves_no_live_query(app) -> None:
    f = counter(app)
    sub = app.subscribe(f["plus"], {"k": 0})
    gate = threading.Event()
    got: list[Any] = []

    def cb(val):
        got.append(val)
        if val == 1:
            gate.wait(WAIT)  # hold the engine thread in this dispatch

    sub.on_change(cb)
    try:
        f["setn"](n=1)
        assert wait_until(lambda: got == [1])
        f["setn"](n=2)  # stale: the next subscribe waits for the engine thread
        outcome: dict[str, Any] = {}

        def caller():
            try:
                outcome["sub"] = app.subscribe(f["plus"], {"k": 1})
            except _Interrupt:
                outcome["interrupted"] = True

        t = threading.Thread(target=caller, daemon=True)
        t.start()
        assert wait_until(lambda: bool(app._reactor._requests))
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(t.ident), ctypes.py_object(_Interrupt))
        t.join(WAIT)
        assert outcome.get("interrupted"), outcome
    finally:
        gate.set()
    assert wait_until(lambda: sub.value == 2)
    time.sleep(0.2)
    live = [(s["function"], s["args"]) for s in app.inspect().subscriptions]
    assert ("plus", {"k": 1}) not in live, f"orphan live query: {live}"


# -- 6. a journal-pinned page is served to a new subscription --------------------------------


def test_a_new_subscription_gets_a_fresh_page_not_a_cached_pinned_one(app) -> None:
    app.set_schema(nr.define_schema({"t": nr.define_table({"n": v.int64()}).index("by_n", ["n"])}))

    @app.mutation(args={"n": v.int64()})
    def add(ctx, n):
        ctx.db.insert("t", {"n": n})

    @app.query(args={"cursor": v.union(v.string(), v.null())})
    def page(ctx, cursor):
        r = ctx.db.query("t").with_index("by_n").paginate({"numItems": 3, "cursor": cursor})
        return [d["n"] for d in r["page"]]

    for n in (10, 20, 30, 40, 50):
        add(n=n)
    live = app.subscribe(page, {"cursor": None})
    add(n=15)
    add(n=12)
    assert wait_until(lambda: live.value == [10, 12, 15, 20, 30])  # the live page keeps its end
    live.unsubscribe()
    assert app.run_query(page, {"cursor": None}) == [10, 12, 15]
    again = app.subscribe(page, {"cursor": None})
    assert again.value == [10, 12, 15], "a new subscription got the old subscription's pinned page"


# -- 7. SQL table functions escape the read set ----------------------------------------------


def test_sql_through_query_table_is_live(app) -> None:
    @app.mutation()
    def add(ctx):
        ctx.db.insert("c", {"n": 1})

    @app.query()
    def qt(ctx):
        return ctx.db.sql("SELECT count(*) AS m FROM query_table('c')")[0]["m"]

    add()
    s = app.subscribe(qt, {})
    assert s.value == 1
    add()
    assert app.run_query(qt) == 2, "the cached result was served after a write to c"
    assert wait_until(lambda: s.value == 2)


# -- 8. app.watch whose first callback raises leaks its subscription ---------------------------


def test_a_watch_whose_callback_raises_leaves_no_live_query(app) -> None:
    f = counter(app)
    handles = []
    for _ in range(3):  # a notebook cell with a typo in the callback, run three times
        try:
            handles.append(app.watch(f["plus"], {"k": 0}, lambda val: val["oops"]))
        except TypeError:
            pass  # raising is fine, as long as nothing stays subscribed
    subscribers = sum(s["subscribers"] for s in app.inspect().subscriptions)
    assert subscribers == len(handles), f"{subscribers - len(handles)} subscriptions nobody holds"


def test_changing_an_inspection_changes_nothing_in_the_app(app: nr.App) -> None:
    """``app.inspect()`` is a plain-data snapshot: editing it (a notebook user exploring
    it) must neither change the arguments a live query re-runs with nor the stored
    documents its write set shows."""
    app.set_schema(nr.define_schema({
        "t": nr.define_table({"meta": v.object({"a": v.int64()}), "n": v.int64()}).index("by_meta", ["meta"]),
    }))

    @app.mutation(args={"a": v.int64(), "n": v.int64()})
    def add(ctx, a, n):
        return ctx.db.insert("t", {"meta": {"a": a}, "n": n})

    @app.query(args={"at_least": v.object({"n": v.int64()})})
    def big(ctx, at_least):
        return sorted(d["n"] for d in ctx.db.query("t").collect() if d["n"] >= at_least["n"])

    @app.query()
    def all_docs(ctx):
        return ctx.db.query("t").collect()

    add(a=1, n=1)
    sub = app.subscribe(big, {"at_least": {"n": 5}})
    insp = app.inspect()
    insp.subscriptions[0]["args"]["at_least"]["n"] = 0
    (write,) = insp.commits[-1]["write_set"]
    write["keys"]["by_meta"]["new"][0]["a"] = 666
    add(a=2, n=7)
    assert wait_until(lambda: sub.value == [7])
    assert sub.args == {"at_least": {"n": 5}}
    assert [d["meta"]["a"] for d in app.run_query(all_docs, {})] == [1, 2]


def test_a_small_live_result_costs_little_memory(app: nr.App) -> None:
    """Each live query (and cached result) keeps its result's fingerprint. orjson
    returns its text in a 4 KiB buffer however short it is; kept as is, that made a
    live query of one number cost ~6 KB, and a server with many small subscriptions
    pay for it many times over."""
    import gc
    import tracemalloc

    f = counter(app)
    f["setn"](n=1)
    warm = [app.subscribe(f["plus"], {"k": -k - 1}) for k in range(50)]
    count = 400
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        subs = [app.subscribe(f["plus"], {"k": k}) for k in range(count)]
        gc.collect()
        per_subscription = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    assert subs[7].value == 8 and warm[0].value == 0
    assert per_subscription < 3000, f"{per_subscription:.0f} bytes per live query of one number"


def test_the_inspector_log_does_not_keep_deleted_documents_alive(app: nr.App) -> None:
    """The commit log (the last 200 commits) keeps what the inspector shows of each
    write — its index keys — not the whole documents: large documents, deleted, and
    the app closed ("the documents held in memory are released at once"), must not
    stay in memory, held by the inspector's history (which stays readable)."""
    import gc
    import tracemalloc

    app.set_schema(nr.define_schema({
        "blobs": nr.define_table({"tag": v.string(), "data": v.bytes()}).index("by_tag", ["tag"]),
    }))

    @app.mutation(args={"n": v.int64()})
    def put(ctx, n):
        for _ in range(n):
            ctx.db.insert("blobs", {"tag": "big", "data": bytes(100_000)})

    @app.mutation()
    def clear(ctx):
        for d in ctx.db.query("blobs").take(40):
            ctx.db.delete(d["_id"])

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(8):
            put(n=40)  # 32 MB in all
        while app.count("blobs"):
            clear()
        app.close()
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < 8_000_000, f"{retained / 1e6:.1f} MB still held after deleting and closing"
    (write, *_) = app.inspect().commits[-1]["write_set"]
    assert write["op"] == "delete" and write["keys"] == {"by_tag": {"fields": ["tag"], "old": ["big"], "new": None}}


def test_the_inspection_report_counts_in_words(app: nr.App) -> None:
    """``repr(app.inspect())`` reads as English: "1 live query", "1 run", "1 commit"."""

    @app.mutation()
    def add(ctx):
        ctx.db.insert("t", {"n": 1})

    @app.query()
    def count(ctx):
        return len(ctx.db.query("t").collect())

    add()
    sub = app.subscribe(count, {})
    report = repr(app.inspect())
    assert report.startswith("1 live query\n") and " - 1 run\n" in report
    assert "last 1 commit (newest last)" in report
    sub.unsubscribe()
    assert repr(app.inspect()).startswith("0 live queries\n")
