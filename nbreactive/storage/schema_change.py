"""Changing the schema of a database that already holds data.

Every existing document is checked against the new schema first; if any does
not fit, nothing changes and the report lists each offending document and why.
Otherwise documents are normalized for their new validators, the DuckDB tables
whose column layout changed are rebuilt, the schema is persisted, and the
in-memory indexes are rebuilt where their definitions changed — all while
mutations wait on the writer lock, in one DuckDB transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbreactive.errors import SchemaError, ValidationError
from nbreactive.schema.system import is_system_table
from nbreactive.values.model import plain_ids

if TYPE_CHECKING:
    from nbreactive.schema import Schema, SchemaCheckReport
    from nbreactive.schema.definition import TableDefinition
    from nbreactive.storage.database import Database

__all__ = ["apply_schema"]

Doc = dict[str, Any]


def apply_schema(db: Database, schema: Schema | None, *, dry_run: bool = False) -> SchemaCheckReport:
    """See ``App.set_schema``."""
    from nbreactive.schema import Schema, check_documents, define_schema

    if schema is not None and not isinstance(schema, Schema):
        raise SchemaError(
            f"set_schema expects a schema from nr.define_schema({{...}}), got {type(schema).__name__}"
        )
    with db.writer_lock:
        db.drain()
        with db.base_lock:
            # System tables keep their own fixed shapes: the app's schema is not theirs.
            snapshot = {name: list(t.docs.values()) for name, t in db.base.tables.items()
                        if not is_system_table(name)}
        target = schema if schema is not None else define_schema({}, strict_table_name_types=False)
        report = check_documents(target, snapshot, resolve_id=db.table_of_id)
        if dry_run:
            return report
        if not report.ok:
            raise SchemaError(
                "The existing data does not fit the new schema; nothing was changed.\n" + str(report),
                report=report,
            )
        rebuilt: dict[str, tuple[Any, list[Doc]]] = {}
        new_docs: dict[str, list[Doc]] = {}
        for name, docs in snapshot.items():
            layout = db.layout_for(name, schema)
            tdef = schema.tables.get(name) if schema is not None else None
            changed = False
            out = []
            checked = schema is not None and schema.schema_validation
            for d in docs:
                body = {k: val for k, val in d.items() if k != "_id" and k != "_creationTime"}
                norm = _normalized(db, tdef, body, checked)
                if not _identical(norm, body):
                    changed = True
                    out.append({"_id": d["_id"], "_creationTime": d["_creationTime"], **norm})
                else:
                    out.append(d)
            if changed or layout.signature() != db.layouts[name].signature():
                rebuilt[name] = (layout, out)
                new_docs[name] = out
        # Every table of the schema exists in DuckDB from now on, so SQL over a table
        # that holds no documents yet works (and returns no rows).
        for name in schema.tables if schema is not None else ():
            if name not in db.store.tables and name not in rebuilt:
                db.ensure_table(name)
                rebuilt[name] = (db.layout_for(name, schema), [])
        # Refuse, before anything is written, to create a DuckDB table whose name equals
        # another table's ignoring case (ensure_table checked the tables new to memory;
        # this covers an empty one a failed mutation left, which the schema now types).
        for name in rebuilt:
            if name not in db.store.tables:
                db.check_new_table(name)
        ts = db.next_ts()
        meta = {
            "schema": schema.to_json() if schema is not None else None,
            "tables": db.table_numbers,
            # Never lower the bound the store keeps ahead of every timestamp handed out
            # (``Database._flush``): ``reserved_ts`` may be up to a minute above ``ts``.
            "last_ts": max(ts, db.reserved_ts),
        }
        with db.rewriting():
            db.store.rebuild_tables(rebuilt, meta)
            with db.base_lock:
                db.schema = schema
                db.plan_cache.clear()
                db.copiers.clear()
                for name, table in db.base.tables.items():
                    if is_system_table(name):
                        continue
                    db.layouts[name] = db.layout_for(name)
                    if name in new_docs:
                        fresh = type(table)(name, table.number)
                        fresh.set_indexes(db.index_specs(name))
                        fresh.bulk_load(new_docs[name])
                        db.base.tables[name] = fresh
                    else:
                        table.set_indexes(db.index_specs(name))
                # Every live query re-runs: indexes, normalized values and errors may change.
                db.publish_rewrite(ts, frozenset({"*"}), "schema")
        return report


def _normalized(db: Database, tdef: TableDefinition | None, body: Doc, checked: bool) -> Doc:
    """A document's fields as the new schema stores them, as a write would.

    Under a checked schema (``check_documents`` found that they fit): as validating
    them returns. With ``schema_validation=False``: the same when they fit, so that
    queries, whose literals the schema's validators convert, compare like with like
    (a v.number() field holds 3.0, not 3); a document that does not fit is kept as it
    is. Without a definition (no schema, a table the schema leaves out) or not
    fitting: unchecked, so an ``Id`` becomes its plain ``str``, as an unchecked write
    stores it and as it reads back from disk (``plain_ids``).
    """
    if tdef is not None:
        try:
            return tdef.validate_document(body, resolve_id=db.table_of_id)
        except ValidationError:
            if checked:
                raise
    return plain_ids(body)


def _identical(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down (``==`` calls ``1`` and ``1.0`` equal,
    and a ``str`` equal to an ``Id``): whether normalizing for a new schema changed a
    document, nested values included."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(_identical(x, b[k]) for k, x in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(map(_identical, a, b))
    return a is b or a == b
