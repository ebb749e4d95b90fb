"""``FormWidget`` (what ``app.form(mutation)`` returns): fields generated from argument
validators, conversion of the front end's values, the mutation's result and errors,
live id pickers — at the Python level (no kernel), plus one live page in Chromium
(skipped when there is no browser).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from waiting import wait_until

pytest.importorskip("anywidget")

import nbreactive as nr
from nbreactive import v
from nbreactive.widgets import form as form_module
from nbreactive.widgets.form import FormWidget, parse_json_text

WAIT = 10.0




def submit(w: FormWidget, values: dict[str, Any]) -> None:
    """What the front end does, then wait for the call (if one started) to finish."""
    runs = w.runs
    w._on_front_end_msg(w, {"type": "submit", "values": values}, [])
    if w.busy:
        assert w.wait(WAIT), "the mutation did not finish"
    assert not w.busy
    assert w.runs in (runs, runs + 1)


@pytest.fixture
def app() -> Iterator[nr.App]:
    a = nr.App()
    a.set_schema(
        nr.define_schema(
            {
                "users": nr.define_table({"name": v.string(), "age": v.optional(v.int64())}),
                "posts": nr.define_table({"title": v.string(), "author": v.id("users")}),
            }
        )
    )
    a.calls = []  # type: ignore[attr-defined]

    @a.mutation(args={"name": v.string(), "age": v.optional(v.int64())})
    def add_user(ctx, name, age=None):
        return ctx.db.insert("users", {"name": name} if age is None else {"name": name, "age": age})

    @a.mutation(
        args={
            "title": v.string(),
            "author": v.id("users"),
            "n": v.int64(),
            "x": v.number(),
            "ok": v.boolean(),
            "color": v.union(v.literal("red"), v.literal("green")),
            "tags": v.array(v.int64()),
            "note": v.optional(v.string()),
            "count": v.optional(v.int64()),
            "flag": v.optional(v.boolean()),
            "size": v.optional(v.union(v.literal(1), v.literal(2))),
        }
    )
    def everything(ctx, **args):
        """Takes one of each kind of argument.

        Returns them."""
        a.calls.append(args)  # type: ignore[attr-defined]
        return args

    @a.mutation(args={"code": v.string()})
    def refuse(ctx, code):
        raise nr.AppError({"code": code, "limit": 3})

    @a.mutation(args={})
    def crash(ctx):
        return 1 / 0

    @a.mutation
    def untyped(ctx, **args):
        return args

    @a.query
    def users(ctx):
        return ctx.db.query("users").collect()

    yield a
    a.close()


def _values(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "Hello", "n": "42", "x": "2.5", "ok": True, "color": "1", "tags": "[1, 2]",
        "note": "", "count": "", "flag": "", "size": "",
    }
    return {**base, **overrides}


# -- fields -----------------------------------------------------------------------------


def test_fields_describe_each_kind_of_validator(app: nr.App) -> None:
    w = FormWidget(app, "everything")
    try:
        by_name = {f["name"]: f for f in w.fields}
        assert list(by_name) == [
            "title", "author", "n", "x", "ok", "color", "tags", "note", "count", "flag", "size",
        ]
        summary = {
            n: (f["kind"], f["optional"], f["choices"], f["table"], f["default"])
            for n, f in by_name.items()
        }
        assert summary == {
            "title": ("string", False, None, None, ""),
            "author": ("id", False, None, "users", ""),
            "n": ("int64", False, None, None, ""),
            "x": ("number", False, None, None, ""),
            "ok": ("boolean", False, None, None, False),
            "color": ("choice", False, ["red", "green"], None, "0"),
            "tags": ("json", False, None, None, ""),
            "note": ("string", True, None, None, ""),
            "count": ("int64", True, None, None, ""),
            "flag": ("boolean", True, None, None, ""),
            "size": ("choice", True, ["1", "2"], None, ""),
        }
        assert by_name["tags"]["validator"] == "v.array(v.int64())"
        assert by_name["author"]["validator"] == 'v.id("users")'
        assert w.function == "everything" and w.kind == "mutation"
        assert w.doc == "Takes one of each kind of argument."
        assert "everything(title, author" in repr(w)
    finally:
        w.close()


def test_literals_and_unions_of_literals_are_choices(app: nr.App) -> None:
    @app.mutation(
        args={
            "lit": v.literal("only"),
            "nullable": v.union(v.literal("a"), v.literal("b"), v.null()),
            "mixed": v.union(v.literal("1"), v.literal(1), v.literal(1.5), v.literal(True)),
            "tri": v.union(v.boolean(), v.null()),
            "nested": v.union(v.literal("x"), v.union(v.literal("y"), v.literal("z"))),
            "either": v.union(v.string(), v.int64()),
            "obj": v.object({"a": v.string()}),
            "rec": v.record(v.string(), v.number()),
            "anything": v.any(),
            "blob": v.bytes(),
        }
    )
    def choices(ctx, **args):
        return args

    w = FormWidget(app, choices)
    try:
        f = {x["name"]: x for x in w.fields}
        assert (f["lit"]["kind"], f["lit"]["choices"]) == ("choice", ["only"])
        assert f["nullable"]["choices"] == ["a", "b", "null"]
        # labels that would look alike are shown as values (strings quoted)
        assert f["mixed"]["choices"] == ['"1"', "1", "1.5", "true"]
        assert f["tri"]["choices"] == ["true", "false", "null"]
        assert f["nested"]["choices"] == ["x", "y", "z"]
        for name in ("either", "obj", "rec", "anything", "blob"):
            assert f[name]["kind"] == "json", name

        values = {
            "lit": "0", "nullable": "2", "mixed": "1", "tri": "1", "nested": "2", "either": '"s"',
            "obj": '{"a": "b"}', "rec": '{"k": 1}', "anything": "[1, 2.5]",
            "blob": '{"$bytes": "AAE="}',
        }
        submit(w, values)
        assert w.error is None, w.error
        got = w.value
        assert got == {
            "lit": "only", "nullable": None, "mixed": 1, "tri": False, "nested": "z",
            "either": "s", "obj": {"a": "b"}, "rec": {"k": 1.0}, "anything": [1.0, 2.5],
            "blob": b"\x00\x01",
        }
        assert type(got["mixed"]) is int and type(got["rec"]["k"]) is float

        submit(w, {**values, "mixed": "7"})
        assert w.field_errors == {"mixed": 'pick one of "1", 1, 1.5, true'}
    finally:
        w.close()


def test_a_query_is_refused_and_an_action_is_accepted(app: nr.App) -> None:
    with pytest.raises(nr.FunctionError, match=r"needs a mutation.*users is a query.*app\.live"):
        FormWidget(app, "users")
    with pytest.raises(nr.FunctionError, match="Could not find function"):
        FormWidget(app, "nope")

    @app.action(args={"n": v.int64()})
    async def double(ctx, n):
        return n * 2

    w = FormWidget(app, double)
    try:
        assert w.kind == "action"
        submit(w, {"n": "21"})
        assert w.value == 42 and w.result == "42"
    finally:
        w.close()


# -- submitting -------------------------------------------------------------------------


def test_submit_converts_values_and_shows_the_result(app: nr.App) -> None:
    uid = app.run_mutation("add_user", {"name": "Ada"})
    w = FormWidget(app, "everything")
    try:
        submit(w, _values(author=str(uid), n=" -9223372036854775808 ", x="1e3"))
        assert w.error is None and w.field_errors == {}
        assert w.runs == 1
        got = w.value
        assert got == {
            "title": "Hello", "author": uid, "n": -(2**63), "x": 1000.0, "ok": True,
            "color": "green", "tags": [1, 2],
        }
        assert type(got["n"]) is int and type(got["x"]) is float
        assert got["author"].table == "users"
        # the result is formatted like Convex values (ids as strings, ints plain)
        assert w.result is not None
        assert f'author: "{uid}"' in w.result and "tags: [1, 2]" in w.result

        submit(w, _values(author=str(uid), ok=False, x="NaN", color="0", title=""))
        got = w.value
        assert got["ok"] is False and got["x"] != got["x"] and got["color"] == "red"
        assert got["title"] == ""  # a required string may be empty
        assert w.runs == 2
    finally:
        w.close()


def test_empty_optional_fields_are_left_out(app: nr.App) -> None:
    uid = app.run_mutation("add_user", {"name": "Ada"})
    w = FormWidget(app, "everything")
    try:
        submit(w, _values(author=str(uid)))
        assert set(w.value) == {"title", "author", "n", "x", "ok", "color", "tags"}
        submit(w, _values(author=str(uid), note="hi", count="7", flag="false", size="1"))
        got = w.value
        assert (got["note"], got["count"], got["flag"], got["size"]) == ("hi", 7, False, 2)
        # the front end may also leave optional fields out entirely
        values = _values(author=str(uid))
        for name in ("note", "count", "flag", "size"):
            del values[name]
        submit(w, values)
        assert "count" not in w.value and w.error is None
    finally:
        w.close()


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("n", "abc", "expected a whole number (int64), got 'abc'"),
        ("n", "1.5", "expected a whole number (int64), got '1.5', which is a float"),
        ("n", "3.0", "expected a whole number (int64), got '3.0', which is a float; write 3"),
        ("n", "9223372036854775808", "9223372036854775808 does not fit in int64"),
        ("n", "", "required: enter a value"),
        ("x", "abc", "expected a number (float64) such as 3, -0.5, 1e6 or NaN, got 'abc'"),
        ("tags", "[1,", "not valid JSON: Expecting value (line 1, column 4)"),
        ("tags", "", "required: enter a value"),
        ("tags", '[{"$integer": "!"}]', "[0]: $integer holds invalid base64"),
        ("count", "ten", "expected a whole number (int64), got 'ten'"),
        ("color", "5", "pick one of red, green"),
        ("author", "", "required: pick a document"),
        ("author", "not-an-id", "'not-an-id' is not an id of table 'users'"),
        ("flag", "maybe", "expected true or false, got 'maybe'"),
    ],
)
def test_conversion_errors_are_field_errors_and_do_not_call(
    app: nr.App, field: str, text: str, message: str
) -> None:
    uid = app.run_mutation("add_user", {"name": "Ada"})
    w = FormWidget(app, "everything")
    try:
        submit(w, _values(**{"author": str(uid), field: text}))
        assert list(w.field_errors) == [field]
        assert w.field_errors[field].startswith(message), w.field_errors[field]
        assert w.error is None and w.result is None
        assert app.calls == [] and w.runs == 0  # type: ignore[attr-defined]
        # fixing it clears the error
        submit(w, _values(author=str(uid)))
        assert w.field_errors == {} and w.runs == 1
    finally:
        w.close()


def test_an_id_of_another_table_is_a_field_error(app: nr.App) -> None:
    uid = app.run_mutation("add_user", {"name": "Ada"})
    pid = app.run_mutation(
        app.mutation(args={"a": v.id("users")}, name="post")(
            lambda ctx, a: ctx.db.insert("posts", {"title": "t", "author": a})
        ),
        {"a": uid},
    )
    w = FormWidget(app, "everything")
    try:
        submit(w, _values(author=str(pid)))
        assert w.field_errors == {
            "author": f"{str(pid)!r} is not an id of table 'users' (it is an id of 'posts')"
        }
    finally:
        w.close()


def test_validation_errors_of_the_call_land_on_their_field(app: nr.App) -> None:
    uid = app.run_mutation("add_user", {"name": "Ada"})
    w = FormWidget(app, "everything")
    try:
        submit(w, _values(author=str(uid), tags='[1, "two"]'))
        assert w.runs == 1 and w.result is None
        assert w.field_errors == {"tags": "[1]: expected v.int64(), got 'two' (string)"}
        err = w.error
        assert err["type"] == "ArgumentValidationError"
        assert err["path"] == ".tags[1]"
        assert err["message"].startswith("Invalid arguments for everything: .tags[1]")
        # a float in an int64 array is refused by the validator, not converted
        submit(w, _values(author=str(uid), tags="[1.5]"))
        assert w.field_errors == {"tags": "[0]: expected v.int64(), got 1.5 (float64)"}
        assert app.calls == []  # type: ignore[attr-defined]
    finally:
        w.close()


def test_app_errors_show_their_data(app: nr.App) -> None:
    w = FormWidget(app, "refuse")
    try:
        submit(w, {"code": "NOPE"})
        err = w.error
        assert err["type"] == "AppError"
        assert err["data"] == err["message"] == '{code: "NOPE", limit: 3}'
        assert err["path"] is None and err["traceback"] is None
        assert w.field_errors == {} and w.result is None and w.runs == 1
    finally:
        w.close()

    @app.mutation(args={})
    def sold_out(ctx):
        raise nr.AppError("out of stock")

    w = FormWidget(app, sold_out)
    try:
        submit(w, {})
        assert (w.error["message"], w.error["data"]) == ("out of stock", '"out of stock"')
    finally:
        w.close()


def test_a_crash_shows_its_traceback_and_the_form_recovers(app: nr.App) -> None:
    w = FormWidget(app, "crash")
    try:
        assert w.fields == []
        submit(w, {})
        err = w.error
        assert err["type"] == "ZeroDivisionError"
        assert "1 / 0" in err["traceback"]
    finally:
        w.close()
    w = FormWidget(app, "refuse")
    try:
        submit(w, {"code": "x"})
        assert w.error is not None
        w2 = FormWidget(app, "add_user")
        submit(w2, {"name": "Bo", "age": "3"})
        assert w2.error is None and w2.result is not None
        w2.close()
    finally:
        w.close()


def test_a_mutation_without_args_validator_takes_one_json_object(app: nr.App) -> None:
    w = FormWidget(app, "untyped")
    try:
        (field,) = w.fields
        assert (field["name"], field["kind"], field.get("whole"), field["default"]) == (
            "args", "json", True, "{}",
        )
        submit(w, {"args": '{"a": 1, "b": {"$integer": "BQAAAAAAAAA="}, "c": [true, null]}'})
        assert w.value == {"a": 1.0, "b": 5, "c": [True, None]}
        assert type(w.value["a"]) is float and type(w.value["b"]) is int
        submit(w, {})  # the default, {}
        assert w.value == {} and w.error is None
        submit(w, {"args": "[1]"})
        assert w.field_errors == {"args": 'expected a JSON object of arguments, such as {"name": "x"}'}
        submit(w, {"args": '{"$bad": 1}'})
        assert set(w.field_errors) == {"args"} and w.error is not None
    finally:
        w.close()


def test_busy_while_running_and_a_second_submit_is_ignored(app: nr.App) -> None:
    started, release = threading.Event(), threading.Event()

    @app.mutation(args={"n": v.int64()})
    def slow(ctx, n):
        started.set()
        release.wait(WAIT)
        return n

    w = FormWidget(app, slow)
    try:
        thread = w.submit({"n": "1"})
        assert thread is not None and w.busy
        assert started.wait(WAIT)
        assert w.submit({"n": "2"}) is None  # ignored while busy
        release.set()
        assert w.wait(WAIT)
        assert not w.busy and w.runs == 1 and w.value == 1
    finally:
        release.set()
        w.close()


def test_json_text_follows_convex_conventions() -> None:
    assert parse_json_text("[1, 2]", v.array(v.int64())) == [1, 2]
    assert parse_json_text("[1, 2]", v.array(v.number())) == [1.0, 2.0]
    got = parse_json_text('{"a": 1, "b": 1, "c": {"d": 2}}', v.object(
        {"a": v.int64(), "b": v.any(), "c": v.record(v.string(), v.union(v.string(), v.int64()))}
    ))
    assert got == {"a": 1, "b": 1.0, "c": {"d": 2}}
    assert [type(got["a"]), type(got["b"]), type(got["c"]["d"])] == [int, float, int]
    assert parse_json_text("3", None) == 3.0
    assert type(parse_json_text("3", v.optional(v.int64()))) is int
    assert parse_json_text('{"$integer": "AQAAAAAAAAA="}', None) == 1
    assert parse_json_text('{"$bytes": "AAE="}', v.bytes()) == b"\x00\x01"
    assert parse_json_text('[{"n": 1}, {"s": "x"}]', v.array(v.union(
        v.object({"s": v.string()}), v.object({"n": v.int64()})
    ))) == [{"n": 1}, {"s": "x"}]
    assert parse_json_text("NaN", v.number()) != parse_json_text("NaN", v.number())
    with pytest.raises(ValueError, match="too large for a float64"):
        parse_json_text("1" + "0" * 400, v.number())
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_json_text("{", None)


# -- live id pickers --------------------------------------------------------------------


def _options(w: FormWidget, table: str = "users") -> list[list[str]]:
    return w.id_options[table]["options"]


def test_id_options_are_the_tables_documents_and_follow_commits(app: nr.App) -> None:
    ada = app.run_mutation("add_user", {"name": "Ada"})
    w = FormWidget(app, "everything")
    try:
        assert w.id_options == {"users": {"options": [[str(ada), "Ada"]], "total": 1}}

        bob = app.run_mutation("add_user", {"name": "Bob\n  Smith"})
        wait_until(lambda: len(_options(w)) == 2, "Bob among the options")
        assert _options(w) == [[str(bob), "Bob Smith"], [str(ada), "Ada"]]  # newest first

        # a commit from another thread, and an update of a label
        t = threading.Thread(
            target=lambda: app.run_mutation(
                app.mutation(args={"id": v.id("users")}, name="rename")(
                    lambda ctx, id: ctx.db.patch(id, {"name": "Ada L."})
                ),
                {"id": ada},
            )
        )
        t.start()
        t.join()
        wait_until(lambda: [str(ada), "Ada L."] in _options(w), "Ada's new label")

        app.run_mutation(
            app.mutation(args={"id": v.id("users")}, name="drop")(
                lambda ctx, id: ctx.db.delete(id)
            ),
            {"id": bob},
        )
        wait_until(lambda: len(_options(w)) == 1, "Bob gone")
        assert w.id_options["users"]["total"] == 1
    finally:
        w.close()


def test_id_options_are_capped(app: nr.App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(form_module, "MAX_ID_OPTIONS", 3)
    for i in range(5):
        app.run_mutation("add_user", {"name": f"u{i}"})
    w = FormWidget(app, "everything")
    try:
        assert [label for _, label in _options(w)] == ["u4", "u3", "u2"]
        assert w.id_options["users"]["total"] == 5
        app.run_mutation("add_user", {"name": "u5"})
        wait_until(lambda: w.id_options["users"]["total"] == 6, "the sixth user")
        assert [label for _, label in _options(w)] == ["u5", "u4", "u3"]
    finally:
        w.close()


def test_an_empty_table_then_a_burst_of_inserts(app: nr.App) -> None:
    @app.mutation(args={"author": v.optional(v.id("posts"))})
    def pick(ctx, author=None):
        return author

    @app.mutation(args={"n": v.int64()})
    def many(ctx, n):
        uid = ctx.db.insert("users", {"name": "x"})
        for i in range(n):
            ctx.db.insert("posts", {"title": f"p{i}", "author": uid})

    w = FormWidget(app, pick)
    try:
        assert w.id_options == {"posts": {"options": [], "total": 0}}
        for _ in range(20):  # bursts coalesce; the last state always arrives
            app.run_mutation(many, {"n": 2})
        wait_until(lambda: w.id_options["posts"]["total"] == 40, "40 posts")
        assert _options(w, "posts")[0][1] == "p1"
        submit(w, {"author": ""})
        assert w.value is None and w.error is None  # an optional id left empty
        submit(w, {"author": _options(w, "posts")[0][0]})
        assert w.value == _options(w, "posts")[0][0]
    finally:
        w.close()


def test_close_stops_following_the_table(app: nr.App) -> None:
    w = FormWidget(app, "everything")
    before = dict(w.id_options)
    w.close()
    app.run_mutation("add_user", {"name": "late"})
    assert app._reactor.deps.owners_of_table("users") == set()
    time.sleep(0.2)
    assert w.id_options == before


# -- in Chromium --------------------------------------------------------------------------


@pytest.mark.parametrize("theme", [None, "dark"])
def test_the_form_in_a_browser(app: nr.App, render_widgets: Any, theme: str | None) -> None:
    from browser_harness import save_screenshot
    from playwright.sync_api import expect

    ada = app.run_mutation("add_user", {"name": "Ada"})
    # (not closed here: the page's teardown still talks to it; closing the app stops it)
    w = FormWidget(app, "everything")
    static = render_widgets(w, live=True, theme=theme)
    view = static.view(0)
    field = lambda name: view.locator(f'.nbr-field[data-name="{name}"]')  # noqa: E731
    expect(view.locator(".nbr-fn")).to_have_text("everything")
    expect(field("author").locator("select option")).to_have_text([f"Ada · {ada}"])
    expect(field("note")).to_contain_text("optional: leave empty to omit")

    # the id picker follows commits
    bob = app.run_mutation("add_user", {"name": "Bob"})
    expect(field("author").locator("select option")).to_have_count(2)

    field("title").locator("input").fill("From the browser")
    field("n").locator("input").fill("abc")
    field("x").locator("input").fill("0.5")
    field("ok").locator("input[type=checkbox]").check()
    field("color").locator("select").select_option(label="green")
    field("tags").locator("textarea").fill("[3]")
    field("author").locator("select").select_option(str(bob))
    view.locator(".nbr-submit").click()
    expect(field("n").locator(".nbr-field-error")).to_have_text(
        "expected a whole number (int64), got 'abc'"
    )
    assert w.runs == 0

    field("n").locator("input").fill("7")
    field("n").locator("input").press("Enter")  # Enter submits too
    expect(view.locator(".nbr-result pre")).to_contain_text('title: "From the browser"')
    expect(field("n").locator(".nbr-field-error")).to_be_hidden()
    assert w.value["author"] == bob and w.value["n"] == 7 and w.value["ok"] is True
    save_screenshot(static.page, f"form-{theme or 'plain'}")

    field("tags").locator("textarea").fill('["x"]')
    view.locator(".nbr-submit").click()
    expect(field("tags").locator(".nbr-field-error")).to_have_text(
        "[0]: expected v.int64(), got 'x' (string)"
    )
    expect(view.locator(".nbr-error")).to_contain_text("ArgumentValidationError")



def test_value_is_cleared_with_result_when_a_submission_fails(app: nr.App) -> None:
    # value kept the previous run's return value after a failed run, while result and
    # error said the last run failed: form.value after form.submit(...) was stale.
    @app.mutation(args={"n": v.int64(), "ok": v.boolean()})
    def checked(ctx, n, ok):
        if not ok:
            raise nr.AppError("not ok")
        return n

    w = FormWidget(app, checked)
    try:
        submit(w, {"n": "1", "ok": True})
        assert w.value == 1 and w.result == "1"
        submit(w, {"n": "x", "ok": True})  # refused by the form: nothing ran
        assert w.field_errors and w.result is None and w.value is None
        submit(w, {"n": "2", "ok": True})
        assert w.value == 2
        submit(w, {"n": "3", "ok": False})  # ran and failed
        assert w.error is not None and w.result is None and w.value is None
    finally:
        w.close()


def test_a_picked_id_stays_picked_when_the_options_change_in_a_browser(
    app: nr.App, render_widgets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The picker showed the newest documents only; when commits pushed the picked one
    # out of that list (or deleted it), the select silently switched to the newest
    # document, and Submit sent an id the user never chose.
    from playwright.sync_api import expect

    monkeypatch.setattr(form_module, "MAX_ID_OPTIONS", 3)
    ids = [app.run_mutation("add_user", {"name": name}) for name in ("Ada", "Bob", "Cy")]
    w = FormWidget(app, "everything")
    static = render_widgets(w, live=True)
    view = static.view(0)
    author = view.locator('.nbr-field[data-name="author"] select')
    expect(author.locator("option")).to_have_count(3)
    author.select_option(str(ids[0]))  # Ada, the oldest
    app.run_mutation("add_user", {"name": "Dee"})  # Ada drops out of the newest three
    expect(author.locator("option", has_text="Dee")).to_have_count(1)
    expect(author).to_have_value(str(ids[0]))
    expect(author.locator("option:checked")).to_contain_text("Ada")

    # The other fields, then Submit: the mutation gets Ada.
    view.locator('.nbr-field[data-name="title"] input').fill("t")
    view.locator('.nbr-field[data-name="n"] input').fill("1")
    view.locator('.nbr-field[data-name="x"] input').fill("1")
    view.locator('.nbr-field[data-name="tags"] textarea').fill("[]")
    view.locator(".nbr-submit").click()
    expect(view.locator(".nbr-result pre")).to_contain_text("author")
    assert w.value["author"] == ids[0]
