"""SQL result rows as Convex values (what ``ctx.db.sql`` returns to a query).

DuckDB produces types that Convex values do not have. They are mapped so that a
query can return SQL rows as they are:

| DuckDB / Arrow                         | value                                  |
|----------------------------------------|----------------------------------------|
| BIGINT, INTEGER, ... / DOUBLE, FLOAT   | int64 / float64                        |
| HUGEINT, DECIMAL(p, 0) (e.g. ``sum``)  | int64 when it fits, else float64       |
| DECIMAL(p, s>0)                        | float64                                |
| TIMESTAMP (with or without time zone)  | float64 milliseconds since the epoch   |
|                                        | (UTC; like ``_creationTime``)          |
| DATE, TIME, INTERVAL, UUID, others     | their ISO / text form (string)         |
| LIST, STRUCT / MAP                     | array, object / array of [key, value]  |
| JSON columns                           | the JSON text (use ``->>`` in SQL)     |
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

__all__ = ["rows_to_values", "to_value"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_PLAIN = (int, float, str, bytes, bool, type(None))


def to_value(x: Any) -> Any:
    """One SQL result value as a Convex value (see the module table)."""
    t = type(x)
    if t in _PLAIN:
        return x
    if t is list:
        return [to_value(v) for v in x]
    if t is dict:
        return {str(k): to_value(v) for k, v in x.items()}
    if t is tuple:
        return [to_value(v) for v in x]
    if t is decimal.Decimal:
        if x == x.to_integral_value() and _INT64_MIN <= x <= _INT64_MAX:
            return int(x)
        return float(x)
    if t is datetime.datetime:
        aware = x if x.tzinfo is not None else x.replace(tzinfo=datetime.UTC)
        return (aware - _EPOCH) / datetime.timedelta(milliseconds=1)
    if t in (datetime.date, datetime.time):
        return x.isoformat()
    if t is datetime.timedelta:
        return x.total_seconds()
    if isinstance(x, bytes | bytearray | memoryview):
        return bytes(x)
    return str(x)


def rows_to_values(table: Any) -> list[dict[str, Any]]:
    """A ``pyarrow.Table``'s rows as a list of dicts of Convex values."""
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        for k, x in row.items():
            if type(x) not in _PLAIN:
                row[k] = to_value(x)
    return rows
