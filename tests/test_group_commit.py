"""Group commit under concurrency: the working set, DuckDB and a reopened file agree.

Several threads run random mutations (insert, patch, replace, delete, and
read-modify-write of shared counters) against a durable app, so that many
mutations share batches and later mutations build on writes still on their way to
DuckDB. A model of what each acknowledged mutation did is then compared with the
working set, with SQL over DuckDB, and with the file reopened.
"""

from __future__ import annotations

import random
import threading

import pytest

import nbreactive as nr
from nbreactive import v

SCHEMA = nr.define_schema(
    {
        "items": nr.define_table(
            {"owner": v.int64(), "n": v.int64(), "tag": v.optional(v.string())}
        ).index("by_owner", ["owner", "n"]),
        "counters": nr.define_table({"k": v.int64(), "value": v.int64()}).index("by_k", ["k"]),
    }
)


def _register(app: nr.App) -> None:
    @app.mutation
    def insert(ctx, owner, n):
        return ctx.db.insert("items", {"owner": owner, "n": n})

    @app.mutation
    def patch(ctx, id, n, tag):
        ctx.db.patch(id, {"n": n, "tag": tag if tag is not None else nr.UNDEFINED})

    @app.mutation
    def replace(ctx, id, owner, n):
        ctx.db.replace(id, {"owner": owner, "n": n})

    @app.mutation
    def delete(ctx, id):
        ctx.db.delete(id)

    @app.mutation
    def bump(ctx, k):
        doc = ctx.db.query("counters").with_index("by_k", lambda q: q.eq("k", k)).unique()
        ctx.db.patch(doc["_id"], {"value": doc["value"] + 1})

    @app.mutation
    def make_counter(ctx, k):
        return ctx.db.insert("counters", {"k": k, "value": 0})

    @app.query
    def owned(ctx, owner):
        return ctx.db.query("items").with_index("by_owner", lambda q: q.eq("owner", owner)).collect()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concurrent_random_mutations_agree_everywhere(tmp_path, seed):
    path = tmp_path / "gc.duckdb"
    threads_n, steps = 6, 120
    model: dict[str, dict] = {}  # id -> expected user fields, per owner thread
    lock = threading.Lock()
    with nr.App(path) as app:
        app.set_schema(SCHEMA)
        _register(app)
        for k in range(3):
            app.run_mutation("make_counter", {"k": k})
        bumps = [0, 0, 0]
        errors: list[BaseException] = []

        def worker(owner: int) -> None:
            rng = random.Random(seed * 100 + owner)
            mine: list[str] = []  # each thread writes only its own items: a known outcome
            try:
                for step in range(steps):
                    op = rng.random()
                    if op < 0.35 or not mine:
                        doc_id = app.run_mutation("insert", {"owner": owner, "n": step})
                        mine.append(doc_id)
                        with lock:
                            model[doc_id] = {"owner": owner, "n": step}
                    elif op < 0.5:
                        doc_id = rng.choice(mine)
                        tag = rng.choice([None, "x", "y"])
                        app.run_mutation("patch", {"id": doc_id, "n": -step, "tag": tag})
                        with lock:
                            model[doc_id] = {"owner": owner, "n": -step}
                            if tag is not None:
                                model[doc_id]["tag"] = tag
                    elif op < 0.6:
                        doc_id = rng.choice(mine)
                        app.run_mutation("replace", {"id": doc_id, "owner": owner, "n": step * 2})
                        with lock:
                            model[doc_id] = {"owner": owner, "n": step * 2}
                    elif op < 0.75:
                        doc_id = mine.pop(rng.randrange(len(mine)))
                        app.run_mutation("delete", {"id": doc_id})
                        with lock:
                            del model[doc_id]
                    else:
                        k = rng.randrange(3)
                        app.run_mutation("bump", {"k": k})
                        with lock:
                            bumps[k] += 1
            except BaseException as e:  # reported below, with the failing thread's error
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(o,)) for o in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors[0]

        def user_fields(doc: dict) -> dict:
            return {k: x for k, x in doc.items() if not k.startswith("_")}

        in_memory = {d["_id"]: user_fields(d) for o in range(threads_n) for d in app.run_query("owned", {"owner": o})}
        assert in_memory == model
        rows = app.sql('SELECT _id, owner, n, tag FROM items').to_pylist()
        in_duckdb = {
            r["_id"]: {k: x for k, x in r.items() if k != "_id" and x is not None} for r in rows
        }
        assert in_duckdb == model
        counters = app.sql("SELECT k, value FROM counters ORDER BY k").to_pylist()
        assert [c["value"] for c in counters] == bumps

    with nr.App(path) as again:
        _register(again)
        reopened = {d["_id"]: {k: x for k, x in d.items() if not k.startswith("_")} for o in range(threads_n) for d in again.run_query("owned", {"owner": o})}
        assert reopened == model


def test_a_failed_duckdb_write_fails_its_batch_and_every_batch_built_on_it(tmp_path):
    with nr.App(tmp_path / "fail.duckdb") as app:
        app.set_schema(SCHEMA)
        _register(app)
        app.run_mutation("make_counter", {"k": 0})
        db = app._db
        store = db.store
        real_apply = store.apply_batch
        gate = threading.Event()
        calls = []

        def failing_apply(changes, meta):
            calls.append(1)
            if len(calls) == 1:
                gate.wait(10)  # hold the first batch while a second mutation builds on it
                raise OSError("disk full (injected)")
            return real_apply(changes, meta)

        store.apply_batch = failing_apply
        results: dict[str, BaseException | None] = {}

        def run(name: str) -> None:
            try:
                app.run_mutation("bump", {"k": 0})
                results[name] = None
            except BaseException as e:
                results[name] = e

        first = threading.Thread(target=run, args=("first",))
        first.start()
        while not calls:  # the first batch is in the committer's hands
            threading.Event().wait(0.001)
        second = threading.Thread(target=run, args=("second",))
        second.start()
        # The second bump reads the first bump's (pending) write and joins the next batch.
        while not any(b.records for b in db.pending if not b.frozen):
            threading.Event().wait(0.001)
        gate.set()
        first.join(10)
        second.join(10)
        assert isinstance(results["first"], nr.StorageError)
        assert isinstance(results["second"], nr.StorageError)
        store.apply_batch = real_apply

        # Nothing of either was published or stored, and the app keeps working.
        value = app.sql("SELECT value FROM counters").to_pylist()[0]["value"]
        assert value == 0
        app.run_mutation("bump", {"k": 0})
        assert app.sql("SELECT value FROM counters").to_pylist()[0]["value"] == 1

    with nr.App(tmp_path / "fail.duckdb") as again:
        assert again.sql("SELECT value FROM counters").to_pylist()[0]["value"] == 1


@pytest.mark.parametrize("durable", [False, True], ids=["memory", "file"])
def test_every_index_ordering_matches_the_documents_after_random_writes(tmp_path, durable):
    """Inserts, patches (of indexed fields or not), replaces and deletes, several per
    mutation: each in-memory index ordering is exactly its documents' keys, sorted
    (a write that leaves a key unchanged skips the index; one that changes it moves it)."""
    from nbreactive.values.model import UNDEFINED

    app = nr.App(str(tmp_path / "idx.duckdb") if durable else None)
    app.set_schema(nr.define_schema({"t": nr.define_table(
        {"a": v.optional(v.int64()), "b": v.optional(v.string()), "c": v.optional(v.int64())}
    ).index("by_a", ["a"]).index("by_ab", ["a", "b"])}))
    rng = random.Random(3)

    @app.mutation(args={"ops": v.any()})
    def run(ctx, ops):
        ids = [d["_id"] for d in ctx.db.query("t").collect()]
        for op, a, b in ops:
            if op == "insert" or not ids:
                ids.append(ctx.db.insert("t", {"a": UNDEFINED if a is None else a, "b": b}))
            elif op == "patch":
                ctx.db.patch(rng.choice(ids), {"a": a} if a is not None else {"b": b, "a": UNDEFINED})
            elif op == "patch_unindexed":
                ctx.db.patch(rng.choice(ids), {"c": rng.randrange(100)})
            elif op == "replace":
                ctx.db.replace(rng.choice(ids), {"a": a, "b": b} if a is not None else {})
            else:
                doc_id = rng.choice(ids)
                ids.remove(doc_id)
                ctx.db.delete(doc_id)

    kinds = ["insert", "patch", "patch_unindexed", "replace", "delete", "patch"]
    for _ in range(60):
        run(ops=[[rng.choice(kinds), rng.choice([None, 1, 2]), rng.choice(["x", "y"])]
                 for _ in range(rng.randrange(1, 8))])
    table = app._db.base.tables["t"]
    assert table.docs
    for name, index in table.indexes.items():
        assert list(index.keys) == sorted(index.key_of(d) for d in table.docs.values()), name
    app.close()
