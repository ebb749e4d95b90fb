"""Registered functions: what the ``@app.query`` / ``@app.mutation`` / ``@app.action``
decorators (and their ``internal_`` variants) return.

A function's path is ``name=`` if given (e.g. ``"posts:list"``, which the
official Convex clients reach as ``api.posts.list``), otherwise its Python name.
A registered function stays callable: ``posts_by_author(authorId=uid)`` runs it
as a top-level call (its own transaction) from the notebook, or as part of the
current transaction when called from inside another query or mutation.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbreactive.errors import FunctionError
from nbreactive.values.validators import Validator, v

if TYPE_CHECKING:
    from nbreactive.app import App

__all__ = ["KINDS", "RegisteredFunction", "args_validator", "canonical_path"]

KINDS = ("query", "mutation", "action")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*([/.][A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?$")


def canonical_path(path: str) -> str:
    """``"posts:list"``, ``"posts/list"`` (HTTP ``/api/run`` style) and ``"posts.list"``
    name the same function; plain ``"list"`` stays as it is."""
    if ":" in path:
        module, fn = path.rsplit(":", 1)
        return f"{module.replace('.', '/')}:{fn}"
    if "/" in path:
        module, fn = path.rsplit("/", 1)
        return f"{module}:{fn}"
    return path


def args_validator(args: Any, where: str) -> Validator | None:
    """Turn the ``args=`` option (dict of validators, one validator, or None) into a validator."""
    if args is None:
        return None
    if isinstance(args, dict):
        for k, val in args.items():
            if not isinstance(val, Validator):
                raise FunctionError(
                    f"{where}: args[{k!r}] must be a validator such as v.string(), got {val!r}"
                )
        return v.object(args)
    if isinstance(args, Validator):
        return args
    raise FunctionError(
        f"{where}: args= must be a dict of validators (e.g. {{'title': v.string()}}) or one "
        f"validator, got {args!r}"
    )


class RegisteredFunction:
    """A query, mutation or action registered on an app.

    Attributes:
        kind: ``"query"``, ``"mutation"`` or ``"action"``.
        path: the function's path, e.g. ``"posts:list"``.
        internal: callable only from other functions, the scheduler and the notebook.
        handler: the Python function, called as ``handler(ctx, **args)``.
    """

    def __init__(
        self,
        app: App,
        kind: str,
        handler: Callable[..., Any],
        *,
        args: Any = None,
        returns: Validator | None = None,
        name: str | None = None,
        internal: bool = False,
    ) -> None:
        if not callable(handler):
            raise FunctionError(f"@app.{kind} decorates a function, got {handler!r}")
        path = name if name is not None else handler.__name__
        if not isinstance(path, str) or not _PATH.match(path):
            raise FunctionError(
                f"invalid function path {path!r}: use an identifier, optionally with a module "
                "prefix, e.g. 'list' or 'posts:list'"
            )
        if returns is not None and not isinstance(returns, Validator):
            raise FunctionError(f"returns= must be a validator such as v.string(), got {returns!r}")
        self.app = app
        self.kind = kind
        self.handler = handler
        self.path = canonical_path(path)
        self.internal = internal
        self.args_validator = args_validator(args, f"@app.{kind} {path}")
        self.returns_validator = returns
        self.is_async = inspect.iscoroutinefunction(handler)
        if self.is_async and kind != "action":
            raise FunctionError(
                f"{self.path}: {kind} handlers must be plain `def` functions (queries and "
                "mutations are synchronous, deterministic transactions); only actions may be "
                "`async def`."
            )
        self.__doc__ = handler.__doc__
        self.__name__ = getattr(handler, "__name__", self.path)
        self.__wrapped__ = handler

    def __call__(self, args: dict[str, Any] | None = None, /, **kwargs: Any) -> Any:
        """Run the function: ``fn(title="x")`` or ``fn({"title": "x"})``."""
        if args is not None and kwargs:
            raise FunctionError(f"call {self.path} with keyword arguments or one dict, not both")
        if args is not None and not isinstance(args, dict):
            raise FunctionError(
                f"{self.path} takes keyword arguments or one dict of arguments, got {args!r}"
            )
        return self.app._call(self.kind, self, args if args is not None else kwargs, None)

    def __repr__(self) -> str:
        scope = "internal " if self.internal else ""
        return f"<{scope}{self.kind} {self.path}>"
