"""Calling an app's functions for a remote client: the path forms the official
clients send, public vs internal functions, arguments from the wire, and errors in
Convex's shapes (``shared/reference/convex-protocol.md`` §1, §4).

Paths: clients send ``"mod:fn"``, ``"dir/mod:fn"``, a bare ``"mod"`` (the npm sync
client makes it ``"mod:default"``) and, after a reconnect, the Rust client's
``"mod.js:fn"``. All name the same registered function.

Errors are function results, not transport failures (HTTP 200, ``QueryFailed``,
``success: false``): ``RemoteError(message, data)`` carries ``errorMessage`` and, for
``nr.AppError``, ``errorData`` (its data in the wire encoding).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from nbreactive.errors import AppError, ArgumentValidationError, NbReactiveError, ValidationError
from nbreactive.values.model import MAX_VALUE_NESTING, normalize_value, short_repr
from nbreactive.values.wire import from_wire, to_wire

if TYPE_CHECKING:
    from nbreactive.app import App
    from nbreactive.functions.registry import RegisteredFunction
    from nbreactive.functions.requests import Request

__all__ = ["MAX_BODY_BYTES", "RemoteError", "call", "decode_args", "find_function", "too_large", "wire_error"]

log = logging.getLogger("nbreactive.server")

#: Largest request body (and WebSocket message): Convex's 16 MiB for arguments, plus room.
MAX_BODY_BYTES = 17 * 1024 * 1024
#: A larger body or message is still read (and dropped) up to this size, so that its
#: sender is told why: an HTTP server that stops reading resets the connection (the answer
#: is lost), and a socket closed for it is reopened by the clients, which send it again.
DISCARD_BODY_BYTES = 4 * MAX_BODY_BYTES


def too_large(what: str, size: int) -> str:
    """Why ``what`` of ``size`` bytes is refused."""
    return (f"{what} is {size / 2**20:.1f} MiB, more than the {MAX_BODY_BYTES // 2**20} MiB this "
            "server accepts (Convex's limit for a function's arguments is 16 MiB): store large "
            "data in file storage")

_KIND_NAMES = {"query": "Query", "mutation": "Mutation", "action": "Action"}


class RemoteError(Exception):
    """A function-level failure to report to the client (``errorMessage`` [+ ``errorData``])."""

    def __init__(self, message: str, data: Any = None, has_data: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.data = data  # already in the wire encoding
        self.has_data = has_data


def _candidates(path: str) -> list[str]:
    from nbreactive.functions.registry import canonical_path

    module, sep, name = path.rpartition(":")
    if sep and module.endswith(".js"):
        module = module[:-3]
    elif not sep and path.endswith(".js"):
        path = path[:-3]
    out = [canonical_path(f"{module}:{name}" if sep else path)]
    if sep and name == "default":
        out.append(canonical_path(module))  # "mod:default" is the function registered as "mod"
    elif not sep:
        out.append(f"{out[0]}:default")
    return out


def find_function(app: App, path: Any, kind: str, *, admin: bool) -> RegisteredFunction:
    """The function a client named, or ``RemoteError`` with Convex's message. Internal
    functions are reachable only with the admin key, and otherwise look absent."""
    if not isinstance(path, str) or not path:
        raise RemoteError(f"The function path must be a non-empty string, got {path!r}.")
    fn = None
    for candidate in _candidates(path):
        fn = app.functions.get(candidate)
        if fn is not None:
            break
    if fn is None or (fn.internal and not admin):
        raise RemoteError(f"Could not find public function for '{_candidates(path)[0]}'.")
    if fn.kind != kind:
        raise RemoteError(
            f"Trying to execute {fn.path} as {_KIND_NAMES[kind]}, but it is defined as "
            f"{_KIND_NAMES[fn.kind]}."
        )
    return fn


def decode_args(raw: Any) -> dict[str, Any]:
    """Arguments from the wire: an object, or (what the npm clients send) a list holding
    one object. Numbers arrive as float64, int64 as ``{"$integer": ...}``."""
    if isinstance(raw, list):
        if len(raw) != 1:
            raise RemoteError(
                "ArgumentValidationError: expected the arguments as one object (or a list "
                f"holding one object), got a list of {len(raw)} values."
            )
        raw = raw[0]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RemoteError(
            "ArgumentValidationError: Expected to receive an object as the function's "
            f"argument. Instead received: {raw!r}"
        )
    try:
        args = from_wire(raw)
    except (TypeError, ValueError, ValidationError) as e:
        raise RemoteError(f"ArgumentValidationError: the arguments are not Convex values: {e}") from None
    if not isinstance(args, dict):  # an encoded scalar, e.g. {"$integer": ...}
        raise RemoteError(
            "ArgumentValidationError: Expected to receive an object as the function's "
            f"argument. Instead received: {short_repr(args)}"
        )
    return args


def wire_error(error: BaseException, *, redact: bool) -> RemoteError:
    """A function's exception as what the client is told.

    Never raises, whatever the exception holds: its message and data go into JSON
    frames, and a failure here would crash the request or the sync connection
    instead of reporting the function's error. ``nr.AppError`` data that is not a
    Convex value (refused when the AppError is built, but ``.data`` can be changed
    afterwards) becomes a plain error saying so, without ``errorData``.
    """
    try:
        out = _wire_error(error, redact)
        out.message = _sendable(out.message)
        return out
    except Exception:  # a broken __str__, ...: still an answer, never a crash
        log.warning("could not describe a function's error for a client", exc_info=True)
        if redact:
            return RemoteError("Server Error")
        return RemoteError(
            f"Uncaught {type(error).__name__} (its message could not be read; see the server log)"
        )


def _wire_error(error: BaseException, redact: bool) -> RemoteError:
    if isinstance(error, RemoteError):
        return error
    if isinstance(error, AppError):
        try:
            value = normalize_value(error.data, max_nesting=MAX_VALUE_NESTING, copy=False)
            data = to_wire(value)
        except ValidationError as e:
            if redact:
                return RemoteError("Server Error")
            return RemoteError(
                "Uncaught AppError whose data cannot be sent: the data of nr.AppError(data) "
                f"must be a Convex value (None, bool, int64, float, str, bytes, or lists and "
                f"dicts of those): {e}"
            )
        if isinstance(value, str):
            text = value
        else:
            try:
                text = orjson.dumps(value, default=repr).decode()
            except (TypeError, ValueError):
                text = short_repr(value, 1000)
        message = "Server Error" if redact else f"Uncaught ConvexError: {text}"
        return RemoteError(message, data, has_data=True)
    if isinstance(error, ArgumentValidationError):
        return RemoteError(f"ArgumentValidationError: {error}")
    if redact:
        return RemoteError("Server Error")
    if isinstance(error, NbReactiveError):
        return RemoteError(f"{type(error).__name__}: {error}")
    return RemoteError(f"Uncaught {type(error).__name__}: {error}")


def _sendable(text: str) -> str:
    """``text`` without lone surrogates (JSON encoders refuse them), each shown as ``?``."""
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


@dataclass
class Outcome:
    """What a call gives back: a wire-encoded ``value``, or an ``error``; ``ts`` is a
    mutation's commit timestamp (the latest commit's for a mutation that wrote nothing)."""

    value: Any = None
    error: RemoteError | None = None
    ts: int = 0


def call(app: App, kind: str, path: Any, raw_args: Any, *, admin: bool,
         request: Request | None = None) -> Outcome:
    """Run one remote call to completion (on a worker thread: it blocks). A mutation
    with a ``request`` runs at most once per request (see ``functions/requests.py``)."""
    try:
        fn = find_function(app, path, kind, admin=admin)
        args = decode_args(raw_args)
        commit_ts: list[int] = []
        result = app._call(kind, fn, args, None, commit_ts, request)
        return Outcome(value=to_wire(result), ts=commit_ts[0] if commit_ts else app._db.base_ts)
    except Exception as e:  # every failure is the client's answer, never a crash
        if not isinstance(e, (RemoteError, NbReactiveError)):
            log.info("%s %s failed", kind, path, exc_info=True)
        return Outcome(error=wire_error(e, redact=app.redact_errors), ts=app._db.base_ts)
