"""``query.count()`` without a filter counts index positions (no document loaded) and
must agree with ``len(collect())`` everywhere: in queries, inside mutations that wrote
to the table (their own layer), and with batches still pending (durable apps)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import nbreactive as nr
from nbreactive import v


@pytest.fixture(params=["memory", "durable"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[nr.App]:
    a = nr.App(None if request.param == "memory" else tmp_path / "count.duckdb")
    a.set_schema(nr.define_schema({"t": nr.define_table({"g": v.int64(), "n": v.int64()}).index("by_g_n", ["g", "n"])}))
    yield a
    a.close()


def ranges(q):  # type: ignore[no-untyped-def]
    return [
        q.with_index("by_g_n", lambda r: r.eq("g", 1)),
        q.with_index("by_g_n", lambda r: r.eq("g", 2).gte("n", 3).lt("n", 7)),
        q.with_index("by_g_n", lambda r: r.gt("g", 0)),
        q.with_index("by_g_n"),
        q.order("desc"),
        q.full_table_scan(),
    ]


def test_count_agrees_with_collect_in_queries_and_mutations(app: nr.App) -> None:
    @app.mutation(args={"seed": v.int64()})
    def churn(ctx, seed):
        r = random.Random(seed)
        before = [q.count() for q in ranges(ctx.db.query("t"))]
        assert before == [len(q.collect()) for q in ranges(ctx.db.query("t"))]
        docs = ctx.db.query("t").collect()
        for _ in range(r.randint(1, 6)):
            op = r.random()
            if op < 0.5 or not docs:
                ctx.db.insert("t", {"g": r.randint(0, 3), "n": r.randint(0, 9)})
            elif op < 0.75:
                d = docs.pop(r.randrange(len(docs)))
                ctx.db.patch(d["_id"], {"g": r.randint(0, 3), "n": r.randint(0, 9)})
            else:
                ctx.db.delete(docs.pop(r.randrange(len(docs)))["_id"])
            counts = [q.count() for q in ranges(ctx.db.query("t"))]
            assert counts == [len(q.collect()) for q in ranges(ctx.db.query("t"))]
        return counts

    @app.query()
    def counts(ctx):
        return [q.count() for q in ranges(ctx.db.query("t"))], [len(q.collect()) for q in ranges(ctx.db.query("t"))]

    # Several threads, so durable mutations execute on top of batches still pending.
    def worker(base: int) -> None:
        for i in range(25):
            churn(seed=base + i)

    threads = [threading.Thread(target=worker, args=(1000 * k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    by_count, by_collect = counts()
    assert by_count == by_collect


def test_count_is_live(app: nr.App) -> None:
    @app.query()
    def n_in_g1(ctx):
        return ctx.db.query("t").with_index("by_g_n", lambda r: r.eq("g", 1)).count()

    @app.mutation(args={"g": v.int64()})
    def add(ctx, g):
        ctx.db.insert("t", {"g": g, "n": 0})

    sub = app.subscribe(n_in_g1, {})
    add(g=2)
    add(g=1)
    done = threading.Event()
    sub.on_change(lambda value: done.set() if value == 2 else None)
    add(g=1)
    assert done.wait(10)
    inv = app.inspect().commits
    assert inv[-3]["invalidated"] == []  # g=2 is outside the counted range
