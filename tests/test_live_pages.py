"""``app.live`` over a paginated query (``nbreactive/widgets/pages.py``), and the row
protocol's incremental view (``nbreactive/widgets/rows.py``) under random changes."""

from __future__ import annotations

import logging
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
from nbreactive.widgets.cells import row_cells
from nbreactive.widgets.live import LiveWidget
from nbreactive.widgets.rows import RowsProtocol


class FrontEnd(RowFrontEnd):
    widget: LiveWidget


@pytest.fixture
def app() -> Iterator[nr.App]:
    a = nr.App()
    a.set_schema(nr.define_schema({
        "items": nr.define_table({"kind": v.string(), "n": v.int64()}).index("by_kind_n", ["kind", "n"]),
    }))

    @a.query(args={"kind": v.string(), "paginationOpts": v.any()})
    def items(ctx, kind, paginationOpts):
        return (ctx.db.query("items").with_index("by_kind_n", lambda q: q.eq("kind", kind))
                .paginate(paginationOpts))

    @a.mutation(args={"kind": v.string(), "n": v.int64()})
    def add(ctx, kind, n):
        return ctx.db.insert("items", {"kind": kind, "n": n})

    @a.mutation(args={"kind": v.string(), "count": v.int64()})
    def fill(ctx, kind, count):
        for n in range(count):
            ctx.db.insert("items", {"kind": kind, "n": n * 10})

    @a.mutation(args={"id": v.id("items"), "n": v.int64()})
    def move(ctx, id, n):
        ctx.db.patch(id, {"n": n})

    @a.mutation(args={"id": v.id("items")})
    def remove(ctx, id):
        ctx.db.delete(id)

    yield a
    a.close()


def test_pages_load_in_the_background_and_commits_touch_one_page(app: nr.App) -> None:
    for _ in range(3):
        app.run_mutation("fill", {"kind": "a", "count": 3000})  # n repeats: 9,000 rows
    app.run_mutation("fill", {"kind": "b", "count": 10})
    w = app.live("items", {"kind": "a"}, page_size=1000)
    assert w.kind == "table" and w.row_count >= 1000  # the first page, at once
    assert w.args_text == '{kind: "a"}' and w.function == "items"
    wait_until(lambda: not w.loading, "all pages")
    assert w.row_count == 9000 and not w.capped
    assert len(w.pages) == 10  # the ninth page was full: a tenth, empty, says isDone
    assert [d["n"] for d in w.value] == sorted(d["n"] for d in w.value)
    fe = FrontEnd(w)
    fe.ask(4300, 4400)

    # An insert in the middle re-runs only the page holding it; one row travels.
    reruns = {id(s._entry): s._entry.version for s in w.pages}
    app.run_mutation("add", {"kind": "a", "n": 14_505})  # after the three 14,500s: row 4353
    wait_until(lambda: fe.row_count == 9001, "the insert")
    moved = [s for s in w.pages if s._entry.version != reruns[id(s._entry)]]
    assert len(moved) == 1
    (patch,) = fe.patches()
    assert patch["ops"] == [[4353, 0, 1, 4353, 1]] and patch["flash"][0][1] == "added"
    assert fe.wrong_rows(fe.expected()) == [] and len(fe.rows) == 101
    assert [d["n"] for d in w.value] == sorted(d["n"] for d in w.value)

    # Another kind's commit reaches no page; a delete and an edit do.
    app.run_mutation("add", {"kind": "b", "n": 1})
    time.sleep(0.1)
    assert len(fe.patches()) == 1
    first = w.value[0]
    app.run_mutation("remove", {"id": first["_id"]})
    wait_until(lambda: fe.row_count == 9000, "the delete")
    app.run_mutation("move", {"id": w.value[4100]["_id"], "n": 14_506})
    wait_until(lambda: len(fe.patches()) == 3, "the edit")
    fe.ask(4000, 4200)
    assert fe.wrong_rows(fe.expected()) == [] and len(fe.rows) >= 200
    assert [d["n"] for d in w.value] == sorted(d["n"] for d in w.value)
    assert len(w.value) == 9000 and first["_id"] not in {d["_id"] for d in w.value}
    w.close()
    assert all(not s.active for s in w.pages)


def test_sorting_a_paginated_table_and_appending_pages(app: nr.App) -> None:
    app.run_mutation("fill", {"kind": "a", "count": 2500})
    w = app.live("items", {"kind": "a"}, page_size=500)
    w._on_front_end_msg(w, {"type": "sort", "column": "n", "dir": "desc"}, [])  # maybe mid-load
    wait_until(lambda: not w.loading, "all pages")
    fe = FrontEnd(w)
    fe.ask(0, 50)
    assert [r[1][2][1] for r in fe.shown()[:3]] == ["24990", "24980", "24970"]
    app.run_mutation("add", {"kind": "a", "n": 10**9})  # the last page grows; first row shown
    wait_until(lambda: fe.row_count == 2501, "the insert")
    assert fe.patches()[-1]["ops"] == [[0, 0, 1, 0, 1]]
    assert fe.wrong_rows(fe.expected()) == []
    w.close()


def test_max_rows_caps_loading_and_says_so(app: nr.App) -> None:
    app.run_mutation("fill", {"kind": "a", "count": 1000})
    w = app.live("items", {"kind": "a"}, page_size=100, max_rows=250)
    wait_until(lambda: not w.loading, "loading to stop")
    assert w.capped and w.row_count == 300  # whole pages: three of them
    w.close()
    with pytest.raises(ValueError, match="page_size must be an int from 1 to 8192"):
        app.live("items", {"kind": "a"}, page_size=0)
    with pytest.raises(ValueError, match="max_rows must be a positive int"):
        app.live("items", {"kind": "a"}, max_rows=-1)


def test_a_failing_page_shows_its_error_and_loading_goes_on_after_recovery(app: nr.App) -> None:
    app.run_mutation("fill", {"kind": "a", "count": 30})
    @app.query(args={"paginationOpts": v.any()})
    def fragile(ctx, paginationOpts):
        page = ctx.db.query("items").paginate(paginationOpts)
        if paginationOpts["cursor"] is not None and ctx.db.query("items").with_index(
            "by_kind_n", lambda q: q.eq("kind", "stop")
        ).first() is not None:
            raise nr.AppError({"stopped": True})
        return page

    stop = app.run_mutation("add", {"kind": "stop", "n": 0})
    w = app.live(fragile, {}, page_size=10)
    wait_until(lambda: w.error is not None, "the second page to fail")
    assert w.error["type"] == "AppError" and "stopped" in w.error["data"]
    assert w.loading  # waiting for the failing page
    app.run_mutation("remove", {"id": stop})
    wait_until(lambda: not w.loading and w.error is None, "the recovery")
    assert w.row_count == 30
    w.close()


def test_what_is_not_a_table_of_pages(app: nr.App) -> None:
    @app.query(args={"paginationOpts": v.any()})
    def counts(ctx, paginationOpts):
        return {"n": ctx.db.query("items").count()}

    w = app.live(counts, {})
    assert w.kind == "value" and "'n': 0" in w.formatted
    wait_until(lambda: not w.loading, "the loader to stop")
    app.run_mutation("add", {"kind": "a", "n": 1})
    wait_until(lambda: "'n': 1" in w.formatted, "the new count")
    w.close()
    # paginationOpts given: one page, as the query returns it
    app.run_mutation("fill", {"kind": "a", "count": 3})
    one = app.live("items", {"kind": "a", "paginationOpts": {"numItems": 2, "cursor": None}})
    assert one.kind == "value" and "'isDone': False" in one.formatted and one.pages == []
    one.close()


def test_closing_while_pages_load_stops_the_loader(app: nr.App) -> None:
    app.run_mutation("fill", {"kind": "a", "count": 5000})
    w = app.live("items", {"kind": "a"}, page_size=50)
    w.close()
    assert not [t for t in threading.enumerate() if t.name == "nbreactive-live-pages" and t.is_alive()]
    assert all(not s.active for s in w.pages)


# -- the incremental view, against a re-sort from scratch -------------------------------


class _Rows(RowsProtocol):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.columns = ["_id", "x", "_creationTime"]
        self.sort: list[Any] = []
        self.version = 0
        self.row_count = 0
        self._init_rows()

    def _on_front_end_msg(self, _w: Any, content: dict[str, Any], _b: Any) -> None:
        self._send_window(content["start"], content["end"])


_edit = st.tuples(st.sampled_from(["insert", "delete", "change", "window", "sort"]),
                  st.integers(0, 10**6), st.integers(-3, 3))


@settings(max_examples=150, deadline=None)
@given(st.lists(_edit, max_size=40), st.sampled_from([[], ["x", "asc"], ["x", "desc"]]))
def test_the_view_follows_any_changes(edits: list[tuple[str, int, int]], sort: list[Any]) -> None:
    rows = _Rows()
    fe = RowFrontEnd(rows)
    rows.sort = sort
    ctime = [0.0]

    def doc(x: int) -> dict[str, Any]:
        ctime[0] += 1
        return {"_id": f"id{int(ctime[0])}", "x": x, "_creationTime": ctime[0]}

    docs = [doc(k % 4) for k in range(30)]
    rows._install(docs, reset=True)
    fe.ask(5, 15)
    for op, r, x in edits:
        docs = list(docs)
        if op == "insert":
            docs.insert(r % (len(docs) + 1), doc(x))
        elif op == "delete" and docs:
            del docs[r % len(docs)]
        elif op == "change" and docs:
            i = r % len(docs)
            docs[i] = {**docs[i], "x": x}
        elif op == "window":
            fe.ask(r % 40, r % 40 + 12)
        elif op == "sort":
            rows._resort("x", ["asc", "desc", None][r % 3])
            fe.ask(0, 12)
        rows._install(docs)
        assert rows._result == docs
        if rows.sort:
            keyed = sorted(docs, key=lambda d: (d["x"], d["_creationTime"]), reverse=rows.sort[1] == "desc")
            assert rows._rows == keyed
        else:
            assert rows._rows is rows._result
        # every row the front end holds is the row at that index
        want = [(str(d["_id"]), row_cells(d, rows.columns)) for d in rows._rows]
        assert fe.row_count == len(want)
        for i, row in fe.rows.items():
            assert i < len(want) and row == want[i], f"row {i}"


def test_paged_rows_read_like_a_list_of_copies() -> None:
    from nbreactive.widgets.pages import PagedRows

    pages = [[{"_id": "a", "n": 0}, {"_id": "b", "n": 1}], [], [{"_id": "c", "n": [2]}]]
    rows = PagedRows(pages)
    flat = [d for p in pages for d in p]
    assert len(rows) == 3 and list(rows) == flat and rows == flat and rows == PagedRows(pages)
    assert rows[0] == flat[0] and rows[-1] == flat[-1] and rows[1:] == flat[1:] and rows[::-1] == flat[::-1]
    with pytest.raises(IndexError):
        rows[3]
    rows[2]["n"].append(3)  # a copy: the page is untouched
    assert pages[2][0]["n"] == [2]
    assert rows != PagedRows(pages[:1]) and "3 documents in 3 pages" in repr(rows)
    assert len(PagedRows([])) == 0 and list(PagedRows([])) == []


# -- found in review: each once broke; each test fails without its fix ------------------


def test_a_sorted_view_follows_edits_that_move_documents_across_pages(app: nr.App) -> None:
    @app.mutation(args={"id": v.id("items"), "n": v.int64()})
    def renumber(ctx, id, n):
        ctx.db.patch(id, {"n": n})

    ids = [app.run_mutation("add", {"kind": "a", "n": n * 10}) for n in range(10)]
    w = app.live("items", {"kind": "a"}, page_size=5)
    wait_until(lambda: not w.loading, "all pages")
    # sorted by a column the edits do not change: every key ties with the moved document's
    w._on_front_end_msg(w, {"type": "sort", "column": "kind", "dir": "asc"}, [])
    for trial in range(6):
        n = -trial - 1 if trial % 2 == 0 else 1000 + trial  # page 2 -> page 1 and back
        app.run_mutation(renumber, {"id": ids[9], "n": n})
        wait_until(lambda n=n: {d["_id"]: d["n"] for d in w._rows}.get(ids[9]) == n
                   and {d["_id"]: d["n"] for d in w._rows} == {d["_id"]: d["n"] for d in w.value},
                   f"edit {trial} in the sorted rows")
    w.close()


def test_a_sorted_plain_result_listing_a_document_twice(app: nr.App) -> None:
    @app.query(args={"kind": v.string()})
    def twice(ctx, kind):
        docs = ctx.db.query("items").with_index("by_kind_n", lambda q: q.eq("kind", kind)).collect()
        return docs[:1] + docs

    first = app.run_mutation("add", {"kind": "a", "n": 1})
    app.run_mutation("add", {"kind": "a", "n": 2})
    w = app.live(twice, {"kind": "a"})
    w._on_front_end_msg(w, {"type": "sort", "column": "n", "dir": "asc"}, [])
    app.run_mutation("move", {"id": first, "n": 0})
    wait_until(lambda: [d["n"] for d in w._rows] == [0, 0, 2], "both copies edited")
    w.close()


def test_callbacks_users_add_get_copies_not_the_engines_result(app: nr.App) -> None:
    app.run_mutation("fill", {"kind": "a", "count": 3})
    w = app.live("items", {"kind": "a"}, page_size=2)
    other = app.subscribe("items", {"kind": "a", "paginationOpts": {"numItems": 2, "cursor": None}})
    w.subscription.on_change(lambda value: value["page"].clear())  # a careless user
    app.run_mutation("add", {"kind": "a", "n": -5})
    wait_until(lambda: len(w.value) == 4, "the insert")
    assert len(other.value["page"]) == 3 and len(w.pages[0].value["page"]) == 3
    other.unsubscribe()
    w.close()


def test_comparing_paged_rows_copies_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from nbreactive.widgets import pages as pages_module

    copies = []
    monkeypatch.setattr(pages_module, "copy_document", lambda d: copies.append(1) or dict(d))
    big = [[{"_id": f"{p}-{i}", "n": i} for i in range(1000)] for p in range(20)]
    edited = [list(p) for p in big]
    edited[7][3] = {"_id": "7-3", "n": -1}
    a, b = pages_module.PagedRows(big), pages_module.PagedRows(edited)
    assert a != b and a == pages_module.PagedRows(big) and not copies


def test_closing_from_the_engine_thread_does_not_wait_for_the_loader(app: nr.App) -> None:
    app.run_mutation("fill", {"kind": "a", "count": 3000})
    w = app.live("items", {"kind": "a"}, page_size=30)
    closed = threading.Event()
    took: list[float] = []

    def close_once(change: Any) -> None:
        if not closed.is_set():
            closed.set()
            t0 = time.monotonic()
            w.close()
            took.append(time.monotonic() - t0)

    w.observe(close_once, names="value")
    app.run_mutation("add", {"kind": "a", "n": -1})  # a change, delivered on the engine thread
    wait_until(lambda: bool(took), "the close")
    assert took[0] < 2.0
    wait_until(lambda: all(not s.active for s in w.pages), "every page unsubscribed")


def _loader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "nbreactive-live-pages" and t.is_alive()]


def test_closing_the_app_stops_a_loader_waiting_for_a_failing_page(app: nr.App) -> None:
    # The loader waited for the failing page to recover, forever: after app.close()
    # (nothing recovers any more) it kept polling until the widget itself was closed.
    app.run_mutation("fill", {"kind": "a", "count": 30})

    @app.query(args={"paginationOpts": v.any()})
    def second_page_fails(ctx, paginationOpts):
        if paginationOpts["cursor"] is not None:
            raise nr.AppError("no second page")
        return ctx.db.query("items").paginate(paginationOpts)

    w = app.live(second_page_fails, {}, page_size=10)
    wait_until(lambda: w.error is not None, "the second page to fail")
    assert w.loading and _loader_threads()
    app.close()
    wait_until(lambda: not _loader_threads(), "the loader to stop", timeout=10)
    assert not w.loading
    w.close()


def test_closing_the_app_while_pages_load_is_quiet(app: nr.App, caplog: pytest.LogCaptureFixture) -> None:
    # A page subscribed after the app closed raised StorageError on the loader thread,
    # logged as "loading the pages of ... failed" with a traceback.
    app.run_mutation("fill", {"kind": "a", "count": 5000})
    w = app.live("items", {"kind": "a"}, page_size=50)
    w._pages.shown.set()  # type: ignore[union-attr]  # (the first page is on screen)
    wait_until(lambda: len(w.pages) > 2, "a few pages")
    app.close()
    wait_until(lambda: not _loader_threads(), "the loader to stop", timeout=10)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    w.close()
