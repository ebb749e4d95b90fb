"""Layer 2: schemas (see ``docs/DESIGN.md``).

- ``definition``: ``define_schema``, ``define_table``, ``Schema``, ``TableDefinition``,
  index definitions; document validation against a table
- ``check``: checking existing documents against a schema (``SchemaCheckReport``)
- ``inference``: inferring a ``Schema`` from documents
- ``diff``: a readable diff of two schemas (``SchemaDiff``)
"""

from __future__ import annotations

from nbreactive.schema.check import SchemaCheckReport, check_documents
from nbreactive.schema.definition import (
    IndexDefinition,
    Schema,
    SearchIndexDefinition,
    TableDefinition,
    VectorIndexDefinition,
    define_schema,
    define_table,
)
from nbreactive.schema.diff import SchemaChange, SchemaDiff, diff_schemas
from nbreactive.schema.inference import infer_schema

__all__ = [
    "IndexDefinition",
    "Schema",
    "SchemaChange",
    "SchemaCheckReport",
    "SchemaDiff",
    "SearchIndexDefinition",
    "TableDefinition",
    "VectorIndexDefinition",
    "check_documents",
    "define_schema",
    "define_table",
    "diff_schemas",
    "infer_schema",
]
