"""``app.live`` and live cells for real: in Chromium (a page wired live to the Python
widget, no kernel) and at kernel level (a real kernel, updates while it is idle).

Skipped without a browser or kernel unless ``NBR_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("anywidget")

import nbreactive as nr
from nbreactive import v


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
        docs = ctx.db.query("m").with_index("by_channel_n", lambda q: q.eq("channel", channel)).collect()
        if any(d["body"] == "boom" for d in docs):
            raise nr.AppError({"bad": "boom"})
        return docs

    @a.mutation(args={"channel": v.string(), "body": v.string(), "n": v.int64()})
    def send(ctx, channel, body, n):
        return ctx.db.insert("m", {"channel": channel, "body": body, "n": n})

    @a.mutation(args={"id": v.id("m")})
    def remove(ctx, id):
        ctx.db.delete(id)

    yield a
    a.close()


@pytest.mark.parametrize("theme", [None, "dark"])
def test_the_live_table_in_a_browser(app: nr.App, render_widgets: Any, theme: str | None) -> None:
    from browser_harness import save_screenshot
    from playwright.sync_api import expect

    for n in range(300):
        app.run_mutation("send", {"channel": "a", "body": f"message {n}", "n": n})
    w = app.live("msgs", {"channel": "a"})
    static = render_widgets(w, live=True, theme=theme)
    view = static.view(0)
    expect(view.locator(".nbr-count")).to_have_text("300 rows")
    expect(view.locator(".nbr-th")).to_have_text(["_id", "channel", "body", "n", "_creationTime"])
    # Virtualized: only the rows near the viewport are in the DOM.
    expect(view.locator('.nbr-tr[data-index="0"] .nbr-t-s').nth(1)).to_have_text("message 0")
    assert view.locator(".nbr-tr").count() < 60

    # A commit from elsewhere: the row appears (flashing) without any page action.
    app.run_mutation("send", {"channel": "a", "body": "fresh", "n": 3})  # row 4: on screen
    expect(view.locator(".nbr-count")).to_have_text("301 rows")
    fresh = view.locator(".nbr-tr.nbr-added")
    expect(fresh).to_have_count(1)
    expect(fresh.locator(".nbr-t-s").nth(1)).to_have_text("fresh")
    save_screenshot(static.page, f"live-table-{theme or 'plain'}")

    # Sorting (in the kernel): n descending puts message 299 first.
    header = view.locator(".nbr-th").nth(3)  # "n"
    header.click()
    expect(header.locator(".nbr-sort")).to_have_text("▲")
    header.click()
    expect(header.locator(".nbr-sort")).to_have_text("▼")
    expect(view.locator('.nbr-tr[data-index="0"] .nbr-t-n')).to_have_text("299")
    assert w.sort == ["n", "desc"]

    # Scrolling far down asks the kernel for that window.
    view.locator(".nbr-scroll").evaluate("el => { el.scrollTop = 280 * 24; }")
    expect(view.locator('.nbr-tr[data-index="290"]')).to_have_count(1)
    expect(view.locator('.nbr-tr[data-index="290"] .nbr-t-n')).not_to_have_text("…")

    # An error replaces the table, and it recovers.
    boom = app.run_mutation("send", {"channel": "a", "body": "boom", "n": 1000})
    expect(view.locator(".nbr-error")).to_contain_text("AppError")
    expect(view.locator(".nbr-scroll")).to_be_hidden()
    app.run_mutation("remove", {"id": boom})
    expect(view.locator(".nbr-error")).to_be_hidden()
    expect(view.locator(".nbr-count")).to_have_text("301 rows")


def test_a_value_result_in_a_browser(app: nr.App, render_widgets: Any) -> None:
    from playwright.sync_api import expect

    @app.query()
    def stats(ctx):
        return {"messages": ctx.db.query("m").count()}

    w = app.live(stats, {})
    static = render_widgets(w, live=True)
    view = static.view(0)
    expect(view.locator(".nbr-value")).to_have_text("{'messages': 0}")
    app.run_mutation("send", {"channel": "b", "body": "x", "n": 1})
    expect(view.locator(".nbr-value")).to_have_text("{'messages': 1}")


SETUP = textwrap.dedent(
    """
    import threading, time
    import nbreactive as nr
    from nbreactive import v
    %load_ext nbreactive
    app = nr.App()
    app.set_schema(nr.define_schema({"m": nr.define_table({"channel": v.string(), "n": v.int64()})
                                     .index("by_channel", ["channel"])}))

    @app.query(args={"channel": v.string()})
    def msgs(ctx, channel):
        return ctx.db.query("m").with_index("by_channel", lambda q: q.eq("channel", channel)).collect()

    @app.mutation(args={"channel": v.string(), "n": v.int64()})
    def send(ctx, channel, n):
        return ctx.db.insert("m", {"channel": channel, "n": n})

    for i in range(200):
        send(channel="a", n=i)

    def later(channel, n, delay=0.3):
        threading.Timer(delay, lambda: send(channel=channel, n=n)).start()
    """
)


def test_updates_reach_the_front_end_while_the_kernel_is_idle(comm_mirror: Any) -> None:
    m = comm_mirror
    m.execute(SETUP)
    (mid,) = [i for i in m.execute('w = app.live(msgs, {"channel": "a"}); w').model_ids
              if m.models.get(i, {}).get("function") == "msgs"]
    assert m.models[mid]["row_count"] == 200
    # The front end asks for its first window.
    m.send_custom(mid, {"type": "window", "start": 0, "end": 40})
    rows = m.wait_for(lambda: [c for c in m.customs[mid] if c.content["type"] == "rows"][-1], timeout=10)
    assert len(json.loads(rows.buffers[0])["ids"]) == 40

    started = m.execute('later("a", 10_000)')
    patch = m.wait_for(lambda: [c for c in m.customs[mid] if c.content["type"] == "patch"][-1], timeout=10)
    assert patch.time > started.idle_at, "the update must arrive while the kernel is idle"
    assert patch.content["ops"] == [[200, 0, 1, 200, 1]]
    assert m.wait_for(lambda: m.models[mid]["row_count"] == 201 or None, timeout=10)
    # Only the new row is sent for a one-row commit: a few hundred bytes, not the result.
    (event,) = [
        e for e in m.events_for(mid, "custom", after=started.idle_at)
        if e.data.get("content", {}).get("type") == "patch"
    ]
    assert event.payload_bytes < 4096

    # A commit to another channel sends nothing to this widget.
    before = len(m.customs[mid])
    m.execute('later("b", 1, delay=0.0); time.sleep(0.5)')
    assert len(m.customs[mid]) == before


def test_a_live_cell_re_runs_while_the_kernel_is_idle(comm_mirror: Any) -> None:
    m = comm_mirror
    m.execute(SETUP)
    run = m.execute('%%live\nprint("count:", len(msgs(channel="b")))')
    (out_id,) = [i for i in run.model_ids if m.models.get(i, {}).get("_model_name") == "OutputModel"]

    def text() -> str | None:
        outs = m.models[out_id].get("outputs") or []
        return "".join(o.get("text", "") for o in outs if o.get("output_type") == "stream") or None

    assert m.wait_for(text, timeout=10) == "count: 0\n"
    started = m.execute('later("b", 1)')
    m.wait_for(lambda: text() == "count: 1\n" or None, timeout=10)
    # And an error shows as the output, then recovers.
    m.execute('%%live\nrows = msgs(channel="c")\nassert rows, "no messages in c yet"\nprint("c has", len(rows))')
    m.wait_for(
        lambda: any(
            any(o.get("output_type") == "error" for o in (s.get("outputs") or []))
            for s in m.models.values() if s.get("_model_name") == "OutputModel"
        ) or None,
        timeout=10,
    )
    m.execute('later("c", 1)')
    m.wait_for(
        lambda: any(
            any("c has 1" in o.get("text", "") for o in (s.get("outputs") or []))
            for s in m.models.values() if s.get("_model_name") == "OutputModel"
        ) or None,
        timeout=10,
    )
    assert started.idle_at > 0


def test_re_running_a_live_cell_stops_its_previous_run(comm_mirror: Any) -> None:
    # A %%live cell edited and run again (JupyterLab sends the cell's id) replaces the
    # block: the old code must not keep re-running on commits (overwriting variables,
    # printing into an output nobody sees). Running the cell without %%live stops it too.
    m = comm_mirror
    m.execute(SETUP)
    m.execute("runs = []")
    m.execute('%%live\nruns.append("old"); len(msgs(channel="d"))', cell_id="cell-1")
    m.execute('%%live\nruns.append("new"); len(msgs(channel="d"))', cell_id="cell-1")
    m.execute('%%live\nruns.append("other"); len(msgs(channel="d"))', cell_id="cell-2")
    m.execute('runs.clear(); later("d", 1, delay=0.0); time.sleep(0.3)')

    def runs() -> list[str]:
        out = m.execute("print(sorted(runs))").outputs
        return json.loads("".join(o.get("text", "") for o in out).replace("'", '"'))

    m.wait_for(lambda: ("new" in runs() and "other" in runs()) or None, timeout=10, what="the re-runs")
    m.execute("pass")  # the old block's re-run, had it been scheduled, has run by now
    assert runs() == ["new", "other"]
    cells = m.execute("print([repr(c) for c in _nbreactive_live_cells])").outputs
    assert "stopped" not in "".join(o.get("text", "") for o in cells)

    # The cell run again as plain code: its live block stops as well.
    m.execute("x = 1", cell_id="cell-1")
    m.execute('runs.clear(); later("d", 2, delay=0.0); time.sleep(0.3)')
    m.wait_for(lambda: "other" in runs() or None, timeout=10, what="the re-run")
    m.execute("pass")
    assert runs() == ["other"]


def test_an_app_error_reads_as_convex_data_in_a_browser(app: nr.App, render_widgets: Any) -> None:
    # The error box showed AppError data twice, the first time as Python's repr
    # ("{'code': 'LOCKED'}"), and a string's data again, quoted, under "data:".
    from playwright.sync_api import expect

    @app.query(args={"channel": v.string()})
    def guarded(ctx, channel):
        n = ctx.db.query("m").with_index("by_channel_n", lambda q: q.eq("channel", channel)).count()
        if channel == "text":
            raise nr.AppError("this channel is locked")
        raise nr.AppError({"code": "LOCKED", "count": n, "big": 2**62 + 1, "ok": False})

    static = render_widgets([app.live(guarded, {"channel": "c"}), app.live(guarded, {"channel": "text"})],
                            live=True)
    error = static.view(0).locator(".nbr-error")
    expect(error).to_have_text('AppError: {code: "LOCKED", count: 0, big: 4611686018427387905, ok: false}')
    expect(static.view(1).locator(".nbr-error")).to_have_text("AppError: this channel is locked")
    app.run_mutation("send", {"channel": "c", "body": "x", "n": 1})  # the error follows the data
    expect(error).to_have_text('AppError: {code: "LOCKED", count: 1, big: 4611686018427387905, ok: false}')


def test_a_long_value_cut_in_its_cell_has_more_in_the_tooltip(app: nr.App, render_widgets: Any) -> None:
    # A string or object longer than a cell was cut at 200 characters, and so was its
    # tooltip (the same text): the rest could be seen nowhere in the table.
    from playwright.sync_api import expect

    from nbreactive.widgets.cells import MAX_CELL_TEXT, MAX_TOOLTIP_TEXT

    body = " ".join(f"word{i}" for i in range(1000))  # 5,889 characters
    app.run_mutation("send", {"channel": "a", "body": body, "n": 1})
    app.run_mutation("send", {"channel": "a", "body": "short", "n": 2})

    @app.query()
    def nested(ctx):
        return [{"_id": "x1", "data": {"words": body.split()[:300]}}]

    static = render_widgets([app.live("msgs", {"channel": "a"}), app.live(nested, {})], live=True)
    long_cell = static.view(0).locator('.nbr-tr[data-index="0"] .nbr-t-s').nth(1)
    expect(long_cell).to_have_text(body[: MAX_CELL_TEXT - 1] + "…")
    expect(long_cell).to_have_attribute("title", body[: MAX_TOOLTIP_TEXT - 1] + "…")
    short_cell = static.view(0).locator('.nbr-tr[data-index="1"] .nbr-t-s').nth(1)
    expect(short_cell).to_have_attribute("title", "short")
    obj = static.view(1).locator(".nbr-t-o")
    expect(obj).to_have_count(1)
    title = obj.get_attribute("title") or ""
    assert len(title) == MAX_TOOLTIP_TEXT and title.startswith(obj.inner_text()[:-1]) and "word150" in title


def test_sorting_from_the_keyboard(app: nr.App, render_widgets: Any) -> None:
    # The column headers sorted on a click only: not focusable, no role, no sort state
    # for assistive technology.
    from playwright.sync_api import expect

    for n in range(5):
        app.run_mutation("send", {"channel": "a", "body": f"message {n}", "n": n})
    w = app.live("msgs", {"channel": "a"})
    static = render_widgets(w, live=True)
    view = static.view(0)
    header = view.get_by_role("columnheader", name="n", exact=True)
    expect(header).to_have_attribute("aria-sort", "none")
    header.focus()
    header.press("Enter")
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(header).to_be_focused()  # (the header row was redrawn)
    static.page.keyboard.press(" ")
    expect(view.get_by_role("columnheader", name="n", exact=True)).to_have_attribute("aria-sort", "descending")
    expect(view.locator('.nbr-tr[data-index="0"] .nbr-t-n')).to_have_text("4")
    assert w.sort == ["n", "desc"]
