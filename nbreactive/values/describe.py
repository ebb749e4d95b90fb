"""How values are named in error messages: foreign types by their package, what to do
with a value that is not a Convex value, and reprs cut to a readable length.

Kept apart from ``model.py`` (which uses them, and re-exports ``short_repr`` and
``not_a_value_hint``) so that the value model stays about values.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

__all__ = ["foreign_type_name", "not_a_value_hint", "short_repr"]


def foreign_type_name(t: type) -> str:
    """The name of a type that is not a Convex type: ``tuple``, ``set``, or qualified
    by its package (``numpy.int64``, ``pandas.Timestamp``) where the bare name could
    pass for a Convex type name (``int64``, ``float64``) or is ambiguous."""
    module = (getattr(t, "__module__", "") or "").split(".")[0]
    if module in ("numpy", "pandas", "polars", "pyarrow"):
        return f"{module}.{t.__name__}"
    return t.__name__


def not_a_value_hint(value: Any) -> str:
    """What to do with ``value``, which is not a Convex value (for error messages)."""
    t = type(value)
    name = t.__name__
    module = getattr(t, "__module__", "") or ""
    if isinstance(value, (set, frozenset)):
        return "use a list, e.g. sorted(value)"
    if hasattr(t, "__await__"):  # an un-awaited ctx.run_query(...) in an async action
        return "it is awaitable: add `await` (e.g. `await ctx.run_query(...)`)"
    if module.startswith("numpy"):
        return "convert it with .item() (scalars) or .tolist() (arrays)"
    if module == "datetime" or isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
        # (before pandas: a pandas Timestamp is a datetime)
        return (
            "store a number (e.g. ms since the epoch: value.timestamp() * 1000) "
            "or an ISO string (value.isoformat())"
        )
    if module.startswith("pandas"):
        return "convert it to plain Python values first (e.g. .to_dict() / .tolist())"
    if name == "Decimal":
        return "use float(value) or str(value)"
    if name == "UUID":
        return "use str(value)"
    if isinstance(value, bool):  # pragma: no cover - bool cannot be subclassed
        return "use bool(value)"
    if isinstance(value, int):
        return "use int(value)"
    if isinstance(value, float):
        return "use float(value)"
    if isinstance(value, str):
        return "use str(value)"
    if isinstance(value, dict):
        return "use dict(value)"
    if isinstance(value, (list, tuple)):
        return "use list(value)"
    return "convert it to dict, list, str, int, float, bool, bytes or None"


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for error messages."""
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text
