"""Live queries under concurrency: one snapshot per update, no backwards steps, failures
notify nobody, commits from any thread reach watchers.

Every wait is bounded (``wait_until``); nothing here asserts a duration.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import nbreactive as nr
from nbreactive import v

WAIT_SECONDS = 15.0


def wait_until(predicate: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.005)


@pytest.fixture(params=["memory", "durable"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[nr.App]:
    a = nr.App(None if request.param == "memory" else tmp_path / "live.duckdb")
    yield a
    a.close()


ACCOUNTS = 6
START = 1000


def bank(app: nr.App) -> dict[str, Any]:
    app.set_schema(
        nr.define_schema(
            {
                "accounts": nr.define_table({"name": v.string(), "balance": v.int64()}).index(
                    "by_name", ["name"]
                )
            }
        )
    )

    @app.mutation(args={"name": v.string()})
    def open_account(ctx, name):
        return ctx.db.insert("accounts", {"name": name, "balance": START})

    @app.mutation(args={"src": v.string(), "dst": v.string(), "amount": v.int64()})
    def transfer(ctx, src, dst, amount):
        a = ctx.db.query("accounts").with_index("by_name", lambda q: q.eq("name", src)).unique()
        b = ctx.db.query("accounts").with_index("by_name", lambda q: q.eq("name", dst)).unique()
        ctx.db.patch(a["_id"], {"balance": a["balance"] - amount})
        ctx.db.patch(b["_id"], {"balance": b["balance"] + amount})

    @app.mutation(args={"src": v.string(), "amount": v.int64()})
    def broken_withdrawal(ctx, src, amount):
        a = ctx.db.query("accounts").with_index("by_name", lambda q: q.eq("name", src)).unique()
        ctx.db.patch(a["_id"], {"balance": a["balance"] - amount})
        raise nr.AppError({"code": "declined"})

    @app.query()
    def total(ctx):
        return sum(a["balance"] for a in ctx.db.query("accounts").collect())

    @app.query(args={"name": v.string()})
    def balance(ctx, name):
        a = ctx.db.query("accounts").with_index("by_name", lambda q: q.eq("name", name)).unique()
        return None if a is None else a["balance"]

    for n in range(ACCOUNTS):
        open_account(name=f"acct{n}")
    return {"transfer": transfer, "total": total, "balance": balance, "broken": broken_withdrawal}


def test_watchers_never_see_two_snapshots_mixed(app: nr.App) -> None:
    """Transfers from several threads; inside every callback, the per-account values
    (read from their own subscriptions) always add up to the invariant total."""
    f = bank(app)
    total = app.subscribe(f["total"], {})
    accounts = [app.subscribe(f["balance"], {"name": f"acct{n}"}) for n in range(ACCOUNTS)]
    expected_total = ACCOUNTS * START
    checks: list[int] = []
    problems: list[str] = []
    ts_seen: dict[int, int] = {}

    def check(_value: Any) -> None:
        values = [s.value for s in accounts]
        if sum(values) != expected_total or total.value != expected_total:
            problems.append(f"mixed snapshot: accounts {values} sum {sum(values)}, total {total.value}")
        for n, s in enumerate(accounts):
            if s.ts < ts_seen.get(n, 0):
                problems.append(f"acct{n} went backwards: ts {s.ts} < {ts_seen[n]}")
            ts_seen[n] = s.ts
        checks.append(1)

    for s in accounts:
        s.on_change(check)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            a, b = rng.sample(range(ACCOUNTS), 2)
            f["transfer"](src=f"acct{a}", dst=f"acct{b}", amount=rng.randint(1, 50))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    # The watchers end on the latest state (compared with a fresh query).
    latest = [app.run_query(f["balance"], {"name": f"acct{n}"}) for n in range(ACCOUNTS)]
    wait_until(lambda: [s.value for s in accounts] == latest, "the final balances")
    assert problems == []
    assert checks, "no callback ran"
    assert sum(latest) == expected_total


def test_a_burst_of_commits_ends_on_the_latest_value_and_never_goes_back(app: nr.App) -> None:
    app.set_schema(nr.define_schema({"counter": nr.define_table({"n": v.int64()})}))

    @app.mutation()
    def setup(ctx):
        return ctx.db.insert("counter", {"n": 0})

    cid = setup()

    @app.mutation()
    def bump(ctx):
        c = ctx.db.get(cid)
        ctx.db.patch(cid, {"n": c["n"] + 1})

    @app.query()
    def value(ctx):
        return ctx.db.get(cid)["n"]

    seen: list[int] = []
    sub = app.watch(value, {}, seen.append)
    for _ in range(300):
        bump()
    wait_until(lambda: seen and seen[-1] == 300, "the last value")
    assert seen == sorted(seen), "a watcher saw values go backwards"
    assert len(seen) == len(set(seen)), "an unchanged value was delivered twice"
    assert sub.value == 300
    # Coalescing: far fewer re-runs than commits is allowed, but never more.
    assert app._reactor.stats["reruns"] <= 300


def test_a_failed_mutation_notifies_nobody_and_logs_no_commit(app: nr.App) -> None:
    f = bank(app)
    calls: list[Any] = []
    sub = app.subscribe(f["balance"], {"name": "acct0"})
    sub.on_change(calls.append, calls.append)
    app.watch(f["total"], {}, calls.append)
    calls.clear()
    commits_before = len(app.inspect().commits)
    runs_before = app._reactor.stats["reruns"]
    with pytest.raises(nr.AppError) as info:
        f["broken"](src="acct0", amount=100)
    assert info.value.data == {"code": "declined"}
    time.sleep(0.2)  # give a (wrong) notification the chance to arrive
    assert calls == []
    assert len(app.inspect().commits) == commits_before
    assert app._reactor.stats["reruns"] == runs_before
    assert sub.value == START


def test_commits_from_a_background_thread_update_watchers_while_the_caller_waits(app: nr.App) -> None:
    f = bank(app)
    got = threading.Event()
    values: list[int] = []

    def on_change(value: int) -> None:
        values.append(value)
        got.set()

    sub = app.subscribe(f["balance"], {"name": "acct1"})
    sub.on_change(on_change)
    t = threading.Thread(target=f["transfer"], kwargs={"src": "acct0", "dst": "acct1", "amount": 7})
    t.start()
    t.join(timeout=30)
    assert got.wait(WAIT_SECONDS), "the background commit did not reach the watcher"
    assert values == [START + 7]
    assert threading.current_thread() is threading.main_thread()


def test_a_thread_reads_its_own_writes_through_sub_value(app: nr.App) -> None:
    """Right after a mutation returns, ``sub.value`` includes it (as Convex's clients
    resolve a mutation only once their queries reflect it); the re-run still happens on
    the reactivity thread, and callbacks there read the current round without waiting."""
    f = bank(app)
    balance = app.subscribe(f["balance"], {"name": "acct1"})
    total = app.subscribe(f["total"], {})
    seen_in_callback: list[int] = []
    balance.on_change(lambda _value: seen_in_callback.append(total.value))
    for k in range(1, 41):
        f["transfer"](src="acct0", dst="acct1", amount=1)
        assert balance.value == START + k
        assert total.value == START * ACCOUNTS
    # a commit from another thread, then a read here: at least as new as that commit
    t = threading.Thread(target=f["transfer"], kwargs={"src": "acct1", "dst": "acct2", "amount": 5})
    t.start()
    t.join(timeout=30)
    assert balance.value == START + 40 - 5
    wait_until(lambda: len(seen_in_callback) >= 1, "a callback")
    assert all(v == START * ACCOUNTS for v in seen_in_callback)


def test_sub_value_read_inside_a_function_does_not_wait_for_the_engine(
    app: nr.App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A query or mutation holds the locks the reactivity thread needs for a re-run:
    ``sub.value`` read there cannot get a fresher result by waiting, so it answers at
    once with the current one instead of stalling the function for ``FRESH_WAIT``
    (meanwhile blocking every other query and commit) and then warning."""
    from nbreactive.reactive import subscription

    monkeypatch.setattr(subscription, "FRESH_WAIT", 3.0)
    f = bank(app)
    balance = app.subscribe(f["balance"], {"name": "acct1"})
    other = app.subscribe(f["balance"], {"name": "acct2"})
    release, holding = threading.Event(), threading.Event()

    def hold(_value: Any) -> None:  # keeps the reactivity thread until released
        holding.set()
        release.wait(WAIT_SECONDS)

    other.on_change(hold)

    @app.query()
    def peek(ctx):
        release.set()  # the reactivity thread is free now, but needs the lock held here
        return balance.value

    @app.mutation()
    def peek_in_mutation(ctx):
        release.set()
        return balance.value

    expected = START
    for fn in (peek, peek_in_mutation):
        holding.clear()
        release.clear()
        try:
            f["transfer"](src="acct0", dst="acct2", amount=1)  # runs ``hold``
            assert holding.wait(WAIT_SECONDS), "the callback did not run"
            f["transfer"](src="acct0", dst="acct1", amount=1)  # ``balance`` goes stale
            with caplog.at_level(logging.WARNING, logger="nbreactive"):
                assert fn() == expected  # the result the engine holds: none newer can come
        finally:
            release.set()
        expected += 1
        assert balance.value == expected  # outside a function: read your own writes
    assert not [r for r in caplog.records if "took over" in r.getMessage()]


def test_sql_and_index_reads_of_one_query_see_one_snapshot(app: nr.App) -> None:
    """A query mixing ctx.db.sql with index reads, live under concurrent inserts from
    several threads: every value it ever produced has both counts equal."""
    app.set_schema(nr.define_schema({"items": nr.define_table({"k": v.int64()}).index("by_k", ["k"])}))

    @app.mutation(args={"k": v.int64()})
    def add(ctx, k):
        ctx.db.insert("items", {"k": k})

    @app.query()
    def both(ctx):
        (row,) = ctx.db.sql("SELECT count(*) AS n FROM items")
        return {"sql": row["n"], "index": ctx.db.query("items").count()}

    seen: list[dict[str, int]] = []
    sub = app.watch(both, {}, seen.append)

    def worker(base: int) -> None:
        for i in range(30):
            add(k=base + i)

    threads = [threading.Thread(target=worker, args=(1000 * n,)) for n in range(3)]
    for t in threads:
        t.start()
    direct = []
    for _ in range(20):  # direct (cached or not) runs interleaved with the writers
        direct.append(app.run_query(both, {}))
    for t in threads:
        t.join(timeout=60)
    wait_until(lambda: sub.value == {"sql": 90, "index": 90}, "the final counts")
    assert all(x["sql"] == x["index"] for x in seen + direct), [
        x for x in seen + direct if x["sql"] != x["index"]
    ]


def test_sql_is_refused_in_mutations(app: nr.App) -> None:
    @app.mutation()
    def m(ctx):
        return ctx.db.sql("SELECT 1 AS x")

    with pytest.raises(nr.FunctionError, match="queries only"):
        m()


def test_sql_results_are_values(app: nr.App) -> None:
    app.set_schema(nr.define_schema({"t": nr.define_table({"n": v.int64(), "x": v.float64()})}))

    @app.mutation()
    def fill(ctx):
        for n in range(3):
            ctx.db.insert("t", {"n": n, "x": n / 2})

    @app.query()
    def agg(ctx):
        return ctx.db.sql(
            "SELECT sum(n) AS s, avg(x) AS a, count(*) AS c, 1.25::DECIMAL(5,2) AS d, "
            "TIMESTAMP '1970-01-01 00:00:01' AS ts, DATE '2026-01-02' AS day, [1, 2] AS l "
            "FROM t WHERE n >= ?",
            [0],
        )

    fill()
    (row,) = agg()
    assert row == {"s": 3, "a": 0.5, "c": 3, "d": 1.25, "ts": 1000.0, "day": "2026-01-02", "l": [1, 2]}
    assert type(row["s"]) is int

    @app.query()
    def bad(ctx):
        return ctx.db.sql("SELEC nonsense")

    with pytest.raises(nr.SqlError, match="invalid SQL"):
        bad()

    @app.query()
    def writes(ctx):
        return ctx.db.sql("DELETE FROM t")

    with pytest.raises(nr.SqlError, match="read-only"):
        writes()


def test_a_failing_query_reports_its_error_and_recovers(app: nr.App) -> None:
    app.set_schema(nr.define_schema({"cfg": nr.define_table({"key": v.string(), "on": v.boolean()}).index("by_key", ["key"])}))

    @app.query()
    def flag(ctx):
        doc = ctx.db.query("cfg").with_index("by_key", lambda q: q.eq("key", "x")).unique()
        if doc is None:
            raise nr.AppError({"missing": "x"})
        return doc["on"]

    @app.mutation(args={"on": v.boolean()})
    def put(ctx, on):
        ctx.db.insert("cfg", {"key": "x", "on": on})

    errors: list[BaseException] = []
    values: list[bool] = []
    sub = app.watch(flag, {}, values.append, on_error=errors.append)
    assert isinstance(sub.error, nr.AppError)
    with pytest.raises(nr.AppError):
        _ = sub.value
    assert len(errors) == 1 and errors[0].data == {"missing": "x"}  # type: ignore[attr-defined]
    put(on=True)
    wait_until(lambda: values == [True], "the recovered value")
    assert sub.error is None and sub.value is True


def test_watching_a_query_that_fails_now_without_on_error_says_so(
    app: nr.App, caplog: pytest.LogCaptureFixture
) -> None:
    """``app.watch(ref, args, print)`` of a query failing from the start calls nothing;
    without ``on_error`` its failure is logged, as a later one is, not silently kept."""

    @app.query()
    def broken(ctx):
        return 1 // len(ctx.db.query("nothing_here").collect())

    with caplog.at_level("WARNING", logger="nbreactive"):
        sub = app.watch(broken, {}, lambda _value: None)
    assert isinstance(sub.error, ZeroDivisionError)
    assert any("broken" in r.getMessage() and "ZeroDivisionError" in r.getMessage()
               for r in caplog.records), caplog.text


def test_subscribing_while_results_are_stale_and_from_callbacks(app: nr.App) -> None:
    f = bank(app)
    subs: list[nr.Subscription] = []
    made = threading.Event()

    def subscribe_from_callback(value: int) -> None:
        # Runs on the engine thread: subscribing here must not deadlock.
        if not subs:
            subs.append(app.subscribe(f["balance"], {"name": "acct5"}))
            made.set()

    app.subscribe(f["total"], {}).on_change(lambda _v: None)
    s0 = app.subscribe(f["balance"], {"name": "acct0"})
    s0.on_change(subscribe_from_callback)
    stop = threading.Event()

    def churn() -> None:
        for i in range(60):
            if stop.is_set():
                return
            f["transfer"](src="acct0", dst="acct5", amount=1 + i % 3)

    t = threading.Thread(target=churn)
    t.start()
    extra = [app.subscribe(f["balance"], {"name": f"acct{n % ACCOUNTS}"}) for n in range(30)]
    t.join(timeout=60)
    assert made.wait(WAIT_SECONDS)
    latest = app.run_query(f["balance"], {"name": "acct5"})
    wait_until(lambda: subs[0].value == latest, "the callback-made subscription to catch up")
    wait_until(
        lambda: all(s.value == app.run_query(f["balance"], {"name": s.args["name"]}) for s in extra),
        "the extra subscriptions to catch up",
    )


def test_identical_subscriptions_share_one_execution_and_unsubscribe(app: nr.App) -> None:
    f = bank(app)
    a = app.subscribe(f["balance"], {"name": "acct0"})
    b = app.subscribe(f["balance"], {"name": "acct0"})
    live = app.inspect().subscriptions
    assert len(live) == 1 and live[0]["subscribers"] == 2
    a.unsubscribe()
    a.unsubscribe()  # idempotent
    assert app.inspect().subscriptions[0]["subscribers"] == 1
    with b:
        pass
    assert app.inspect().subscriptions == []
    # The last result stays cached until a commit touches it.
    hits = app._reactor.stats["cache_hits"]
    assert app.run_query(f["balance"], {"name": "acct0"}) == START
    assert app._reactor.stats["cache_hits"] == hits + 1
    f["transfer"](src="acct0", dst="acct1", amount=5)
    assert app.run_query(f["balance"], {"name": "acct0"}) == START - 5
    assert app._reactor.stats["cache_hits"] == hits + 1


def test_redefining_a_query_replaces_its_cached_and_live_results(app: nr.App) -> None:
    """Re-running a notebook cell that defines a query replaces it: calls, new
    subscriptions and the live ones run the new code at once, not a result of the old
    one kept in the cache (also for a query calling it)."""
    f = bank(app)

    @app.query()
    def richest(ctx):
        return max(a["balance"] for a in ctx.db.query("accounts").collect())

    @app.query()
    def summary(ctx):
        return {"richest": richest()}

    assert app.run_query(richest, {}) == START  # cached now
    live = app.subscribe(richest, {})
    outer = app.subscribe(summary, {})
    seen: list[Any] = []
    live.on_change(seen.append)

    @app.query()  # the cell re-run with a change: the poorest instead
    def richest(ctx):
        return -min(a["balance"] for a in ctx.db.query("accounts").collect())

    assert app.run_query(richest, {}) == -START
    assert app.subscribe(richest, {}).value == -START
    wait_until(lambda: seen == [-START], "the live subscription to run the new definition")
    wait_until(lambda: outer.value == {"richest": -START}, "the calling query to re-run")
    f["transfer"](src="acct0", dst="acct1", amount=5)
    wait_until(lambda: seen == [-START, -(START - 5)], "the next commit's result, from the new code")


def test_a_query_object_kept_from_before_its_redefinition_runs_the_current_code(app: nr.App) -> None:
    """A widget, a variable or a closure may still hold the query object of before the
    cell was re-run. Called or subscribed through it, the query runs the code now
    registered under its path, as Convex runs what is deployed: otherwise the old code
    runs again, and its results, cached under the path, reach the new code's callers."""
    bank(app)

    @app.query()
    def richest(ctx):
        return max(a["balance"] for a in ctx.db.query("accounts").collect())

    old = richest

    @app.query()
    def richest(ctx):
        return -min(a["balance"] for a in ctx.db.query("accounts").collect())

    assert app.run_query(old, {}) == -START
    assert app.run_query(richest, {}) == -START
    assert app.subscribe(old, {}).value == -START
    assert old() == -START


def test_a_live_query_redefined_with_other_arguments_checks_its_arguments_again(app: nr.App) -> None:
    """The live queries of a redefined query run the new code with the arguments they
    were subscribed with, which the new ``args=`` may not accept: as a direct call, and
    as Convex re-running its subscriptions on a push, they get the new validator's
    ``ArgumentValidationError`` (not a TypeError from the handler, nor the handler run
    with values its validator would refuse), and values it converts arrive converted."""
    bank(app)

    @app.query(args={"n": v.int64()})
    def shifted(ctx, n):
        return n + 1

    live = app.subscribe(shifted, {"n": 1})
    assert live.value == 2

    @app.query(args={"n": v.string()})  # the cell re-run: n is a string now
    def shifted(ctx, n):
        return f"{type(n).__name__} {n}"

    with pytest.raises(nr.ArgumentValidationError, match=r"expected v\.string\(\)"):
        app.run_query(shifted, {"n": 1})
    with pytest.raises(nr.ArgumentValidationError, match=r"expected v\.string\(\)"):
        live.value

    @app.query(args={"n": v.float64()})  # accepted again, as a float
    def shifted(ctx, n):
        return f"{type(n).__name__} {n}"

    assert app.run_query(shifted, {"n": 1}) == "float 1.0"
    assert live.value == "float 1.0"

    @app.query(args={"n": v.float64(), "m": v.int64()})  # a new required argument
    def shifted(ctx, n, m):
        return n + m

    with pytest.raises(nr.ArgumentValidationError, match=r"missing the required field \"m\""):
        live.value


def test_no_callback_starts_after_unsubscribe_returned(app: nr.App) -> None:
    """``unsubscribe()`` stops the changes: a callback of the subscription that had not
    started when it returned is not called (here: the second of two callbacks, while
    the first is still running on the engine thread)."""
    f = bank(app)
    sub = app.subscribe(f["balance"], {"name": "acct0"})
    entered, release = threading.Event(), threading.Event()
    late: list[Any] = []
    sub.on_change(lambda _value: (entered.set(), release.wait(WAIT_SECONDS)))
    sub.on_change(late.append)
    f["transfer"](src="acct0", dst="acct1", amount=5)
    assert entered.wait(WAIT_SECONDS), "the first callback never ran"
    sub.unsubscribe()
    release.set()
    delivered = threading.Event()
    app._reactor.call_soon(delivered.set)  # after the round's callbacks
    assert delivered.wait(WAIT_SECONDS)
    assert late == []


def test_schema_changes_and_imports_re_run_live_queries(app: nr.App) -> None:
    app.set_schema(nr.define_schema({"t": nr.define_table({"n": v.number()})}))

    @app.query()
    def ns(ctx):
        return [d["n"] for d in ctx.db.query("t").collect()]

    seen: list[list[Any]] = []
    app.watch(ns, {}, seen.append)
    app.import_documents("t", [{"n": 1}, {"n": 2}], progress=False)
    wait_until(lambda: seen[-1] == [1.0, 2.0], "the imported rows")
    app.set_schema(nr.define_schema({"t": nr.define_table({"n": v.number(), "tag": v.optional(v.string())})}))
    commits = app.inspect().commits
    assert commits[-1]["source"] == "schema" and commits[-1]["invalidated"]
    assert commits[-2]["source"] == "import" and commits[-2]["whole_tables"] == {"t"}


def test_subscribe_refuses_bad_input_and_closed_apps(app: nr.App) -> None:
    f = bank(app)
    with pytest.raises(nr.ArgumentValidationError):
        app.subscribe(f["balance"], {"name": 3})
    with pytest.raises(nr.FunctionError, match="is a mutation"):
        app.subscribe(f["transfer"], {"src": "a", "dst": "b", "amount": 1})
    with pytest.raises(TypeError, match="callable"):
        app.subscribe(f["total"], {}).on_change("not a function")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callback"):
        app.watch(f["total"], {})

    @app.query()
    def sneaky(ctx):
        return app.subscribe(f["total"], {})

    with pytest.raises(nr.FunctionError, match="cannot run inside"):
        sneaky()
    app.close()
    with pytest.raises(nr.StorageError, match="closed"):
        app.subscribe(f["total"], {})


def test_a_live_page_keeps_its_boundaries(app: nr.App) -> None:
    """Convex's journal: re-runs of a live paginated query cover the same key range, so
    the page grows with inserts inside it instead of being refilled to numItems."""
    app.set_schema(nr.define_schema({"t": nr.define_table({"n": v.int64()}).index("by_n", ["n"])}))

    @app.mutation(args={"n": v.int64()})
    def add(ctx, n):
        ctx.db.insert("t", {"n": n})

    @app.mutation(args={"n": v.int64()})
    def remove(ctx, n):
        doc = ctx.db.query("t").with_index("by_n", lambda q: q.eq("n", n)).unique()
        ctx.db.delete(doc["_id"])

    @app.query(args={"cursor": v.union(v.string(), v.null())})
    def page(ctx, cursor):
        r = ctx.db.query("t").with_index("by_n").paginate({"numItems": 3, "cursor": cursor})
        return {"ns": [d["n"] for d in r["page"]], "isDone": r["isDone"], "next": r["continueCursor"]}

    for n in (10, 20, 30, 40, 50):
        add(n=n)
    first = app.subscribe(page, {"cursor": None})
    assert first.value["ns"] == [10, 20, 30]
    second = app.subscribe(page, {"cursor": first.value["next"]})
    assert second.value["ns"] == [40, 50] and second.value["isDone"]
    add(n=15)  # inside the first page: it grows to 4 items, its end stays at 30
    wait_until(lambda: first.value["ns"] == [10, 15, 20, 30], "the first page to grow")
    assert second.value["ns"] == [40, 50]
    remove(n=20)
    wait_until(lambda: first.value["ns"] == [10, 15, 30], "the first page to shrink")
    # A fresh, non-live call still pages by numItems.
    assert app.run_query(page, {"cursor": None})["ns"] == [10, 15, 30]
    add(n=12)
    assert app.run_query(page, {"cursor": None})["ns"] == [10, 12, 15]
    wait_until(lambda: first.value["ns"] == [10, 12, 15, 30], "the live page to keep its end")
