"""``app.browser()`` for real: in Chromium, a page wired live to the Python widget (no kernel).

Skipped without a browser unless ``NBR_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("anywidget")

import nbreactive as nr
from nbreactive import v
from nbreactive.widgets.browser import BrowserWidget


def _until(predicate: Callable[[], bool], what: str, wait: float = 10.0) -> None:
    deadline = time.monotonic() + wait
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def app() -> Iterator[nr.App]:
    a = nr.App()
    a.set_schema(nr.define_schema({
        "m": nr.define_table({"channel": v.string(), "body": v.string(), "n": v.int64()})
        .index("by_channel_n", ["channel", "n"]),
        "users": nr.define_table({"name": v.string()}),
    }))

    @a.mutation(args={"channel": v.string(), "body": v.string(), "n": v.int64()})
    def send(ctx, channel, body, n):
        return ctx.db.insert("m", {"channel": channel, "body": body, "n": n})

    yield a
    a.close()


@pytest.mark.parametrize("theme", [None, "dark"])
def test_the_data_browser_in_a_browser(app: nr.App, render_widgets: Any, theme: str | None) -> None:
    from browser_harness import save_screenshot
    from playwright.sync_api import expect

    for n in range(30):
        app.run_mutation("send", {"channel": "ab"[n % 2], "body": f"b{n}", "n": n})
    w = BrowserWidget(app)  # app.browser()
    static = render_widgets(w, live=True, theme=theme)
    view = static.view(0)
    page = static.page
    expect(view.locator(".nbr-tbl").first).to_contain_text("30")
    expect(view.locator(".nbr-tr").first).to_contain_text("b0")

    # A commit from another thread: the count and the rows follow.
    t = threading.Thread(target=lambda: app.run_mutation(
        "send", {"channel": "a", "body": "from a thread", "n": 100}))
    t.start()
    t.join()
    expect(view.locator(".nbr-tbl").first).to_contain_text("31")

    # An index range: channel == "a", n >= 20.
    view.locator("select.nbr-index").select_option("by_channel_n")
    rows = view.locator(".nbr-frow")
    expect(rows).to_have_count(3)  # channel, n, _creationTime
    rows.nth(0).locator("input").nth(0).fill('"a"')
    rows.nth(1).locator("input").nth(1).fill("20")
    view.locator("button", has_text="Apply").click()
    expect(view.locator(".nbr-count")).to_contain_text("6 documents in range")

    # An invalid range: Convex's message inline, the rows stay.
    rows.nth(0).locator("input").nth(0).fill("")
    rows.nth(1).locator("input").nth(0).fill("3")
    rows.nth(1).locator("input").nth(1).fill("")
    view.locator("button", has_text="Apply").click()
    expect(view.locator(".nbr-range-error")).to_contain_text("didn't use the index fields in order")
    expect(view.locator(".nbr-count")).to_contain_text("6 documents in range")
    save_screenshot(page, f"browser-range-{theme or 'plain'}")

    # Insert: a validation error inline, then a good document (selected in the table).
    view.locator("button", has_text="Insert").click()
    text = view.locator("textarea")
    text.fill('{"channel": "a", "body": "x", "n": "no"}')
    view.locator(".nbr-editor button", has_text="Insert").click()
    expect(view.locator(".nbr-ed-error")).to_contain_text("expected v.int64()")
    text.fill('{"channel": "a", "body": "inserted", "n": 25}')
    view.locator(".nbr-editor button", has_text="Insert").click()
    expect(view.locator(".nbr-ed-status")).to_contain_text("Inserted")
    expect(view.locator(".nbr-tr.nbr-selected")).to_contain_text("inserted")
    _until(lambda: app.count("m") == 32, "the insert")

    # Edit (replace), then delete (two clicks).
    text.fill('{"channel": "a", "body": "edited", "n": 25}')
    view.locator(".nbr-editor button", has_text="Save").click()
    expect(view.locator(".nbr-ed-status")).to_contain_text("Saved")
    expect(view.locator(".nbr-tr.nbr-selected")).to_contain_text("edited")
    save_screenshot(page, f"browser-edit-{theme or 'plain'}")
    view.locator(".nbr-editor button", has_text="Delete").click()
    view.locator(".nbr-editor button", has_text="Confirm delete").click()
    expect(view.locator(".nbr-editor")).to_be_hidden()
    _until(lambda: app.count("m") == 31, "the delete")

    # The schema, and another table.
    view.locator("button", has_text="Schema").click()
    expect(view.locator(".nbr-schema")).to_contain_text('.index("by_channel_n"')
    view.locator(".nbr-tbl", has_text="users").click()
    expect(view.locator(".nbr-tname")).to_have_text("users")
    expect(view.locator(".nbr-empty").last).to_contain_text("This table is empty.")


def test_saving_after_the_app_closed_says_so(app: nr.App, render_widgets: Any) -> None:
    # Once the app closed, the browser's thread had stopped: the editor's requests were
    # queued for it and never answered, so Save said "saving…" forever.
    from playwright.sync_api import expect

    app.run_mutation("send", {"channel": "a", "body": "first", "n": 1})
    w = BrowserWidget(app)
    static = render_widgets(w, live=True)
    view = static.view(0)
    view.locator(".nbr-tr", has_text="first").click()
    text = view.locator("textarea")
    expect(text).to_have_value('{\n  "channel": "a",\n  "body": "first",\n  "n": 1\n}')
    app.close()
    text.fill('{"channel": "a", "body": "edited", "n": 1}')
    view.locator(".nbr-editor button", has_text="Save").click()
    expect(view.locator(".nbr-ed-error")).to_contain_text("StorageError: this App is closed")
    expect(view.locator(".nbr-ed-status")).to_have_text("")
    view.locator(".nbr-editor button", has_text="Close").click()
    view.locator("button", has_text="Insert").click()
    view.locator(".nbr-editor button", has_text="Insert").click()
    expect(view.locator(".nbr-ed-error")).to_contain_text("StorageError: this App is closed")
    # Another table, or a document, is not shown as empty or deleted: the app is closed.
    view.locator(".nbr-tbl", has_text="users").click()
    expect(view.locator(".nbr-range-error")).to_contain_text("StorageError: this App is closed")
    expect(view.locator(".nbr-tname")).to_have_text("m")
    expect(view.locator(".nbr-tr", has_text="first")).to_have_count(1)


def test_the_range_inputs_and_the_editor_have_accessible_names(app: nr.App, render_widgets: Any) -> None:
    # Each index field's inputs were all named "= value" / "lower bound" / "upper bound"
    # (whatever the field), the operator selects and the editor's text had no name.
    from playwright.sync_api import expect

    w = BrowserWidget(app)
    static = render_widgets(w, live=True)
    view = static.view(0)
    view.locator("select.nbr-index").select_option("by_channel_n")
    for field in ("channel", "n", "_creationTime"):
        expect(view.get_by_role("textbox", name=f"{field} equals", exact=True)).to_have_count(1)
        expect(view.get_by_role("textbox", name=f"{field} lower bound", exact=True)).to_have_count(1)
        expect(view.get_by_role("textbox", name=f"{field} upper bound", exact=True)).to_have_count(1)
        expect(view.get_by_role("combobox", name=f"{field} lower bound operator")).to_have_count(1)
        expect(view.get_by_role("combobox", name=f"{field} upper bound operator")).to_have_count(1)
    view.get_by_role("textbox", name="n equals", exact=True).fill("3")  # still a plain input
    view.locator("button", has_text="Insert").click()
    expect(view.get_by_role("textbox", name="Document (JSON)")).to_be_editable()
