"""Layer 1: the value model (see ``docs/DESIGN.md``).

- ``model``: ``UNDEFINED``, ``Id``, ``type_name``, ``normalize_value``, limits, sizes
- ``copies``: copies of stored values handed to user code
- ``keys``: the order-preserving key encoding and ``compare_values``
- ``wire``: Convex's JSON wire encoding
- ``stored``: the exact JSON used inside DuckDB
- ``validators``: ``v.*`` and ``Validator``
"""

from __future__ import annotations

from nbreactive.values.copies import copy_document
from nbreactive.values.keys import compare_values, decode_key, encode_key, encode_value
from nbreactive.values.model import (
    MAX_ARRAY_LEN,
    MAX_DOCUMENT_SIZE,
    MAX_NESTING,
    MAX_OBJECT_FIELDS,
    UNDEFINED,
    Id,
    check_identifier,
    get_path,
    normalize_value,
    type_name,
)
from nbreactive.values.sizes import check_document_size, document_size, value_size
from nbreactive.values.validators import Validator, as_validator, v

__all__ = [
    "Id",
    "MAX_ARRAY_LEN",
    "MAX_DOCUMENT_SIZE",
    "MAX_NESTING",
    "MAX_OBJECT_FIELDS",
    "UNDEFINED",
    "Validator",
    "as_validator",
    "check_document_size",
    "check_identifier",
    "compare_values",
    "copy_document",
    "decode_key",
    "document_size",
    "encode_key",
    "encode_value",
    "get_path",
    "normalize_value",
    "type_name",
    "v",
    "value_size",
]
