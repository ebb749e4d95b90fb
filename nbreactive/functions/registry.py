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

from nbreactive.errors import ArgumentValidationError, FunctionError
from nbreactive.values.compound_validators import ObjectValidator
from nbreactive.values.validator_base import not_a_validator
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
                    f"{where}: args[{k!r}] must be a validator such as v.string(), got "
                    f"{not_a_validator(val)}"
                )
        return v.object(args)
    if isinstance(args, Validator):
        return args
    raise FunctionError(
        f"{where}: args= must be a dict of validators (e.g. {{'title': v.string()}}) or one "
        f"validator, got {args!r}"
    )


_P = inspect.Parameter


class _Params:
    """What a handler's signature accepts when called as ``handler(ctx, **args)``."""

    __slots__ = ("ctx_keyword", "keywords", "name", "required", "var_keyword")

    def __init__(self, handler: Callable[..., Any], where: str) -> None:
        self.name = getattr(handler, "__name__", "handler")
        if not isinstance(self.name, str) or not self.name.isidentifier():
            self.name = "handler"
        params = list(inspect.signature(handler).parameters.values())
        positional = [p for p in params if p.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)]
        ctx = positional[0] if positional else None
        if ctx is None and not any(p.kind is _P.VAR_POSITIONAL for p in params):
            raise FunctionError(
                f"{where}: the handler takes no parameter for ctx, but it is called as "
                f"handler(ctx, **args): write `def {self.name}(ctx, ...)`."
            )
        for p in positional[1:]:
            if p.kind is _P.POSITIONAL_ONLY and p.default is p.empty:
                raise FunctionError(
                    f"{where}: the handler's parameter {p.name!r} is positional-only, but "
                    "arguments are passed by name (handler(ctx, **args)): remove the `/` "
                    "after it."
                )
        # An argument named like the ctx parameter would be given twice.
        self.ctx_keyword = ctx.name if ctx is not None and ctx.kind is _P.POSITIONAL_OR_KEYWORD else None
        named = [
            p for p in params
            if p is not ctx and p.kind in (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)
        ]
        self.keywords = frozenset(p.name for p in named)
        self.required = tuple(p.name for p in named if p.default is p.empty)
        self.var_keyword = any(p.kind is _P.VAR_KEYWORD for p in params)

    def refuses(self, name: str) -> bool:
        """Whether ``handler(ctx, **{name: ...})`` raises TypeError."""
        if name == self.ctx_keyword:
            return True
        return name not in self.keywords and not self.var_keyword

    def takes(self) -> str:
        return ", ".join(sorted(self.keywords)) or "no arguments"

    def check_declared(self, fields: dict[str, Validator], where: str) -> _Deferred | None:
        """Refuse ``args=`` that no call could bind to the handler (FunctionError); the
        checks left to each call (a mismatch that only some calls hit, e.g. an optional
        argument whose parameter has no default: calls that pass it work), or None."""
        missing: dict[str, Validator] = {}
        unexpected: dict[str, str] = {}
        for name, validator in fields.items():
            if validator.is_optional and self.refuses(name):
                # Calls that leave it out work: refused at a call that passes it.
                unexpected[name] = (
                    "it is also the name of the handler's ctx parameter: rename one of them"
                    if name == self.ctx_keyword
                    else f"the handler has no parameter {name!r} (it takes {self.takes()}): "
                    f"add it, e.g. `def {self.name}(ctx, {name}=None, ...)`, or accept "
                    "**kwargs, or leave the argument out"
                )
                continue
            if name == self.ctx_keyword:
                raise FunctionError(
                    f"{where}: args= declares {name!r}, which is also the name of the "
                    "handler's first parameter (the one that receives ctx): rename one of them."
                )
            if self.refuses(name):
                raise FunctionError(
                    f"{where}: args= declares {name!r}, but the handler has no parameter "
                    f"{name!r} (it takes {self.takes()}): add it, e.g. "
                    f"`def {self.name}(ctx, {name}, ...)`, or accept **kwargs."
                )
            if validator.is_optional and name in self.required:
                missing[name] = validator  # refused at a call that leaves it out
        for name in self.required:
            if name not in fields:
                raise FunctionError(
                    f"{where}: the handler's parameter {name!r} has no default and is not "
                    f"declared in args=, so no call could give it: declare it (e.g. "
                    f"args={{{name!r}: v.string(), ...}}) or give it a default."
                )
        return _Deferred(missing, unexpected) if missing or unexpected else None

    def check_call(self, path: str, args: dict[str, Any]) -> None:
        """Refuse arguments the handler cannot take (ArgumentValidationError), before it
        runs: a TypeError from calling it would look like a bug in the handler."""
        for name in args:
            if self.refuses(name):
                why = (
                    "the name of the handler's ctx parameter"
                    if name == self.ctx_keyword
                    else f"not a parameter of the handler, which takes {self.takes()}"
                )
                raise ArgumentValidationError(
                    f"Invalid arguments for {path}: unexpected argument {name!r}: it is {why}.",
                    path=f".{name}",
                )
        for name in self.required:
            if name not in args:
                raise ArgumentValidationError(
                    f"Invalid arguments for {path}: missing argument {name!r} (a parameter of "
                    "the handler without a default).",
                    path=f".{name}",
                )


class _Deferred:
    """The checks ``args=`` leaves to each call: optional declared arguments that bind
    only when passed (a parameter without a default) or only when left out (no
    parameter for them, or named like the ctx parameter). Registering them is allowed
    (ports from Convex often declare ``v.optional`` and always pass it, or never);
    a call that would not bind is an ArgumentValidationError, not a TypeError."""

    __slots__ = ("missing", "unexpected")

    def __init__(self, missing: dict[str, Validator], unexpected: dict[str, str]) -> None:
        self.missing = missing
        self.unexpected = unexpected

    def check_call(self, path: str, args: dict[str, Any]) -> None:
        for name, why in self.unexpected.items():
            if name in args:
                raise ArgumentValidationError(
                    f"Invalid arguments for {path}: unexpected argument {name!r}: args= "
                    f"declares it optional, but {why}.",
                    path=f".{name}",
                )
        for name, validator in self.missing.items():
            if name not in args:
                raise ArgumentValidationError(
                    f"Invalid arguments for {path}: missing argument {name!r}: it is optional "
                    f"in args= ({validator!r}), but the handler's parameter {name!r} has no "
                    f"default: give it one (`{name}=None`) or pass the argument.",
                    path=f".{name}",
                )


def _signature_checks(
    handler: Callable[..., Any], validator: Validator | None, where: str
) -> _Params | _Deferred | None:
    """Check the handler's parameters against ``args=`` (FunctionError when they can
    never match); what to check each call with, or None when every call that passes
    ``validator`` binds."""
    try:
        params = _Params(handler, where)
    except (TypeError, ValueError):  # no signature (some builtins): nothing to check
        return None
    if isinstance(validator, ObjectValidator):
        # Validated args have only declared names, the required ones included.
        return params.check_declared(validator.fields, where)
    if params.var_keyword and params.ctx_keyword is None and not params.required:
        return None  # any names bind
    return params


class RegisteredFunction:
    """A query, mutation or action registered on an app.

    Attributes:
        kind: ``"query"``, ``"mutation"`` or ``"action"``.
        path: the function's path, e.g. ``"posts:list"``.
        internal: callable only from other functions, the scheduler and the notebook.
        handler: the Python function, called as ``handler(ctx, **args)``.

    Raises:
        FunctionError: at registration, for an invalid path, ``args=`` or ``returns=``,
            an ``async def`` query or mutation, or a handler whose parameters cannot
            take the declared ``args=`` (a required argument it has no parameter for,
            a parameter without a default that is not declared, no first parameter
            for ``ctx``). Without ``args=`` each call is checked instead: arguments
            the handler cannot take are an ``ArgumentValidationError`` before it runs;
            so is a call that leaves out an argument optional in ``args=`` whose
            parameter has no default, or passes one optional in ``args=`` that the
            handler has no parameter for (registering those is allowed: the other
            calls work).
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
            raise FunctionError(
                f"returns= must be a validator such as v.string(), got {not_a_validator(returns)}"
            )
        self.app = app
        self.kind = kind
        self.handler = handler
        self.path = canonical_path(path)
        self.internal = internal
        self.args_validator = args_validator(args, f"@app.{kind} {path}")
        # Checked now, not at the first call: a handler whose parameters do not match
        # args= would fail every call with a raw TypeError.
        self._call_params = _signature_checks(handler, self.args_validator, f"@app.{kind} {path}")
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

    def check_call_args(self, args: dict[str, Any]) -> None:
        """Raise ArgumentValidationError when ``handler(ctx, **args)`` could not bind
        (``args`` already validated). O(len(args)); nothing when ``args=`` declares
        every parameter."""
        if self._call_params is not None:
            self._call_params.check_call(self.path, args)

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
