"""nbreactive: a reactive document backend for Python, stored in DuckDB.

Convex's programming model — validated document tables, queries and mutations as
transactions, actions — inside a Jupyter kernel or any Python process.

Example::

    import nbreactive as nr
    from nbreactive import v

    app = nr.App("blog.duckdb")

    @app.mutation(args={"title": v.string()})
    def create_post(ctx, title):
        return ctx.db.insert("posts", {"title": title, "published": False})
"""

from nbreactive.app import App
from nbreactive.client import Client, ClientError, ClientSubscription
from nbreactive.errors import (
    ActionTimeoutError,
    AppError,
    ArgumentValidationError,
    BulkImportError,
    DocumentNotFoundError,
    FilterEvalError,
    FunctionError,
    InvalidCursorError,
    LimitExceededError,
    NbReactiveError,
    QueryError,
    ReturnsValidationError,
    SchemaError,
    SqlError,
    StorageError,
    ValidationError,
)
from nbreactive.functions.clock import ManualClock
from nbreactive.functions.limits import TransactionLimits
from nbreactive.reactive import Inspection, Subscription
from nbreactive.schema import define_schema, define_table
from nbreactive.values import UNDEFINED, Id, v

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext nbreactive``: the ``%%live`` cell magic (see ``nbreactive.magics``)."""
    from nbreactive.magics import load_ipython_extension as load

    load(ipython)


def live_cell(fn: object) -> object:
    """Decorator: run a function as a live cell (re-run, output replaced, whenever data it
    read changes) and display it. Needs the ``widgets`` extra. See ``nbreactive.widgets.live_cell``."""
    from nbreactive.widgets.live_cell import live_cell as make

    return make(fn)  # type: ignore[arg-type]

__all__ = [
    "ActionTimeoutError",
    "App",
    "AppError",
    "ArgumentValidationError",
    "BulkImportError",
    "Client",
    "ClientError",
    "ClientSubscription",
    "DocumentNotFoundError",
    "FilterEvalError",
    "FunctionError",
    "Id",
    "Inspection",
    "InvalidCursorError",
    "LimitExceededError",
    "ManualClock",
    "NbReactiveError",
    "QueryError",
    "ReturnsValidationError",
    "SchemaError",
    "SqlError",
    "StorageError",
    "Subscription",
    "TransactionLimits",
    "UNDEFINED",
    "ValidationError",
    "define_schema",
    "define_table",
    "live_cell",
    "load_ipython_extension",
    "v",
]
