"""How a table's documents map onto DuckDB columns, and back.

Layout of every user table: ``_id VARCHAR PRIMARY KEY``, ``_creationTime DOUBLE``,
then one column per schema field:

- a field whose validator is a single scalar type (optionally ``v.optional``)
  gets a native column (VARCHAR, BIGINT, DOUBLE, BOOLEAN, BLOB); SQL NULL means
  the field is missing (the validator excludes null, so this is unambiguous);
- every other field (unions, null, literals, arrays, objects, any) is a JSON
  column in the exact stored encoding (``values.stored``): SQL NULL means missing,
  JSON ``null`` means null.

A table without a schema has a single JSON column ``_doc`` holding all user
fields. So does a table whose documents are a union of shapes, and every table
of a schema with ``schema_validation=False`` (``Database.layout_for`` decides):
nothing guarantees that its documents fit the validators (``set_schema`` checks
nothing, so a float64 field may hold the int 5, a string or an explicit null,
and a document may have fields the schema does not name), and a native column
would retype or drop such values. In SQL such a table reads like a schemaless
one (``_doc->>'name'``, ``CAST(_doc->>'n' AS BIGINT)``); setting the schema
with validation on checks every document and brings the typed columns back.

Every column round-trips its values exactly, so these columns are the
truth, not a lossy copy. One exception needs help: DuckDB keeps -0.0 and NaN
payloads in DOUBLE, but its checkpoint compression may turn a NaN with a sign
or payload (an "odd NaN") into the canonical NaN. Such values are therefore also
written to the internal side table ``_nr_exact`` (``EXACT_TABLE``: the table's
name, the ``_id``, and a JSON object of field -> exact value, one row per
document holding an odd NaN in a DOUBLE column; ``DuckDBStore`` keeps it in step
with the rows), whose values win on load. User tables hold no column of their
own for it. (Files of earlier versions kept these values in a trailing
``_nr_exact`` JSON column of each typed table: ``TableLayout(...,
legacy_exact=True)`` reads such a table, and opening the file moves them.)
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbreactive.errors import ValidationError
from nbreactive.values import stored
from nbreactive.values.compound_validators import ids_need_resolving
from nbreactive.values.model import Id

if TYPE_CHECKING:
    import pyarrow as pa

    from nbreactive.values.validator_base import ResolveId
    from nbreactive.values.validators import Validator

__all__ = ["EXACT_TABLE", "ColumnSpec", "ExactRow", "TableLayout", "quote"]

Doc = dict[str, Any]

_NATIVE_SQL = {
    "string": "VARCHAR",
    "id": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "boolean": "BOOLEAN",
    "bytes": "BLOB",
}


_CANONICAL_NAN = struct.pack("<d", float("nan"))
_MISSING = object()
# The internal side table of exact odd-NaN values (module docstring), and the name of
# the trailing JSON column earlier versions kept them in (``legacy_exact``).
EXACT_TABLE = "_nr_exact"
EXACT = "_nr_exact"
# (_id, JSON object of field -> exact value) of one document with odd NaNs.
ExactRow = tuple[str, str]


def _odd_nan(x: float) -> bool:
    return x != x and struct.pack("<d", x) != _CANONICAL_NAN


def quote(name: str) -> str:
    """A SQL identifier in double quotes (names are identifiers already; this is belt and braces)."""
    return '"' + name.replace('"', '""') + '"'


def _contains_id(validator: Validator) -> bool:
    return '"id"' in repr(validator.to_json()).replace("'", '"')


@dataclass(frozen=True)
class ColumnSpec:
    """One stored field: its name, DuckDB type and how values are encoded."""

    field: str
    sql_type: str
    native: bool
    id_table: str | None = None  # native id columns: values come back as Id(s, table)
    revalidate: Validator | None = None  # JSON columns holding ids: restore Id objects on load


class TableLayout:
    """The column layout of one table (see the module docstring)."""

    def __init__(
        self, table: str, fields: dict[str, Validator] | None, *, legacy_exact: bool = False
    ) -> None:
        """``legacy_exact``: the layout of earlier versions, whose typed tables ended in
        an ``_nr_exact`` JSON column of odd NaNs (read only, to migrate such files)."""
        self.table = table
        self.legacy_exact = legacy_exact and fields is not None
        self.schemaless = fields is None
        cols: list[ColumnSpec] = []
        if fields is None:
            cols.append(ColumnSpec("_doc", "JSON", native=False))
        else:
            for name, validator in fields.items():
                kind = validator.scalar_kind
                if kind is not None:
                    id_table = _id_table(validator) if kind == "id" else None
                    cols.append(ColumnSpec(name, _NATIVE_SQL[kind], True, id_table))
                else:
                    reval = validator if _contains_id(validator) else None
                    cols.append(ColumnSpec(name, "JSON", False, None, reval))
        if fields is not None and legacy_exact:
            cols.append(ColumnSpec(EXACT, "JSON", native=False))
        self.columns = tuple(cols)
        self.column_names = ("_id", "_creationTime", *(c.field for c in cols))
        self._float_fields = tuple(c.field for c in cols if c.sql_type == "DOUBLE")

    def signature(self) -> tuple[tuple[str, str], ...]:
        """Changes exactly when the physical table must be rebuilt."""
        return tuple((c.field, c.sql_type) for c in self.columns)

    def stored_columns(self) -> tuple[tuple[str, str], ...]:
        """Every column of the DuckDB table, in order, as (name, DuckDB type): what
        ``DuckDBStore.stored_columns`` finds in a file written with this layout."""
        return (("_id", "VARCHAR"), ("_creationTime", "DOUBLE"), *self.signature())

    def ddl(self) -> str:
        cols = ", ".join(f"{quote(c.field)} {c.sql_type}" for c in self.columns)
        return (
            f"CREATE TABLE {quote(self.table)} "
            f'("_id" VARCHAR PRIMARY KEY, "_creationTime" DOUBLE, {cols})'
        )

    def rows(self, docs: Sequence[Doc]) -> tuple[list[tuple[Any, ...]], list[ExactRow]]:
        """The column values of each of ``docs``, in order, as DuckDB parameters, and
        the side-table rows (``ExactRow``) of those holding an odd NaN in a DOUBLE
        column (usually none). Every layout ``DuckDBStore`` writes has no legacy column."""
        if self.legacy_exact:
            raise ValueError("a legacy layout (legacy_exact=True) is for reading only")
        out: list[tuple[Any, ...]] = []
        if self.schemaless:
            for doc in docs:
                rest = {k: v for k, v in doc.items() if k != "_id" and k != "_creationTime"}
                out.append((str(doc["_id"]), doc["_creationTime"], stored.dumps(rest)))
            return out, []
        columns = self.columns
        for doc in docs:
            row: list[Any] = [str(doc["_id"]), doc["_creationTime"]]
            for c in columns:
                val = doc.get(c.field)
                if val is None and c.field not in doc:
                    row.append(None)
                elif c.native:
                    row.append(str(val) if c.id_table is not None else val)
                else:
                    row.append(stored.dumps(val))
            out.append(tuple(row))
        return out, self.exact_rows(docs)

    def exact_rows(self, docs: Sequence[Doc]) -> list[ExactRow]:
        """The side-table rows of ``docs`` (see ``rows``; also for the bulk paths)."""
        exact: list[ExactRow] = []
        floats = self._float_fields
        if self.schemaless or not floats:
            return exact
        for d in docs:
            odd = {g: d[g] for g in floats if g in d and _odd_nan(d[g])}
            if odd:
                exact.append((str(d["_id"]), stored.dumps(odd)))
        return exact

    def arrow(self, docs: list[Doc]) -> pa.Table:
        """The documents as an Arrow table with this layout's columns (bulk paths).

        Built a column at a time (one comprehension per column), which is several
        times cheaper than a tuple per row for large imports.
        """
        import pyarrow as pa

        dumps = stored.dumps
        arrays = [
            pa.array([str(d["_id"]) for d in docs], pa.string()),
            pa.array([d["_creationTime"] for d in docs], pa.float64()),
        ]
        for spec in self.columns:
            f = spec.field
            if self.schemaless:
                values: list[Any] = [
                    dumps({k: x for k, x in d.items() if k != "_id" and k != "_creationTime"})
                    for d in docs
                ]
            elif f == EXACT:
                raise ValueError("a legacy layout (legacy_exact=True) is for reading only")
            elif spec.native:
                # Native fields never hold null (their validator excludes it): None is
                # "missing", which is SQL NULL.
                values = [d.get(f) for d in docs]
                if spec.id_table is not None:
                    values = [None if x is None else str(x) for x in values]
            else:
                values = [None if (x := d.get(f, _MISSING)) is _MISSING else dumps(x) for d in docs]
            arrays.append(pa.array(values, _arrow_type(spec.sql_type)))
        return pa.table(arrays, names=list(self.column_names))

    def docs_from_arrow(
        self,
        table: pa.Table,
        resolve_id: ResolveId | None = None,
        checked: bool = False,
        exact: Iterable[ExactRow] = (),
    ) -> list[Doc]:
        """Rebuild documents from an Arrow table read back from DuckDB.

        JSON columns holding ids are validated again to turn their strings back into
        ``Id`` objects, with ``resolve_id`` (``Database.table_of_id``) so that each
        string gets the table its text names, exactly as when it was written: in
        ``v.union(v.id("users"), v.id("posts"))`` a posts id is a posts ``Id``, in
        ``v.union(v.id("users"), v.string())`` a string that is no users id stays a
        ``str``. ``checked``: every document was validated against this schema when
        written (``schema_validation`` on), so ``resolve_id`` (a decode, microseconds
        per id) is only needed where a union could choose otherwise without it
        (``ids_need_resolving``). A value that does not fit (stored with
        ``schema_validation=False``) is loaded as stored. ``exact``: the table's rows
        of the side table (``ExactRow``); their values replace the columns' ones.
        """
        ids = table.column("_id").to_pylist()
        times = table.column("_creationTime").to_pylist()
        name = self.table
        docs: list[Doc] = [
            {"_id": Id(i, name), "_creationTime": t} for i, t in zip(ids, times, strict=True)
        ]
        for spec in self.columns:
            values = table.column(spec.field).to_pylist()
            if self.schemaless:
                for d, raw in zip(docs, values, strict=True):
                    d.update(stored.loads(raw))
                continue
            f = spec.field
            if f == EXACT:
                for d, raw in zip(docs, values, strict=True):
                    if raw is not None:
                        d.update(stored.loads(raw))
                continue
            if spec.native:
                if spec.id_table is not None:
                    t = spec.id_table
                    for d, val in zip(docs, values, strict=True):
                        if val is not None:
                            d[f] = Id(val, t)
                else:
                    for d, val in zip(docs, values, strict=True):
                        if val is not None:
                            d[f] = val
            else:
                reval = spec.revalidate
                resolve = resolve_id
                if reval is not None and checked and not ids_need_resolving(reval):
                    resolve = None
                for d, raw in zip(docs, values, strict=True):
                    if raw is not None:
                        val = stored.loads(raw)
                        if reval is not None:
                            try:
                                val = reval.validate(val, resolve_id=resolve)
                            except ValidationError:
                                pass  # schema_validation=False: documents are as they were
                        d[f] = val
        exact = list(exact)
        if exact:
            where = {i: n for n, i in enumerate(ids)}
            for doc_id, raw in exact:
                n = where.get(doc_id)
                if n is not None:  # a row of another document: never the case, and harmless
                    docs[n].update(stored.loads(raw))
        return docs


def _id_table(validator: Validator) -> str | None:
    data: Any = validator.to_json()
    while isinstance(data, dict) and data.get("type") != "id":
        data = data.get("value") if isinstance(data.get("value"), dict) else None
    return data.get("tableName") if isinstance(data, dict) else None


def _arrow_type(sql_type: str) -> Any:
    import pyarrow as pa

    return {
        "VARCHAR": pa.string(),
        "JSON": pa.string(),
        "BIGINT": pa.int64(),
        "DOUBLE": pa.float64(),
        "BOOLEAN": pa.bool_(),
        "BLOB": pa.binary(),
    }[sql_type]
