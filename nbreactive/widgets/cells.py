"""How values look in the live table: one ``[tag, text]`` pair per cell.

The front end only lays text out; everything about *values* is decided here, in
one place: ids print short (full id in the tooltip), numbers keep their type
(int64 vs float64), nested values print as compact JSON-like text, bytes as
their size and first bytes, a missing field differs from null.

A cell whose text was cut (at ``MAX_CELL_TEXT``) carries a third item, its tooltip:
the text cut at ``MAX_TOOLTIP_TEXT`` instead.

Tags: ``i`` id, ``n`` int64, ``f`` float64, ``s`` string, ``b`` boolean, ``0`` null,
``_`` missing, ``x`` bytes, ``a`` array, ``o`` object, ``t`` a ``_creationTime`` (UTC).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable
from typing import Any

from nbreactive.values.model import UNDEFINED, Id

__all__ = ["MAX_CELL_TEXT", "cell", "columns_of", "format_value", "is_document_list", "row_cells"]

#: Longest text of one cell; the rest is cut with an ellipsis (the tooltip has more).
MAX_CELL_TEXT = 200
#: Longest tooltip of a cell whose text was cut.
MAX_TOOLTIP_TEXT = 2000


def _float_text(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0.0 and math.copysign(1.0, x) < 0:
        return "-0.0"
    return repr(x)


def format_value(value: Any, limit: int = MAX_CELL_TEXT) -> str:
    """A compact, readable text of any value (JSON-like; ints plain, floats with a
    point, bytes as ``b"…" (n bytes)``)."""
    parts: list[str] = []
    budget = [limit]

    def emit(s: str) -> bool:
        parts.append(s)
        budget[0] -= len(s)
        return budget[0] > 0

    def walk(v: Any) -> bool:
        t = type(v)
        if v is None:
            return emit("null")
        if t is bool:
            return emit("true" if v else "false")
        if t is int:
            return emit(str(v))
        if t is float:
            return emit(_float_text(v))
        if t is str or t is Id:
            return emit('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"')
        if t is bytes:
            return emit(_bytes_text(v))
        if t is list:
            emit("[")
            for n, x in enumerate(v):
                if n and not emit(", "):
                    return False
                if not walk(x):
                    return False
            return emit("]")
        if t is dict:
            emit("{")
            for n, (k, x) in enumerate(v.items()):
                if n and not emit(", "):
                    return False
                if not emit(f"{k}: ") or not walk(x):
                    return False
            return emit("}")
        return emit(repr(v))

    walk(value)
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bytes_text(b: bytes) -> str:
    head = b[:12].hex()
    return f"0x{head}{'…' if len(b) > 12 else ''} ({len(b)} bytes)"


def _cut(tag: str, text: str) -> list[str]:
    """``[tag, text]``, or ``[tag, cut text, tooltip]`` when ``text`` (at most
    ``MAX_TOOLTIP_TEXT`` long, already cut there) is too long for a cell."""
    if len(text) <= MAX_CELL_TEXT:
        return [tag, text]
    return [tag, text[: MAX_CELL_TEXT - 1] + "…", text]


def cell(value: Any) -> list[str]:
    """The ``[tag, text]`` of one cell, ``[tag, text, tooltip]`` when the text was cut
    (see the module docstring)."""
    t = type(value)
    if value is UNDEFINED:
        return ["_", ""]
    if value is None:
        return ["0", "null"]
    if t is Id:
        return ["i", str(value)]
    if t is str:
        if len(value) <= MAX_CELL_TEXT:
            return ["s", value]
        return _cut("s", value if len(value) <= MAX_TOOLTIP_TEXT else value[: MAX_TOOLTIP_TEXT - 1] + "…")
    if t is bool:
        return ["b", "true" if value else "false"]
    if t is int:
        return ["n", str(value)]
    if t is float:
        return ["f", _float_text(value)]
    if t is bytes:
        return ["x", _bytes_text(value)]
    if t is list:
        return _cut("a", format_value(value, MAX_TOOLTIP_TEXT))
    if t is dict:
        return _cut("o", format_value(value, MAX_TOOLTIP_TEXT))
    return ["s", repr(value)]


_SECONDS: dict[int, str] = {}  # whole seconds -> "YYYY-mm-dd HH:MM:SS." (rows share seconds)


def creation_time_cell(ms: Any) -> list[str]:
    """``_creationTime`` as a UTC date and time (tag ``t``), milliseconds kept."""
    if type(ms) is not float or not math.isfinite(ms):
        return cell(ms)
    whole = int(ms // 1000)
    prefix = _SECONDS.get(whole)
    if prefix is None:
        try:
            when = datetime.datetime.fromtimestamp(whole, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return cell(ms)
        prefix = when.strftime("%Y-%m-%d %H:%M:%S.")
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        _SECONDS[whole] = prefix
    return ["t", f"{prefix}{int(ms - whole * 1000):03d}"]


def row_cells(doc: dict[str, Any], columns: list[str]) -> list[list[str]]:
    return [
        creation_time_cell(doc.get(c)) if c == "_creationTime" else cell(doc.get(c, UNDEFINED))
        for c in columns
    ]


def is_document_list(value: Any) -> bool:
    """Whether a result is shown as a table: a list of documents (dicts with ``_id``)."""
    return type(value) is list and all(type(d) is dict and "_id" in d for d in value)


def columns_of(docs: Iterable[dict[str, Any]], schema_fields: list[str] | None) -> list[str]:
    """Columns for a table of documents: ``_id``, the schema's fields, then the other
    fields present in any of ``docs`` (in first-seen order), ``_creationTime``.

    Every document counts: a field that only the newest documents have (they come
    last) gets its column too. Most documents add nothing, which one C-level subset
    test per document finds."""
    seen: dict[str, None] = {"_id": None, "_creationTime": None}
    if schema_fields is not None:
        seen.update(dict.fromkeys(schema_fields))
    known = seen.keys()
    for d in docs:
        if d.keys() <= known:
            continue
        for k in d:
            if k not in seen:
                seen[k] = None
    return ["_id", *(k for k in seen if k not in ("_id", "_creationTime")), "_creationTime"]
