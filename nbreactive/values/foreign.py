"""Values from NumPy (and pandas, whose scalars are NumPy's) as plain Python values.

A number read from a DataFrame is a ``numpy.int64``, not an ``int``: the bulk import
and SQL parameters take such values as the Python values they stand for. (Function
arguments and documents refuse them, saying how to convert: ``describe.py``.)
"""

from __future__ import annotations

from typing import Any

__all__ = ["python_value"]


def python_value(x: Any) -> Any:
    """``x`` with NumPy scalars and arrays (at any depth of dicts and lists) made Python
    values; anything else as it is."""
    t = type(x)
    if t is dict:
        return {k: python_value(y) for k, y in x.items()}
    if t is list or t is tuple:
        return [python_value(y) for y in x]
    if t.__module__ == "numpy" and hasattr(x, "tolist"):
        return python_value(x.tolist())
    return x
