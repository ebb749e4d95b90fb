"""A closed App: every call says so clearly, and its documents are released at once."""

from __future__ import annotations

import gc
import weakref

import pytest

import nbreactive as nr
from nbreactive import v


def _closed_app(path: str | None) -> tuple[nr.App, nr.Subscription]:
    app = nr.App(path)
    app.set_schema(nr.define_schema({"t": nr.define_table({"a": v.int64()})}))
    app.import_documents("t", [{"a": k} for k in range(100)], progress=False)

    @app.query()
    def total(ctx):
        return sum(d["a"] for d in ctx.db.query("t").collect())

    @app.mutation(args={"a": v.int64()})
    def add(ctx, a):
        return ctx.db.insert("t", {"a": a})

    sub = app.subscribe(total)
    assert sub.value == sum(range(100))
    app.close()
    return app, sub


CALLS = {
    "sql": lambda app: app.sql("SELECT count(*) FROM t"),
    "count": lambda app: app.count("t"),
    "tables": lambda app: app.tables(),
    "infer_schema": lambda app: app.infer_schema(),
    "set_schema": lambda app: app.set_schema(None),
    "import_documents": lambda app: app.import_documents("t", [{"a": 1}], progress=False),
    "export_jsonl": lambda app, tmp="x.jsonl": app.export_jsonl("t", tmp),
    "export_parquet": lambda app, tmp="x.parquet": app.export_parquet("t", tmp),
    "run_query": lambda app: app.run_query("total"),
    "subscribe": lambda app: app.subscribe("total"),
    "browser": lambda app: app.browser("t"),
    "form": lambda app: app.form("add"),
    "live": lambda app: app.live("total"),
    "watch": lambda app: app.watch("total", {}, print),
}


@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
def test_every_call_on_a_closed_app_raises_a_clear_error(call, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app, _ = _closed_app(str(tmp_path / "c.duckdb"))
    with pytest.raises(nr.StorageError, match="this App is closed"):
        CALLS[call](app)
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "x.parquet").exists()


@pytest.mark.parametrize("durable", [True, False], ids=["file", "memory"])
def test_a_closed_app_still_has_a_repr(durable, tmp_path):
    # A notebook shows `app` after a re-run closed it: its repr used to raise StorageError.
    path = str(tmp_path / "c.duckdb") if durable else None
    app, _ = _closed_app(path)
    where = path if durable else "in memory"
    assert repr(app) == f"<nbreactive.App {where}: closed, 2 functions>"


def test_an_open_app_repr_counts_its_tables_and_functions():
    app = nr.App()
    assert repr(app) == "<nbreactive.App in memory: 0 tables, 0 functions>"

    @app.mutation()
    def add(ctx):
        return ctx.db.insert("t", {})

    add()
    assert repr(app) == "<nbreactive.App in memory: 1 table, 1 function>"
    app.close()


@pytest.mark.parametrize("durable", [True, False], ids=["file", "memory"])
def test_closing_releases_the_documents_without_a_garbage_collection(durable, tmp_path):
    gc.disable()  # what is released must be released by reference counting alone
    try:
        app = nr.App(str(tmp_path / "r.duckdb") if durable else None)
        app.import_documents("t", [{"a": k} for k in range(1000)], progress=False)
        table = weakref.ref(app._db.base.tables["t"])
        app.close()
        assert table() is None
    finally:
        gc.enable()


def test_a_closed_app_keeps_its_subscriptions_last_values_and_its_file(tmp_path):
    path = str(tmp_path / "keep.duckdb")
    _, sub = _closed_app(path)
    assert sub.value == sum(range(100))  # the last value stays readable
    with nr.App(path) as again:
        assert again.count("t") == 100
        assert again.sql("SELECT sum(a) AS s FROM t").to_pylist() == [{"s": sum(range(100))}]


def _walked_by_the_collector(obj: object) -> bool:
    """Whether full collections walk ``obj`` (frozen objects are not listed)."""
    return any(o is obj for o in gc.get_objects())


def test_loaded_and_imported_documents_stay_out_of_full_collections_until_close(
        tmp_path, monkeypatch):
    from nbreactive.storage import gcpause

    monkeypatch.setattr(gcpause, "FREEZE_MIN_DOCUMENTS", 1)  # small data, same behaviour

    path = str(tmp_path / "frozen.duckdb")
    with nr.App(path) as app:
        app.import_documents("t", [{"a": k, "tags": [k]} for k in range(50)], progress=False)
        imported = next(iter(app._db.base.tables["t"].docs.values()))
        assert not _walked_by_the_collector(imported)
    a = nr.App(path)  # loaded from the file
    b = nr.App()
    b.import_documents("u", [{"b": 1}], progress=False)
    loaded = next(iter(a._db.base.tables["t"].docs.values()))
    other = next(iter(b._db.base.tables["u"].docs.values()))
    assert not _walked_by_the_collector(loaded) and not _walked_by_the_collector(other)
    a.close()
    assert id(a._db) not in gcpause._holders and id(b._db) in gcpause._holders
    assert not _walked_by_the_collector(other)  # b still holds the freeze
    b.close()
    assert id(b._db) not in gcpause._holders
    if not gcpause._holders:  # no App of another test left open in this process
        assert gc.get_freeze_count() == 0


def test_documents_written_by_mutations_are_collected_normally(tmp_path):
    with nr.App(str(tmp_path / "w.duckdb")) as app:

        @app.mutation()
        def add(ctx):
            return ctx.db.insert("t", {"xs": [1]})

        doc_id = add()
        assert _walked_by_the_collector(app._db.base.tables["t"].docs[doc_id])


def test_small_imports_freeze_nothing():
    from nbreactive.storage import gcpause

    with nr.App() as app:
        app.import_documents("t", [{"a": 1, "xs": [1]}], progress=False)
        assert id(app._db) not in gcpause._holders
        assert _walked_by_the_collector(next(iter(app._db.base.tables["t"].docs.values())))
