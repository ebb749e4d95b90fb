"""Odd NaNs (a sign bit or a payload) in DOUBLE columns are kept exact through the
internal ``_nr_exact`` side table, not through a column of the user's tables.

DuckDB's checkpoint may turn such a NaN into the canonical one; every write path
keeps the side table in step with the rows, in the same transaction, so documents
read back bit for bit after close and reopen (``close`` checkpoints). An ordinary
batch of inserts still takes the Appender fast path, touching nothing else.
"""

from __future__ import annotations

import logging
import struct
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

import nbreactive as nr
from nbreactive import v
from nbreactive.values import stored

NEG_NAN = struct.unpack("<d", struct.pack("<Q", 0xFFF8_0000_0000_0000))[0]
PAYLOAD_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_1234))[0]
ODD = [pytest.param(NEG_NAN, id="negative-NaN"), pytest.param(PAYLOAD_NAN, id="NaN-payload")]

FIELDS = {"a": v.int64(), "x": v.float64(), "y": v.optional(v.float64())}
SCHEMA = nr.define_schema({"u": nr.define_table(FIELDS)})


def _bits(x: Any) -> Any:
    return hex(struct.unpack("<Q", struct.pack("<d", x))[0]) if isinstance(x, float) else x


def _register(app: nr.App) -> None:
    @app.mutation
    def put(ctx, docs):
        return [ctx.db.insert("u", d) for d in docs]

    @app.mutation
    def patch(ctx, id, fields):
        ctx.db.patch(id, fields)

    @app.mutation
    def replace(ctx, id, doc):
        ctx.db.replace(id, doc)

    @app.mutation
    def delete(ctx, id):
        ctx.db.delete(id)

    @app.query
    def everything(ctx):
        return ctx.db.query("u").collect()


def _state(app: nr.App) -> dict[str, dict[str, Any]]:
    """Every document of ``u`` by id, floats as their bit patterns."""
    return {
        str(d["_id"]): {k: _bits(x) for k, x in d.items() if k not in ("_id", "_creationTime")}
        for d in app.run_query("everything", {})
    }


def _side(app: nr.App) -> dict[str, dict[str, Any]]:
    """The side table's rows of ``u``, by id, decoded, floats as bit patterns."""
    rows = app.sql("SELECT _id, fields FROM _nr_exact WHERE table_name = 'u'").to_pylist()
    return {r["_id"]: {k: _bits(x) for k, x in stored.loads(r["fields"]).items()} for r in rows}


def _check(app: nr.App, expected: dict[str, dict[str, Any]]) -> None:
    assert _state(app) == expected
    # The side table holds exactly the odd NaNs of the documents, and the store's
    # in-memory set of ids with side rows agrees with it.
    odd = {
        i: {k: b for k, b in body.items() if isinstance(b, str) and b in (_bits(NEG_NAN), _bits(PAYLOAD_NAN))}
        for i, body in expected.items()
    }
    assert _side(app) == {i: f for i, f in odd.items() if f}
    assert app._db.store.exact_ids.get("u", set()) == {i for i, f in odd.items() if f}
    assert app.sql("SELECT * FROM u").column_names == ["_id", "_creationTime", "a", "x", "y"]


def _reopen(path: Path, expected: dict[str, dict[str, Any]]) -> None:
    with nr.App(path) as again:
        _register(again)
        _check(again, expected)


@pytest.mark.parametrize("odd", ODD)
def test_odd_nans_survive_every_write_and_reopen(tmp_path: Path, odd: float) -> None:
    path = tmp_path / "odd.duckdb"
    b = _bits(odd)
    with nr.App(path) as app:
        app.set_schema(SCHEMA)
        _register(app)
        plain, one, two = app.run_mutation("put", {"docs": [
            {"a": 1, "x": 1.5}, {"a": 2, "x": odd}, {"a": 3, "x": odd, "y": odd},
        ]})
        expected = {
            str(plain): {"a": 1, "x": _bits(1.5)},
            str(one): {"a": 2, "x": b},
            str(two): {"a": 3, "x": b, "y": b},
        }
        _check(app, expected)
    _reopen(path, expected)
    with nr.App(path) as app:
        _register(app)
        # An ordinary document gets an odd NaN; one loses its odd NaN to an ordinary
        # value; one keeps one of two.
        app.run_mutation("patch", {"id": plain, "fields": {"y": odd}})
        app.run_mutation("replace", {"id": one, "doc": {"a": 2, "x": 2.5}})
        app.run_mutation("patch", {"id": two, "fields": {"x": 0.0}})
        expected[str(plain)]["y"] = b
        expected[str(one)] = {"a": 2, "x": _bits(2.5)}
        expected[str(two)]["x"] = _bits(0.0)
        _check(app, expected)
    _reopen(path, expected)
    with nr.App(path) as app:
        _register(app)
        app.run_mutation("delete", {"id": two})
        del expected[str(two)]
        # Replacing a document that has a side row by one with another odd NaN.
        app.run_mutation("replace", {"id": plain, "doc": {"a": 1, "x": odd}})
        expected[str(plain)] = {"a": 1, "x": b}
        app.import_documents("u", [{"a": 10, "x": odd}, {"a": 11, "x": 3.5}], progress=False)
        for i, d in _state(app).items():
            if d["a"] in (10, 11):
                expected[i] = d
        assert sorted(d["x"] for d in expected.values() if d["a"] >= 10) == sorted([b, _bits(3.5)])
        _check(app, expected)
    _reopen(path, expected)
    with nr.App(path) as app:
        _register(app)
        # A schema change that rewrites the table (a new column), then one that stores
        # it as JSON (no side rows: JSON keeps NaNs exact), then typed columns again.
        wider = {**FIELDS, "z": v.optional(v.string())}
        app.set_schema(nr.define_schema({"u": nr.define_table(wider)}))
        assert _state(app) == expected
        assert app._db.store.exact_ids["u"] == {i for i, d in expected.items() if b in d.values()}
        app.set_schema(nr.define_schema({"u": nr.define_table(FIELDS)}, schema_validation=False))
        assert app._db.store.exact_ids.get("u") is None
        assert app.sql("SELECT count(*) AS n FROM _nr_exact").to_pylist() == [{"n": 0}]
        app.set_schema(SCHEMA)
        _check(app, expected)
    _reopen(path, expected)


class _Recorder:
    """Stands in for the writer connection: records every statement it runs."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self.statements: list[str] = []

    def execute(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return self._con.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return self._con.executemany(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def test_ordinary_batches_never_touch_the_side_table(tmp_path: Path) -> None:
    with nr.App(tmp_path / "fast.duckdb") as app:
        app.set_schema(SCHEMA)
        _register(app)
        [first] = app.run_mutation("put", {"docs": [{"a": 0, "x": 0.5}]})  # the table exists
        store = app._db.store
        real_con = store.con
        recorder = _Recorder(real_con)
        store.con = recorder
        try:
            # Inserts into one table: the Appender alone, no statement at all (no BEGIN).
            app.run_mutation("put", {"docs": [{"a": 1, "x": 1.5}, {"a": 2, "x": float("nan")}]})
            assert recorder.statements == []
            # An update of a document without side rows: no side-table statement.
            app.run_mutation("patch", {"id": first, "fields": {"x": 2.5}})
            assert recorder.statements and not any("_nr_exact" in s for s in recorder.statements)
            recorder.statements.clear()
            # An insert with an odd NaN takes the transaction path and writes a side row.
            [odd] = app.run_mutation("put", {"docs": [{"a": 3, "x": NEG_NAN}]})
            assert recorder.statements[0] == "BEGIN TRANSACTION"
            assert any(s.startswith("INSERT INTO _nr_exact") for s in recorder.statements)
            recorder.statements.clear()
            # Updating that document removes its side row.
            app.run_mutation("patch", {"id": odd, "fields": {"x": 1.0}})
            assert any(s.startswith("DELETE FROM _nr_exact") for s in recorder.statements)
        finally:
            store.con = real_con
        assert _side(app) == {}


def test_the_side_table_is_internal(tmp_path: Path) -> None:
    path = tmp_path / "internal.duckdb"
    with nr.App(path) as app:
        app.set_schema(SCHEMA)
        _register(app)
        app.run_mutation("put", {"docs": [{"a": 1, "x": PAYLOAD_NAN}]})
        assert app.tables() == ["u"]
        assert "_nr_exact" not in app._db.store.tables
        assert app.sql("SELECT count(*) AS n FROM _nr_exact").to_pylist() == [{"n": 1}]
    with nr.App(path) as again:
        store = again._db.store
        assert again.tables() == ["u"]
        assert "_nr_exact" not in store.tables and "_nr_exact" not in store._foreign.values()
        store.refuse_foreign(["_nr_exact"])  # not a foreign table either: no error


def test_a_failed_in_memory_flush_rewrites_the_side_table_from_memory() -> None:
    app = nr.App()
    try:
        app.set_schema(SCHEMA)
        _register(app)
        [keep] = app.run_mutation("put", {"docs": [{"a": 1, "x": NEG_NAN}]})
        store = app._db.store
        real_apply = store.apply_batch
        failed = threading.Event()

        def failing_apply(changes: Any, meta: Any) -> None:
            if not failed.is_set():
                failed.set()
                raise OSError("disk full (injected)")
            real_apply(changes, meta)

        store.apply_batch = failing_apply  # type: ignore[method-assign]
        # The batch is published in memory, fails in DuckDB, and the table (rows and
        # side rows) is rewritten from the working set.
        [new] = app.run_mutation("put", {"docs": [{"a": 2, "x": PAYLOAD_NAN}]})
        app._db.drain()
        assert failed.is_set()
        store.apply_batch = real_apply  # type: ignore[method-assign]
        _check(app, {str(keep): {"a": 1, "x": _bits(NEG_NAN)},
                     str(new): {"a": 2, "x": _bits(PAYLOAD_NAN)}})
    finally:
        app.close()


def _make_old_layout(path: Path, odd: float) -> dict[str, dict[str, Any]]:
    """A file as the previous version wrote it: every typed table ends in an
    ``_nr_exact`` JSON column holding the odd NaNs, and there is no side table. The
    DOUBLE column holds the canonical NaN, as after a checkpoint that lost the bits."""
    with nr.App(path) as app:
        app.set_schema(SCHEMA)
        _register(app)
        plain, odd_id = app.run_mutation("put", {"docs": [{"a": 1, "x": 1.5}, {"a": 2, "x": odd, "y": 0.5}]})
    con = duckdb.connect(str(path))
    try:
        con.execute("DROP TABLE _nr_exact")
        con.execute('ALTER TABLE u ADD COLUMN "_nr_exact" JSON')
        con.execute('UPDATE u SET x = ?, "_nr_exact" = ? WHERE _id = ?',
                    [float("nan"), stored.dumps({"x": odd}), str(odd_id)])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return {str(plain): {"a": 1, "x": _bits(1.5)}, str(odd_id): {"a": 2, "x": _bits(odd), "y": _bits(0.5)}}


@pytest.mark.parametrize("odd", ODD)
def test_a_file_of_the_previous_layout_migrates_once(tmp_path: Path, odd: float, caplog) -> None:
    path = tmp_path / "old.duckdb"
    expected = _make_old_layout(path, odd)
    con = duckdb.connect(str(path))
    try:
        columns = [r[0] for r in con.execute("DESCRIBE u").fetchall()]
    finally:
        con.close()
    assert columns == ["_id", "_creationTime", "a", "x", "y", "_nr_exact"]
    with caplog.at_level(logging.INFO, logger="nbreactive"), nr.App(path) as app:
        _register(app)
        _check(app, expected)  # also: SELECT * has no _nr_exact column any more
    assert sum("rewriting tables u" in r.getMessage() for r in caplog.records) == 1
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="nbreactive"):
        _reopen(path, expected)
    assert not any("rewriting tables" in r.getMessage() for r in caplog.records)


def test_a_large_import_of_odd_nans_survives_reopen(tmp_path: Path) -> None:
    # More side rows than the statement-per-row path takes: written through Arrow.
    path = tmp_path / "import.duckdb"
    with nr.App(path) as app:
        app.set_schema(SCHEMA)
        _register(app)
        docs = [{"a": n, "x": NEG_NAN if n % 2 else PAYLOAD_NAN, "y": 0.5} for n in range(40)]
        app.import_documents("u", [*docs, {"a": 99, "x": 1.0}], progress=False)
        expected = _state(app)
        assert len(_side(app)) == 40
    _reopen(path, expected)
