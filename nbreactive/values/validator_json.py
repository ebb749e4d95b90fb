"""Reading Convex's validator JSON (``convex-js:src/values/validators.ts``).

Each validator writes its own JSON (``to_json``); this module reads it back for
``Validator.from_json`` and unpickling, and plugs itself into ``validator_base``
when imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nbreactive.errors import SchemaError, ValidationError
from nbreactive.values.compound_validators import (
    ArrayValidator,
    ObjectValidator,
    OptionalValidator,
    RecordValidator,
    UnionValidator,
)
from nbreactive.values.model import short_repr
from nbreactive.values.scalar_validators import (
    AnyValidator,
    BooleanValidator,
    BytesValidator,
    Float64Validator,
    IdValidator,
    Int64Validator,
    LiteralValidator,
    NullValidator,
    StringValidator,
)
from nbreactive.values.validator_base import Validator, _set_json_reader
from nbreactive.values.wire import from_wire

_SIMPLE_JSON: dict[str, Callable[[], Validator]] = {
    "string": StringValidator,
    "number": Float64Validator,
    "float64": Float64Validator,
    "bigint": Int64Validator,
    "int64": Int64Validator,
    "boolean": BooleanValidator,
    "null": NullValidator,
    "bytes": BytesValidator,
    "any": AnyValidator,
}


def _field_from_json(data: Mapping[str, Any], where: str) -> Validator:
    if not isinstance(data, Mapping) or "fieldType" not in data:
        raise SchemaError(f"{where}: expected {{'fieldType': ..., 'optional': ...}}, got {data!r}")
    inner = _from_json(data["fieldType"])
    return OptionalValidator(inner) if data.get("optional") else inner


def _from_json(data: Mapping[str, Any]) -> Validator:
    if not isinstance(data, Mapping) or "type" not in data:
        raise SchemaError(f"not a validator JSON object: {short_repr(data)}")
    kind = data["type"]
    simple = _SIMPLE_JSON.get(kind)
    if simple is not None:
        return simple()
    try:
        if kind == "id":
            return IdValidator(data["tableName"])
        if kind == "literal":
            try:
                value = from_wire(data["value"])
            except ValidationError as e:
                raise SchemaError(f"bad literal in validator JSON: {e}") from None
            return LiteralValidator(value)
        if kind == "array":
            return ArrayValidator(_from_json(data["value"]))
        if kind == "object":
            return ObjectValidator(
                {k: _field_from_json(f, f"field {k!r}") for k, f in data["value"].items()}
            )
        if kind == "record":
            return RecordValidator(
                _from_json(data["keys"]), _field_from_json(data["values"], "record values")
            )
        if kind == "union":
            return UnionValidator(*(_from_json(m) for m in data["value"]))
    except KeyError as e:
        raise SchemaError(f"validator JSON of type {kind!r} is missing {e}") from None
    raise SchemaError(f"unknown validator type {kind!r} in {short_repr(data)}")


_set_json_reader(_from_json)
