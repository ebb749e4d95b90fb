"""Opening a DuckDB file: what nbreactive accepts, what it refuses, and how it says so.

nbreactive opens a new path, an empty DuckDB file, or a file it created (one
with ``_nr_meta``). A DuckDB file with tables of its own is refused untouched; a
table added to an nbreactive file by hand is readable with ``app.sql`` but never
written to nor dropped. A file that cannot be opened or read (damaged, not a
DuckDB file, locked) raises ``StorageError`` saying what to do, and leaves no
connection behind.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import nbreactive as nr
from nbreactive import v


def _register(app: nr.App) -> None:
    @app.mutation
    def put(ctx, table, doc):
        return ctx.db.insert(table, doc)


def _foreign_file(path: Path, table: str = "t") -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(f"CREATE TABLE {table} (a INTEGER)")
        con.execute(f"INSERT INTO {table} VALUES (1), (2)")
    finally:
        con.close()


def _rows(path: Path, table: str = "t") -> list[tuple[int]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"SELECT a FROM {table} ORDER BY a").fetchall()
    finally:
        con.close()


def _table_names(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()


# ---------------------------------------------------------------------------
# files nbreactive did not create
# ---------------------------------------------------------------------------


def test_a_duckdb_file_with_tables_of_its_own_is_refused_untouched(tmp_path):
    """Such a file was once opened silently (``_nr_meta`` added, the tables ignored);
    writing to one of them then failed with an Appender error, and ``set_schema``
    naming it dropped the user's rows."""
    path = tmp_path / "theirs.duckdb"
    _foreign_file(path)
    with pytest.raises(nr.StorageError, match="did not create") as info:
        nr.App(path)
    message = str(info.value)
    assert str(path) in message and "import_documents" in message
    assert _table_names(path) == {"t"}  # no _nr_meta added
    assert _rows(path) == [(1,), (2,)]


def test_the_refusal_suggests_a_recipe_that_works(tmp_path):
    path = tmp_path / "theirs.duckdb"
    _foreign_file(path)
    with nr.App(tmp_path / "ours.duckdb") as app:
        rows = duckdb.connect(str(path), read_only=True).sql("SELECT * FROM t").to_arrow_table()
        assert app.import_documents("t", rows) == 2
        assert app.sql("SELECT (_doc->>'a')::INT AS a FROM t ORDER BY a").to_pylist() == [{"a": 1}, {"a": 2}]


def test_an_empty_duckdb_file_opens(tmp_path):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with nr.App(path) as app:
        _register(app)
        app.run_mutation("put", {"table": "t", "doc": {"x": 1.0}})
    with nr.App(path) as again:
        assert again.count("t") == 1


@pytest.fixture
def file_with_a_foreign_table(tmp_path: Path) -> Path:
    """An nbreactive file to which a table ``T`` was added with DuckDB directly."""
    path = tmp_path / "mixed.duckdb"
    with nr.App(path) as app:
        _register(app)
        app.run_mutation("put", {"table": "mine", "doc": {"x": 1}})
    _foreign_file(path, "T")
    return path


# Every way nbreactive could write to ``t`` (DuckDB table names are case-insensitive,
# so ``t`` is the foreign ``T``).
FOREIGN_WRITES = [
    ("mutation", lambda app: app.run_mutation("put", {"table": "t", "doc": {"x": 1.0}})),
    ("set_schema", lambda app: app.set_schema(nr.define_schema({
        "mine": nr.define_table({"x": v.int64()}), "t": nr.define_table({"x": v.float64()}),
    }))),
    ("import", lambda app: app.import_documents("t", [{"x": 1.0}])),
]


@pytest.mark.parametrize("write", [c[1] for c in FOREIGN_WRITES], ids=[c[0] for c in FOREIGN_WRITES])
def test_a_table_nbreactive_did_not_create_is_never_written_nor_dropped(file_with_a_foreign_table, write):
    path = file_with_a_foreign_table
    with nr.App(path) as app:
        _register(app)
        assert app.sql("SELECT a FROM T ORDER BY a").column("a").to_pylist() == [1, 2]
        with pytest.raises(nr.StorageError, match="not created by nbreactive") as info:
            write(app)
        assert "another table name" in str(info.value)
        # refused before anything was written or allocated (not by the DuckDB flush,
        # which would fail every mutation of the batch)
        assert "t" not in app.tables() and "t" not in app._db.table_numbers
        # a second try, then a set_schema naming the table: still refused
        with pytest.raises(nr.StorageError):
            write(app)
        with pytest.raises(nr.StorageError):
            app.set_schema(nr.define_schema({
                "mine": nr.define_table({"x": v.int64()}), "t": nr.define_table({"x": v.float64()}),
            }))
        # the rest of the file is as writable as ever
        app.run_mutation("put", {"table": "other", "doc": {"x": 2}})
    assert _rows(path, "T") == [(1,), (2,)]
    with nr.App(path) as again:  # the foreign table did not enter the table registry
        assert (again.count("mine"), again.count("other"), again.count("t")) == (1, 1, 0)
        assert again.sql("SELECT count(*) AS n FROM T").to_pylist() == [{"n": 2}]
    assert _rows(path, "T") == [(1,), (2,)]


# ---------------------------------------------------------------------------
# files that cannot be opened or read
# ---------------------------------------------------------------------------


def test_opening_a_truncated_file_raises_storage_error(tmp_path):
    """A truncated file opens at the DuckDB level, then the first read raised a raw
    ``duckdb.IOException`` and left the connection open."""
    path = tmp_path / "trunc.duckdb"
    with nr.App(path) as app:
        _register(app)
        for k in range(10):
            app.run_mutation("put", {"table": "t", "doc": {"k": k}})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    for _ in range(2):  # the same error again: nothing of the first attempt is left open
        with pytest.raises(nr.StorageError, match="damaged") as info:
            nr.App(path)
        assert str(path) in str(info.value) and "backup" in str(info.value)
    assert path.read_bytes() == data[: len(data) // 3]  # nothing written to it
    path.write_bytes(data)  # restored: it opens, and reads the restored bytes
    with nr.App(path) as again:
        assert again.count("t") == 10


BAD_FILES = [
    ("empty file", b"", "not a DuckDB database"),
    ("not a DuckDB file", b"hello, world\n" * 100, "not a DuckDB database"),
]


@pytest.mark.parametrize(("data", "match"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_opening_a_file_that_is_not_a_duckdb_database_raises_storage_error(tmp_path, data, match):
    path = tmp_path / "bad.duckdb"
    path.write_bytes(data)
    with pytest.raises(nr.StorageError, match=match):
        nr.App(path)
    assert path.read_bytes() == data


def test_opening_a_path_in_a_missing_directory_raises_storage_error(tmp_path):
    with pytest.raises(nr.StorageError, match="Create the directory"):
        nr.App(tmp_path / "nowhere" / "x.duckdb")


def test_opening_a_directory_says_it_is_a_directory(tmp_path):
    """A directory was reported as a file that "may be damaged (truncated by a full
    disk or a crash ...)": it is a directory, and a file inside it would do."""
    folder = tmp_path / "data"
    folder.mkdir()
    with pytest.raises(nr.StorageError) as info:
        nr.App(folder)
    assert "is a directory" in str(info.value)
    assert f"nr.App('{folder / 'app.duckdb'}')" in str(info.value)
    assert "damaged" not in str(info.value)
    assert list(folder.iterdir()) == []


def test_a_bytes_path_opens_like_a_str_path(tmp_path):
    """os.fspath keeps bytes, which DuckDB refuses: the error blamed a damaged file."""
    path = tmp_path / "b.duckdb"
    with nr.App(bytes(path)) as app:
        assert app.path == str(path)
        _register(app)
        app.run_mutation("put", {"table": "t", "doc": {"k": 1}})
    with nr.App(path) as again:
        assert again.count("t") == 1


@pytest.mark.parametrize("path", [":memory:", ""], ids=["memory", "empty"])
def test_duckdbs_in_memory_names_make_in_memory_apps(path, tmp_path, monkeypatch, recwarn):
    """DuckDB opens ":memory:" (and "") in memory, but nbreactive took it for a file
    path: a second nr.App(":memory:") closed the first, warning that the "file" was
    still open, and its repr read "<nbreactive.App :memory:: ...>"."""
    monkeypatch.chdir(tmp_path)
    first = nr.App(path)
    _register(first)
    first.run_mutation("put", {"table": "t", "doc": {"k": 1}})
    second = nr.App(path)
    assert first.count("t") == 1  # still open: two in-memory apps are independent
    assert second.count("t") == 0
    assert first.path is None and repr(first).startswith("<nbreactive.App in memory: 1 table")
    assert not [w for w in recwarn.list if "still open" in str(w.message)]
    first.close()
    second.close()
    assert list(tmp_path.iterdir()) == []


def test_opening_a_file_another_process_holds_raises_storage_error(tmp_path):
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(nr.StorageError, match="another process"):
            nr.App(path)
    finally:
        holder.communicate(timeout=30)


# -- files written by an earlier version ---------------------------------------

_OLD_COMMIT = "a1a0748"  # stored schema_validation=False tables with typed columns

# Shared by the old version's process and this one: documents with the type of every
# value, so that 3 and 3.0, or an Id and a str, do not compare equal.
_TYPED_SOURCE = '''
def typed(x):
    if isinstance(x, dict):
        return {k: typed(y) for k, y in sorted(x.items())}
    if isinstance(x, list):
        return [typed(y) for y in x]
    return [type(x).__name__, x if isinstance(x, (bool, int, float)) or x is None else str(x)]
'''
_TYPED: dict = {}
exec(_TYPED_SOURCE, _TYPED)

_OLD_WRITER = _TYPED_SOURCE + '''
import json, sys
import nbreactive as nr
from nbreactive import v
app = nr.App(sys.argv[1])
app.set_schema(nr.define_schema({
    "users": nr.define_table({"name": v.string()}),
    "items": nr.define_table({
        "name": v.string(), "price": v.number(), "owner": v.id("users"),
        "tags": v.array(v.string()), "note": v.optional(v.string()),
    }).index("by_price", ["price"]),
}, schema_validation=False))

@app.mutation
def seed(ctx):
    ann = ctx.db.insert("users", {"name": "ann"})
    for name, price in [("a", 3), ("b", 5), ("c", 1.5)]:
        ctx.db.insert("items", {"name": name, "price": price, "owner": ann, "tags": [name]})
    ctx.db.insert("items", {"name": "d", "price": 2.0, "owner": ann, "tags": [], "note": "x"})

@app.query
def everything(ctx):
    return {t: ctx.db.query(t).collect() for t in ("users", "items")}

seed()
print(json.dumps(typed(everything())))
app.close()
'''


def _old_version(tmp_path: Path) -> Path:
    """The source tree of ``_OLD_COMMIT``, extracted into ``tmp_path`` (or skip)."""
    import io
    import shutil
    import tarfile

    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None:
        pytest.skip("git is not installed: cannot build the old version's tree")
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", _OLD_COMMIT],
            capture_output=True, check=True, timeout=60,
        ).stdout
    except (subprocess.SubprocessError, OSError) as e:
        pytest.skip(f"commit {_OLD_COMMIT} is not available in {root} ({e})")
    old = tmp_path / "old"
    old.mkdir()
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        tar.extractall(old, filter="data")
    return old


def _write_with_old_version(tmp_path: Path, path: Path) -> dict:
    import json
    import os

    old = _old_version(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(old)}
    result = subprocess.run(
        [sys.executable, "-c", _OLD_WRITER, str(path)],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _everything(app: nr.App) -> dict:
    @app.query
    def everything(ctx):
        return {t: ctx.db.query(t).collect() for t in ("users", "items")}

    return _TYPED["typed"](everything())


def test_a_validation_off_table_typed_by_the_previous_version_is_migrated(tmp_path):
    path = tmp_path / "f.duckdb"
    before = _write_with_old_version(tmp_path, path)
    assert duckdb.connect(str(path), read_only=True).sql(
        "SELECT column_name FROM (DESCRIBE items)").fetchall()[2] == ("name",)  # typed

    app = nr.App(str(path))
    try:
        assert _everything(app) == before
        columns = app.sql("SELECT column_name FROM (DESCRIBE items)").to_pydict()
        assert columns["column_name"] == ["_id", "_creationTime", "_doc"]
        rows = app.sql(
            "SELECT _doc->>'name' AS name FROM items "
            "ORDER BY CAST(_doc->>'price' AS DOUBLE)").to_pydict()
        assert rows["name"] == ["c", "d", "a", "b"]

        @app.query
        def cheap(ctx):
            return [d["name"] for d in ctx.db.query("items")
                    .with_index("by_price", lambda q: q.lt("price", 4)).collect()]

        assert cheap() == ["c", "d", "a"]
    finally:
        app.close()

    app = nr.App(str(path))  # the migration was stored: it opens again as it is
    try:
        assert _everything(app) == before
        assert app.sql("SELECT count(*) AS n FROM items").to_pydict()["n"] == [4]
    finally:
        app.close()


def test_a_table_whose_columns_match_no_known_layout_is_refused_saying_so(tmp_path):
    path = tmp_path / "f.duckdb"
    app = nr.App(str(path))
    app.set_schema(nr.define_schema({"t": nr.define_table({"a": v.string()})}))
    _register(app)
    app.run_mutation("put", {"table": "t", "doc": {"a": "x"}})
    app.close()
    con = duckdb.connect(str(path))
    con.execute('ALTER TABLE t ADD COLUMN "junk" INTEGER')
    con.close()
    with pytest.raises(nr.StorageError, match=r'stored columns of table "t" .* do not match') as e:
        nr.App(str(path))
    assert "damaged" not in str(e.value)
