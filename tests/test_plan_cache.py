"""Resolved query plans are cached, and the cache never confuses two queries."""

from __future__ import annotations

import pytest

import nbreactive as nr
from nbreactive import v


@pytest.fixture
def app():
    with nr.App() as a:

        @a.mutation
        def put(ctx, docs):
            for d in docs:
                ctx.db.insert("t", d)

        @a.query(args={"x": v.any()})
        def by_x(ctx, x):
            return [d["label"] for d in ctx.db.query("t").with_index("by_x", lambda q: q.eq("x", x)).collect()]

        a.set_schema(
            nr.define_schema(
                {"t": nr.define_table({"x": v.optional(v.any()), "label": v.string()}).index("by_x", ["x"])}
            )
        )
        yield a


@pytest.mark.parametrize(
    ("first", "then", "expected"),
    [
        pytest.param(1, 1.0, ["float one"], id="int-then-float"),
        pytest.param(1.0, True, ["true"], id="float-then-bool"),
        pytest.param(0.0, -0.0, ["minus zero"], id="zero-then-minus-zero"),
        pytest.param("1", 1, ["int one"], id="string-then-int"),
        pytest.param(None, nr.UNDEFINED, ["missing"], id="null-then-missing"),
    ],
)
def test_equal_python_values_of_different_convex_values_do_not_share_a_plan(app, first, then, expected):
    app.run_mutation(
        "put",
        {
            "docs": [
                {"x": 1, "label": "int one"},
                {"x": 1.0, "label": "float one"},
                {"x": True, "label": "true"},
                {"x": 0.0, "label": "zero"},
                {"x": -0.0, "label": "minus zero"},
                {"x": "1", "label": "string one"},
                {"x": None, "label": "null"},
                {"label": "missing"},
            ]
        },
    )
    app.run_query("by_x", {"x": first})  # fills the cache for `first`
    if then is nr.UNDEFINED:
        # UNDEFINED is not an argument value; query for it directly.
        @app.query
        def missing(ctx):
            return [d["label"] for d in ctx.db.query("t").with_index("by_x", lambda q: q.eq("x", nr.UNDEFINED)).collect()]

        assert missing() == expected
    else:
        assert app.run_query("by_x", {"x": then}) == expected


def test_a_schema_change_clears_cached_plans():
    with nr.App() as app:
        app.set_schema(nr.define_schema({"t": nr.define_table({"p": v.any()}).index("by_p", ["p"])}))

        @app.mutation
        def put(ctx):
            ctx.db.insert("t", {"p": 7.0})

        @app.query
        def seven(ctx):
            return len(ctx.db.query("t").with_index("by_p", lambda q: q.eq("p", 7)).collect())

        put()
        assert seven() == 0  # v.any(): type-exact, int 7 is not float 7.0
        app.set_schema(nr.define_schema({"t": nr.define_table({"p": v.number()}).index("by_p", ["p"])}))
        assert seven() == 1  # v.number(): the int literal is taken as a float
