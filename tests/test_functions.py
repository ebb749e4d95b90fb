"""Functions end to end, the way a notebook user drives them (SPEC §1.3, §1.4).

Decorators (with and without parentheses, public and internal), paths
(``name="posts:list"``, ``"posts/list"``), direct calls, argument and return
validation, wrong kinds and unknown paths, ``nr.AppError`` data, actions (``def``
and ``async def``) and what they may call, and the one error root
(convex-semantics §9, §12.3 case 11).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import nbreactive as nr
from nbreactive import v


@pytest.fixture
def app() -> Iterator[nr.App]:
    with nr.App() as a:
        yield a


# ---------------------------------------------------------------------------
# decorators
# ---------------------------------------------------------------------------

DECORATORS = [
    ("query", "query", False),
    ("mutation", "mutation", False),
    ("action", "action", False),
    ("internal_query", "query", True),
    ("internal_mutation", "mutation", True),
    ("internal_action", "action", True),
]


def _run(app: nr.App, kind: str, ref: Any, args: dict[str, Any] | None = None) -> Any:
    return getattr(app, f"run_{kind}")(ref, args)


@pytest.mark.parametrize(
    ("decorator", "kind", "internal"), DECORATORS, ids=[d[0] for d in DECORATORS]
)
@pytest.mark.parametrize("style", ["bare", "empty parentheses", "with options"])
def test_decorator_forms_register_a_callable_function(app, decorator, kind, internal, style):
    deco = getattr(app, decorator)

    def handler(ctx, **kw):
        return {"got": kw}

    if style == "bare":
        fn = deco(handler)
    elif style == "empty parentheses":
        fn = deco()(handler)
    else:
        fn = deco(args={"x": v.int64()}, returns=v.object({"got": v.any()}))(handler)

    assert fn.kind == kind
    assert fn.internal is internal
    assert fn.path == "handler"
    assert app.functions["handler"] is fn
    args = {"x": 1}
    assert fn(x=1) == {"got": args}
    assert fn(args) == {"got": args}
    assert _run(app, kind, "handler", args) == {"got": args}
    assert _run(app, kind, fn, args) == {"got": args}


def test_decorator_syntax_as_written_in_a_notebook(app):
    @app.query
    def bare(ctx):
        return "bare"

    @app.query()
    def parens(ctx):
        return "parens"

    @app.mutation(args={"n": v.int64()})
    def with_args(ctx, n):
        return n + 1

    assert bare() == "bare"
    assert parens() == "parens"
    assert with_args(n=1) == 2
    assert sorted(app.functions) == ["bare", "parens", "with_args"]


def test_async_query_or_mutation_is_refused_at_registration(app):
    async def handler(ctx):
        return 1

    for deco in (app.query, app.mutation, app.internal_query, app.internal_mutation):
        with pytest.raises(nr.FunctionError, match="async def"):
            deco(handler)


def test_args_must_be_validators(app):
    with pytest.raises(nr.FunctionError, match="validator"):

        @app.query(args={"x": int})
        def f(ctx, x):
            return x


def _h_no_params(ctx):
    return None


def _h_x(ctx, x):
    return x


def _h_x_y(ctx, x, y):
    return x


def _h_kwargs(ctx, **kw):
    return kw


def _h_positional_only(ctx, x, /):
    return x


# (name, args=, handler, fragment of the FunctionError raised at registration)
SIGNATURE_MISMATCHES: list[tuple[str, Any, Callable[..., Any], str]] = [
    (
        "declared arg without a parameter",
        {"x": v.string()},
        _h_no_params,
        "args= declares 'x', but the handler has no parameter 'x' (it takes no arguments): "
        "add it, e.g. `def _h_no_params(ctx, x, ...)`, or accept **kwargs",
    ),
    (
        "one validator declaring an arg without a parameter",
        v.object({"x": v.string(), "z": v.int64()}),
        _h_x,
        "args= declares 'z', but the handler has no parameter 'z' (it takes x)",
    ),
    (
        "required parameter not declared",
        {"x": v.string()},
        _h_x_y,
        "the handler's parameter 'y' has no default and is not declared in args=",
    ),
    (
        "arg named like the ctx parameter",
        {"ctx": v.string()},
        _h_kwargs,
        "args= declares 'ctx', which is also the name of the handler's first parameter",
    ),
    ("no parameter for ctx", None, lambda: None, "the handler takes no parameter for ctx"),
    ("positional-only parameter", {"x": v.string()}, _h_positional_only, "positional-only"),
]


@pytest.mark.parametrize(
    ("args", "handler", "fragment"),
    [pytest.param(a, h, f, id=name) for name, a, h, f in SIGNATURE_MISMATCHES],
)
@pytest.mark.parametrize("decorator", ["query", "mutation", "action"])
def test_handler_parameters_must_match_args_at_registration(app, decorator, args, handler, fragment):
    # Refused when decorated, not at the first call with a raw TypeError.
    with pytest.raises(nr.FunctionError) as info:
        getattr(app, decorator)(args=args, name="f")(handler)
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"@app.{decorator} f: ")
    assert "f" not in app.functions


def test_handler_parameters_that_match_args(app):
    @app.query(args={"x": v.int64(), "y": v.optional(v.int64())})
    def defaults(ctx, x, y=0, debug=False):  # an undeclared parameter with a default is fine
        return x + y

    @app.query(args={"a": v.int64(), "b": v.optional(v.string())})
    def kwargs(ctx, **kw):
        return sorted(kw)

    @app.query(args={"a": v.int64()})
    def star(*a, **kw):
        return kw["a"]

    @app.query(args={"x": v.int64()})
    def keyword_only(ctx, *, x):
        return x

    assert defaults(x=1) == 1 and defaults(x=1, y=2) == 3
    assert kwargs(a=1) == ["a"] and kwargs(a=1, b="s") == ["a", "b"]
    assert star(a=3) == 3
    assert keyword_only(x=4) == 4


@pytest.mark.parametrize("kind", ["query", "mutation", "action"])
def test_optional_argument_whose_parameter_has_no_default(app, kind):
    # Common in ports from Convex: registering it is allowed and calls that pass the
    # argument work; a call that leaves it out is an argument error naming the fix,
    # before the handler runs (not a TypeError that looks like a bug in the handler).
    ran: list[Any] = []

    def lst(ctx, cursor):
        ran.append(cursor)
        return cursor

    fn = getattr(app, kind)(args={"cursor": v.optional(v.string())})(lst)
    assert _run(app, kind, fn, {"cursor": "c1"}) == "c1"
    with pytest.raises(nr.ArgumentValidationError) as info:
        _run(app, kind, fn, {})
    assert str(info.value) == (
        "Invalid arguments for lst: missing argument 'cursor': it is optional in args= "
        "(v.optional(v.string())), but the handler's parameter 'cursor' has no default: "
        "give it one (`cursor=None`) or pass the argument."
    )
    assert info.value.path == ".cursor"
    assert ran == ["c1"]


@pytest.mark.parametrize(
    ("handler", "name", "fragment"),
    [
        pytest.param(
            _h_no_params, "x", "the handler has no parameter 'x' (it takes no arguments): add "
            "it, e.g. `def _h_no_params(ctx, x=None, ...)`, or accept **kwargs, or leave the "
            "argument out", id="no parameter",
        ),
        pytest.param(
            _h_kwargs, "ctx", "it is also the name of the handler's ctx parameter: rename one "
            "of them", id="named like ctx",
        ),
    ],
)
@pytest.mark.parametrize("kind", ["query", "mutation", "action"])
def test_optional_argument_the_handler_has_no_parameter_for(app, kind, handler, name, fragment):
    # Calls that leave it out worked before registration checked signatures: still
    # allowed; a call that passes it is an argument error before the handler runs.
    fn = getattr(app, kind)(args={name: v.optional(v.string())}, name="f")(handler)
    assert _run(app, kind, fn, {}) in (None, {})
    with pytest.raises(nr.ArgumentValidationError) as info:
        _run(app, kind, fn, {name: "s"})
    assert str(info.value) == (
        f"Invalid arguments for f: unexpected argument {name!r}: args= declares it "
        f"optional, but {fragment}."
    )
    assert info.value.path == f".{name}"


@pytest.mark.parametrize(
    ("args", "handler", "call_args", "fragment"),
    [
        pytest.param(
            None, _h_no_params, {"x": 1},
            "unexpected argument 'x': it is not a parameter of the handler, which takes no arguments",
            id="no args=, unexpected",
        ),
        pytest.param(
            None, _h_x, {},
            "missing argument 'x' (a parameter of the handler without a default)",
            id="no args=, missing",
        ),
        pytest.param(
            v.record(v.string(), v.int64()), _h_x, {"x": 1, "y": 2},
            "unexpected argument 'y': it is not a parameter of the handler, which takes x",
            id="a record validator, unexpected",
        ),
        pytest.param(
            None, _h_kwargs, {"ctx": 1}, "unexpected argument 'ctx': it is the name of the "
            "handler's ctx parameter", id="no args=, named like ctx",
        ),
    ],
)
@pytest.mark.parametrize("kind", ["query", "mutation", "action"])
def test_arguments_the_handler_cannot_take_are_an_argument_error(
    app, kind, args, handler, call_args, fragment
):
    # Without args= (or with a validator that does not name the arguments) only a call
    # can tell: it is refused as an argument error before the handler runs, not a
    # TypeError that looks like a bug inside the handler.
    fn = getattr(app, kind)(args=args, name="f")(handler)
    with pytest.raises(nr.ArgumentValidationError) as info:
        _run(app, kind, fn, call_args)
    assert str(info.value) == f"Invalid arguments for f: {fragment}."


# ---------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------


@pytest.fixture
def posts_app(app: nr.App) -> nr.App:
    @app.mutation(name="posts:create", args={"title": v.string()})
    def create(ctx, title):
        return ctx.db.insert("posts", {"title": title})

    @app.query(name="posts:list")
    def list_posts(ctx):
        return [p["title"] for p in ctx.db.query("posts").collect()]

    return app


PATH_SPELLINGS = [
    ("colon", "posts:list"),
    ("slash (HTTP /api/run style)", "posts/list"),
]


@pytest.mark.parametrize("path", [p for _, p in PATH_SPELLINGS], ids=[n for n, _ in PATH_SPELLINGS])
def test_named_function_reached_by_path(posts_app, path):
    posts_app.run_mutation("posts:create", {"title": "hello"})
    posts_app.run_mutation("posts/create", {"title": "world"})
    assert posts_app.run_query(path) == ["hello", "world"]
    assert posts_app.run_query(path, {}) == ["hello", "world"]


def test_name_option_sets_the_path_and_the_function_is_still_callable(posts_app):
    fn = posts_app.functions["posts:list"]
    assert fn.path == "posts:list"
    assert "list_posts" not in posts_app.functions
    posts_app.functions["posts:create"](title="direct")
    assert fn() == ["direct"]


def test_registering_with_a_slash_path_is_the_colon_path(app):
    @app.query(name="posts/count")
    def count(ctx):
        return 0

    assert count.path == "posts:count"
    assert app.run_query("posts:count") == 0


def test_default_path_is_the_python_name(app):
    @app.query
    def my_query(ctx):
        return 42

    assert my_query.path == "my_query"
    assert app.run_query("my_query") == 42


# ---------------------------------------------------------------------------
# direct calls
# ---------------------------------------------------------------------------


def test_direct_calls_with_keywords_or_one_dict(app):
    @app.query(args={"x": v.int64(), "y": v.optional(v.string())})
    def echo(ctx, x, y="none"):
        return [x, y]

    assert echo(x=1) == [1, "none"]
    assert echo({"x": 1}) == [1, "none"]
    assert echo(x=1, y="a") == [1, "a"]
    assert echo({"x": 1, "y": "a"}) == [1, "a"]


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        ("both", "not both"),
        ("not a dict", "dict"),
    ],
)
def test_direct_call_misuse(app, call, fragment):
    @app.query(args={"x": v.int64()})
    def echo(ctx, x):
        return x

    with pytest.raises(nr.FunctionError, match=fragment):
        if call == "both":
            echo({"x": 1}, x=2)
        else:
            echo([1])


def test_direct_call_of_a_mutation_commits(app):
    @app.mutation(args={"n": v.int64()})
    def add(ctx, n):
        return ctx.db.insert("items", {"n": n})

    doc_id = add(n=5)
    assert isinstance(doc_id, nr.Id)
    assert doc_id.table == "items"
    assert app.count("items") == 1


# ---------------------------------------------------------------------------
# argument validation
# ---------------------------------------------------------------------------

ARG_CASES = [
    # (case, args sent, fragment of the message)
    ("wrong type", {"title": 3, "tags": []}, "v.string()"),
    ("missing required field", {"tags": []}, "title"),
    ("extra field", {"title": "t", "tags": [], "oops": 1}, "oops"),
    ("wrong element type", {"title": "t", "tags": ["a", 2]}, "[1]"),
    (
        "int where float64 expected is fine, str is not",
        {"title": "t", "tags": [], "score": "x"},
        "score",
    ),
    ("float where int64 expected", {"title": "t", "tags": [], "count": 1.5}, "v.int64()"),
]


@pytest.mark.parametrize(
    ("args", "fragment"), [c[1:] for c in ARG_CASES], ids=[c[0] for c in ARG_CASES]
)
def test_invalid_arguments_raise_argument_validation_error_naming_the_path(
    posts_app, args, fragment
):
    @posts_app.mutation(
        name="posts:tag",
        args={
            "title": v.string(),
            "tags": v.array(v.string()),
            "score": v.optional(v.float64()),
            "count": v.optional(v.int64()),
        },
    )
    def tag(ctx, **kw):
        ctx.db.insert("posts", {"title": "should not exist"})
        return kw

    with pytest.raises(nr.ArgumentValidationError) as info:
        posts_app.run_mutation("posts:tag", args)
    message = str(info.value)
    assert "posts:tag" in message
    assert fragment in message
    assert isinstance(info.value, nr.ValidationError)
    assert isinstance(info.value, nr.NbReactiveError)
    assert posts_app.count("posts") == 0  # the handler never ran

    # the same through a direct call
    with pytest.raises(nr.ArgumentValidationError, match="posts:tag"):
        tag(args)


def test_argument_validation_names_the_nested_path(app):
    @app.query(name="shapes:area", args={"shape": v.object({"sides": v.array(v.float64())})})
    def area(ctx, shape):
        return sum(shape["sides"])

    with pytest.raises(nr.ArgumentValidationError) as info:
        area(shape={"sides": [1.0, "two"]})
    assert "shapes:area" in str(info.value)
    assert ".shape.sides[1]" in str(info.value) or info.value.path == ".shape.sides[1]"


def test_validated_arguments_are_normalized(app):
    @app.query(args={"x": v.number(), "items": v.array(v.int64())})
    def types(ctx, x, items):
        return [type(x).__name__, type(items).__name__]

    # an int for v.number() becomes a float; a tuple becomes a list
    assert types(x=3, items=(1, 2)) == ["float", "list"]


def test_args_none_accepts_anything(app):
    @app.query
    def anything(ctx, **kw):
        return kw

    sent = {"a": 1, "b": "two", "c": [1.5, None, {"d": b"\x00"}], "e": True}
    assert anything(**sent) == sent
    assert app.run_query("anything", sent) == sent
    assert anything() == {}


def test_args_none_still_requires_convex_values(app):
    @app.query
    def anything(ctx, **kw):
        return kw

    with pytest.raises(nr.ArgumentValidationError, match="anything"):
        anything(x={1, 2})


def test_an_id_argument_is_checked_by_the_table_its_text_names(app):
    # nr.Id(s, "users") is how Python code casts a string to an id: v.id("users") and
    # ctx.db.normalize_id must check the text (as Convex does), not trust the label.
    app.set_schema(
        nr.define_schema(
            {
                "users": nr.define_table({"name": v.string()}),
                "posts": nr.define_table({"author": v.id("users")}),
            }
        )
    )
    add_user = app.mutation(name="add_user")(lambda ctx: ctx.db.insert("users", {"name": "a"}))
    add_post = app.mutation(name="add_post", args={"a": v.any()})(
        lambda ctx, a: ctx.db.insert("posts", {"author": a})
    )
    normalize = app.query(name="normalize", args={"s": v.any()})(
        lambda ctx, s: ctx.db.normalize_id("users", s)
    )
    by_arg = app.query(name="by_arg", args={"u": v.id("users")})(lambda ctx, u: u.table)
    user = add_user()
    post = add_post(a=user)
    fake = nr.Id(str(post), "users")

    assert normalize(s=fake) is None
    assert normalize(s=nr.Id("garbage", "users")) is None
    assert normalize(s=str(user)).table == "users"
    relabelled = normalize(s=nr.Id(str(user), "posts"))
    assert type(relabelled) is nr.Id and relabelled.table == "users"
    for bad in (fake, nr.Id("garbage", "users")):
        with pytest.raises(nr.ValidationError, match=r'does not match the schema.*v.id\("users"\)'):
            add_post(a=bad)
        with pytest.raises(nr.ArgumentValidationError, match="by_arg"):
            by_arg(u=bad)
    assert by_arg(u=user) == "users"
    assert app.count("posts") == 1


def test_single_validator_as_args(app):
    @app.query(args=v.object({"x": v.int64()}))
    def one(ctx, x):
        return x

    assert one(x=4) == 4
    with pytest.raises(nr.ArgumentValidationError):
        one(x="4")


# ---------------------------------------------------------------------------
# return validation
# ---------------------------------------------------------------------------

RETURNS_CASES = [
    ("wrong scalar", v.string(), 3),
    ("wrong element", v.array(v.int64()), [1, "2"]),
    ("missing field", v.object({"a": v.int64()}), {}),
    ("extra field (over-exposure)", v.object({"a": v.int64()}), {"a": 1, "secret": "x"}),
    ("None for a non-null", v.int64(), None),
]


@pytest.mark.parametrize(
    ("returns", "value"), [c[1:] for c in RETURNS_CASES], ids=[c[0] for c in RETURNS_CASES]
)
@pytest.mark.parametrize("kind", ["query", "mutation", "action"])
def test_returns_validation_error(app, kind, returns, value):
    deco = getattr(app, kind)

    @deco(name="bad:ret", returns=returns)
    def bad(ctx):
        return value

    with pytest.raises(nr.ReturnsValidationError) as info:
        _run(app, kind, "bad:ret")
    assert "bad:ret" in str(info.value)
    assert isinstance(info.value, nr.ValidationError)
    assert isinstance(info.value, nr.NbReactiveError)


def test_valid_return_passes_and_is_normalized(app):
    @app.query(returns=v.object({"x": v.float64(), "ids": v.array(v.int64())}))
    def good(ctx):
        return {"x": 1, "ids": (1, 2)}

    out = good()
    assert out == {"x": 1.0, "ids": [1, 2]}
    assert type(out["x"]) is float


def test_invalid_return_of_a_mutation_rolls_it_back(app):
    @app.mutation(returns=v.string())
    def insert_then_return_wrong(ctx):
        ctx.db.insert("items", {"n": 1})
        return 42

    with pytest.raises(nr.ReturnsValidationError):
        insert_then_return_wrong()
    assert app.count("items") == 0


def test_returning_a_non_convex_value_is_an_error(app):
    @app.query
    def returns_a_set(ctx):
        return {1, 2}

    with pytest.raises(nr.ReturnsValidationError, match="returns_a_set"):
        returns_a_set()


# ---------------------------------------------------------------------------
# internal functions
# ---------------------------------------------------------------------------


@pytest.fixture
def internal_app(app: nr.App) -> nr.App:
    @app.internal_mutation(name="secret:add", args={"n": v.int64()})
    def add(ctx, n):
        return ctx.db.insert("secrets", {"n": n})

    @app.internal_query(name="secret:total")
    def total(ctx):
        return sum(d["n"] for d in ctx.db.query("secrets").collect())

    @app.internal_action(name="secret:double")
    def double(ctx, n):
        ctx.run_mutation("secret:add", {"n": n})
        ctx.run_mutation("secret:add", {"n": n})
        return ctx.run_query("secret:total")

    return app


def test_internal_functions_callable_from_the_notebook(internal_app):
    app = internal_app
    app.functions["secret:add"](n=1)
    app.run_mutation("secret:add", {"n": 2})
    assert app.functions["secret:total"]() == 3
    assert app.run_query("secret:total") == 3
    assert all(app.functions[p].internal for p in ("secret:add", "secret:total", "secret:double"))


def test_internal_functions_callable_from_actions(internal_app):
    app = internal_app

    @app.action
    def public_action(ctx, n):
        return ctx.run_action("secret:double", {"n": n})

    @app.action
    async def async_public_action(ctx, n):
        await ctx.run_mutation("secret:add", {"n": n})
        return await ctx.run_query(app.functions["secret:total"])

    assert public_action(n=5) == 10
    assert app.run_action("secret:double", {"n": 1}) == 12
    assert async_public_action(n=3) == 15


# ---------------------------------------------------------------------------
# wrong kind, unknown path
# ---------------------------------------------------------------------------


@pytest.fixture
def kinds_app(app: nr.App) -> nr.App:
    @app.query(name="k:q")
    def q(ctx):
        return "q"

    @app.mutation(name="k:m")
    def m(ctx):
        return "m"

    @app.action(name="k:a")
    def a(ctx):
        return "a"

    return app


WRONG_KIND = [
    (runner, path)
    for runner in ("query", "mutation", "action")
    for path in ("k:q", "k:m", "k:a")
    if path != f"k:{runner[0]}"
]


@pytest.mark.parametrize(
    ("runner", "path"), WRONG_KIND, ids=[f"run_{r}({p})" for r, p in WRONG_KIND]
)
@pytest.mark.parametrize("by", ["path", "function object"])
def test_wrong_kind_is_a_function_error(kinds_app, runner, path, by):
    ref = path if by == "path" else kinds_app.functions[path]
    with pytest.raises(nr.FunctionError) as info:
        _run(kinds_app, runner, ref)
    assert path in str(info.value)
    assert isinstance(info.value, nr.NbReactiveError)


def test_right_kind_runs(kinds_app):
    assert kinds_app.run_query("k:q") == "q"
    assert kinds_app.run_mutation("k:m") == "m"
    assert kinds_app.run_action("k:a") == "a"


@pytest.mark.parametrize("runner", ["query", "mutation", "action"])
def test_unknown_path_lists_the_registered_functions(kinds_app, runner):
    with pytest.raises(nr.FunctionError) as info:
        _run(kinds_app, runner, "k:nope")
    message = str(info.value)
    assert "k:nope" in message
    for path in ("k:q", "k:m", "k:a"):
        assert path in message


def test_function_of_another_app_is_refused(kinds_app):
    with nr.App() as other:

        @other.query
        def elsewhere(ctx):
            return 1

        with pytest.raises(nr.FunctionError):
            kinds_app.run_query(elsewhere)


def test_invalid_function_path_is_refused_at_registration(app):
    with pytest.raises(nr.FunctionError, match="path"):

        @app.query(name="not a path!")
        def f(ctx):
            return 1


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        pytest.param("args", {"n": v.int64}, "args['n'] must be a validator such as v.string(), "
                     "got v.int64: call it, v.int64()", id="args-uncalled"),
        pytest.param("args", {"n": float}, "args['n'] must be a validator such as v.string(), "
                     "got <class 'float'>: for a Python float write v.float64()",
                     id="args-python-type"),
        pytest.param("returns", v.boolean, "returns= must be a validator such as v.string(), got "
                     "v.boolean: call it, v.boolean()", id="returns-uncalled"),
        pytest.param("returns", list, "returns= must be a validator such as v.string(), got "
                     "<class 'list'>: for a Python list write v.array(v.string()) (any "
                     "element validator)", id="returns-python-type"),
    ],
)
def test_a_non_validator_in_args_or_returns_says_what_to_write(app, option, value, message):
    # `v.int64` without its parentheses showed as "<bound method _V.int64 of v>"; a
    # Python type got no hint of the validator it stands for.
    with pytest.raises(nr.FunctionError) as info:

        @app.query(**{option: value})
        def f(ctx, n=None):
            return 1

    assert str(info.value).endswith(message)


# ---------------------------------------------------------------------------
# AppError
# ---------------------------------------------------------------------------

APP_ERROR_DATA = [
    ("dict", {"code": "INSUFFICIENT_FUNDS", "balance": 3, "nested": [1, {"x": None}]}),
    ("list", [1, "two", 3.0, None, b"\x01"]),
    ("str", "Something went wrong"),
    ("int", 42),
    ("None", None),
]


@pytest.mark.parametrize("data", [d for _, d in APP_ERROR_DATA], ids=[n for n, _ in APP_ERROR_DATA])
@pytest.mark.parametrize(
    "where",
    [
        "query",
        "mutation",
        "action",
        "async action",
        "mutation via action",
        "query via async action",
    ],
)
def test_app_error_keeps_its_data(app, where, data):
    @app.query(name="e:q")
    def q(ctx):
        raise nr.AppError(data)

    @app.mutation(name="e:m")
    def m(ctx):
        ctx.db.insert("items", {"x": 1})
        raise nr.AppError(data)

    @app.action(name="e:a")
    def a(ctx):
        raise nr.AppError(data)

    @app.action(name="e:aa")
    async def aa(ctx):
        raise nr.AppError(data)

    @app.action(name="e:am")
    def am(ctx):
        return ctx.run_mutation("e:m")

    @app.action(name="e:aq")
    async def aq(ctx):
        return await ctx.run_query("e:q")

    call: dict[str, Callable[[], Any]] = {
        "query": lambda: app.run_query("e:q"),
        "mutation": lambda: app.run_mutation("e:m"),
        "action": lambda: app.run_action("e:a"),
        "async action": lambda: app.run_action("e:aa"),
        "mutation via action": lambda: app.run_action("e:am"),
        "query via async action": lambda: app.run_action("e:aq"),
    }
    with pytest.raises(nr.AppError) as info:
        call[where]()
    assert info.value.data == data
    assert type(info.value.data) is type(data)
    assert isinstance(info.value, nr.NbReactiveError)
    if isinstance(data, str):
        assert str(info.value) == data
    assert app.count("items") == 0  # a mutation that raised committed nothing


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        pytest.param({1, 2}, "set is not a Convex value; use a list", id="set"),
        pytest.param({"n": 2**70}, ".n: int 1180591620717411303424 does not fit in int64", id="big-int"),
        pytest.param({1: "a"}, "object keys must be strings", id="int-key"),
        pytest.param("lone \ud800", "lone surrogate", id="surrogate"),
    ],
)
def test_app_error_data_must_be_a_convex_value(app, data, fragment):
    # Such data could reach the notebook but no remote client: it is refused where the
    # AppError is built, for every caller alike.
    @app.mutation(name="e:bad")
    def bad(ctx):
        ctx.db.insert("items", {"x": 1})
        raise nr.AppError(data)

    with pytest.raises(nr.ValidationError) as info:
        bad()
    assert str(info.value).startswith("nr.AppError(data): data must be a Convex value")
    assert fragment in str(info.value)
    assert app.count("items") == 0


def test_app_error_keeps_valid_data_as_given():
    data = {"t": (1, 2), "b": b"x"}
    assert nr.AppError(data).data is data  # checked, not normalized (the tuple stays)
    assert nr.AppError().data is None
    assert str(nr.AppError("plain text")) == "plain text"


# ---------------------------------------------------------------------------
# actions
# ---------------------------------------------------------------------------


@pytest.fixture
def notes_app(app: nr.App) -> nr.App:
    @app.mutation(name="notes:add", args={"text": v.string()})
    def add(ctx, text):
        return ctx.db.insert("notes", {"text": text})

    @app.query(name="notes:list")
    def list_notes(ctx):
        return [n["text"] for n in ctx.db.query("notes").collect()]

    @app.action(name="notes:shout", args={"text": v.string()})
    def shout(ctx, text):
        return text.upper()

    @app.action(name="notes:shout_async", args={"text": v.string()})
    async def shout_async(ctx, text):
        await asyncio.sleep(0)
        return text.upper() + "!"

    return app


def test_sync_action_runs_queries_mutations_and_actions(notes_app):
    app = notes_app

    @app.action(args={"text": v.string()})
    def pipeline(ctx, text):
        loud = ctx.run_action("notes:shout", {"text": text})
        louder = ctx.run_action("notes:shout_async", {"text": text})
        ctx.run_mutation("notes:add", {"text": loud})
        ctx.run_mutation(app.functions["notes:add"], {"text": louder})
        return ctx.run_query("notes:list")

    assert pipeline(text="hi") == ["HI", "HI!"]
    assert app.run_query("notes:list") == ["HI", "HI!"]


def test_async_action_awaits_queries_mutations_and_actions(notes_app):
    app = notes_app

    @app.action(args={"text": v.string()})
    async def pipeline(ctx, text):
        loud = await ctx.run_action("notes:shout", {"text": text})
        louder = await ctx.run_action("notes:shout_async", {"text": text})
        first_id = await ctx.run_mutation("notes:add", {"text": loud})
        await ctx.run_mutation("notes:add", {"text": louder})
        return {"id": first_id, "notes": await ctx.run_query("notes:list")}

    assert pipeline.is_async
    out = pipeline(text="hey")
    assert out["notes"] == ["HEY", "HEY!"]
    assert out["id"].table == "notes"
    assert app.run_action(pipeline, {"text": "x"})["notes"] == ["HEY", "HEY!", "X", "X!"]


def test_async_action_run_methods_are_awaitables(notes_app):
    app = notes_app
    seen: dict[str, bool] = {}

    @app.action
    async def probe(ctx):
        pending = ctx.run_query("notes:list")
        seen["awaitable"] = inspect.isawaitable(pending)
        return await pending

    assert probe() == []
    assert seen["awaitable"] is True


def test_an_async_action_returning_an_unawaited_call_says_await_it(notes_app):
    """Forgetting ``await`` returned a Future, refused with "Future is not a Convex
    value; convert it to dict, list, str, ...": no word of the missing await."""
    app = notes_app

    @app.action
    async def forgot(ctx):
        return ctx.run_query("notes:list")

    @app.action
    async def forgot_inside(ctx):
        return {"notes": ctx.run_query("notes:list")}

    for action in (forgot, forgot_inside):
        with pytest.raises(nr.ValidationError) as info:
            action()
        assert "Future is not a Convex value; it is awaitable: add `await`" in str(info.value)


def test_sync_action_run_methods_return_values(notes_app):
    app = notes_app

    @app.action
    def probe(ctx):
        return ctx.run_query("notes:list")

    assert probe() == []


def test_action_called_directly_and_with_run_action(notes_app):
    assert notes_app.functions["notes:shout"](text="a") == "A"
    assert notes_app.run_action("notes:shout", {"text": "b"}) == "B"
    assert notes_app.run_action("notes:shout_async", {"text": "c"}) == "C!"


def test_action_errors_propagate_with_their_type(notes_app):
    app = notes_app

    @app.action
    def broken(ctx):
        raise KeyError("boom")

    @app.action
    async def broken_async(ctx):
        raise KeyError("boom")

    with pytest.raises(KeyError):
        broken()
    with pytest.raises(KeyError):
        broken_async()


@pytest.mark.parametrize("flavour", ["def", "async def"])
def test_ctx_db_in_an_action_is_a_clear_error(app, flavour):
    if flavour == "def":

        @app.action
        def uses_db(ctx):
            return ctx.db.query("notes").collect()

    else:

        @app.action
        async def uses_db(ctx):
            return ctx.db.query("notes").collect()

    with pytest.raises(nr.FunctionError) as info:
        uses_db()
    message = str(info.value)
    assert "ctx.db" in message
    assert "run_query" in message and "run_mutation" in message


@pytest.mark.parametrize("caller", ["mutation", "query"])
@pytest.mark.parametrize("how", ["direct call", "app.run_action"])
def test_action_called_from_a_mutation_or_query_is_an_error(notes_app, caller, how):
    app = notes_app
    deco = getattr(app, caller)

    @deco(name=f"bad:{caller}")
    def bad(ctx):
        if caller == "mutation":
            ctx.db.insert("notes", {"text": "should roll back"})
        if how == "direct call":
            return app.functions["notes:shout"](text="x")
        return app.run_action("notes:shout", {"text": "x"})

    with pytest.raises(nr.FunctionError, match="action"):
        _run(app, caller, f"bad:{caller}")
    assert app.run_query("notes:list") == []


def test_queries_and_mutations_callable_from_functions(notes_app):
    app = notes_app

    @app.mutation(args={"text": v.string()})
    def add_twice(ctx, text):
        app.functions["notes:add"](text=text)
        app.run_mutation("notes:add", {"text": text + "2"})
        return app.functions["notes:list"]()  # a query inside a mutation sees its writes

    assert add_twice(text="n") == ["n", "n2"]


def test_mutation_from_a_query_is_an_error(notes_app):
    app = notes_app

    @app.query
    def sneaky(ctx):
        return app.functions["notes:add"](text="x")

    with pytest.raises(nr.FunctionError, match="read-only"):
        sneaky()
    assert app.run_query("notes:list") == []


@pytest.mark.parametrize("caller", ["query", "mutation"])
@pytest.mark.parametrize(
    ("method", "hint"),
    [
        ("run_query", {"query": "`list_notes()`", "mutation": "`list_notes()`"}),
        ("run_mutation", {"query": "queries are read-only", "mutation": "`add({...})`"}),
        (
            "run_action",
            {"query": "schedule it from a mutation", "mutation": "ctx.scheduler.run_after(0, shout, {...})"},
        ),
    ],
)
def test_ctx_run_star_outside_actions_says_what_to_do(notes_app, caller, method, hint):
    # SPEC §1.4: ctx.run_* exist in actions only. Convex users reach for them out of
    # habit: a FunctionError says what to write instead (not an AttributeError).
    app = notes_app
    target = {
        "run_query": app.functions["notes:list"],
        "run_mutation": app.functions["notes:add"],
        "run_action": app.functions["notes:shout"],
    }[method]
    args = {} if method == "run_query" else {"text": "x"}

    @getattr(app, caller)(name="bad:caller")
    def bad(ctx):
        if caller == "mutation":
            ctx.db.insert("notes", {"text": "rolled back"})
        return getattr(ctx, method)(target, args)

    with pytest.raises(nr.FunctionError) as info:
        bad()
    message = str(info.value)
    assert message.startswith(f"ctx.{method} is only available in actions")
    assert hint[caller] in message
    assert app.run_query("notes:list") == []


def test_ctx_run_query_message_names_a_path_ref_by_app_run_query(notes_app):
    @notes_app.mutation
    def by_path(ctx):
        return ctx.run_query("notes:list", {"x": 1})

    with pytest.raises(nr.FunctionError, match=r"`app\.run_query\('notes:list', \{\.\.\.\}\)`"):
        by_path()


def test_ctx_auth_without_identity_is_none(app):
    @app.query
    def who(ctx):
        return ctx.auth.get_user_identity()

    @app.action
    def who_action(ctx):
        return ctx.auth.get_user_identity()

    assert who() is None
    assert who_action() is None


# ---------------------------------------------------------------------------
# one root for every error
# ---------------------------------------------------------------------------


def test_every_exported_error_derives_from_the_root():
    errors = [
        getattr(nr, name)
        for name in nr.__all__
        if isinstance(getattr(nr, name), type) and issubclass(getattr(nr, name), BaseException)
    ]
    assert len(errors) >= 15
    for cls in errors:
        assert issubclass(cls, nr.NbReactiveError), cls


def _raise_each(app: nr.App) -> Iterator[tuple[str, Callable[[], Any]]]:
    @app.query(name="r:q", args={"x": v.int64()}, returns=v.string())
    def q(ctx, x):
        return x

    @app.mutation(name="r:m")
    def m(ctx):
        return None

    @app.action(name="r:a")
    def a(ctx):
        return ctx.db

    @app.query(name="r:writes")
    def writes(ctx):
        return app.run_mutation("r:m")

    yield "argument validation", lambda: q(x="1")
    yield "returns validation", lambda: q(x=1)
    yield "unknown path", lambda: app.run_query("r:nope")
    yield "wrong kind", lambda: app.run_query("r:m")
    yield "ctx.db in an action", lambda: a()
    yield "mutation inside a query", lambda: writes()
    yield "bad registration", lambda: app.query(name="??")(lambda ctx: None)


def test_every_raised_error_derives_from_the_root(app):
    for case, call in list(_raise_each(app)):
        try:
            call()
        except nr.NbReactiveError:
            continue
        except Exception as e:
            pytest.fail(f"{case}: {type(e).__name__}: {e} does not derive from nr.NbReactiveError")
        pytest.fail(f"{case}: nothing was raised")
