"""``app.browser()``: the data browser's state and messages, at the Python level (no kernel).

The front end is modelled by ``FrontEnd``: it captures what the widget sends, keeps a
row cache fed by ``rows``/``patch``/``reset`` exactly as ``js/lib/table.js`` does, and
sends requests through the widget's message handler. Requests other than ``window``
and ``sort`` run on the browser's own thread, so tests wait for their effects (with
bounded waits).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from waiting import wait_until

pytest.importorskip("anywidget")

from row_frontend import RowFrontEnd

import nbreactive as nr
from nbreactive import v
from nbreactive.errors import QueryError
from nbreactive.widgets.browser import BrowserWidget
from nbreactive.widgets.cells import row_cells

WAIT = 10.0




class FrontEnd(RowFrontEnd):
    """The browser's side: messages received, the row cache, and requests."""

    def __init__(self, widget: BrowserWidget) -> None:
        super().__init__(widget)
        self.request = 0

    def send(self, **content: Any) -> None:
        self.widget._on_front_end_msg(self.widget, content, [])

    def ask(self, start: int = 0, end: int = 1000) -> None:
        self.send(type="window", start=start, end=end)

    def expected(self) -> list[tuple[str, list[list[str]]]]:
        cols = list(self.widget.columns)
        return [(str(d["_id"]), row_cells(d, cols)) for d in self.widget.documents]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if m["type"] == kind]

    def call(self, kind: str, **content: Any) -> dict[str, Any]:
        """Send a write (insert / save / delete) and wait for its result message."""
        self.request += 1
        request = self.request
        self.send(type=kind, request=request, **content)
        wait_until(lambda: any(m.get("request") == request for m in self.of_type("result")),
                   f"the result of {kind}")
        return next(m for m in self.of_type("result") if m.get("request") == request)

    def synced(self) -> bool:
        """The cache holds exactly the rows of the current view (after asking for them)."""
        self.ask(0, 10_000)
        return self.row_count == self.widget.row_count and self.shown() == self.expected()


def range_error(w: BrowserWidget) -> dict[str, Any]:
    error = w.range_error
    assert error is not None
    return dict(error)


SCHEMA = nr.define_schema(
    {
        "m": nr.define_table({"channel": v.string(), "body": v.string(), "n": v.int64()})
        .index("by_channel_n", ["channel", "n"]),
        "users": nr.define_table({"name": v.string(), "age": v.optional(v.float64())}),
    }
)


@pytest.fixture
def app() -> Iterator[nr.App]:
    a = nr.App()
    a.set_schema(SCHEMA)

    @a.mutation(args={"channel": v.string(), "body": v.string(), "n": v.int64()})
    def send(ctx, channel, body, n):
        return ctx.db.insert("m", {"channel": channel, "body": body, "n": n})

    @a.query(args={"channel": v.string()})
    def msgs(ctx, channel):
        return ctx.db.query("m").with_index("by_channel_n", lambda q: q.eq("channel", channel)).collect()

    yield a
    a.close()


def fill(app: nr.App, count: int = 10) -> list[str]:
    return [
        app.run_mutation("send", {"channel": "ab"[n % 2], "body": f"b{n}", "n": n})
        for n in range(count)
    ]


@pytest.fixture
def browser(app: nr.App) -> Iterator[BrowserWidget]:
    fill(app)
    w = BrowserWidget(app)
    yield w
    w.close()


def test_tables_with_counts_follow_commits(app: nr.App) -> None:
    w = BrowserWidget(app)
    # Tables of the schema exist (empty); the first one is shown.
    assert w.tables == [{"name": "m", "count": 0}, {"name": "users", "count": 0}]
    assert w.table == "m" and w.row_count == 0
    fill(app, 3)
    wait_until(lambda: w.tables[0] == {"name": "m", "count": 3}, "the new count")
    app.run_mutation(app.mutation(lambda ctx: ctx.db.insert("users", {"name": "x"}), name="add_user"))
    wait_until(lambda: w.tables[1] == {"name": "users", "count": 1}, "the users count")
    # Only the selected table's rows are live: the users insert sent no patch for "m".
    wait_until(lambda: w.row_count == 3, "the rows of m")
    w.close()
    fill(app, 2)  # closed: nothing follows any more
    time.sleep(0.1)
    assert w.tables[0]["count"] == 3


def test_a_schemaless_app_shows_tables_as_they_appear() -> None:
    with nr.App() as a:
        w = BrowserWidget(a)
        assert w.tables == [] and w.table == ""
        assert "no table" in w.schema_text

        @a.mutation()
        def add(ctx):
            ctx.db.insert("notes", {"text": "hi", "n": 1})

        add()
        wait_until(lambda: w.table == "notes" and w.row_count == 1, "the first table")
        assert w.columns == ["_id", "text", "n", "_creationTime"]  # the fields present
        assert "no schema is set" in w.schema_text
        assert w.template == "{}"
        w.close()


def test_selecting_a_table_shows_its_rows_schema_and_indexes(browser: BrowserWidget) -> None:
    w = browser
    fe = FrontEnd(w)
    assert w.table == "m" and w.row_count == 10 and w.matched == 10
    assert w.columns == ["_id", "channel", "body", "n", "_creationTime"]
    assert [i["name"] for i in w.indexes] == ["by_creation_time", "by_channel_n"]
    assert w.indexes[1]["fields"] == ["channel", "n", "_creationTime"]
    assert w.schema_text.startswith('"m": nr.define_table({')
    assert '.index("by_channel_n", ["channel", "n"])' in w.schema_text
    assert orjson.loads(w.template) == {"channel": "", "body": "", "n": 0}
    assert fe.synced()

    fe.send(type="select", table="users")
    wait_until(lambda: w.table == "users", "the users table")
    assert fe.of_type("reset")[-1]["row_count"] == 0
    assert w.columns == ["_id", "name", "age", "_creationTime"]
    assert "v.optional(v.float64())" in w.schema_text
    assert orjson.loads(w.template) == {"name": ""}  # optional fields are left out
    assert [i["name"] for i in w.indexes] == ["by_creation_time"]


def test_index_ranges_filter_and_invalid_ones_show_convex_errors(browser: BrowserWidget) -> None:
    w = browser
    fe = FrontEnd(w)
    fe.send(type="query", index="by_channel_n",
            range=[["eq", "channel", '"a"'], ["gte", "n", "3"], ["lt", "n", "9"]], order="desc")
    wait_until(lambda: w.index == "by_channel_n" and w.row_count == 3, "the range")
    assert [d["n"] for d in w.documents] == [8, 6, 4]  # channel "a" holds the even n
    assert w.index_range == [["eq", "channel", '"a"'], ["gte", "n", "3"], ["lt", "n", "9"]]
    assert w.order == "desc" and w.range_error is None
    assert fe.synced()

    # Fields out of order: Convex's message, and the view shown stays.
    fe.send(type="query", index="by_channel_n", range=[["eq", "n", "3"]], order="asc")
    wait_until(lambda: w.range_error is not None, "the range error")
    error = range_error(w)
    assert error["type"] == "QueryError"
    assert "didn't use the index fields in order" in error["message"]
    assert w.row_count == 3 and w.index_range[0] == ["eq", "channel", '"a"']

    # Bounds on two fields, an unknown index, text that is not JSON.
    fe.send(type="query", index="by_channel_n", range=[["gt", "channel", '"a"'], ["lt", "n", "1"]])
    wait_until(lambda: "only be applied to a single index field" in w.range_error["message"], "2 bounds")
    fe.send(type="query", index="nope", range=[])
    wait_until(lambda: w.range_error["message"] == "Index m.nope not found.", "unknown index")
    fe.send(type="query", index="by_channel_n", range=[["eq", "channel", "a"]])
    wait_until(lambda: "not valid JSON" in w.range_error["message"], "bad JSON")

    # A valid range clears the error; the creation time can be bounded too.
    cutoff = next(d for d in w.documents if d["n"] == 6)["_creationTime"]
    fe.send(type="query", index="by_creation_time", range=[["gt", "_creationTime", repr(cutoff)]])
    wait_until(lambda: w.range_error is None and w.index == "by_creation_time", "the time range")
    assert [d["n"] for d in w.documents] == [7, 8, 9]  # created after the one with n=6
    # The Python form raises the same errors.
    with pytest.raises(QueryError, match="in order"):
        w.select("m", "by_channel_n", [("eq", "n", 1)])
    w.select("m", "by_channel_n", [("eq", "channel", "b")])
    assert [d["n"] for d in w.documents] == [1, 3, 5, 7, 9]



@pytest.mark.parametrize("bad", [5, True, 1.5])
def test_a_query_message_whose_range_is_not_a_list_shows_an_error(browser: BrowserWidget, bad: Any) -> None:
    # The TypeError ended in a future nobody looked at: no error shown, nothing logged.
    w = browser
    fe = FrontEnd(w)
    fe.send(type="query", index="by_channel_n", range=bad)
    wait_until(lambda: w.range_error is not None, "the range error")
    error = range_error(w)
    assert error["type"] == "InvalidInput"
    assert "a list of [op, field, json]" in error["message"]
    assert w.index == "by_creation_time" and w.row_count == 10  # the view shown stays

def test_rows_stay_live_after_commits_from_another_thread(app: nr.App, browser: BrowserWidget) -> None:
    w = browser
    w.select("m", "by_channel_n", [("eq", "channel", "b"), ("gte", "n", 4)])
    fe = FrontEnd(w)
    assert fe.synced() and w.row_count == 3  # n = 5, 7, 9

    def writer() -> None:
        for n in (6, 100, 1):  # 6 and 100 are in the range, 1 is not
            app.run_mutation("send", {"channel": "b", "body": "t", "n": n})
        app.run_mutation("send", {"channel": "a", "body": "t", "n": 50})  # another channel

    t = threading.Thread(target=writer)
    t.start()
    t.join()
    wait_until(lambda: w.row_count == 5, "the two inserts in range")
    wait_until(fe.synced, "the patched cache")
    assert [d["n"] for d in w.documents] == [5, 6, 7, 9, 100]
    assert fe.of_type("patch"), "commits arrive as patches, not resets"
    # The counts follow too (10 + 4 documents).
    wait_until(lambda: w.tables[0]["count"] == 14, "the count")
    assert w.matched == 5


def test_row_cap_and_the_count_in_range(app: nr.App) -> None:
    fill(app, 25)
    w = BrowserWidget(app, max_rows=10)
    assert w.row_count == 10 and w.matched == 25 and w.max_rows == 10
    app.run_mutation("send", {"channel": "a", "body": "late", "n": 99})
    wait_until(lambda: w.matched == 26, "the count beyond the cap")
    assert w.row_count == 10
    w.close()


def test_sorting_happens_in_the_kernel(browser: BrowserWidget) -> None:
    w = browser
    fe = FrontEnd(w)
    fe.send(type="sort", column="n", dir="desc")
    assert w.sort == ["n", "desc"] and fe.messages[-1]["type"] == "reset"
    fe.ask(0, 3)
    assert [c[3][1] for _, c in fe.shown()[:3]] == ["9", "8", "7"]
    fe.send(type="sort", column="no such column", dir="asc")
    assert w.sort == []



@pytest.mark.parametrize(("start", "end"), [(None, 5), ("x", 5), (0, None), (0, [5]), (float("nan"), 5)])
def test_a_window_request_with_bad_numbers_is_still_answered(browser: BrowserWidget, start: Any, end: Any) -> None:
    # int(None) raised inside the handler: the request was never answered, and the
    # front end, which has one window request in flight at a time, waited for good.
    fe = FrontEnd(browser)
    fe.send(type="window", start=start, end=end, request=7)
    answer = fe.messages[-1]
    assert answer["type"] == "rows" and answer["request"] == 7
    assert answer["row_count"] == 10 and answer["start"] == 0
    fe.send(type="view", start=start, end=end)  # no answer expected, and no failure
    fe.ask(0, 3)
    assert len(fe.shown()) >= 3

def test_insert_edit_delete_with_inline_errors(app: nr.App, browser: BrowserWidget) -> None:
    w = browser
    fe = FrontEnd(w)
    live = app.subscribe("msgs", {"channel": "z"})  # a user's live query sees the writes

    bad = fe.call("insert", json='{"channel": "z", "body": "x", "n": "seven"}')
    assert bad["ok"] is False and bad["op"] == "insert"
    assert bad["error"]["type"] == "ValidationError" and bad["error"]["path"] == ".n"
    assert "expected v.int64()" in bad["error"]["message"]
    extra = fe.call("insert", json='{"channel": "z", "body": "x", "n": 1, "extra": true}')
    assert extra["ok"] is False and "extra" in extra["error"]["message"]
    broken = fe.call("insert", json='{"channel": ')
    assert broken["ok"] is False and "not valid JSON" in broken["error"]["message"]

    ok = fe.call("insert", json='{"channel": "z", "body": "new", "n": 42}')
    assert ok["ok"] is True and isinstance(ok["index"], int)
    new_id = ok["id"]
    assert w.documents[ok["index"]]["_id"] == new_id  # the front end scrolls there
    wait_until(lambda: [d["body"] for d in live.value] == ["new"], "the user's live query")
    wait_until(fe.synced, "the inserted row")

    fe.send(type="open", id=new_id)
    wait_until(lambda: bool(fe.of_type("doc")), "the document")
    doc = fe.of_type("doc")[-1]
    assert doc["exists"] and not doc["changed"]
    assert orjson.loads(doc["json"]) == {"channel": "z", "body": "new", "n": 42}

    bad = fe.call("save", id=new_id, json='{"channel": "z", "body": 5, "n": 42}')
    assert bad["ok"] is False and bad["error"]["path"] == ".body"
    saved = fe.call("save", id=new_id, json='{"channel": "z", "body": "edited", "n": 42}')
    assert saved["ok"] is True and saved["op"] == "replace"
    wait_until(lambda: live.value[0]["body"] == "edited", "the edit in the live query")
    # The open document follows the database.
    wait_until(lambda: fe.of_type("doc")[-1]["changed"], "the changed document")
    assert orjson.loads(fe.of_type("doc")[-1]["json"])["body"] == "edited"

    gone = fe.call("delete", id=new_id)
    assert gone["ok"] is True
    wait_until(lambda: live.value == [], "the delete in the live query")
    wait_until(lambda: not fe.of_type("doc")[-1]["exists"], "the deleted document")
    again = fe.call("delete", id=new_id)
    assert again["ok"] is False and again["error"]["type"] == "DocumentNotFoundError"
    missing = fe.call("save", id=new_id, json="{}")
    assert missing["error"]["type"] == "DocumentNotFoundError"
    not_an_id = fe.call("delete", id="nope")
    assert not_an_id["error"]["type"] == "ValidationError"
    wait_until(fe.synced, "the rows after the delete")
    assert w.row_count == 10
    live.unsubscribe()


def test_the_open_document_is_watched_even_outside_the_range(app: nr.App, browser: BrowserWidget) -> None:
    w = browser
    fe = FrontEnd(w)
    outside = w.documents[1]  # channel "b"
    w.select("m", "by_channel_n", [("eq", "channel", "a")])
    fe.send(type="open", id=str(outside["_id"]))
    wait_until(lambda: bool(fe.of_type("doc")), "the document")
    patch = app.mutation(lambda ctx, id: ctx.db.patch(id, {"body": "changed elsewhere"}),
                         args={"id": v.id("m")}, name="patch_body")
    patch(id=outside["_id"])
    wait_until(lambda: fe.of_type("doc")[-1]["changed"], "the change of the open document")
    assert orjson.loads(fe.of_type("doc")[-1]["json"])["body"] == "changed elsewhere"
    assert not fe.of_type("patch")  # the rows shown did not change
    fe.send(type="close_doc")
    wait_until(lambda: w._open_id is None, "the closed editor")
    count = len(fe.of_type("doc"))
    patch(id=outside["_id"])
    time.sleep(0.2)
    assert len(fe.of_type("doc")) == count


def test_writes_run_as_mutations_and_the_python_api(app: nr.App, browser: BrowserWidget) -> None:
    w = browser
    w.select("users")
    uid = w.insert({"name": "Ada", "age": 36})  # an int for a v.float64() field
    wait_until(lambda: w.row_count == 1, "the new user")
    assert w.documents[0]["age"] == 36.0 and type(w.documents[0]["age"]) is float
    w.replace(uid, {"name": "Ada L."})
    wait_until(lambda: w.documents[0]["name"] == "Ada L.", "the replaced user")
    assert "age" not in w.documents[0]  # replace, not patch
    with pytest.raises(nr.ValidationError):
        w.insert({"nom": "x"})
    w.delete(uid)
    wait_until(lambda: w.row_count == 0, "the deleted user")
    # The app's commit log holds these as ordinary mutations.
    ops = [wr["op"] for c in app.inspect().commits for wr in c["write_set"] if wr["table"] == "users"]
    assert ops[-3:] == ["insert", "update", "delete"]


def test_schema_changes_refresh_columns_schema_text_and_indexes(app: nr.App, browser: BrowserWidget) -> None:
    w = browser
    w.select("m", "by_channel_n", [("eq", "channel", "a")])
    fe = FrontEnd(w)
    new_schema = nr.define_schema(
        {
            "m": nr.define_table(
                {"channel": v.string(), "body": v.string(), "n": v.int64(), "tag": v.optional(v.string())}
            ).index("by_n", ["n"]),
            "users": SCHEMA.tables["users"],
        }
    )
    app.set_schema(new_schema)
    # The index shown is gone: the browser falls back to the whole table and says why.
    wait_until(lambda: w.index == "by_creation_time" and w.row_count == 10, "the fallback view")
    assert w.range_error is not None and "by_channel_n" in w.range_error["message"]
    wait_until(lambda: "tag" in w.schema_text, "the new schema text")
    assert [i["name"] for i in w.indexes] == ["by_creation_time", "by_n"]
    assert w.columns == ["_id", "channel", "body", "n", "tag", "_creationTime"]
    assert fe.synced()


def test_closing_the_app_stops_the_browser(app: nr.App) -> None:
    fill(app, 2)
    w = BrowserWidget(app)
    thread = w._thread
    app.close()
    thread.join(timeout=WAIT)
    assert not thread.is_alive()
    assert w.stop not in app._db.close_hooks


def test_the_editor_keeps_numbers_and_bytes_as_typed_or_refuses_them() -> None:
    # JSON text typed in the editor (and the range inputs) was read by orjson, which
    # turns an integer beyond 2**64 into a float: {"n": 18446744073709551616} was stored
    # as 1.8446744073709552e19, while 2**63 was refused as too large for an int64. And
    # {"$bytes": "!!"} (not base64) was stored as empty bytes.
    app = nr.App()
    try:
        @app.mutation()
        def first(ctx):
            return ctx.db.insert("t", {"n": 1})

        app.run_mutation(first, {})
        w = BrowserWidget(app, table="t")
        fe = FrontEnd(w)
        huge = fe.call("insert", json='{"n": 18446744073709551616}')
        assert huge["ok"] is False and "does not fit in int64" in huge["error"]["message"]
        just = fe.call("insert", json='{"n": 9223372036854775807, "s": "12345678901234567890123"}')
        assert just["ok"] is True
        bad_bytes = fe.call("insert", json='{"b": {"$bytes": "!!"}}')
        assert bad_bytes["ok"] is False and bad_bytes["error"]["type"] == "InvalidInput"
        good_bytes = fe.call("insert", json='{"b": {"$bytes": "AAE="}}')
        assert good_bytes["ok"] is True
        stored = {str(d["_id"]): d for d in w.documents}
        assert stored[just["id"]]["n"] == 2**63 - 1 and stored[just["id"]]["s"] == "12345678901234567890123"
        assert stored[good_bytes["id"]]["b"] == b"\x00\x01"
        assert len(w.documents) == 3
        # a range value too
        fe.send(type="query", index="by_creation_time", range=[["gte", "_creationTime", "1" + "0" * 25]])
        wait_until(lambda: w.range_error is not None, "the range error")
        assert "does not fit in int64" in range_error(w)["message"]
        w.close()
    finally:
        app.close()
