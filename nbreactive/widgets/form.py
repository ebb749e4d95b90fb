"""``app.form(mutation)``: a form generated from a mutation's argument validators
(an action works too; a query is refused).

Each top-level argument becomes a field, described to the front end in the ``fields``
trait (a JSON list, one dict per argument):

``name``
    the argument's name.
``kind``
    ``"string"`` (text input), ``"number"`` (float64), ``"int64"`` (whole numbers,
    arbitrary size within int64), ``"boolean"`` (checkbox; a select when optional),
    ``"choice"`` (a select over literal values: ``v.literal``, unions of literals,
    ``v.null()``, booleans inside such unions), ``"id"`` (a picker over the documents
    of ``table``) or ``"json"`` (a JSON text field for everything else: arrays,
    objects, records, ``v.any()``, bytes, unions of non-literals).
``optional``
    ``v.optional(...)``: an empty field is left out of the arguments.
``choices``
    the labels of a choice's values; the front end sends the chosen *index*.
``table``
    the table of an id field.
``default``
    the field's initial value as the front end holds it (text, ``False``, ``"0"``).
``validator``
    the validator as code (``v.array(v.string())``), shown next to the label.

A mutation without an args validator gets a single JSON field, ``args``, for the
whole argument object (``whole: true``); so does one whose args validator is not an
object.

JSON text follows Convex's JSON conventions: plain JSON, where a number is a float64
except where the validator expects an int64 there (``v.int64()``, an int literal, a
union with one); ``{"$integer": base64}``, ``{"$float": base64}`` and
``{"$bytes": base64}`` are accepted anywhere.

Id pickers are live: ``id_options`` holds ``{table: {"options": [[id, label], ...],
"total": n}}`` — the newest ``MAX_ID_OPTIONS`` documents of the table, labelled with
their first string field — refreshed (at most ten times a second) after every commit
that writes to the table, through a read watcher on the table's whole
``by_creation_time`` index.

Protocol: the front end sends ``{"type": "submit", "values": {name: text | bool}}``.
The values are converted here; a conversion problem (``"abc"`` in an int64 field, a
missing required value, bad JSON) becomes an entry of ``field_errors`` and the
mutation is not called. Otherwise ``busy`` turns on and the mutation runs on a
worker thread through ``app.run_mutation`` (validation included); then ``result``
(the formatted return value) or ``error`` (``{type, message, path, data,
traceback}``) is set, an argument validation error whose path starts with a field
(``.tags[2]``) is attached to that field in ``field_errors``, ``runs`` counts the
finished submissions and ``busy`` turns off. ``value`` (Python only) holds the last
run's return value (None after a failed or refused submission, as ``result``).
"""

from __future__ import annotations

import inspect
import itertools
import json
import logging
import math
import re
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget  # type: ignore[import-untyped]
import traitlets

from nbreactive.errors import (
    AppError,
    ArgumentValidationError,
    FunctionError,
    NbReactiveError,
    ValidationError,
)
from nbreactive.reactive.readset import ReadSet
from nbreactive.storage.working_set import id_from_key
from nbreactive.values.compound_validators import (
    ArrayValidator,
    ObjectValidator,
    OptionalValidator,
    RecordValidator,
    UnionValidator,
)
from nbreactive.values.keys import encode_value
from nbreactive.values.model import format_path
from nbreactive.values.scalar_validators import (
    BooleanValidator,
    Float64Validator,
    IdValidator,
    Int64Validator,
    LiteralValidator,
    NullValidator,
    StringValidator,
)
from nbreactive.values.validator_base import Validator
from nbreactive.values.wire import from_wire
from nbreactive.widgets.cells import format_value

if TYPE_CHECKING:
    from nbreactive.app import App
    from nbreactive.functions.registry import RegisteredFunction
    from nbreactive.reactive.engine import ReadWatcher

__all__ = ["MAX_ID_OPTIONS", "FormWidget", "describe_fields", "parse_json_text"]

log = logging.getLogger("nbreactive")

_STATIC = Path(__file__).resolve().parent.parent / "static"

#: Documents offered by an id picker (the newest ones; any other id can be pasted).
MAX_ID_OPTIONS = 1000
#: Longest label of an id option.
MAX_LABEL = 60
#: Id options are re-read at most this often (seconds) while commits keep coming.
MIN_REFRESH_INTERVAL = 0.1

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_TAGS = ("$integer", "$float", "$bytes")
_MISSING_FIELD = re.compile(r'missing the required field "((?:[^"\\]|\\.)*)"')


class _FieldError(ValueError):
    """A value the form could not turn into an argument (message for the user)."""


# ---------------------------------------------------------------------------
# describing fields
# ---------------------------------------------------------------------------


def _unwrap(val: Validator | None) -> Validator | None:
    return val.inner if isinstance(val, OptionalValidator) else val


def _choice_values(val: Validator) -> list[Any] | None:
    """The values of a field that is a closed set of literals, else None."""
    if isinstance(val, LiteralValidator):
        return [val.value]
    if isinstance(val, NullValidator):
        return [None]
    if not isinstance(val, UnionValidator):
        return None
    out: list[Any] = []
    seen: set[bytes] = set()
    for member in val.members:
        if isinstance(member, BooleanValidator):
            values: list[Any] | None = [True, False]
        else:
            values = _choice_values(member)
        if values is None:
            return None
        for x in values:
            key = encode_value(x)
            if key not in seen:
                seen.add(key)
                out.append(x)
    return out


def _choice_labels(values: list[Any]) -> list[str]:
    plain = [x if type(x) is str else format_value(x) for x in values]
    if len(set(plain)) == len(plain) and "" not in plain:
        return plain
    return [format_value(x) for x in values]  # ambiguous: quote the strings


def _describe(name: str, val: Validator) -> dict[str, Any]:
    optional = val.is_optional
    inner = _unwrap(val)
    assert inner is not None
    field: dict[str, Any] = {
        "name": name,
        "optional": optional,
        "validator": repr(inner),
        "choices": None,
        "table": None,
        "default": "",
    }
    choices = _choice_values(inner)
    if isinstance(inner, StringValidator):
        field["kind"] = "string"
    elif isinstance(inner, Float64Validator):
        field["kind"] = "number"
    elif isinstance(inner, Int64Validator):
        field["kind"] = "int64"
    elif isinstance(inner, BooleanValidator):
        field["kind"] = "boolean"
        field["default"] = "" if optional else False
    elif isinstance(inner, IdValidator):
        field["kind"] = "id"
        field["table"] = inner.table_name
    elif choices is not None:
        field["kind"] = "choice"
        field["choices"] = _choice_labels(choices)
        field["default"] = "" if optional else "0"
    else:
        field["kind"] = "json"
    return field


def describe_fields(fn: RegisteredFunction) -> list[dict[str, Any]]:
    """The form fields of a function's arguments (see the module docstring)."""
    val = fn.args_validator
    if isinstance(val, ObjectValidator):
        return [_describe(name, f) for name, f in val.fields.items()]
    return [{
        "name": "args",
        "kind": "json",
        "optional": False,
        "validator": "any object" if val is None else repr(val),
        "choices": None,
        "table": None,
        "default": "{}" if val is None else "",
        "whole": True,
    }]


# ---------------------------------------------------------------------------
# JSON text with Convex's conventions
# ---------------------------------------------------------------------------


def _wants_int(val: Validator | None) -> bool:
    val = _unwrap(val)
    if isinstance(val, Int64Validator):
        return True
    if isinstance(val, LiteralValidator):
        return type(val.value) is int
    if isinstance(val, UnionValidator):
        return any(_wants_int(m) for m in val.members)
    return False


def _members(val: Validator | None) -> list[Validator]:
    val = _unwrap(val)
    if val is None:
        return []
    if isinstance(val, UnionValidator):
        return [x for m in val.members for x in _members(m)]
    return [val]


def _element(val: Validator | None) -> Validator | None:
    for m in _members(val):
        if isinstance(m, ArrayValidator):
            return m.element
    return None


def _field_of(val: Validator | None, key: str) -> Validator | None:
    for m in _members(val):
        if isinstance(m, ObjectValidator):
            f = m._fields.get(key)
            if f is not None:
                return f
        elif isinstance(m, RecordValidator):
            return m.values
    return None


def _shape(x: Any, val: Validator | None, path: list[str | int]) -> Any:
    t = type(x)
    if t is int:
        if _wants_int(val):
            return x
        try:
            return float(x)
        except OverflowError:
            raise _FieldError(_at(path, f"the number {x} is too large for a float64")) from None
    if t is list:
        element = _element(val)
        return [_shape(e, element, [*path, i]) for i, e in enumerate(x)]
    if t is dict:
        if len(x) == 1 and next(iter(x)) in _TAGS:
            try:
                return from_wire(x)
            except ValidationError as e:
                raise _FieldError(_at(path, str(e))) from None
        return {k: _shape(e, _field_of(val, k), [*path, k]) for k, e in x.items()}
    return x


def _at(path: list[str | int], message: str) -> str:
    where = format_path(path)
    return f"{where}: {message}" if where else message


def parse_json_text(text: str, validator: Validator | None) -> Any:
    """Parse a JSON field's text into a Convex value, guided by ``validator``.

    Plain JSON; a number is a float64 unless ``validator`` expects an int64 at its
    place; ``{"$integer": ...}``, ``{"$float": ...}`` and ``{"$bytes": ...}`` (base64)
    are decoded anywhere.

    Raises:
        ValueError: the text is not valid JSON (the message says where).
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise _FieldError(f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    return _shape(raw, validator, [])


# ---------------------------------------------------------------------------
# converting the front end's values
# ---------------------------------------------------------------------------


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def _to_int64(text: str) -> int:
    s = text.strip()
    try:
        n = int(s)
    except ValueError:
        try:
            f = float(s)
        except ValueError:
            raise _FieldError(f"expected a whole number (int64), got {s!r}") from None
        raise _FieldError(
            f"expected a whole number (int64), got {s!r}, which is a float"
            + (f"; write {int(f)}" if math.isfinite(f) and f == int(f) else "")
        ) from None
    if not _INT64_MIN <= n <= _INT64_MAX:
        raise _FieldError(
            f"{s} does not fit in int64 (from {_INT64_MIN} to {_INT64_MAX})"
        )
    return n


def _to_float(text: str) -> float:
    s = text.strip()
    try:
        return float(s)
    except ValueError:
        raise _FieldError(
            f"expected a number (float64) such as 3, -0.5, 1e6 or NaN, got {s!r}"
        ) from None


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    s = _text(raw).strip().lower()
    if s in ("true", "1", "yes", "on"):
        return True
    if s in ("false", "0", "no", "off"):
        return False
    raise _FieldError(f"expected true or false, got {s!r}")


class FormWidget(anywidget.AnyWidget):  # type: ignore[misc]
    """The widget returned by ``app.form`` (see the module docstring)."""

    _esm = _STATIC / "form.js"
    _css = _STATIC / "form.css"

    function = traitlets.Unicode("").tag(sync=True)
    kind = traitlets.Unicode("mutation").tag(sync=True)
    doc = traitlets.Unicode("").tag(sync=True)
    fields: traitlets.List[Any] = traitlets.List().tag(sync=True)
    id_options: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)
    result: traitlets.Unicode[str | None, str | None] | Any = traitlets.Unicode(
        None, allow_none=True
    ).tag(sync=True)
    error: traitlets.Dict[str, Any] | Any = traitlets.Dict(
        allow_none=True, default_value=None
    ).tag(sync=True)
    field_errors: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    runs = traitlets.Int(0).tag(sync=True)
    #: The last return value (not synced: Python-side only).
    value = traitlets.Any(None)

    def __init__(self, app: App, ref: Any, **kwargs: Any) -> None:
        fn = app.resolve(ref)
        if fn.kind not in ("mutation", "action"):
            raise FunctionError(
                f"app.form needs a mutation (or an action); {fn.path} is a {fn.kind}"
                + (": show its result with app.live(...)" if fn.kind == "query" else "")
            )
        super().__init__(**kwargs)
        self._app = app
        self._fn = fn
        self._lock = threading.RLock()
        self._validators: dict[str, Validator | None] = {}
        val = fn.args_validator
        self._whole = not isinstance(val, ObjectValidator)
        if isinstance(val, ObjectValidator):
            self._validators = {n: _unwrap(f) for n, f in val.fields.items()}
        else:
            self._validators = {"args": val}
        self.function = fn.path
        self.kind = fn.kind
        self.doc = inspect.cleandoc(fn.__doc__ or "").split("\n\n")[0].strip()
        self.fields = describe_fields(fn)
        self._thread: threading.Thread | None = None
        # live id options: one read watcher per referenced table
        self._tables = sorted({f["table"] for f in self.fields if f["table"]})
        self._watchers: list[ReadWatcher] = []
        self._dirty: set[str] = set()
        self._last_refresh = 0.0
        self._timer: threading.Timer | None = None
        self._closed = False
        if self._tables:
            # watch first, then read: a commit in between refreshes, never goes unseen
            for t in self._tables:
                rs = ReadSet.build([(t, "by_creation_time", b"", b"\xff")])
                self._watchers.append(app._reactor.watch_reads(rs, self._watch_callback(t)))
            with self._lock:
                self.id_options = {t: self._read_options(t) for t in self._tables}
        self.on_msg(self._on_front_end_msg)

    # -- id options ----------------------------------------------------------------------

    def _read_options(self, table: str) -> dict[str, Any]:
        db = self._app._db
        options: list[list[str]] = []
        with db.base_lock:
            mt = db.base.tables.get(table)
            if mt is None:
                return {"options": [], "total": 0}
            total = len(mt.docs)
            keys = mt.indexes["by_creation_time"].keys
            for key in itertools.islice(reversed(keys), MAX_ID_OPTIONS):
                doc_id = id_from_key(key)
                doc = mt.docs.get(doc_id)
                if doc is not None:
                    options.append([doc_id, _label(doc)])
        return {"options": options, "total": total}

    def _watch_callback(self, table: str) -> Callable[[], None]:
        return lambda: self._table_changed(table)

    def _table_changed(self, table: str) -> None:
        """A commit wrote to ``table`` (engine thread): refresh, at most 10 times/s."""
        with self._lock:
            if self._closed:
                return
            self._dirty.add(table)
            if self._timer is not None:
                return  # a refresh is already scheduled
            wait = self._last_refresh + MIN_REFRESH_INTERVAL - time.monotonic()
            if wait > 0:
                self._timer = threading.Timer(wait, self._refresh_dirty)
                self._timer.daemon = True
                self._timer.start()
                return
        self._refresh_dirty()

    def _refresh_dirty(self) -> None:
        with self._lock:
            self._timer = None
            if self._closed or not self._dirty:
                return
            tables, self._dirty = self._dirty, set()
            self._last_refresh = time.monotonic()
            try:
                fresh = {t: self._read_options(t) for t in tables}
                merged = {**self.id_options, **fresh}
                if merged != self.id_options:
                    self.id_options = merged
            except Exception:
                log.exception("a form could not refresh its id options")

    def refresh_options(self) -> None:
        """Re-read the id pickers' options now."""
        with self._lock:
            self._dirty.update(self._tables)
        self._refresh_dirty()

    # -- submitting ----------------------------------------------------------------------

    def convert(self, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """The front end's values as arguments, and the fields that could not be
        converted (``{name: message}``). Empty optional fields are left out."""
        args: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for field in self.fields:
            name = field["name"]
            try:
                present, value = self._convert_field(field, values.get(name, field["default"]))
            except _FieldError as e:
                errors[name] = str(e)
                continue
            if present:
                args[name] = value
        if self._whole and "args" in args and not errors:
            whole = args.pop("args")
            if not isinstance(whole, dict):
                errors["args"] = "expected a JSON object of arguments, such as {\"name\": \"x\"}"
            else:
                args = whole
        return args, errors

    def _convert_field(self, field: dict[str, Any], raw: Any) -> tuple[bool, Any]:
        kind = field["kind"]
        if kind == "boolean" and isinstance(raw, bool):
            return True, raw
        text = _text(raw)
        if kind == "string":
            if text == "" and field["optional"]:
                return False, None
            return True, text
        if text.strip() == "":
            if field["optional"]:
                return False, None
            raise _FieldError("required: enter a value" if kind != "id" else "required: pick a document")
        if kind == "int64":
            return True, _to_int64(text)
        if kind == "number":
            return True, _to_float(text)
        if kind == "boolean":
            return True, _to_bool(raw)
        if kind == "id":
            text = text.strip()
            table = field["table"]
            found = self._app._db.table_of_id(text)
            if found != table:
                raise _FieldError(
                    f"{text!r} is not an id of table {table!r}"
                    + (f" (it is an id of {found!r})" if found is not None else "")
                )
            return True, text
        if kind == "choice":
            inner = self._validators[field["name"]]
            assert inner is not None
            values = _choice_values(inner) or []
            try:
                index = int(text)
            except ValueError:
                index = -1
            if not 0 <= index < len(values):
                raise _FieldError(f"pick one of {', '.join(field['choices'])}")
            return True, values[index]
        return True, parse_json_text(text, self._validators[field["name"]])

    def submit(self, values: dict[str, Any], *, wait: bool = False) -> threading.Thread | None:
        """Convert ``values`` and call the function on a worker thread.

        Returns the thread (joined first when ``wait``), or None when nothing was
        called: a field could not be converted (see ``field_errors``), or a call is
        still running.
        """
        with self._lock:
            if self.busy:
                return None
            args, errors = self.convert(values if isinstance(values, dict) else {})
            self.field_errors = errors
            self.error = None
            self.result = None
            self.value = None  # with result: the last run's (none while a call runs)
            if errors:
                return None
            self.busy = True
            thread = threading.Thread(
                target=self._run, args=(args,), name="nbreactive-form", daemon=True
            )
            self._thread = thread
            thread.start()
        if wait:
            thread.join()
        return thread

    def _run(self, args: dict[str, Any]) -> None:
        try:
            try:
                if self._fn.kind == "action":
                    value = self._app.run_action(self._fn, args)
                else:
                    value = self._app.run_mutation(self._fn, args)
            except BaseException as e:  # shown in the form, never raised on a thread
                with self._lock:
                    self.field_errors = self._field_errors_of(e)
                    self.error = _error_info(e)
                    self.result = None
            else:
                with self._lock:
                    self.value = value
                    self.result = _pretty(value)
        finally:
            with self._lock:
                self.runs += 1
                self.busy = False

    def _field_errors_of(self, e: BaseException) -> dict[str, str]:
        if not isinstance(e, ArgumentValidationError):
            return {}
        if self._whole:
            return {"args": e.detail}
        path = e.path or ""
        if path == "":
            m = _MISSING_FIELD.search(str(e))
            if m and m.group(1) in self._validators:
                return {m.group(1): "required"}
            return {}
        detail = e.detail
        inner = detail[len(path) + 2:] if detail.startswith(path + ": ") else detail
        # the longest field name whose path prefixes the error's path
        for name in sorted(self._validators, key=len, reverse=True):
            prefix = format_path([name])
            if path == prefix:
                return {name: inner}
            if path.startswith(prefix) and path[len(prefix)] in ".[":
                return {name: f"{path[len(prefix):]}: {inner}"}
        return {}

    # -- the front end's messages (kernel thread) -------------------------------------

    def _on_front_end_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        try:
            if content.get("type") == "submit":
                values = content.get("values")
                self.submit(values if isinstance(values, dict) else {})
        except Exception:
            log.exception("a form could not handle its front end's message: %r", content)

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def function_ref(self) -> RegisteredFunction:
        """The function the form calls."""
        return self._fn

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running call (if any) to finish; returns whether none is running."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def close(self) -> None:
        """Stop following the id pickers' tables and close the widget."""
        if not hasattr(self, "_lock"):  # __init__ refused the function (__del__ calls this)
            return
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        for w in self._watchers:
            w.close()
        self._watchers = []
        super().close()

    def __repr__(self) -> str:
        names = ", ".join(f["name"] for f in self.fields)
        return f"<nbreactive.FormWidget {self.kind} {self.function}({names})>"


def _label(doc: dict[str, Any]) -> str:
    for k, x in doc.items():
        if type(x) is str and not k.startswith("_"):
            text = " ".join(x.split())
            return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
    return ""


def _error_info(e: BaseException) -> dict[str, Any]:
    data = getattr(e, "data", None) if isinstance(e, AppError) else None
    message = str(e)
    if isinstance(e, AppError) and not isinstance(data, str):
        message = format_value(data, limit=2000)  # Convex's look, not Python's repr
    info: dict[str, Any] = {
        "type": type(e).__name__,
        "message": message,
        "path": e.path if isinstance(e, ValidationError) else None,
        "data": None if data is None else format_value(data, limit=2000),
        "traceback": None,
    }
    if not isinstance(e, NbReactiveError):
        # a bug in the function: where it happened (its own frames, last few)
        tb = traceback.format_exception(type(e), e, e.__traceback__, limit=-4)
        info["traceback"] = "".join(tb)[-4000:]
    return info


def _pretty(value: Any, indent: int = 0, width: int = 88) -> str:
    """Convex-looking text of a value, on one line when it fits."""
    flat = format_value(value, limit=100_000)
    if len(flat) + indent <= width or not isinstance(value, (list, dict)) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, list):
        items = [pad + _pretty(x, indent + 2, width) for x in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [f"{pad}{k}: {_pretty(x, indent + 2, width)}" for k, x in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"

