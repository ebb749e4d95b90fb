"""Invalidation is exact: a commit re-runs the live queries whose reads it touched, and
no others (SPEC §1.5-1.6; convex-semantics §4.3-4.4; DESIGN "reactivity").

The core is a matrix. Every test in ``test_write_invalidates_exactly`` seeds the same
documents, subscribes to every query shape of ``QUERIES`` at once, runs ONE mutation
(a row of ``WRITES``) and checks, for the commit that mutation published:

- the set of live queries it invalidated (``app.inspect().commits[-1]["invalidated"]``,
  deterministic: computed under the base lock at publication) is exactly the row's
  expected set — extra names are over-invalidation, missing ones under-invalidation;
- soundness: every query *not* invalidated still has the result a fresh run gives
  (a fresh run inside a mutation, which bypasses live entries and the cache);
- every invalidated query reaches the fresh result (bounded wait), and exactly the
  queries whose result changed get one ``on_change`` call each.

A live paginated query keeps its page end across re-runs (the journal), so its fresh
twin passes the first run's ``continueCursor`` as ``endCursor``. The same rows are run
again against the result cache (``test_write_drops_exactly_the_cached_results``).

The seeded ``messages`` (index ``by_channel_n`` order within channel "a"):

    a_ (n missing) < a1 < a2 < a3 < a5        channel "b": b1, b2
    nul: channel null, n 0                     miss: no channel, n 0 (last inserted)
    gone: inserted, then deleted               other: o1        ghosts: (no table)

Further tests cover what a matrix cannot: failed mutations, unchanged re-runs,
shared executions, errors that come and go, SQL over a table that does not exist yet,
imports and schema changes. Regression tests for the bugs they found are at the end of
the file. Every wait is bounded; nothing asserts a duration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import nbreactive as nr
from nbreactive import v

WAIT_SECONDS = 5.0

SCHEMA = nr.define_schema(
    {
        "messages": nr.define_table(
            {
                "channel": v.optional(v.nullable(v.string())),
                "n": v.optional(v.nullable(v.int64())),
                "body": v.optional(v.string()),
            }
        )
        .index("by_channel", ["channel"])
        .index("by_channel_n", ["channel", "n"]),
    },
    strict_table_name_types=False,  # "other" and "ghosts" are schemaless
)


def wait_until(predicate: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.002)


# ---------------------------------------------------------------------------
# the app and its functions
# ---------------------------------------------------------------------------


def _register(app: nr.App) -> None:
    @app.mutation
    def apply_ops(ctx, ops):
        """Run write ops in one transaction: [op, table-or-id, payload]."""
        for op, target, payload in ops:
            if op == "insert":
                ctx.db.insert(target, payload)
            elif op == "patch":
                ctx.db.patch(target, payload)
            elif op == "replace":
                ctx.db.replace(target, payload)
            elif op == "delete":
                ctx.db.delete(target)
            else:  # pragma: no cover - a typo in a case
                raise ValueError(op)

    @app.mutation
    def seed(ctx, docs):
        return {name: ctx.db.insert(table, doc) for name, (table, doc) in docs.items()}

    @app.mutation
    def fresh(ctx, name, args):
        """The oracle: run query ``name`` inside this (write-free) mutation's transaction,
        which bypasses live entries and the result cache."""
        try:
            return {"value": app.functions[name](args)}
        except Exception as e:
            return {"error": type(e).__name__}

    def chan(ctx, channel, rng=None):
        return ctx.db.query("messages").with_index(
            "by_channel_n",
            (lambda q: rng(q.eq("channel", channel)))
            if rng
            else (lambda q: q.eq("channel", channel)),
        )

    @app.query
    def by_channel(ctx, channel):
        return (
            ctx.db.query("messages")
            .with_index("by_channel", lambda q: q.eq("channel", channel))
            .collect()
        )

    @app.query
    def channel_missing(ctx):
        # lt(null) on the first field: only the documents without the field
        return (
            ctx.db.query("messages")
            .with_index("by_channel", lambda q: q.lt("channel", None))
            .collect()
        )

    @app.query
    def n_range(ctx, channel, op, n):
        return chan(ctx, channel, lambda q: getattr(q, op)("n", n)).collect()

    @app.query
    def n_between(ctx, channel, lo, hi):
        return chan(ctx, channel, lambda q: q.gt("n", lo).lt("n", hi)).collect()

    @app.query
    def top(ctx, channel, order, k):
        return chan(ctx, channel).order(order).take(k)

    @app.query
    def first_in(ctx, channel, order):
        return chan(ctx, channel).order(order).first()

    @app.query
    def unique_at(ctx, channel, n):
        return chan(ctx, channel, lambda q: q.eq("n", n)).unique()

    @app.query
    def scan_filter(ctx, body):
        return ctx.db.query("messages").filter(lambda q: q.eq(q.field("body"), body)).collect()

    @app.query
    def channel_filter(ctx, channel, above):
        return (
            ctx.db.query("messages")
            .with_index("by_channel", lambda q: q.eq("channel", channel))
            .filter(lambda q: q.gt(q.field("n"), above))
            .collect()
        )

    @app.query
    def page(ctx, channel, num, cursor, end=None, order="asc"):
        opts = {"numItems": num, "cursor": cursor}
        if end is not None:
            opts["endCursor"] = end
        return chan(ctx, channel).order(order).paginate(opts)

    @app.query
    def get(ctx, id):
        return ctx.db.get(id)

    @app.query
    def by_id(ctx, table, id):
        return ctx.db.query(table).with_index("by_id", lambda q: q.eq("_id", id)).collect()

    @app.query
    def count_channel(ctx, channel):
        return (
            ctx.db.query("messages")
            .with_index("by_channel", lambda q: q.eq("channel", channel))
            .count()
        )

    @app.query
    def count_above(ctx, channel, n):
        return chan(ctx, channel, lambda q: q.gt("n", n)).count()

    @app.query
    def sql(ctx, sql):
        return ctx.db.sql(sql)

    @app.query
    def all_of(ctx, table):
        return ctx.db.query(table).collect()

    @app.query
    def latest(ctx, table):
        return ctx.db.query(table).with_index("by_creation_time").order("desc").first()

    @app.query
    def first_matching(ctx, channel, at_least):
        return chan(ctx, channel).filter(lambda q: q.gte(q.field("n"), at_least)).first()

    @app.query
    def nested(ctx, name, args):
        """Calls another query: it runs in this query's transaction, its reads are ours."""
        return app.functions[name](args)

    @app.query
    def iterate_first(ctx, channel, k):
        out = []
        for doc in chan(ctx, channel):
            out.append(doc)
            if len(out) == k:
                break
        return out


@pytest.fixture(params=["memory", "durable"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[nr.App]:
    a = nr.App(None if request.param == "memory" else tmp_path / "precision.duckdb")
    try:
        a.set_schema(SCHEMA)
        _register(a)
        yield a
    finally:
        a.close()


SEED_DOCS: dict[str, tuple[str, dict[str, Any]]] = {
    "a_": ("messages", {"channel": "a", "body": "no n"}),
    "a1": ("messages", {"channel": "a", "n": 1}),
    "a2": ("messages", {"channel": "a", "n": 2}),
    "a3": ("messages", {"channel": "a", "n": 3}),
    "a5": ("messages", {"channel": "a", "n": 5}),
    "b1": ("messages", {"channel": "b", "n": 1}),
    "b2": ("messages", {"channel": "b", "n": 2}),
    "nul": ("messages", {"channel": None, "n": 0}),
    "miss": ("messages", {"n": 0}),
    "gone": ("messages", {"channel": "a", "n": 4}),
    "o1": ("other", {"x": 1}),
}


@dataclass
class Seed:
    ids: dict[str, Any]
    page2_cursor: str


def seed(app: nr.App) -> Seed:
    ids = app.run_mutation("seed", {"docs": {k: list(v_) for k, v_ in SEED_DOCS.items()}})
    app.run_mutation("apply_ops", {"ops": [["delete", ids["gone"], None]]})
    first = app.run_query("page", {"channel": "a", "num": 2, "cursor": None})
    assert [d["_id"] for d in first["page"]] == [ids["a_"], ids["a1"]]
    return Seed(ids, first["continueCursor"])


# ---------------------------------------------------------------------------
# the matrix: query shapes x single writes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveQuery:
    name: str
    fn: str
    args: dict[str, Any] | Callable[[Seed], dict[str, Any]] = field(default_factory=dict)

    def resolve(self, s: Seed) -> dict[str, Any]:
        return self.args(s) if callable(self.args) else dict(self.args)


SQL_MESSAGES = "SELECT count(*) AS c, count(body) AS bodies FROM messages"
SQL_OTHER = "SELECT count(*) AS c FROM other"

QUERIES: list[LiveQuery] = [
    LiveQuery("chan a", "by_channel", {"channel": "a"}),
    LiveQuery("chan b", "by_channel", {"channel": "b"}),
    LiveQuery("chan c", "by_channel", {"channel": "c"}),
    LiveQuery("chan null", "by_channel", {"channel": None}),
    LiveQuery("chan missing", "channel_missing"),
    LiveQuery("a n>2", "n_range", {"channel": "a", "op": "gt", "n": 2}),
    LiveQuery("a n>=2", "n_range", {"channel": "a", "op": "gte", "n": 2}),
    LiveQuery("a n<3", "n_range", {"channel": "a", "op": "lt", "n": 3}),
    LiveQuery("a n<=3", "n_range", {"channel": "a", "op": "lte", "n": 3}),
    LiveQuery("a 1<n<5", "n_between", {"channel": "a", "lo": 1, "hi": 5}),
    LiveQuery("a desc take2", "top", {"channel": "a", "order": "desc", "k": 2}),
    LiveQuery("a asc take2", "top", {"channel": "a", "order": "asc", "k": 2}),
    LiveQuery("a take0", "top", {"channel": "a", "order": "asc", "k": 0}),
    LiveQuery("a desc first", "first_in", {"channel": "a", "order": "desc"}),
    LiveQuery("a asc first", "first_in", {"channel": "a", "order": "asc"}),
    LiveQuery("b n=2 unique", "unique_at", {"channel": "b", "n": 2}),
    LiveQuery("b take5 (fewer exist)", "top", {"channel": "b", "order": "asc", "k": 5}),
    LiveQuery("nested chan b", "nested", {"name": "by_channel", "args": {"channel": "b"}}),
    LiveQuery("a filter n>=3 first", "first_matching", {"channel": "a", "at_least": 3}),
    LiveQuery("scan filter", "scan_filter", {"body": "never"}),
    LiveQuery("a filter n>2", "channel_filter", {"channel": "a", "above": 2}),
    LiveQuery("a page1", "page", {"channel": "a", "num": 2, "cursor": None}),
    LiveQuery(
        "a desc page1",
        "page",
        {"channel": "a", "num": 2, "cursor": None, "end": None, "order": "desc"},
    ),
    LiveQuery("a page2", "page", lambda s: {"channel": "a", "num": 2, "cursor": s.page2_cursor}),
    LiveQuery("a iterate2", "iterate_first", {"channel": "a", "k": 2}),
    LiveQuery("get a2", "get", lambda s: {"id": s.ids["a2"]}),
    LiveQuery("get gone", "get", lambda s: {"id": s.ids["gone"]}),
    LiveQuery("get o1", "get", lambda s: {"id": s.ids["o1"]}),
    LiveQuery("by_id a2", "by_id", lambda s: {"table": "messages", "id": s.ids["a2"]}),
    LiveQuery("count a", "count_channel", {"channel": "a"}),
    LiveQuery("count a n>2", "count_above", {"channel": "a", "n": 2}),
    LiveQuery("sql messages", "sql", {"sql": SQL_MESSAGES}),
    LiveQuery("sql other", "sql", {"sql": SQL_OTHER}),
    LiveQuery("other all", "all_of", {"table": "other"}),
    LiveQuery("ghosts all", "all_of", {"table": "ghosts"}),
    LiveQuery("latest messages", "latest", {"table": "messages"}),
]
QUERY_NAMES = {q.name for q in QUERIES}

# Every write to messages invalidates these (a full scan and a whole-table SQL read).
ANY_MESSAGES = {"scan filter", "sql messages"}
# A write in channel "a" whose by_channel key is in range (every doc of channel a).
IN_CHANNEL_A = {"chan a", "count a", "a filter n>2"}

Op = tuple[str, str, Any]  # (op, table or seed name, payload)


@dataclass(frozen=True)
class Write:
    name: str
    ops: tuple[Op, ...]
    invalidates: frozenset[str]


# Shapes that read exactly what another shape reads: invalidated by the same writes.
SAME_READS = {
    "a desc page1": "a desc take2",  # [a5, a3]: from a3's key to the end of channel a
    "b take5 (fewer exist)": "chan b",  # take stopped at the end: the whole channel
    "nested chan b": "chan b",  # the inner query's reads are the outer query's
}


def W(name: str, ops: list[Op], invalidates: set[str]) -> Write:
    unknown = invalidates - QUERY_NAMES
    assert not unknown, f"case {name!r} names unknown queries {unknown}"
    assert not invalidates & set(SAME_READS), "name the original, not the twin"
    twins = {twin for twin, orig in SAME_READS.items() if orig in invalidates}
    return Write(name, tuple(ops), frozenset(invalidates | twins))


def ins(table: str, doc: dict[str, Any]) -> Op:
    return ("insert", table, doc)


def msg(**fields: Any) -> Op:
    return ("insert", "messages", fields)


WRITES: list[Write] = [
    # -- equality ranges: another channel does not invalidate, the same one does
    W("insert b n=3", [msg(channel="b", n=3)], {"chan b", *ANY_MESSAGES, "latest messages"}),
    W("insert c", [msg(channel="c", n=1)], {"chan c", *ANY_MESSAGES, "latest messages"}),
    W(
        "insert a n=4 (inside the open ranges)",
        [msg(channel="a", n=4)],
        {
            *IN_CHANNEL_A,
            "a n>2",
            "a n>=2",
            "a 1<n<5",
            "a desc take2",
            "count a n>2",
            *ANY_MESSAGES,
            "latest messages",
        },
    ),
    # -- bounds: exactly at the bound, and just outside
    W(
        "insert a n=2 (at the gt/gte bound)",
        [msg(channel="a", n=2)],
        {
            *IN_CHANNEL_A,
            "a n>=2",
            "a n<3",
            "a n<=3",
            "a 1<n<5",
            "a page2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
            "latest messages",
        },
    ),
    W(
        "insert a n=3 (at the lt/lte bound)",
        [msg(channel="a", n=3)],
        # desc take2 returned [a5, a3]: a new n=3 sorts after a3 (later creation
        # time), i.e. *before* it in desc order, inside what was read
        {
            *IN_CHANNEL_A,
            "a n>2",
            "a n>=2",
            "a n<=3",
            "a 1<n<5",
            "a desc take2",
            "count a n>2",
            *ANY_MESSAGES,
            "latest messages",
        },
    ),
    W(
        "insert a n=1 (at the exclusive lower bound, tie with a1)",
        # asc take2/page1 read up to a1's key: a new n=1 sorts after a1 -> not read;
        # page2 starts right after a1 -> it is read
        [msg(channel="a", n=1)],
        {
            *IN_CHANNEL_A,
            "a n<3",
            "a n<=3",
            "a page2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
            "latest messages",
        },
    ),
    W(
        "insert a n=5 (tie with the top, at the exclusive upper bound)",
        [msg(channel="a", n=5)],
        {
            *IN_CHANNEL_A,
            "a n>2",
            "a n>=2",
            "a desc take2",
            "a desc first",
            "count a n>2",
            *ANY_MESSAGES,
            "latest messages",
        },
    ),
    W(
        "insert a n=0 (inside the asc prefix)",
        [msg(channel="a", n=0)],
        {
            *IN_CHANNEL_A,
            "a n<3",
            "a n<=3",
            "a asc take2",
            "a page1",
            "a iterate2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
            "latest messages",
        },
    ),
    # -- missing fields vs null
    W(
        "insert a without n (missing sorts lowest)",
        [msg(channel="a")],
        {
            *IN_CHANNEL_A,
            "a n<3",
            "a n<=3",
            "a asc take2",
            "a page1",
            "a iterate2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
            "latest messages",
        },
    ),
    W(
        "insert a with n null (null sorts above missing)",
        [msg(channel="a", n=None)],
        {
            *IN_CHANNEL_A,
            "a n<3",
            "a n<=3",
            "a asc take2",
            "a page1",
            "a iterate2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
            "latest messages",
        },
    ),
    W(
        "patch a_ n from missing to null",
        # old (a, missing) is a_'s key, which asc first read; new (a, null) is below a1
        [("patch", "a_", {"n": None})],
        {
            *IN_CHANNEL_A,
            "a n<3",
            "a n<=3",
            "a asc take2",
            "a asc first",
            "a page1",
            "a iterate2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
        },
    ),
    W(
        "replace a2 dropping n (moves to the bottom of channel a)",
        [("replace", "a2", {"channel": "a", "body": "no n now"})],
        {
            *IN_CHANNEL_A,
            "a n>=2",
            "a n<3",
            "a n<=3",
            "a 1<n<5",
            "a page2",
            "get a2",
            "by_id a2",
            "a asc take2",
            "a page1",
            "a iterate2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
        },
    ),
    W(
        "insert channel null",
        [msg(channel=None, n=7)],
        {"chan null", *ANY_MESSAGES, "latest messages"},
    ),
    W("insert without channel", [msg(n=7)], {"chan missing", *ANY_MESSAGES, "latest messages"}),
    # -- patches that keep every key
    W(
        "patch a2 body",
        [("patch", "a2", {"body": "edited"})],
        {
            *IN_CHANNEL_A,
            "a n>=2",
            "a n<3",
            "a n<=3",
            "a 1<n<5",
            "a page2",
            "get a2",
            "by_id a2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
        },
    ),
    W("patch b1 body", [("patch", "b1", {"body": "edited"})], {"chan b", *ANY_MESSAGES}),
    W(
        "replace a1 (same keys)",
        [("replace", "a1", {"channel": "a", "n": 1, "body": "replaced"})],
        {
            *IN_CHANNEL_A,
            "a n<3",
            "a n<=3",
            "a asc take2",
            "a page1",
            "a iterate2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
        },
    ),
    W(
        "patch miss (the latest doc)",
        [("patch", "miss", {"body": "x"})],
        {"chan missing", *ANY_MESSAGES, "latest messages"},
    ),
    # -- moves: the old key and the new key both count
    W(
        "move a1 to channel b",
        [("patch", "a1", {"channel": "b"})],
        {
            *IN_CHANNEL_A,
            "chan b",
            "a n<3",
            "a n<=3",
            "a asc take2",
            "a page1",
            "a iterate2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
        },
    ),
    W(
        "move b2 into channel a with n=4",
        [("patch", "b2", {"channel": "a", "n": 4})],
        {
            *IN_CHANNEL_A,
            "chan b",
            "b n=2 unique",
            "a n>2",
            "a n>=2",
            "a 1<n<5",
            "a desc take2",
            "count a n>2",
            *ANY_MESSAGES,
        },
    ),
    W(
        "move a5 down to n=1",
        # old key (a,5): gt/gte ranges and the desc prefix; new key (a,1,ct(a5)): after
        # a1, so in page2 and lt/lte but not in asc take2; neither in (1, 5)
        [("patch", "a5", {"n": 1})],
        {
            *IN_CHANNEL_A,
            "a n>2",
            "a n>=2",
            "a n<3",
            "a n<=3",
            "a desc take2",
            "a desc first",
            "a page2",
            "count a n>2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
        },
    ),
    W(
        "patch a_ from missing n to n=9",
        [("patch", "a_", {"n": 9})],
        {
            *IN_CHANNEL_A,
            "a n>2",
            "a n>=2",
            "a n<3",
            "a n<=3",
            "a asc take2",
            "a asc first",
            "a page1",
            "a iterate2",
            "a desc take2",
            "a desc first",
            "count a n>2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
        },
    ),
    # -- deletes
    W(
        "delete a3",
        [("delete", "a3", None)],
        {
            *IN_CHANNEL_A,
            "a n>2",
            "a n>=2",
            "a n<=3",
            "a 1<n<5",
            "a desc take2",
            "a page2",
            "count a n>2",
            "a filter n>=3 first",
            *ANY_MESSAGES,
        },
    ),
    W("delete nul", [("delete", "nul", None)], {"chan null", *ANY_MESSAGES}),
    # -- other tables
    W("insert other", [ins("other", {"x": 2})], {"other all", "sql other"}),
    W("patch o1", [("patch", "o1", {"x": 3})], {"other all", "sql other", "get o1"}),
    W("insert ghosts (creates the table)", [ins("ghosts", {"boo": True})], {"ghosts all"}),
    # -- one commit, several writes
    W(
        "insert c and delete b1 in one mutation",
        [msg(channel="c"), ("delete", "b1", None)],
        {"chan c", "chan b", *ANY_MESSAGES, "latest messages"},
    ),
]


def _resolve_ops(ops: tuple[Op, ...], s: Seed) -> list[list[Any]]:
    return [
        [op, target if op == "insert" else s.ids[target], payload] for op, target, payload in ops
    ]


def outcome(sub: nr.Subscription) -> dict[str, Any]:
    """The subscription's current result in the oracle's shape."""
    if sub.error is not None:
        return {"error": type(sub.error).__name__}
    return {"value": sub.value}


def fresh(
    app: nr.App, q: LiveQuery, args: dict[str, Any], before: dict[str, Any], journal: bool = True
) -> dict[str, Any]:
    """What a fresh run of ``q`` returns now, bypassing live entries and the cache.

    A live paginated query keeps its page end across re-runs (the journal): its fresh
    equivalent passes the first run's ``continueCursor`` as ``endCursor``.
    """
    if q.fn == "sql":
        return {"value": app.sql(args["sql"]).to_pylist()}
    if q.fn == "page" and journal:
        args = {**args, "end": before["value"]["continueCursor"]}
    result: dict[str, Any] = app.run_mutation("fresh", {"name": q.fn, "args": args})
    return result


def live_ids(
    app: nr.App, subs: dict[str, tuple[nr.Subscription, dict[str, Any]]]
) -> dict[int, str]:
    """Live-query id -> case name, matched on (function, args) via ``app.inspect()``."""
    out: dict[int, str] = {}
    for entry in app.inspect().subscriptions:
        for name, (sub, args) in subs.items():
            if entry["function"] == sub.function and entry["args"] == args:
                assert entry["id"] not in out, "two cases share one live query"
                out[entry["id"]] = name
    assert sorted(out.values()) == sorted(subs), "every case has its own live query"
    return out


def no_stale(app: nr.App) -> bool:
    return not any(s["stale"] for s in app.inspect().subscriptions)


def subscribe_all(app: nr.App, s: Seed) -> dict[str, tuple[nr.Subscription, dict[str, Any]]]:
    subs = {}
    for q in QUERIES:
        args = q.resolve(s)
        subs[q.name] = (app.subscribe(q.fn, args), args)
    return subs


def test_the_seed_is_what_the_cases_assume(app: nr.App) -> None:
    s = seed(app)
    ids = s.ids

    def names(docs: list[dict[str, Any]]) -> list[str]:
        by_id = {v_: k for k, v_ in ids.items()}
        return [by_id[d["_id"]] for d in docs]

    assert names(app.run_query("by_channel", {"channel": "a"})) == ["a_", "a1", "a2", "a3", "a5"]
    assert names(app.run_query("top", {"channel": "a", "order": "desc", "k": 2})) == ["a5", "a3"]
    assert names(app.run_query("top", {"channel": "a", "order": "asc", "k": 2})) == ["a_", "a1"]
    page2 = app.run_query("page", {"channel": "a", "num": 2, "cursor": s.page2_cursor})
    assert names(page2["page"]) == ["a2", "a3"]
    assert names(app.run_query("n_range", {"channel": "a", "op": "lt", "n": 3})) == [
        "a_",
        "a1",
        "a2",
    ]
    assert names(app.run_query("by_channel", {"channel": None})) == ["nul"]
    assert names(app.run_query("channel_missing")) == ["miss"]
    assert app.run_query("latest", {"table": "messages"})["_id"] == ids["miss"]
    assert app.run_query("get", {"id": ids["gone"]}) is None
    assert app.run_query("all_of", {"table": "ghosts"}) == []
    assert app.run_query("sql", {"sql": SQL_MESSAGES}) == [{"c": 9, "bodies": 1}]


@pytest.mark.parametrize("write", [pytest.param(w, id=w.name) for w in WRITES])
def test_write_invalidates_exactly(app: nr.App, write: Write) -> None:
    s = seed(app)
    subs = subscribe_all(app, s)
    ids = live_ids(app, subs)
    before = {name: outcome(sub) for name, (sub, _) in subs.items()}
    calls: dict[str, list[Any]] = {name: [] for name in subs}
    for name, (sub, _) in subs.items():
        sub.on_change(calls[name].append, on_error=calls[name].append)
    commits_before = len(app.inspect().commits)

    app.run_mutation("apply_ops", {"ops": _resolve_ops(write.ops, s)})

    commits = app.inspect().commits
    assert len(commits) == commits_before + 1, "one mutation publishes one commit"
    invalidated = {ids[i] for i in commits[-1]["invalidated"]}
    assert invalidated == write.invalidates, (
        f"over-invalidated: {sorted(invalidated - write.invalidates)}; "
        f"under-invalidated: {sorted(write.invalidates - invalidated)}"
    )

    wait_until(lambda: no_stale(app), "the invalidated queries to re-run")
    after = {q.name: fresh(app, q, subs[q.name][1], before[q.name]) for q in QUERIES}
    for name, (sub, _) in subs.items():
        if name not in invalidated:
            # sound: a query the commit did not touch still has the current result
            assert after[name] == before[name], f"{name}: result changed but not invalidated"
        assert outcome(sub) == after[name], f"{name}: live result differs from a fresh run"

    changed = {name for name in subs if after[name] != before[name]}
    assert changed <= invalidated
    wait_until(lambda: all(len(calls[n]) >= 1 for n in changed), f"callbacks of {sorted(changed)}")
    for name in subs:
        assert len(calls[name]) == (1 if name in changed else 0), (name, calls[name])
    for name in changed:
        got = calls[name][0]
        assert (
            {"error": type(got).__name__} if isinstance(got, BaseException) else {"value": got}
        ) == after[name]


def test_every_query_is_hit_by_some_write_and_missed_by_another() -> None:
    """The matrix has teeth: each shape is both invalidated and spared by some row
    (except the ones that read nothing a write can reach)."""
    never = {"a take0", "get gone"}
    hit = set().union(*(w.invalidates for w in WRITES))
    assert hit == QUERY_NAMES - never
    for q in QUERY_NAMES:
        assert any(q not in w.invalidates for w in WRITES), q


# ---------------------------------------------------------------------------
# single-query cases the matrix cannot express
# ---------------------------------------------------------------------------


def inner_fails(ctx: Any, ops: list[list[Any]]) -> None:
    for op, target, payload in ops:
        if op == "insert":
            ctx.db.insert(target, payload)
        else:
            ctx.db.patch(target, payload)
    raise nr.AppError({"code": "inner"})


FAILED_MUTATIONS: list[tuple[str, Callable[[nr.App, Seed], Any]]] = [
    (
        "raises after several writes",
        lambda app, s: app.run_mutation(
            "apply_ops",
            {
                "ops": [
                    ["insert", "messages", {"channel": "a", "n": 4}],
                    ["patch", s.ids["a2"], {"n": 20}],
                    ["delete", s.ids["b1"], None],
                    ["insert", "ghosts", {"boo": 1}],
                    ["insert", "other", {"x": "fail"}],
                    ["bogus-op", "messages", None],  # raises ValueError at the end
                ]
            },
        ),
    ),
    (
        "a schema violation after valid writes",
        lambda app, s: app.run_mutation(
            "apply_ops",
            {
                "ops": [
                    ["insert", "messages", {"channel": "c", "n": 1}],
                    ["patch", s.ids["a3"], {"channel": "b"}],
                    ["insert", "messages", {"channel": 5}],  # channel must be a string or null
                ]
            },
        ),
    ),
    (
        "an app error from a nested mutation, not caught",
        lambda app, s: app.run_mutation(
            "outer_fails",
            {
                "ops": [
                    ["insert", "messages", {"channel": "b", "n": 9}],
                    ["patch", s.ids["o1"], {"x": 2}],
                ]
            },
        ),
    ),
]


@pytest.mark.parametrize("fail", [pytest.param(f, id=name) for name, f in FAILED_MUTATIONS])
def test_failed_mutation_notifies_nobody_and_logs_no_commit(
    app: nr.App, fail: Callable[[nr.App, Seed], Any]
) -> None:
    @app.mutation
    def outer_fails(ctx, ops):
        ctx.db.insert("messages", {"channel": "c"})
        app.functions["inner_fails"]({"ops": ops})

    app.mutation(name="inner_fails")(inner_fails)
    s = seed(app)
    subs = subscribe_all(app, s)
    calls: list[Any] = []
    for sub, _ in subs.values():
        sub.on_change(calls.append, on_error=calls.append)
    before = {name: outcome(sub) for name, (sub, _) in subs.items()}
    insp = app.inspect()
    commits, stats = len(insp.commits), dict(insp.stats)

    with pytest.raises(Exception) as info:
        fail(app, s)
    assert isinstance(info.value, (ValueError, nr.ValidationError, nr.AppError))

    insp = app.inspect()
    assert len(insp.commits) == commits, "a failed mutation publishes nothing"
    assert not any(e["stale"] for e in insp.subscriptions)
    # a later commit to a table no case query reads proves the engine is idle and
    # that the failed writes are nowhere (no round re-ran anything because of them)
    app.run_mutation("apply_ops", {"ops": [["insert", "unread", {"x": 1}]]})
    assert app.inspect().commits[-1]["invalidated"] == []
    assert app._reactor.stats["reruns"] == stats["reruns"]
    assert {name: outcome(sub) for name, (sub, _) in subs.items()} == before
    for q in QUERIES:
        assert fresh(app, q, subs[q.name][1], before[q.name]) == before[q.name], q.name
    assert calls == []


def test_rolled_back_nested_mutation_invalidates_only_what_the_outer_one_kept(app: nr.App) -> None:
    app.mutation(name="inner_fails")(inner_fails)

    @app.mutation
    def outer_catches(ctx, ops):
        ctx.db.insert("messages", {"channel": "c", "n": 1})
        try:
            app.functions["inner_fails"]({"ops": ops})
        except nr.AppError:
            pass

    s = seed(app)
    subs = subscribe_all(app, s)
    ids = live_ids(app, subs)
    app.run_mutation(
        "outer_catches",
        {
            "ops": [
                ["insert", "messages", {"channel": "b", "n": 9}],
                ["patch", s.ids["a2"], {"n": 20}],
                ["insert", "other", {"x": 2}],
            ]
        },
    )
    commit = app.inspect().commits[-1]
    assert commit["num_writes"] == 1
    assert {ids[i] for i in commit["invalidated"]} == {"chan c", *ANY_MESSAGES, "latest messages"}
    wait_until(lambda: no_stale(app), "the re-runs")
    assert [d["n"] for d in subs["chan c"][0].value] == [1]
    assert [d["n"] for d in subs["chan b"][0].value] == [1, 2]


def test_unchanged_rerun_calls_no_callback(app: nr.App) -> None:
    s = seed(app)
    sub = app.subscribe("count_channel", {"channel": "a"})
    calls: list[Any] = []
    sub.on_change(calls.append, on_error=calls.append)
    stats0 = dict(app._reactor.stats)

    # in range, count kept: re-run, unchanged, no callback
    app.run_mutation("apply_ops", {"ops": [["patch", s.ids["a2"], {"body": "x"}]]})
    assert len(app.inspect().commits[-1]["invalidated"]) == 1
    wait_until(lambda: app._reactor.stats["unchanged"] == stats0["unchanged"] + 1, "the re-run")
    assert sub.value == 5
    # then a change: exactly one callback with the new count
    app.run_mutation("apply_ops", {"ops": [["insert", "messages", {"channel": "a"}]]})
    wait_until(lambda: calls == [6], "the callback with 6")
    assert app._reactor.stats["reruns"] == stats0["reruns"] + 2
    # a patch that moves a document out and another in: count kept, no callback
    app.run_mutation(
        "apply_ops",
        {
            "ops": [
                ["patch", s.ids["a2"], {"channel": "b"}],
                ["patch", s.ids["b1"], {"channel": "a"}],
            ]
        },
    )
    wait_until(lambda: app._reactor.stats["reruns"] == stats0["reruns"] + 3, "the third re-run")
    assert app._reactor.stats["unchanged"] == stats0["unchanged"] + 2
    assert calls == [6]
    assert sub.value == 6


def test_watch_is_called_now_and_on_each_change_only(app: nr.App) -> None:
    seed(app)
    seen: list[list[int | None]] = []
    sub = app.watch(
        "n_range",
        {"channel": "a", "op": "gt", "n": 2},
        lambda docs: seen.append([d["n"] for d in docs]),
    )
    assert seen == [[3, 5]]
    app.run_mutation("apply_ops", {"ops": [["insert", "messages", {"channel": "a", "n": 1}]]})
    app.run_mutation("apply_ops", {"ops": [["insert", "messages", {"channel": "b", "n": 9}]]})
    app.run_mutation("apply_ops", {"ops": [["insert", "messages", {"channel": "a", "n": 4}]]})
    wait_until(lambda: len(seen) == 2, "the second call")
    assert seen == [[3, 5], [3, 4, 5]]
    assert not any(e["stale"] for e in app.inspect().subscriptions)
    sub.unsubscribe()


def test_identical_subscriptions_share_one_execution(app: nr.App) -> None:
    seed(app)
    args = {"channel": "a", "op": "gte", "n": 2}
    one = app.subscribe("n_range", args)
    two = app.subscribe("n_range", dict(args))
    other_args = app.subscribe("n_range", {**args, "n": 3})
    insp = app.inspect()
    entries = [e for e in insp.subscriptions if e["function"] == "n_range"]
    assert sorted(e["subscribers"] for e in entries) == [1, 2]
    shared = next(e for e in entries if e["subscribers"] == 2)
    assert shared["args"] == args and shared["runs"] == 1
    got1: list[int] = []
    got2: list[int] = []
    one.on_change(lambda docs: got1.append(len(docs)))
    two.on_change(lambda docs: got2.append(len(docs)))
    reruns = app._reactor.stats["reruns"]

    app.run_mutation("apply_ops", {"ops": [["insert", "messages", {"channel": "a", "n": 2}]]})
    # the new n=2 is in [2, ...) but not in [3, ...): one live query invalidated
    assert app.inspect().commits[-1]["invalidated"] == [shared["id"]]
    wait_until(lambda: got1 == [4] and got2 == [4], "both subscribers' callbacks")
    assert app._reactor.stats["reruns"] == reruns + 1
    assert app.inspect().subscription(shared["id"])["runs"] == 2  # type: ignore[index]

    # one subscriber leaves: the execution stays live for the other
    one.unsubscribe()
    app.run_mutation("apply_ops", {"ops": [["insert", "messages", {"channel": "a", "n": 7}]]})
    assert shared["id"] in app.inspect().commits[-1]["invalidated"]
    wait_until(lambda: got2 == [4, 5], "the remaining subscriber's callback")
    assert got1 == [4]
    assert two.value == app.run_query("n_range", args)
    assert len(other_args.value) == 3


def test_take_desc_reads_only_the_top(app: nr.App) -> None:
    """take(2) desc over n = [5, 3]: a lower n than the 2nd returned does not invalidate,
    a higher one does; the same for asc take(2) mirrored."""
    seed(app)
    desc = app.subscribe("top", {"channel": "a", "order": "desc", "k": 2})
    asc = app.subscribe("top", {"channel": "a", "order": "asc", "k": 2})
    d_id = next(e["id"] for e in app.inspect().subscriptions if e["args"]["order"] == "desc")
    a_id = next(e["id"] for e in app.inspect().subscriptions if e["args"]["order"] == "asc")

    cases = [  # (n inserted into channel a, desc invalidated, asc invalidated)
        (2, False, False),
        (4, True, False),
        (0, False, True),
        (3, False, False),  # the desc top moved to [5, 4]: 3 is below it now
        (-1, False, True),
        (9, True, False),
    ]
    for n, want_desc, want_asc in cases:
        app.run_mutation("apply_ops", {"ops": [["insert", "messages", {"channel": "a", "n": n}]]})
        inv = app.inspect().commits[-1]["invalidated"]
        assert (d_id in inv, a_id in inv) == (want_desc, want_asc), n
        wait_until(lambda: no_stale(app), "the re-runs")
    assert [d["n"] for d in desc.value] == [9, 5]
    assert [d.get("n") for d in asc.value] == [None, -1]


def test_pagination_first_and_second_page(app: nr.App) -> None:
    s = seed(app)
    p1 = app.subscribe("page", {"channel": "a", "num": 2, "cursor": None})
    p2 = app.subscribe("page", {"channel": "a", "num": 2, "cursor": s.page2_cursor})
    ids = {e["args"]["cursor"] is None: e["id"] for e in app.inspect().subscriptions}
    p1_id, p2_id = ids[True], ids[False]
    assert p1.value["isDone"] is False and p2.value["isDone"] is False

    # beyond both pages (n=4 sorts after a3, the end of page 2): nothing invalidated
    app.run_mutation("apply_ops", {"ops": [["insert", "messages", {"channel": "a", "n": 4}]]})
    assert app.inspect().commits[-1]["invalidated"] == []
    # inside page 2 only
    app.run_mutation("apply_ops", {"ops": [["patch", s.ids["a3"], {"body": "x"}]]})
    assert app.inspect().commits[-1]["invalidated"] == [p2_id]
    # inside page 1 only; page 1 grows (its end is pinned after a1, the journal) and
    # page 2 stays anchored after a1: no overlap, no gap
    app.run_mutation("apply_ops", {"ops": [["insert", "messages", {"channel": "a", "n": 0}]]})
    assert app.inspect().commits[-1]["invalidated"] == [p1_id]
    wait_until(lambda: no_stale(app), "the re-runs")
    assert [d.get("n") for d in p1.value["page"]] == [None, 0, 1]
    assert p1.value["continueCursor"] == s.page2_cursor
    assert [d["n"] for d in p2.value["page"]] == [2, 3]
    assert p2.value["page"][1]["body"] == "x"
    # a delete inside page 2 shrinks it (it is not refilled from beyond its end)
    app.run_mutation("apply_ops", {"ops": [["delete", s.ids["a2"], None]]})
    assert app.inspect().commits[-1]["invalidated"] == [p2_id]
    wait_until(lambda: no_stale(app), "the re-runs")
    assert [d["n"] for d in p2.value["page"]] == [3]


def test_get_of_a_deleted_id_reads_only_that_id(app: nr.App) -> None:
    s = seed(app)
    sub = app.subscribe("get", {"id": s.ids["a3"]})
    assert sub.value["n"] == 3
    app.run_mutation("apply_ops", {"ops": [["delete", s.ids["a3"], None]]})
    assert len(app.inspect().commits[-1]["invalidated"]) == 1
    wait_until(lambda: sub.value is None, "the deleted document")
    for ops in (
        [["insert", "messages", {"channel": "a", "n": 3}]],
        [["patch", s.ids["a2"], {"n": 3}]],
        [["delete", s.ids["a1"], None]],
    ):
        app.run_mutation("apply_ops", {"ops": ops})
        assert app.inspect().commits[-1]["invalidated"] == []
    assert sub.value is None


def test_error_results_come_and_go_with_the_data(app: nr.App) -> None:
    """unique() over (b, 2): moving a2 there makes it fail (on_error), moving it back
    recovers (on_change)."""
    s = seed(app)
    sub = app.subscribe("unique_at", {"channel": "b", "n": 2})
    events: list[str] = []
    sub.on_change(
        lambda doc: events.append(f"value {doc['n']}"),
        on_error=lambda e: events.append(type(e).__name__),
    )
    app.run_mutation("apply_ops", {"ops": [["patch", s.ids["a2"], {"channel": "b"}]]})
    wait_until(lambda: events == ["QueryError"], "the error")
    assert isinstance(sub.error, nr.QueryError)
    with pytest.raises(nr.QueryError, match="more than one result"):
        sub.value
    app.run_mutation("apply_ops", {"ops": [["patch", s.ids["a2"], {"channel": "a"}]]})
    wait_until(lambda: events == ["QueryError", "value 2"], "the recovery")
    assert sub.error is None and sub.value["_id"] == s.ids["b2"]


def test_sql_over_a_table_that_does_not_exist_yet(app: nr.App) -> None:
    seed(app)
    sub = app.subscribe("sql", {"sql": "SELECT count(*) AS c FROM ghosts"})
    assert sub.error is not None
    app.run_mutation("apply_ops", {"ops": [["insert", "other", {"x": 5}]]})
    assert app.inspect().commits[-1]["invalidated"] == []
    app.run_mutation("apply_ops", {"ops": [["insert", "ghosts", {"boo": 1}]]})
    assert len(app.inspect().commits[-1]["invalidated"]) == 1
    wait_until(lambda: sub.error is None, "the query to recover")
    assert sub.value == [{"c": 1}]


def test_unsubscribed_query_is_not_invalidated(app: nr.App) -> None:
    s = seed(app)
    sub = app.subscribe("by_channel", {"channel": "a"})
    sub.unsubscribe()
    sub.unsubscribe()  # idempotent
    app.run_mutation("apply_ops", {"ops": [["patch", s.ids["a1"], {"body": "x"}]]})
    c = app.inspect().commits[-1]
    assert c["invalidated"] == []
    assert app.inspect().subscriptions == []
    assert [d.get("body") for d in app.run_query("by_channel", {"channel": "a"})][1] == "x"


@pytest.mark.parametrize("write", [pytest.param(w, id=w.name) for w in WRITES])
def test_write_drops_exactly_the_cached_results(app: nr.App, write: Write) -> None:
    """The result cache (queries nobody subscribes to) is invalidated by the same
    reads: a commit drops exactly the cached results it touches, and every call after
    it returns what a fresh run returns."""
    s = seed(app)
    args = {q.name: q.resolve(s) for q in QUERIES}
    before = {}
    for q in QUERIES:
        before[q.name] = {"value": app.run_query(q.fn, args[q.name])}
    hits = app._reactor.stats["cache_hits"]
    for q in QUERIES:  # all served from the cache now
        assert {"value": app.run_query(q.fn, args[q.name])} == before[q.name]
    assert app._reactor.stats["cache_hits"] == hits + len(QUERIES)

    app.run_mutation("apply_ops", {"ops": _resolve_ops(write.ops, s)})

    commit = app.inspect().commits[-1]
    assert commit["invalidated"] == []
    assert commit["cache_dropped"] == len(write.invalidates)
    hits = app._reactor.stats["cache_hits"]
    for q in QUERIES:
        now = {"value": app.run_query(q.fn, args[q.name])}
        assert now == fresh(app, q, args[q.name], before[q.name], journal=False), q.name
        if q.name not in write.invalidates:
            assert now == before[q.name], f"{q.name}: result changed but not invalidated"
    # the untouched ones were served from the cache
    assert app._reactor.stats["cache_hits"] == hits + len(QUERIES) - len(write.invalidates)


def test_insert_and_delete_in_one_mutation_touches_no_index_key(app: nr.App) -> None:
    """A document created and deleted by the same mutation never existed for anyone:
    no index key was written (whole-table SQL readers may still re-run)."""
    s = seed(app)
    subs = subscribe_all(app, s)
    ids = live_ids(app, subs)
    before = {name: outcome(sub) for name, (sub, _) in subs.items()}

    @app.mutation
    def flicker(ctx):
        i = ctx.db.insert("messages", {"channel": "a", "n": 2})
        ctx.db.patch(i, {"n": 4})
        ctx.db.delete(i)

    flicker()
    assert {ids[i] for i in app.inspect().commits[-1]["invalidated"]} <= {"sql messages"}
    wait_until(lambda: no_stale(app), "the re-runs")
    assert {name: outcome(sub) for name, (sub, _) in subs.items()} == before


def test_import_invalidates_the_readers_of_that_table_only(app: nr.App) -> None:
    s = seed(app)
    subs = subscribe_all(app, s)
    ids = live_ids(app, subs)
    assert app.import_documents("other", [{"x": 10}, {"x": 11}], progress=False) == 2
    commit = app.inspect().commits[-1]
    assert commit["source"] == "import" and commit["whole_tables"] == {"other"}
    # whole-table: every reader of "other", the point read of o1 included
    assert {ids[i] for i in commit["invalidated"]} == {"other all", "sql other", "get o1"}
    wait_until(lambda: no_stale(app), "the re-runs")
    assert len(subs["other all"][0].value) == 3
    assert subs["sql other"][0].value == [{"c": 3}]

    app.import_documents("ghosts", [{"boo": 1}], progress=False)
    assert {ids[i] for i in app.inspect().commits[-1]["invalidated"]} == {"ghosts all"}
    wait_until(lambda: no_stale(app), "the re-runs")
    assert [d["boo"] for d in subs["ghosts all"][0].value] == [1]


def test_schema_change_reruns_every_query_that_read_something(app: nr.App) -> None:
    s = seed(app)
    subs = subscribe_all(app, s)
    ids = live_ids(app, subs)
    before = {name: outcome(sub) for name, (sub, _) in subs.items()}
    app.set_schema(SCHEMA)  # the same schema: a rewrite of "*" all the same
    commit = app.inspect().commits[-1]
    assert commit["source"] == "schema" and commit["whole_tables"] == {"*"}
    assert {ids[i] for i in commit["invalidated"]} >= QUERY_NAMES - {"a take0"}
    wait_until(lambda: no_stale(app), "the re-runs")
    assert {name: outcome(sub) for name, (sub, _) in subs.items()} == before


# ---------------------------------------------------------------------------
# regressions: bugs these tests found (fixed)
# ---------------------------------------------------------------------------

SCHEMA_WITH_BY_BODY = nr.define_schema(
    {
        "messages": nr.define_table(
            {
                "channel": v.optional(v.nullable(v.string())),
                "n": v.optional(v.nullable(v.int64())),
                "body": v.optional(v.string()),
            }
        )
        .index("by_channel", ["channel"])
        .index("by_channel_n", ["channel", "n"])
        .index("by_body", ["body"]),
    },
    strict_table_name_types=False,
)


def test_schema_change_reruns_a_query_that_failed_before_reading(app: nr.App) -> None:
    seed(app)

    @app.query
    def by_body(ctx):
        docs = ctx.db.query("messages").with_index("by_body").collect()
        return [d["body"] for d in docs if "body" in d]

    sub = app.subscribe(by_body, {})
    assert isinstance(sub.error, nr.QueryError)  # Index messages.by_body not found.
    app.set_schema(SCHEMA_WITH_BY_BODY)
    invalidated = app.inspect().commits[-1]["invalidated"]
    assert app.inspect().subscriptions[-1]["id"] in invalidated
    wait_until(lambda: sub.error is None, "the query to see the new index")
    assert sub.value == ["no n"]


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT count(*) AS c FROM main.messages", id="schema-qualified"),
        pytest.param(
            "SELECT count(*) AS c FROM MESSAGES",
            id="upper case",
        ),
        pytest.param(
            'SELECT count(*) AS c FROM "Messages"',
            id="quoted mixed case",
        ),
    ],
)
def test_sql_table_names_match_case_insensitively(app: nr.App, sql: str) -> None:
    seed(app)
    sub = app.subscribe("sql", {"sql": sql})
    assert sub.value == [{"c": 9}]
    app.run_mutation("apply_ops", {"ops": [["insert", "messages", {"channel": "z"}]]})
    assert len(app.inspect().commits[-1]["invalidated"]) == 1
    wait_until(lambda: sub.value == [{"c": 10}], "the new count")


def test_failing_query_with_an_open_iterator_still_recovers(app: nr.App) -> None:
    s = seed(app)

    @app.query
    def smallest_a_must_have_n(ctx):
        it = iter(
            ctx.db.query("messages").with_index("by_channel_n", lambda q: q.eq("channel", "a"))
        )
        doc = next(it)
        if doc.get("n") is None:
            raise nr.AppError("the smallest has no n")
        return doc["n"]

    sub = app.subscribe(smallest_a_must_have_n, {})
    assert isinstance(sub.error, nr.AppError)
    app.run_mutation("apply_ops", {"ops": [["patch", s.ids["a_"], {"n": 0}]]})
    assert len(app.inspect().commits[-1]["invalidated"]) == 1
    wait_until(lambda: sub.error is None, "the recovery")
    assert sub.value == 0


def test_failing_query_iterating_in_a_for_loop_recovers(app: nr.App) -> None:
    """The same query written with a ``for`` loop works: the loop closes its iterator
    when the exception unwinds it (the contrast to the test above)."""
    s = seed(app)

    @app.query
    def smallest_a_must_have_n(ctx):
        for doc in ctx.db.query("messages").with_index(
            "by_channel_n", lambda q: q.eq("channel", "a")
        ):
            if doc.get("n") is None:
                raise nr.AppError("the smallest has no n")
            return doc["n"]
        return None

    sub = app.subscribe(smallest_a_must_have_n, {})
    assert isinstance(sub.error, nr.AppError)
    app.run_mutation("apply_ops", {"ops": [["patch", s.ids["a_"], {"n": 0}]]})
    assert len(app.inspect().commits[-1]["invalidated"]) == 1
    wait_until(lambda: sub.error is None, "the recovery")
    assert sub.value == 0


def test_the_inspector_describes_open_and_exclusive_bounds_as_they_are() -> None:
    """A descending ``first()`` reads from its top key to the end of the index, and
    ``gt`` starts after its value: the inspector must not call the end "start" nor show
    an exclusive bound as an inclusive one."""
    with nr.App() as app:
        app.set_schema(nr.define_schema({"t": nr.define_table({"k": v.int64()}).index("by_k", ["k"])}))

        @app.mutation(args={"k": v.int64()})
        def add(ctx, k):
            ctx.db.insert("t", {"k": k})

        @app.query()
        def latest(ctx):
            return ctx.db.query("t").with_index("by_k").order("desc").first()

        @app.query()
        def above_one(ctx):
            return ctx.db.query("t").with_index("by_k", lambda q: q.gt("k", 1).lt("k", 4)).collect()

        @app.query()
        def up_to_three(ctx):
            return ctx.db.query("t").with_index("by_k", lambda q: q.lte("k", 3)).collect()

        for k in range(5):
            add(k=k)
        subs = [app.subscribe(q, {}) for q in (latest, above_one, up_to_three)]
        reads = [s["reads"] for s in app.inspect().subscriptions]
        (top,), (between,), (upto,) = reads
        assert top.startswith("t.by_k: [(k=4, _creationTime=") and top.endswith(" .. end)"), top
        assert between == "t.by_k: [after (k=1) .. (k=4))"
        assert upto == "t.by_k: [start .. (k=3)…)"
        for s in subs:
            s.unsubscribe()


def test_the_inspector_says_when_sql_may_read_any_table() -> None:
    """SQL through a table function (``query_table('t')``) may read any table, and is
    live on all of them: the inspector says so instead of naming a table "*"."""
    with nr.App() as app:
        app.set_schema(nr.define_schema({"t": nr.define_table({"k": v.int64()})}))

        @app.query()
        def through_a_function(ctx):
            return ctx.db.sql("SELECT count(*) AS n FROM query_table('t')")

        sub = app.subscribe(through_a_function, {})
        (live,) = app.inspect().subscriptions
        assert live["reads"] == ["any table (SQL through a table function)"]
        sub.unsubscribe()
