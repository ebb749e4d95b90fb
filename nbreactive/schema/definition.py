"""Schema definitions: ``define_schema``, ``define_table``, ``Schema``, ``TableDefinition``.

A schema maps table names to ``TableDefinition`` objects. A table definition holds the
validator of its documents' user fields and its indexes::

    schema = define_schema({
        "users": define_table({"name": v.string(), "email": v.string()})
        .index("by_email", ["email"]),
        "posts": define_table({"title": v.string(), "authorId": v.id("users")})
        .index("by_author", ["authorId"])
        .search_index("search_title", search_field="title", filter_fields=["authorId"]),
    })

Everything is checked eagerly against Convex's rules (reference §1.2, §2.1, §3), so a
bad definition fails at the line that wrote it, with a ``SchemaError`` saying what to
change. The builder methods mutate the table definition and return it, like Convex's
``defineTable(...).index(...)``; ``define_schema`` takes a named copy of each table and
freezes it, so a ``Schema`` never changes after it was built (storage persists it).

The index definitions, their limits and their field checks live in ``indexes`` (with how
index keys are built); the rules for field names and paths in ``fields``. The index
names are re-exported here, so every name is still importable from this module. Imports
flow one way: ``definition`` → ``indexes`` → ``fields``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nbreactive.errors import QueryError, SchemaError, ValidationError
from nbreactive.schema.fields import (
    _case_twins,
    _check_document_validator,
    _child_validator,
    _top_field_problem,
)
from nbreactive.schema.indexes import (
    _RESERVED_INDEX_NAMES,
    BY_CREATION_TIME,
    BY_ID,
    MAX_FILTER_FIELDS,
    MAX_INDEX_FIELDS,
    MAX_INDEXES_PER_TABLE,
    MAX_SEARCH_INDEXES,
    MAX_VECTOR_DIMENSIONS,
    MAX_VECTOR_INDEXES,
    MIN_VECTOR_DIMENSIONS,
    IndexDefinition,
    SearchIndexDefinition,
    VectorIndexDefinition,
    _check_field_list,
    _check_field_path,
    _code,
    _may_be_string,
    _may_be_vector,
)
from nbreactive.values.compound_validators import plain_ids_for
from nbreactive.values.model import (
    SYSTEM_FIELDS,
    check_identifier,
    normalize_value,
    short_repr,
    type_name,
)
from nbreactive.values.validators import ResolveId, Validator, v

if TYPE_CHECKING:
    from nbreactive.schema.diff import SchemaDiff

__all__ = [
    "BY_CREATION_TIME",
    "BY_ID",
    "MAX_FILTER_FIELDS",
    "MAX_INDEXES_PER_TABLE",
    "MAX_INDEX_FIELDS",
    "MAX_SEARCH_INDEXES",
    "MAX_TABLES",
    "MAX_VECTOR_DIMENSIONS",
    "MAX_VECTOR_INDEXES",
    "MIN_VECTOR_DIMENSIONS",
    "IndexDefinition",
    "Schema",
    "SearchIndexDefinition",
    "TableDefinition",
    "VectorIndexDefinition",
    "define_schema",
    "define_table",
]

#: Tables per schema.
MAX_TABLES = 10_000


# ---------------------------------------------------------------------------
# TableDefinition
# ---------------------------------------------------------------------------


class TableDefinition:
    """One table of a schema: its document validator and its indexes.

    Build it with ``define_table``; add indexes with the chainable ``index``,
    ``search_index`` and ``vector_index``. Inside a ``Schema`` the definition has a
    ``name`` and is frozen.

    Attributes:
        name: the table name (set by ``define_schema``; None before).
        document_validator: the validator of the user fields (no ``_id`` or
            ``_creationTime``): a ``v.object``, a ``v.union`` of objects, or ``v.any()``.
        indexes: database indexes, name → ``IndexDefinition``, in definition order.
        search_indexes: name → ``SearchIndexDefinition``.
        vector_indexes: name → ``VectorIndexDefinition``.
    """

    def __init__(self, document_validator: Validator) -> None:
        self.name: str | None = None
        self.document_validator: Validator = _check_document_validator(document_validator)
        self.indexes: dict[str, IndexDefinition] = {}
        self.search_indexes: dict[str, SearchIndexDefinition] = {}
        self.vector_indexes: dict[str, VectorIndexDefinition] = {}
        self._frozen = False

    # -- builders ---------------------------------------------------------------

    def index(self, name: str, fields: Sequence[str]) -> TableDefinition:
        """Add a database index over ``fields`` (dotted paths allowed), in that order.

        The index is keyed by ``(*fields, _creationTime, _id)``, so ties sort by
        creation time. Returns this table definition, for chaining.

        Raises:
            SchemaError: bad or duplicate name, reserved name (``by_id``,
                ``by_creation_time``), no fields or more than 15, a duplicate field, a
                ``_``-prefixed field, or more than 32 indexes on the table.

        Example::

            define_table({"author": v.string(), "year": v.int64()}).index(
                "by_author_year", ["author", "year"]
            )
        """
        where = self._where("index", name)
        self._check_new_name(name, where)
        checked = _check_field_list(
            where, fields, max_fields=MAX_INDEX_FIELDS - 1, what="index fields"
        )
        if not checked:
            raise SchemaError(
                f"{where}: an index needs at least one field; every table already has "
                "by_creation_time for ordering by creation time"
            )
        self.indexes[name] = IndexDefinition(name, checked)
        return self

    def search_index(
        self, name: str, *, search_field: str, filter_fields: Sequence[str] = ()
    ) -> TableDefinition:
        """Add a full-text search index over the string field ``search_field``.

        ``filter_fields`` can be used for equality filters in the search query
        (at most 16). At most 4 search indexes per table. Returns this table
        definition, for chaining.

        Raises:
            SchemaError: as for ``index``, plus a search field the validator declares
                with a type that cannot hold a string, or too many filter fields.

        Example::

            define_table({"body": v.string(), "channel": v.string()}).search_index(
                "search_body", search_field="body", filter_fields=["channel"]
            )
        """
        where = self._where("search index", name)
        self._check_new_name(name, where)
        if len(self.search_indexes) >= MAX_SEARCH_INDEXES:
            raise SchemaError(
                f"{where}: a table can have at most {MAX_SEARCH_INDEXES} search indexes"
            )
        field = _check_field_path(where, search_field)
        declared = self.field_validator(field)
        if declared is not None and not _may_be_string(declared):
            raise SchemaError(
                f"{where}: the search field {field!r} must be a string field, but the "
                f"table declares it as {declared!r}"
            )
        filters = _check_field_list(
            where, filter_fields, max_fields=MAX_FILTER_FIELDS, what="filter fields"
        )
        self.search_indexes[name] = SearchIndexDefinition(name, field, filters)
        return self

    def vector_index(
        self,
        name: str,
        *,
        vector_field: str,
        dimensions: int,
        filter_fields: Sequence[str] = (),
    ) -> TableDefinition:
        """Add a vector index over ``vector_field`` (an array of ``dimensions`` floats).

        Only documents whose vector has exactly ``dimensions`` elements (2–4096) are
        indexed. At most 4 vector indexes per table and 16 filter fields. Returns this
        table definition, for chaining.

        Raises:
            SchemaError: as for ``index``, plus bad dimensions, a vector field the
                validator declares as something other than an array of float64, or
                too many filter fields.

        Example::

            define_table({"embedding": v.array(v.float64())}).vector_index(
                "by_embedding", vector_field="embedding", dimensions=1536
            )
        """
        where = self._where("vector index", name)
        self._check_new_name(name, where)
        if len(self.vector_indexes) >= MAX_VECTOR_INDEXES:
            raise SchemaError(
                f"{where}: a table can have at most {MAX_VECTOR_INDEXES} vector indexes"
            )
        field = _check_field_path(where, vector_field)
        if type(dimensions) is not int or not (
            MIN_VECTOR_DIMENSIONS <= dimensions <= MAX_VECTOR_DIMENSIONS
        ):
            raise SchemaError(
                f"{where}: dimensions must be an int from {MIN_VECTOR_DIMENSIONS} to "
                f"{MAX_VECTOR_DIMENSIONS}, got {short_repr(dimensions)}"
            )
        declared = self.field_validator(field)
        if declared is not None and not _may_be_vector(declared):
            raise SchemaError(
                f"{where}: the vector field {field!r} must be declared as "
                f"v.array(v.float64()), but the table declares it as {declared!r}"
            )
        filters = _check_field_list(
            where, filter_fields, max_fields=MAX_FILTER_FIELDS, what="filter fields"
        )
        self.vector_indexes[name] = VectorIndexDefinition(name, field, dimensions, filters)
        return self

    def _where(self, kind: str, name: Any) -> str:
        table = f"table {self.name!r}, " if self.name else ""
        return f"{table}{kind} {name!r}" if isinstance(name, str) else f"{table}{kind}"

    def _check_new_name(self, name: Any, where: str) -> None:
        if self._frozen:
            raise SchemaError(
                f"{where}: table {self.name!r} belongs to a schema and can no longer change; "
                "add indexes to the define_table(...) chain before define_schema"
            )
        try:
            check_identifier("index name", name)
        except ValidationError as e:
            raise SchemaError(str(e)) from None
        if name in _RESERVED_INDEX_NAMES:
            raise SchemaError(
                f"{where}: the name {name!r} is reserved for the built-in index; "
                "choose another name"
            )
        if name in self.indexes or name in self.search_indexes or name in self.vector_indexes:
            raise SchemaError(
                f"{where}: the table already has an index named {name!r}; "
                "index names must be unique per table"
            )
        total = len(self.indexes) + len(self.search_indexes) + len(self.vector_indexes)
        if total >= MAX_INDEXES_PER_TABLE:
            raise SchemaError(
                f"{where}: a table can have at most {MAX_INDEXES_PER_TABLE} indexes "
                "(database, search and vector indexes together)"
            )

    # -- queries ----------------------------------------------------------------

    def index_fields(self, name: str) -> tuple[str, ...]:
        """The full key fields of index ``name``, implicit tail included.

        User index → ``(*fields, "_creationTime", "_id")``; ``by_creation_time`` →
        ``("_creationTime", "_id")``; ``by_id`` → ``("_id",)``.

        Raises:
            QueryError: ``Index T.I not found.`` (or, for a search or vector index,
                a message saying to use the search API instead).

        Example::

            schema.table("posts").index_fields("by_author")
            # -> ("authorId", "_creationTime", "_id")
        """
        index = self.indexes.get(name)
        if index is not None:
            return (*index.fields, "_creationTime", "_id")
        if name == BY_CREATION_TIME:
            return ("_creationTime", "_id")
        if name == BY_ID:
            return ("_id",)
        if name in self.search_indexes or name in self.vector_indexes:
            kind = "search" if name in self.search_indexes else "vector"
            raise QueryError(
                f"Index {self.name}.{name} is a {kind} index; query it with "
                f"{'with_search_index' if kind == 'search' else 'vector_search'}, not with_index."
            )
        raise QueryError(f"Index {self.name}.{name} not found.")

    def field_validator(self, path: str) -> Validator | None:
        """The validator of the (dotted) field ``path``, with ``v.optional`` unwrapped.

        Returns None when the table does not declare the field or declares it as
        ``v.any()``. Through a ``v.union`` of objects, the field's validators in the
        members are combined into a union. O(depth of the path).

        Example::

            define_table({"a": v.optional(v.object({"b": v.int64()}))}).field_validator("a.b")
            # -> v.int64()
        """
        current: Validator | None = self.document_validator
        for part in path.split("."):
            if current is None:
                return None
            current = _child_validator(current, part)
        if current is None or current.kind == "any":
            return None
        return current

    def system_fields_validator(self) -> Validator:
        """``v.object({"_id": v.id(table), "_creationTime": v.float64()})``."""
        if self.name is None:
            raise SchemaError("this table definition has no name yet; use it in define_schema")
        return v.object({"_id": v.id(self.name), "_creationTime": v.float64()})

    def full_document_validator(self) -> Validator:
        """The validator of whole documents, system fields included (Convex's ``schema.doc``).

        Example::

            schema.table("users").full_document_validator()
            # -> v.object({"name": v.string(), "_id": v.id("users"), "_creationTime": ...})
        """
        system = self.system_fields_validator().fields  # type: ignore[attr-defined]
        doc = self.document_validator
        if doc.kind == "object":
            return doc.extend(system)  # type: ignore[attr-defined, no-any-return]
        if doc.kind == "union":
            return v.union(*(m.extend(system) for m in doc.members))  # type: ignore[attr-defined]
        return v.any()

    def validate_document(self, doc: Any, *, resolve_id: ResolveId | None = None) -> dict[str, Any]:
        """Check the user fields of a document and return it normalized.

        ``doc`` must not carry ``_id`` or ``_creationTime``: the system sets them.
        Normalization is the validators' (ints become floats in ``v.float64()``
        fields, ids become ``Id`` in ``v.id`` positions and plain ``str`` elsewhere,
        tuples become lists, ``UNDEFINED`` fields are
        dropped); the result never aliases ``doc``'s containers. One pass over the
        document.

        Args:
            doc: the document's user fields.
            resolve_id: ``resolve_id(text) -> table | None``, so ``v.id("t")`` can
                check that a plain string is an id of ``t``.

        Raises:
            ValidationError: the message starts with the path inside the document,
                e.g. ``.tags[2]: expected v.string(), got 3 (int64)``.

        Example::

            table.validate_document({"title": "Hi", "tags": ("a",)})
            # -> {"title": "Hi", "tags": ["a"]}
        """
        if type(doc) is not dict:
            raise ValidationError(
                f"a document must be a dict, got {short_repr(doc)} ({type_name(doc)})",
                value=doc,
            )
        for system in SYSTEM_FIELDS:
            if system in doc:
                detail = f'field "{system}" is set by the system; remove it from the document'
                raise ValidationError(
                    f".{system}: {detail}", path=f".{system}", value=doc[system], detail=detail
                )
        validator = self.document_validator
        if validator.kind == "any":
            return normalize_value(doc, top_level_fields=True)  # type: ignore[no-any-return]
        # An Id outside a v.id position is stored as its plain text (as it reads back
        # from disk), so a value's type depends on the schema only: for every write
        # path (mutations, imports, set_schema) alike.
        doc = plain_ids_for(validator, doc)
        return validator.validate(doc, resolve_id=resolve_id)  # type: ignore[no-any-return]

    # -- serialization ----------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Convex's table JSON (without ``tableName``, which the schema adds)."""
        return {
            "indexes": [i.to_json() for i in self.indexes.values()],
            "searchIndexes": [i.to_json() for i in self.search_indexes.values()],
            "vectorIndexes": [i.to_json() for i in self.vector_indexes.values()],
            "documentType": self.document_validator.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableDefinition:
        """Rebuild a table definition from ``to_json`` output (checked again).

        Raises:
            SchemaError: malformed JSON or a definition that breaks a rule.
        """
        try:
            table = cls(Validator.from_json(data.get("documentType") or {"type": "any"}))
            for i in data.get("indexes", ()):
                table.index(i["indexDescriptor"], i["fields"])
            for i in data.get("searchIndexes", ()):
                table.search_index(
                    i["indexDescriptor"],
                    search_field=i["searchField"],
                    filter_fields=i.get("filterFields", ()),
                )
            for i in data.get("vectorIndexes", ()):
                table.vector_index(
                    i["indexDescriptor"],
                    vector_field=i["vectorField"],
                    dimensions=i["dimensions"],
                    filter_fields=i.get("filterFields", ()),
                )
        except (KeyError, TypeError, AttributeError) as e:
            raise SchemaError(f"malformed table JSON ({type(e).__name__}: {e})") from None
        return table

    def to_python(self, indent: str = "") -> str:
        """Python source that rebuilds this definition (``define_table(...)`` + chain).

        Uses the names ``nr`` (the package) and ``v``; ``indent`` prefixes every line
        after the first.
        """
        validator = self.document_validator
        if validator.kind == "object":
            fields = validator.fields  # type: ignore[attr-defined]
            if fields:
                lines = [f"{indent}    {_code(k)}: {f!r}," for k, f in fields.items()]
                head = "nr.define_table({\n" + "\n".join(lines) + f"\n{indent}}})"
            else:
                head = "nr.define_table({})"
        else:
            head = f"nr.define_table({validator!r})"
        chain = [i.to_python() for i in self.indexes.values()]
        chain += [i.to_python() for i in self.search_indexes.values()]
        chain += [i.to_python() for i in self.vector_indexes.values()]
        return head + "".join(f"\n{indent}{c}" for c in chain)

    # -- copies, equality, display ----------------------------------------------

    def _named(self, name: str) -> TableDefinition:
        """A frozen copy named ``name`` (what ``define_schema`` stores)."""
        table = TableDefinition.__new__(TableDefinition)
        table.name = name
        table.document_validator = self.document_validator  # validators are immutable
        table.indexes = dict(self.indexes)
        table.search_indexes = dict(self.search_indexes)
        table.vector_indexes = dict(self.vector_indexes)
        table._frozen = True
        return table

    def __eq__(self, other: object) -> bool:
        # Structural: the name is not compared (a schema compares tables by its keys).
        if not isinstance(other, TableDefinition):
            return NotImplemented
        return (
            self.document_validator == other.document_validator
            and self.indexes == other.indexes
            and self.search_indexes == other.search_indexes
            and self.vector_indexes == other.vector_indexes
        )

    __hash__ = None  # type: ignore[assignment]  # builders mutate it

    def __repr__(self) -> str:
        return self.to_python()


def define_table(fields: Mapping[str, Validator] | Validator) -> TableDefinition:
    """Define a table by the validators of its documents' user fields.

    Args:
        fields: a dict of field validators (``v.optional`` for optional fields), a
            ``v.object({...})``, a ``v.union`` of object validators (documents of
            several shapes), or ``v.any()`` (any document).

    Returns:
        A ``TableDefinition``; chain ``.index``, ``.search_index``, ``.vector_index``.

    Raises:
        SchemaError: a field name that is not allowed at the top level (system
            fields, ``_``-prefixed, not identifier-like, > 64 characters), two
            top-level fields that differ only in case (``name`` and ``Name``: each
            is a DuckDB column, and DuckDB column names are case-insensitive), or a
            validator that cannot describe a document.

    Example::

        define_table({"name": v.string(), "age": v.optional(v.int64())}).index(
            "by_name", ["name"]
        )
    """
    if isinstance(fields, Validator):
        return TableDefinition(fields)
    if isinstance(fields, Mapping):
        for name in fields:
            problem = _top_field_problem(name)
            if problem is not None:
                raise SchemaError(f"define_table(): invalid field: {problem}")
        return TableDefinition(v.object(fields))
    raise SchemaError(
        f"define_table() takes a dict of field validators or a v.object(...), "
        f"got {short_repr(fields)} ({type_name(fields)})"
    )


# ---------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------


class Schema:
    """An immutable set of table definitions, plus two switches.

    Attributes:
        tables: table name → ``TableDefinition`` (named and frozen), in definition order.
        schema_validation: documents are validated on write and when the schema is
            set (Convex's ``schemaValidation``); when False the schema only describes.
        strict_table_name_types: tables not in the schema are refused
            (``allows_table``); when False they accept any valid document.
    """

    def __init__(
        self,
        tables: Mapping[str, TableDefinition],
        *,
        schema_validation: bool = True,
        strict_table_name_types: bool = True,
    ) -> None:
        if not isinstance(tables, Mapping):
            raise SchemaError(
                f"define_schema() takes a dict of table name → define_table(...), "
                f"got {short_repr(tables)}"
            )
        if len(tables) > MAX_TABLES:
            raise SchemaError(f"a schema can have at most {MAX_TABLES} tables, got {len(tables)}")
        named: dict[str, TableDefinition] = {}
        for name, table in tables.items():
            try:
                check_identifier("table name", name)
            except ValidationError as e:
                raise SchemaError(str(e)) from None
            if not isinstance(table, TableDefinition):
                hint = (
                    "; wrap the fields in nr.define_table(...)"
                    if isinstance(table, (Mapping, Validator))
                    else ""
                )
                raise SchemaError(
                    f"table {name!r}: expected a table definition, got {short_repr(table)}{hint}"
                )
            named[name] = table._named(name)
        twins = _case_twins(named)
        if twins is not None:
            a, b = twins
            raise SchemaError(
                f"define_schema(): the tables {a!r} and {b!r} differ only in case. DuckDB "
                "table names are case-insensitive, so the two would be one table (and SQL "
                "could not tell them apart); give them names that differ in more than case."
            )
        self.tables: dict[str, TableDefinition] = named
        self.schema_validation = bool(schema_validation)
        self.strict_table_name_types = bool(strict_table_name_types)

    def table(self, name: str) -> TableDefinition:
        """The definition of table ``name``.

        Raises:
            QueryError: the schema has no such table.
        """
        table = self.tables.get(name)
        if table is None:
            known = ", ".join(self.tables) or "(none)"
            raise QueryError(f"Table {name!r} is not in the schema; its tables are: {known}.")
        return table

    def __contains__(self, name: object) -> bool:
        return name in self.tables

    def allows_table(self, name: str) -> bool:
        """Whether documents may be written to table ``name`` under this schema.

        A table in the schema: yes. Any other table: only when
        ``strict_table_name_types`` is False (then it is schemaless).
        """
        return name in self.tables or not self.strict_table_name_types

    def diff(self, other: Schema) -> SchemaDiff:
        """What changes from this schema to ``other`` (see ``diff_schemas``)."""
        from nbreactive.schema.diff import diff_schemas  # diff imports this module

        return diff_schemas(self, other)

    # -- serialization ----------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (Convex's schema JSON plus ``strictTableNameTypes``).

        Example::

            Schema.from_json(json.loads(json.dumps(schema.to_json()))) == schema  # True
        """
        return {
            "tables": [
                {"tableName": name, **table.to_json()} for name, table in self.tables.items()
            ],
            "schemaValidation": self.schema_validation,
            "strictTableNameTypes": self.strict_table_name_types,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schema:
        """Rebuild a schema from ``to_json`` output; every rule is checked again.

        Raises:
            SchemaError: malformed JSON or an invalid definition.
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("tables"), list):
            raise SchemaError(f"not a schema JSON object: {short_repr(data)}")
        tables: dict[str, TableDefinition] = {}
        for entry in data["tables"]:
            if not isinstance(entry, Mapping) or "tableName" not in entry:
                raise SchemaError(f"malformed table in schema JSON: {short_repr(entry)}")
            tables[entry["tableName"]] = TableDefinition.from_json(entry)
        return cls(
            tables,
            schema_validation=data.get("schemaValidation", True),
            strict_table_name_types=data.get("strictTableNameTypes", True),
        )

    def to_python(self) -> str:
        """Python source of a ``nr.define_schema(...)`` call that rebuilds this schema.

        It uses the names ``nr`` (``import nbreactive as nr``) and ``v``
        (``from nbreactive import v``), so it can be pasted into a notebook.

        Example::

            print(schema.to_python())
            # nr.define_schema({
            #     "users": nr.define_table({
            #         "name": v.string(),
            #     })
            #     .index("by_name", ["name"]),
            # })
        """
        options = []
        if not self.schema_validation:
            options.append("schema_validation=False")
        if not self.strict_table_name_types:
            options.append("strict_table_name_types=False")
        tail = "".join(f", {o}" for o in options)
        if not self.tables:
            return f"nr.define_schema({{}}{tail})"
        body = "".join(
            f"    {_code(name)}: {table.to_python('    ')},\n"
            for name, table in self.tables.items()
        )
        return f"nr.define_schema({{\n{body}}}{tail})"

    # -- equality and display ---------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schema):
            return NotImplemented
        return (
            self.tables == other.tables
            and self.schema_validation == other.schema_validation
            and self.strict_table_name_types == other.strict_table_name_types
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return self.to_python()

    def _repr_markdown_(self) -> str:
        if not self.tables:
            return "*Empty schema (no tables).*"
        out = []
        for name, table in self.tables.items():
            out.append(f"**{name}**\n")
            out.append("| field | validator |\n|---|---|")
            validator = table.document_validator
            if validator.kind == "object":
                for field, f in validator.fields.items():  # type: ignore[attr-defined]
                    out.append(f"| `{_md(field)}` | `{_md(repr(f))}` |")
            else:
                out.append(f"| *(document)* | `{_md(repr(validator))}` |")
            indexes = (
                [f"`{i.name}` ({', '.join(i.fields)})" for i in table.indexes.values()]
                + [f"`{i.name}` (search `{i.search_field}`)" for i in table.search_indexes.values()]
                + [
                    f"`{i.name}` (vector `{i.vector_field}`, {i.dimensions} dims)"
                    for i in table.vector_indexes.values()
                ]
            )
            if indexes:
                out.append(f"\nIndexes: {'; '.join(indexes)}")
            out.append("")
        notes = []
        if not self.schema_validation:
            notes.append("schema validation is off")
        if not self.strict_table_name_types:
            notes.append("tables outside the schema are allowed")
        if notes:
            out.append(f"*{'; '.join(notes)}*")
        return "\n".join(out)


def _md(text: str) -> str:
    """Text safe inside a markdown table cell (a ``|`` would end the cell)."""
    return text.replace("|", "\\|")


def define_schema(
    tables: Mapping[str, TableDefinition],
    *,
    schema_validation: bool = True,
    strict_table_name_types: bool = True,
) -> Schema:
    """Define the schema of an app: table name → ``define_table(...)``.

    Args:
        tables: table names (identifiers: ASCII letters, digits, ``_``, not starting
            with ``_``, ≤ 64 characters) mapped to table definitions.
        schema_validation: validate documents against the schema (on every write and
            when the schema is set). False makes the schema descriptive only.
        strict_table_name_types: refuse writes to tables not in the schema. False
            lets other tables exist, schemaless.

    Returns:
        An immutable ``Schema``. The table definitions are copied (and named), so
        the ones passed in can still be changed without affecting it.

    Raises:
        SchemaError: a bad table name, two table names that differ only in case
            (DuckDB table names are case-insensitive), a value that is not a table
            definition, or more than 10,000 tables.

    Example::

        schema = define_schema({
            "users": define_table({"name": v.string()}).index("by_name", ["name"]),
        })
    """
    return Schema(
        tables,
        schema_validation=schema_validation,
        strict_table_name_types=strict_table_name_types,
    )
