"""``app.live``: widget state and the messages it sends, at the Python level (no kernel).

The front end's protocol (see ``nbreactive/widgets/live.py``) is checked by replaying
it: the messages the widget sends are captured and applied to a model of the front
end's row cache, which must always equal the rows of the current result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from waiting import wait_until

pytest.importorskip("anywidget")

from row_frontend import RowFrontEnd

import nbreactive as nr
from nbreactive import v
from nbreactive.widgets.cells import cell, format_value
from nbreactive.widgets.diff import hunks, splice
from nbreactive.widgets.live import LiveWidget
from nbreactive.widgets.rows import PATCH_MARGIN


class FrontEnd(RowFrontEnd):
    widget: LiveWidget


@pytest.fixture
def app() -> Iterator[nr.App]:
    a = nr.App()
    a.set_schema(
        nr.define_schema(
            {
                "m": nr.define_table({"channel": v.string(), "body": v.string(), "n": v.int64()}).index(
                    "by_channel_n", ["channel", "n"]
                )
            }
        )
    )

    @a.query(args={"channel": v.string()})
    def msgs(ctx, channel):
        return ctx.db.query("m").with_index("by_channel_n", lambda q: q.eq("channel", channel)).collect()

    @a.mutation(args={"channel": v.string(), "body": v.string(), "n": v.int64()})
    def send(ctx, channel, body, n):
        return ctx.db.insert("m", {"channel": channel, "body": body, "n": n})

    @a.mutation(args={"id": v.id("m"), "fields": v.any()})
    def patch(ctx, id, fields):
        ctx.db.patch(id, fields)

    @a.mutation(args={"id": v.id("m")})
    def remove(ctx, id):
        ctx.db.delete(id)

    yield a
    a.close()


def test_a_table_of_documents_with_schema_columns(app: nr.App) -> None:
    w = app.live("msgs", {"channel": "a"})
    assert w.kind == "table"
    assert w.columns == ["_id", "channel", "body", "n", "_creationTime"]  # from the schema
    assert w.row_count == 0 and w.value == [] and w.error is None
    assert w.function == "msgs" and "channel" in w.args_text
    w.close()
    assert not w.subscription.active


def test_commits_send_only_the_changed_rows_and_the_cache_stays_exact(app: nr.App) -> None:
    ids = [app.run_mutation("send", {"channel": "a", "body": f"b{n}", "n": n * 10}) for n in range(50)]
    w = app.live("msgs", {"channel": "a"})
    fe = FrontEnd(w)
    fe.ask(0, 50)
    assert fe.shown() == fe.expected()

    def settle(count: int) -> None:
        wait_until(lambda: w.row_count == count and fe.row_count == count, f"{count} rows")

    fe.messages.clear()
    app.run_mutation("send", {"channel": "a", "body": "new", "n": 255})  # lands at index 26
    settle(51)
    wait_until(lambda: fe.shown() == fe.expected(), "the patched rows")
    (patch,) = [m for m in fe.messages if m["type"] == "patch"]
    assert patch["ops"] == [[26, 0, 1, 26, 1]]
    assert patch["flash"][0][1] == "added"

    fe.messages.clear()
    app.run_mutation("patch", {"id": ids[3], "fields": {"body": "edited"}})
    wait_until(lambda: fe.shown() == fe.expected() and fe.messages, "the edit")
    (patch,) = [m for m in fe.messages if m["type"] == "patch"]
    assert patch["ops"] == [[3, 1, 1, 3, 1]]
    assert patch["flash"] == [[str(ids[3]), "changed"]]

    app.run_mutation("remove", {"id": ids[0]})
    settle(50)
    wait_until(lambda: fe.shown() == fe.expected(), "the delete")
    app.run_mutation("send", {"channel": "b", "body": "elsewhere", "n": 1})  # another channel
    time.sleep(0.1)
    assert fe.row_count == 50
    w.close()


def test_the_value_trait_follows_the_result_and_can_be_observed(app: nr.App) -> None:
    w = app.live("msgs", {"channel": "a"})
    seen: list[int] = []
    w.observe(lambda change: seen.append(len(change["new"])), names="value")
    app.run_mutation("send", {"channel": "a", "body": "x", "n": 1})
    wait_until(lambda: seen == [1], "the observer")
    assert w.value[0]["body"] == "x"
    w.close()


def test_a_large_change_sends_only_the_rows_near_the_window(app: nr.App) -> None:
    w = app.live("msgs", {"channel": "a"})
    fe = FrontEnd(w)
    fe.ask(0, 30)

    @app.mutation(args={"count": v.int64()})
    def many(ctx, count):
        for n in range(count):
            ctx.db.insert("m", {"channel": "a", "body": f"m{n}", "n": n})

    many(count=3000)
    wait_until(lambda: fe.row_count == 3000, "the big commit")
    (patch,) = fe.patches()
    assert patch["ops"] == [[0, 0, 3000, 0, 30 + PATCH_MARGIN]]
    assert len(patch["flash"]) == 30 + PATCH_MARGIN
    assert fe.shown() == fe.expected()[: 30 + PATCH_MARGIN]
    fe.ask(2900, 3000)  # scrolled down: the rest comes on request
    assert [r[0] for r in fe.shown()[-100:]] == [r[0] for r in fe.expected()[-100:]]
    # Back at the top over rows it holds, the front end only says where it is ("view"):
    # the next commit's rows near there travel with the patch.
    w._on_front_end_msg(w, {"type": "view", "start": 0, "end": 40}, [])
    app.run_mutation("send", {"channel": "a", "body": "first", "n": -1})
    wait_until(lambda: fe.row_count == 3001, "the insert")
    assert fe.patches()[-1]["ops"] == [[0, 0, 1, 0, 1]]
    assert fe.wrong_rows(fe.expected()) == []
    w.close()


def test_sorting_happens_in_the_kernel_and_stays_sorted_after_commits(app: nr.App) -> None:
    for n in range(40):
        app.run_mutation("send", {"channel": "a", "body": f"b{n}", "n": (n * 7) % 40})
    w = app.live("msgs", {"channel": "a"})
    fe = FrontEnd(w)
    w._on_front_end_msg(w, {"type": "sort", "column": "n", "dir": "desc"}, [])
    assert w.sort == ["n", "desc"] and fe.messages[-1]["type"] == "reset"
    fe.ask(0, 3)
    assert [c[3][1] for _, c in fe.shown()] == ["39", "38", "37"]

    # A commit moves rows with single ops in the sorted order, never a re-sort.
    fe.ask(0, 100)
    fe.messages.clear()
    app.run_mutation("send", {"channel": "a", "body": "top", "n": 10**6})
    wait_until(lambda: fe.row_count == 41, "the insert")
    assert fe.patches()[-1]["ops"] == [[0, 0, 1, 0, 1]]
    ids = {d["body"]: d["_id"] for d in w.value}
    fe.messages.clear()
    app.run_mutation("patch", {"id": ids["b0"], "fields": {"n": 25}})  # 0 → 25: moves up
    wait_until(lambda: fe.patches(), "the move")
    # (a tie with the other 25, created later: descending is ascending reversed)
    assert fe.patches()[-1]["ops"] == [[40, 1, 0, 40, 0], [16, 0, 1, 16, 1]]
    assert fe.shown() == fe.expected()
    assert [d["n"] for d in w._rows] == sorted((d["n"] for d in w.value), reverse=True)

    # Ascending, ties by creation time; unsorting restores the query's order.
    w._on_front_end_msg(w, {"type": "sort", "column": "n", "dir": "asc"}, [])
    fe.ask(0, 100)
    assert [r[1][3][1] for r in fe.shown()[:3]] == ["1", "2", "3"]
    app.run_mutation("remove", {"id": ids["b1"]})
    wait_until(lambda: fe.row_count == 40, "the delete")
    assert fe.shown() == fe.expected()
    w._on_front_end_msg(w, {"type": "sort", "column": "no such column", "dir": "asc"}, [])
    assert w.sort == []
    fe.ask(0, 100)
    assert [r[0] for r in fe.shown()] == [str(d["_id"]) for d in w.value]
    fe.ask(0, 10_000)  # bounded by MAX_WINDOW_ROWS, never an error
    w.close()


def test_a_failing_query_shows_its_error_and_recovers(app: nr.App) -> None:
    @app.query(args={"channel": v.string()})
    def strict(ctx, channel):
        docs = ctx.db.query("m").with_index("by_channel_n", lambda q: q.eq("channel", channel)).collect()
        if not docs:
            raise nr.AppError({"empty": channel})
        return docs

    w = app.live(strict, {"channel": "z"})
    assert w.error is not None and w.error["type"] == "AppError" and "empty" in w.error["data"]
    app.run_mutation("send", {"channel": "z", "body": "now", "n": 1})
    wait_until(lambda: w.error is None and w.row_count == 1, "the recovery")
    assert w.kind == "table"
    w.close()


def test_other_values_are_formatted(app: nr.App) -> None:
    @app.query()
    def stats(ctx):
        return {"count": ctx.db.query("m").count(), "ratio": 0.5, "raw": b"\x00\x01"}

    w = app.live(stats, {})
    assert w.kind == "value" and "'count': 0" in w.formatted
    app.run_mutation("send", {"channel": "a", "body": "x", "n": 1})
    wait_until(lambda: "'count': 1" in w.formatted, "the new count")
    assert w.value["count"] == 1
    w.close()


def test_commits_from_threads_while_nothing_else_runs(app: nr.App) -> None:
    w = app.live("msgs", {"channel": "a"})
    fe = FrontEnd(w)

    def writer(k: int) -> None:
        for n in range(20):
            app.run_mutation("send", {"channel": "a", "body": f"t{k}", "n": k * 100 + n})

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    wait_until(lambda: fe.row_count == 60, "all rows")
    fe.ask(0, 60)
    assert fe.shown() == fe.expected()
    w.close()


# -- the splice and the cells ---------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=40), st.lists(st.integers(0, 5), max_size=40))
def test_splice_turns_old_into_new(old: list[int], new: list[int]) -> None:
    at, removed, inserted = splice(old, new)
    assert old[:at] + new[at : at + inserted] + old[at + removed :] == new
    assert old[:at] == new[:at]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=40), st.lists(st.integers(0, 5), max_size=40))
def test_hunks_turn_old_into_new(old: list[int], new: list[int]) -> None:
    current = list(old)
    for at, removed, inserted in hunks(old, new):
        assert removed or inserted
        current[at : at + removed] = new[at : at + inserted]
    assert current == new


def test_hunks_find_the_few_edits_a_commit_makes() -> None:
    old = list(range(8000))
    assert hunks(old, [-1, *old[:-1]]) == [(0, 0, 1), (8000, 1, 0)]  # newest first, take(n)
    assert hunks(old, [*old[:10], *old[11:500], 10, *old[500:]]) == [(10, 1, 0), (499, 0, 1)]
    assert hunks(old, old) == []
    shuffled = old[::-1]
    assert hunks(old, shuffled) == [(0, 8000, 8000)]  # too many edits: one splice


def test_splice_of_large_lists_is_one_small_change() -> None:
    old = list(range(200_000))
    new = [*old[:123456], -1, *old[123456:]]
    assert splice(old, new) == (123_456, 0, 1)
    assert splice(old, old) == (200_000, 0, 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (nr.UNDEFINED, ["_", ""]),
        (None, ["0", "null"]),
        (3, ["n", "3"]),
        (3.0, ["f", "3.0"]),
        (-0.0, ["f", "-0.0"]),
        (float("nan"), ["f", "NaN"]),
        (True, ["b", "true"]),
        ("hi", ["s", "hi"]),
        (b"\x00\xff", ["x", "0x00ff (2 bytes)"]),
        ([1, "a", None], ["a", '[1, "a", null]']),
        ({"k": [1.5]}, ["o", "{k: [1.5]}"]),
        (nr.Id("abc", "t"), ["i", "abc"]),
    ],
)
def test_cells(value: Any, expected: list[str]) -> None:
    assert cell(value) == expected


def test_long_values_are_cut() -> None:
    text = format_value(list(range(1000)), limit=50)
    assert len(text) == 50 and text.endswith("…")
    # a cell cut at MAX_CELL_TEXT carries a longer tooltip
    assert cell("x" * 300) == ["s", "x" * 199 + "…", "x" * 300]
    assert cell("y" * 5000) == ["s", "y" * 199 + "…", "y" * 1999 + "…"]
    tag, short, tooltip = cell(list(range(1000)))
    assert tag == "a" and len(short) == 200 and len(tooltip) == 2000
    assert tooltip.startswith(short[:-1]) and tooltip.endswith("…")
    assert cell("z" * 200) == ["s", "z" * 200]


def test_the_inspector_widget_follows_queries_and_commits(app: nr.App) -> None:
    insp = app.inspector()
    sub = app.subscribe("msgs", {"channel": "a"})
    app.run_mutation("send", {"channel": "a", "body": "x", "n": 1})
    app.run_mutation("send", {"channel": "b", "body": "y", "n": 2})
    def both_shown() -> bool:  # the last commit shown is the one to "b" (not the schema's)
        writes = insp.commits[-1]["writes"] if insp.commits else []
        return bool(writes) and writes[0]["keys"][0]["new"][0] == '"b"' and bool(insp.subscriptions)

    wait_until(both_shown, "the inspector to refresh")
    wait_until(lambda: insp.subscriptions[0]["runs"] == 2, "the re-run to show")
    (live,) = insp.subscriptions
    assert live["function"] == "msgs" and live["reads"] == ["m.by_channel_n: channel == 'a'"]
    to_a, to_b = insp.commits[-2:]
    assert to_a["invalidated"] == [live["id"]] and to_b["invalidated"] == []
    (write,) = to_b["writes"]
    assert write["op"] == "insert" and write["keys"][0]["new"][0] == '"b"'
    sub.unsubscribe()
    wait_until(lambda: insp.subscriptions == [], "the unsubscribe to show")
    insp.close()
    assert not insp._thread.is_alive() or insp._thread.join(2) is None


@pytest.fixture
def plain_live_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    """Live cells as in a plain script (re-runs on the engine thread), whatever event
    loop earlier tests left marked as running on this thread (Playwright's sync API)."""
    from nbreactive.widgets import live_cell

    monkeypatch.setattr(live_cell, "_kernel_loop", lambda: None)


@pytest.mark.usefixtures("plain_live_cells")
def test_a_live_cell_re_runs_for_a_commit_that_lands_while_it_runs(app: nr.App) -> None:
    """A commit from another thread (a scheduled job, a remote client) that writes what
    the block read, landing after the read but before the block ended, re-runs it: the
    output must not stay on the older data."""
    from nbreactive.widgets.live_cell import LiveCell

    counts: list[int] = []

    def block() -> int:
        n = len(app.run_query("msgs", {"channel": "a"}))
        counts.append(n)
        if len(counts) == 1:  # the first run: someone else commits meanwhile
            writer = threading.Thread(
                target=app.run_mutation, args=("send", {"channel": "a", "body": "x", "n": 1})
            )
            writer.start()
            writer.join()
        return n

    cell = LiveCell(block)
    try:
        wait_until(lambda: counts[-1:] == [1], "the block to re-run and read the new message")
        # An unrelated commit meanwhile re-runs nothing.
        runs = cell.runs
        app.run_mutation("send", {"channel": "b", "body": "y", "n": 2})
        app.run_mutation("send", {"channel": "a", "body": "z", "n": 3})
        wait_until(lambda: counts[-1:] == [2], "the re-run for channel a")
        assert cell.runs == runs + 1
    finally:
        cell.stop()


@pytest.mark.usefixtures("plain_live_cells")
def test_a_live_cell_counting_a_table_follows_its_inserts_and_deletes(app: nr.App) -> None:
    """``app.count(table)`` in a live cell is a read like a query's: the cell re-runs when
    documents come and go (here from another thread), not only when it runs queries."""
    from nbreactive.widgets.live_cell import LiveCell

    counts: list[int] = []
    cell = LiveCell(lambda: counts.append(app.count("m")))
    try:
        assert counts == [0]
        writer = threading.Thread(
            target=app.run_mutation, args=("send", {"channel": "a", "body": "x", "n": 1})
        )
        writer.start()
        writer.join()
        wait_until(lambda: counts[-1:] == [1], "the cell to count the new message")
        (doc,) = app.run_query("msgs", {"channel": "a"})
        app.run_mutation("remove", {"id": doc["_id"]})
        wait_until(lambda: counts[-1:] == [0], "the cell to count the deletion")
    finally:
        cell.stop()



@pytest.mark.usefixtures("plain_live_cells")
def test_a_live_cell_is_not_re_run_by_busy_unrelated_tables(app: nr.App) -> None:
    """Commits to other tables while the block runs — more than the commit log holds,
    and one too large to list — do not re-run it: under steady unrelated load that
    would re-run a slow cell forever."""
    from nbreactive.widgets.live_cell import LiveCell

    app.set_schema(nr.define_schema({
        "m": nr.define_table({"channel": v.string(), "body": v.string(), "n": v.int64()}).index(
            "by_channel_n", ["channel", "n"]),
        "other": nr.define_table({"n": v.int64()}),
    }))

    @app.mutation(args={"count": v.int64()})
    def fill(ctx, count):
        for n in range(count):
            ctx.db.insert("other", {"n": n})

    def busy() -> None:
        fill(count=120)  # more writes than a commit's log entry lists
        for _ in range(app._reactor.log.maxlen or 0):  # and more commits than the log holds
            fill(count=1)

    counts: list[int] = []

    def block() -> None:
        counts.append(len(app.run_query("msgs", {"channel": "a"})))
        if len(counts) == 1:
            writer = threading.Thread(target=busy)
            writer.start()
            writer.join()

    cell = LiveCell(block)
    try:
        for _ in range(2):  # the engine has handled all it was told by then
            settled = threading.Event()
            app._reactor.call_soon(settled.set)
            assert settled.wait(10)
        assert cell.runs == 1
        app.run_mutation("send", {"channel": "a", "body": "x", "n": 1})
        wait_until(lambda: counts[-1:] == [1], "the re-run for channel a")
    finally:
        cell.stop()


def test_a_field_only_in_later_documents_gets_its_column() -> None:
    # Without a schema the columns were the fields of the first 1,000 documents: a
    # field only newer documents have (they come last) had no column, in app.live as
    # in app.browser, so their values were nowhere in the table.
    from row_frontend import RowFrontEnd

    app = nr.App()
    try:
        @app.mutation()
        def fill(ctx):
            for i in range(1500):
                ctx.db.insert("t", {"a": i})
            ctx.db.insert("t", {"a": -1, "email": "x@example.com"})

        @app.mutation(args={"phone": v.string()})
        def add(ctx, phone):
            ctx.db.insert("t", {"a": 0, "phone": phone})

        @app.query()
        def everything(ctx):
            return ctx.db.query("t").collect()

        app.run_mutation(fill, {})
        w = app.live(everything, {})
        b = app.browser("t")
        assert w.columns == ["_id", "a", "email", "_creationTime"]
        assert b.columns == ["_id", "a", "email", "_creationTime"]
        fe = RowFrontEnd(w)
        fe.ask(1495, 1502)
        assert fe.rows[1500][1][2] == ["s", "x@example.com"]
        app.run_mutation(add, {"phone": "555"})
        wait_until(lambda: w.row_count == 1502 and b.row_count == 1502, "the insert")
        assert w.columns == ["_id", "a", "email", "phone", "_creationTime"]
        wait_until(lambda: b.columns == ["_id", "a", "email", "phone", "_creationTime"], "the column")
        w.close()
        b.close()
    finally:
        app.close()
