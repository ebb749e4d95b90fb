"""Every error nbreactive raises, under one root.

The hierarchy::

    NbReactiveError                    root: catch this to catch anything of ours
    ├── AppError                       raised *on purpose* by a function, carries ``.data``
    ├── ValidationError                a value, argument, return value or document does not
    │   │                              match its validator (``.path``, ``.expected``, ``.value``)
    │   ├── ArgumentValidationError    ... the arguments of a function call
    │   └── ReturnsValidationError     ... the value a function returned
    ├── SchemaError                    an invalid schema definition, or existing data that
    │                                  does not fit a new schema (``.report``)
    ├── QueryError                     a malformed query: bad index range, unknown index,
    │   │                              builder reused, ``unique()`` with several results
    │   ├── FilterEvalError            a filter expression failed (mixed int64/float64 arithmetic,
    │   │                              division by zero, non-boolean ``and_``)
    │   └── InvalidCursorError         a pagination cursor from another query, or corrupt
    ├── LimitExceededError             a transaction read or wrote more than its limits allow
    ├── DocumentNotFoundError          ``patch``/``replace``/``delete`` of an id that does not exist
    ├── FunctionError                  unknown function path, wrong kind of call (a mutation
    │   │                              from a query, ``ctx.db`` in an action, ...)
    │   └── ActionTimeoutError         an action ran longer than ``App(action_timeout=...)``
    ├── SqlError                       ``app.sql`` failed or tried to write
    ├── StorageError                   the DuckDB store failed (the mutation was not committed)
    └── BulkImportError                a bulk import was refused (``.problems``); nothing was written

Messages say what was wrong and what to do about it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ActionTimeoutError",
    "AppError",
    "ArgumentValidationError",
    "BulkImportError",
    "DocumentNotFoundError",
    "FilterEvalError",
    "FunctionError",
    "InvalidCursorError",
    "LimitExceededError",
    "NbReactiveError",
    "QueryError",
    "ReturnsValidationError",
    "SchemaError",
    "SqlError",
    "StorageError",
    "ValidationError",
]


class NbReactiveError(Exception):
    """The root of every error nbreactive raises."""


class AppError(NbReactiveError):
    """An error a function raises on purpose, carrying structured ``data``.

    ``data`` is any Convex value (a string, a dict, a list, ...). It reaches every
    caller intact: the notebook, widgets, the nbreactive client and the official
    Convex clients (as ``ConvexError.data`` / ``errorData``).

    Raises:
        ValidationError: ``data`` is not a Convex value (a set, an int beyond int64,
            a datetime, ...): it could reach the notebook but not a remote client, so
            it is refused where it is built, in every case.

    Example::

        @app.mutation(args={"amount": v.number()})
        def withdraw(ctx, amount):
            if amount > balance:
                raise nr.AppError({"code": "INSUFFICIENT_FUNDS", "balance": balance})
    """

    def __init__(self, data: Any = None) -> None:
        _check_app_error_data(data)
        self.data = data
        super().__init__(data if isinstance(data, str) else repr(data))


def _check_app_error_data(data: Any) -> None:
    if data is None or (type(data) is str and data.isascii()):
        return
    # Imported here: nbreactive.values imports this module.
    from nbreactive.values.model import MAX_VALUE_NESTING, normalize_value

    try:
        normalize_value(data, max_nesting=MAX_VALUE_NESTING, copy=False)
    except ValidationError as e:
        message = (
            "nr.AppError(data): data must be a Convex value (None, bool, int64, float, str, "
            "bytes, or lists and dicts of those), since it is sent to every caller, remote "
            f"clients included: {e}"
        )
        raise ValidationError(
            message, path=e.path, expected=e.expected, value=e.value, detail=message
        ) from None


class ValidationError(NbReactiveError):
    """A value did not match its validator.

    Attributes:
        path: where inside the value, e.g. ``".tags[2]"`` (``""`` for the value itself).
        expected: the validator that failed, rendered as code, e.g. ``"v.string()"``.
        value: the offending value.
        detail: the message without any prefix added by the caller.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        expected: str | None = None,
        value: Any = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.expected = expected
        self.value = value
        self.detail = detail if detail is not None else message


class ArgumentValidationError(ValidationError):
    """The arguments of a function call did not match its ``args`` validators."""


class ReturnsValidationError(ValidationError):
    """A function returned a value that does not match its ``returns`` validator."""


class SchemaError(NbReactiveError):
    """An invalid schema, or existing documents that do not fit a new schema.

    ``report`` (when set) lists every offending document and why.
    """

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class QueryError(NbReactiveError):
    """A malformed query: bad index range, unknown table or index, misuse of a builder."""


class FilterEvalError(QueryError):
    """A filter expression could not be evaluated (Convex's ``EvalError``)."""


class InvalidCursorError(QueryError):
    """A pagination cursor that belongs to a different query, or is corrupt."""


class LimitExceededError(NbReactiveError):
    """A transaction exceeded one of its limits (documents scanned, bytes read, ...)."""


class DocumentNotFoundError(NbReactiveError):
    """``patch``, ``replace`` or ``delete`` of a document that does not exist."""


class FunctionError(NbReactiveError):
    """An unknown function, or a function used where its kind is not allowed."""


class ActionTimeoutError(FunctionError):
    """An action did not finish within the app's ``action_timeout``."""


class SqlError(NbReactiveError):
    """``app.sql`` / ``ctx.db.sql`` failed, or the statement tried to write."""


class StorageError(NbReactiveError):
    """The DuckDB store failed; the affected mutations were not committed."""


class BulkImportError(NbReactiveError):
    """A bulk import was refused; ``problems`` lists the first offending rows.

    Nothing of a refused import is written.
    """

    def __init__(self, message: str, problems: list[tuple[int, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []
