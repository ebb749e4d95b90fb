"""Bulk paths beyond the storage round trip: ``app.import_documents`` with the inputs
users hand it (pandas frames of every kind of column, Arrow record batches and streams,
things that are not rows at all) and exports to paths that cannot be written.

(Import validation, atomicity and the typed round trip are in ``test_storage_roundtrip.py``.)
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

import nbreactive as nr
from nbreactive import v

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")


def _imported(rows: Any, schema: nr.define_schema | None = None) -> list[dict[str, Any]]:
    """The user fields of the documents an import of ``rows`` into "t" stored."""
    with nr.App() as app:
        if schema is not None:
            app.set_schema(schema)
        app.import_documents("t", rows)

        @app.query
        def everything(ctx):
            return ctx.db.query("t").collect()

        return [{k: x for k, x in d.items() if not k.startswith("_")} for d in everything()]


# ---------------------------------------------------------------------------
# pandas object columns hold Python values: they are imported as given
# ---------------------------------------------------------------------------


def test_a_dataframe_column_of_dicts_keeps_each_dict_as_it_is():
    # Through Arrow, a column of dicts became a struct column: every dict got the keys
    # of all the others, set to null ({} came back as {"x": None}).
    frame = pd.DataFrame({"k": [1, 2, 3], "meta": [{"x": 1}, {}, {"y": "b", "z": [{"w": 1}, {}]}]})
    assert _imported(frame) == [
        {"k": 1, "meta": {"x": 1}},
        {"k": 2, "meta": {}},
        {"k": 3, "meta": {"y": "b", "z": [{"w": 1}, {}]}},
    ]


def test_a_dataframe_column_of_lists_of_dicts_keeps_each_dict_as_it_is():
    frame = pd.DataFrame({"items": [[{"sku": "a"}, {"sku": "b", "qty": 2}], []]})
    assert _imported(frame) == [{"items": [{"sku": "a"}, {"sku": "b", "qty": 2}]}, {"items": []}]


def test_a_dataframe_object_column_may_mix_types_like_any_convex_field():
    # Arrow cannot type such a column: the import raised pyarrow's ArrowInvalid.
    frame = pd.DataFrame({"value": [1, "two", 3.5, [4], b"\x05", True]})
    got = [d["value"] for d in _imported(frame)]
    assert got == [1, "two", 3.5, [4], b"\x05", True]
    assert [type(x) for x in got] == [int, str, float, list, bytes, bool]


def test_missing_values_of_dataframe_object_columns_are_missing_fields():
    frame = pd.DataFrame({"a": ["x", None, np.nan, pd.NA, pd.NaT, {"n": None}]})
    assert _imported(frame) == [{"a": "x"}, {}, {}, {}, {}, {"a": {"n": None}}]


def test_numpy_values_inside_dataframe_object_columns_become_python_values():
    frame = pd.DataFrame(
        {"a": [np.array([1, 2]), {"f": np.float64(0.5), "i": np.int64(3)}, np.str_("s"), np.bool_(False)]}
    )
    got = [d["a"] for d in _imported(frame)]
    assert got == [[1, 2], {"f": 0.5, "i": 3}, "s", False]
    assert type(got[1]["i"]) is int and type(got[3]) is bool


def test_dataframe_object_columns_are_validated_against_the_schema():
    schema = nr.define_schema(
        {"t": nr.define_table({"meta": v.object({"x": v.optional(v.int64())}), "n": v.int64()})}
    )
    frame = pd.DataFrame({"meta": [{"x": 1}, {}], "n": [1, 2]})
    assert _imported(frame, schema) == [{"meta": {"x": 1}, "n": 1}, {"meta": {}, "n": 2}]
    with nr.App() as app:
        app.set_schema(schema)
        with pytest.raises(nr.BulkImportError) as info:
            app.import_documents("t", pd.DataFrame({"meta": [{"x": "no"}], "n": [1]}))
        assert [n for n, _ in info.value.problems] == [0]
        assert app.count("t") == 0


def test_typed_dataframe_columns_still_import_through_arrow():
    frame = pd.DataFrame(
        {
            "s": ["a", None],
            "i": pd.array([1, None], dtype="Int64"),
            "f": [0.5, np.nan],
            "b": pd.array([True, None], dtype="boolean"),
            "c": pd.Categorical(["u", "w"]),
        }
    )
    got = _imported(frame)
    assert got == [{"s": "a", "i": 1, "f": 0.5, "b": True, "c": "u"}, {"c": "w"}]
    assert type(got[0]["i"]) is int and type(got[0]["f"]) is float


def test_a_dataframe_with_duplicate_column_names_is_refused_with_their_names():
    frame = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with nr.App() as app, pytest.raises(nr.BulkImportError, match=r"column names.*'a'"):
        app.import_documents("t", frame)


# ---------------------------------------------------------------------------
# other inputs
# ---------------------------------------------------------------------------


def test_arrow_record_batches_and_streams_import_like_tables():
    batch = pa.record_batch({"a": [1, 2], "s": ["x", None]})
    reader = pa.RecordBatchReader.from_batches(batch.schema, [batch, batch])
    assert _imported(batch) == [{"a": 1, "s": "x"}, {"a": 2}]
    assert _imported(reader) == [{"a": 1, "s": "x"}, {"a": 2}] * 2


def test_objects_offering_an_arrow_stream_import_like_tables():
    class Frame:  # as polars and DuckDB results do: the Arrow PyCapsule interface
        def __init__(self, table: pa.Table) -> None:
            self.table = table

        def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
            return self.table.__arrow_c_stream__(requested_schema)

    assert _imported(Frame(pa.table({"a": [7]}))) == [{"a": 7}]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (None, "got None"),
        ("people.csv", "got a str"),
        (42, "got an int"),
        (pa.array([1, 2]), "got a pyarrow Int64Array"),
    ],
    ids=["None", "a path", "a number", "an arrow array"],
)
def test_inputs_that_are_not_rows_are_refused_saying_what_is_accepted(rows, expected):
    with nr.App() as app:
        with pytest.raises(nr.BulkImportError) as info:
            app.import_documents("t", rows)
        message = str(info.value)
        assert expected in message
        assert "a list of dicts, a pyarrow.Table or a pandas DataFrame" in message
        assert app.tables() == []


def test_a_pandas_series_is_refused_with_a_hint():
    with nr.App() as app, pytest.raises(nr.BulkImportError, match=r"to_frame\(\)"):
        app.import_documents("t", pd.Series([1, 2], name="a"))


def test_pandas_timestamps_in_an_object_column_are_refused_with_the_datetime_hint():
    # A column of timestamps with different time zones stays an object column.
    stamps = [pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-01", tz="Asia/Tokyo")]
    with nr.App() as app, pytest.raises(nr.BulkImportError) as info:
        app.import_documents("t", pd.DataFrame({"at": stamps}))
    assert "Timestamp is not a Convex value" in str(info.value)
    assert "value.timestamp() * 1000" in str(info.value)


# ---------------------------------------------------------------------------
# exports to paths that cannot be written
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("export", ["export_parquet", "export_jsonl"])
def test_exports_into_a_missing_directory_raise_file_not_found(tmp_path, export):
    # export_parquet raised DuckDB's IOException, which is not an OSError.
    target = tmp_path / "no" / "such" / "dir" / "out"
    with nr.App() as app:
        app.import_documents("t", [{"a": 1}])
        with pytest.raises(FileNotFoundError) as info:
            getattr(app, export)("t", target)
        assert str(target.parent) in str(info.value)
        assert not target.parent.exists()


@pytest.mark.parametrize("export", ["export_parquet", "export_jsonl"])
def test_exports_onto_a_directory_raise_an_os_error(tmp_path, export):
    with nr.App() as app:
        app.import_documents("t", [{"a": 1}])
        with pytest.raises(IsADirectoryError):
            getattr(app, export)("t", tmp_path)


@pytest.mark.parametrize("export", ["export_parquet", "export_jsonl"])
def test_exports_replace_an_existing_file(tmp_path, export):
    target = tmp_path / "out"
    target.write_bytes(b"old contents " * 1000)
    with nr.App() as app:
        app.import_documents("t", [{"a": 1}, {"a": 2}])
        assert getattr(app, export)("t", target) == 2
    if export == "export_parquet":
        import pyarrow.parquet as pq

        assert pq.read_table(target).num_rows == 2
    assert b"old contents" not in target.read_bytes()


def test_an_int_column_that_pandas_made_float_gets_a_hint_to_use_nullable_ints():
    # read_csv of an int column with empty cells gives float64 (1.0, NaN): every row
    # failed with "expected v.int64(), got 1.0 (float64)" and nothing said why.
    schema = nr.define_schema({"t": nr.define_table({"name": v.string(), "age": v.optional(v.int64())})})
    frame = pd.DataFrame({"name": ["a", "b", "c"], "age": [30, None, 41]})
    assert str(frame["age"].dtype) == "float64"
    with nr.App() as app:
        app.set_schema(schema)
        with pytest.raises(nr.BulkImportError) as info:
            app.import_documents("t", frame)
        message = str(info.value)
        assert [n for n, _ in info.value.problems] == [0, 2]
        assert "column 'age'" in message and "float64" in message
        assert "astype({'age': 'Int64'})" in message
        assert app.count("t") == 0
        # and the hint's advice works
        assert app.import_documents("t", frame.astype({"age": "Int64"})) == 3
