"""Copies of stored values that user code may mutate freely.

Stored documents are shared, immutable by convention: every read hands user code a
copy. Scalars (``str``, ``Id``, ``bytes``, numbers, ``None``) are immutable and shared
by the copy; only lists and dicts are copied.

``copy_document`` copies any document, looking at every field's type.
``document_copier`` builds, from a table's document validator, a copier that knows
which fields can hold containers: for a table of scalar fields it is ``dict.copy``
itself, and a ``v.array`` of scalars costs one list slice. It relies on the stored
documents matching the validator, so the storage uses it only for tables whose schema
is enforced (see ``Database.copier``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["copy_document", "copy_value", "document_copier", "value_copier"]

Doc = dict[str, Any]

_CONTAINERS = frozenset({dict, list})
_SCALAR_KINDS = frozenset({"string", "float64", "int64", "boolean", "null", "bytes", "id", "literal"})


def _deep_copy(value: Any) -> Any:
    if type(value) is dict:
        return _copy_dict(value)
    # Lists of documents are the common case: copy each dict directly.
    return [
        _copy_dict(x) if type(x) is dict else (_deep_copy(x) if type(x) is list else x)
        for x in value
    ]


def _copy_dict(value: Doc) -> Doc:
    # One C-level copy, then only the (few) container fields are replaced.
    out = value.copy()
    for k, x in value.items():
        if type(x) in _CONTAINERS:
            out[k] = _deep_copy(x)
    return out


def copy_document(doc: Doc) -> Doc:
    """A copy of a normalized document that user code may mutate freely.

    Shallow-copies the dict and deep-copies only list/dict values. For a flat
    document this is one ``dict.copy`` plus a type check per field.
    """
    return _copy_dict(doc)


def copy_value(value: Any) -> Any:
    """A copy of a normalized value that user code may mutate freely (containers are
    copied deeply; scalars are immutable and shared)."""
    return _deep_copy(value) if type(value) in _CONTAINERS else value


def value_copier(value: Any) -> Callable[[Any], Any]:
    """A copy function for ``value`` itself, planned by looking at it once: for a value
    copied many times over (a live result handed to each of its subscribers). A list of
    documents whose fields are all scalars is copied with one ``dict.copy`` each, an
    object by copying only its container fields, each with its own plan.

    Only for ``value`` (or an identical one): another value may need deeper copies.
    """
    t = type(value)
    if t is list:
        if all(type(d) is dict and _CONTAINERS.isdisjoint(map(type, d.values())) for d in value):
            return _copy_flat_rows
        return copy_value
    if t is not dict:
        return copy_value  # scalars: returned as they are
    parts = tuple((k, value_copier(x)) for k, x in value.items() if type(x) in _CONTAINERS)
    if not parts:
        return dict.copy

    def copy(v: Doc) -> Doc:
        out = v.copy()
        for k, part in parts:
            out[k] = part(v[k])
        return out

    return copy


def _copy_flat_rows(rows: list[Doc]) -> list[Doc]:
    return [d.copy() for d in rows]


def _holds(validator: Any) -> str:
    """What values of ``validator`` may contain: "scalar" (no container), "list" (a
    list of scalars: a slice copies it) or "any" (copy deeply)."""
    kind = validator.kind
    if kind in _SCALAR_KINDS:
        return "scalar"
    if kind == "optional":
        return _holds(validator.inner)
    if kind == "union":
        held = {_holds(m) for m in validator.members}
        return held.pop() if len(held) == 1 else "any"
    if kind == "array" and _holds(validator.element) == "scalar":
        return "list"
    return "any"  # objects, records, v.any(), arrays of containers


def document_copier(validator: Any) -> Callable[[Doc], Doc]:
    """A copy function for documents that match ``validator`` (a table's document
    validator); ``copy_document`` when it is not an object of known fields.

    Example::

        copy = document_copier(v.object({"name": v.string(), "tags": v.array(v.string())}))
        copy(doc)  # doc.copy() with doc["tags"] sliced
    """
    fields = getattr(validator, "fields", None) if validator is not None else None
    if fields is None:
        return copy_document
    lists = tuple(name for name, f in fields.items() if _holds(f) == "list")
    deep = tuple(name for name, f in fields.items() if _holds(f) == "any")
    if not lists and not deep:
        return dict.copy

    def copy(doc: Doc) -> Doc:
        out = doc.copy()
        for name in lists:
            x = doc.get(name)
            if type(x) is list:  # optional fields may be missing; unions may hold scalars
                out[name] = x[:]
        for name in deep:
            x = doc.get(name)
            if type(x) in _CONTAINERS:
                out[name] = _deep_copy(x)
        return out

    return copy
