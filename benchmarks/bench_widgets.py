"""The widget figures of issue 4, each beside a baseline measured in the same run.

1. ``app.live`` over a 1,000,000-row result (a paginated query over 1M orders,
   newest first), rendered in Debian's Chromium: time from calling ``app.live`` to
   the first row in the DOM. Beside it, the same for a 10-row table (what the page,
   the widget manager and the bundle cost whatever the size) — the ratio says what a
   million rows add. Also: how long the other pages take to load in the background,
   jumps to random places of the million rows (scroll → rows drawn), and a
   kernel-side sort of the million rows.
2. A one-row commit into that result (the new order lands at row 0, on screen):
   Python's wall clock before ``run_mutation`` → the page's wall clock when the new
   row is in the DOM (a ``MutationObserver``), and the bytes sent to the front end
   for it (every comm message of the widget after the commit, JSON + buffers). Beside
   it: commit → ``on_change`` of a plain subscription to the same page, in the same
   process (what the engine alone costs).
3. 50 live widgets in a real kernel (ipykernel, via jupyter_client), 100 commits/s
   each changing every widget's result: the round trip of a trivial cell
   (``execute_request`` → ``execute_reply``), beside the same kernel with no load.

The page talks to the kernel-side widgets over the test harness's live bridge (HTTP
long poll on 127.0.0.1, ``tests/browser_harness.py``), standing in for Jupyter's
WebSocket.

Run:
    python benchmarks/bench_widgets.py            # ~1 min (importing 1M rows is most of it)
    python benchmarks/bench_widgets.py --rows 200000 --commits 20 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from _util import environment, fmt, now, percentile

import nbreactive as nr
from nbreactive import v

FIRST_ROW = '.nbr-tr[data-index="0"][data-id]'


def make_app(rows: int) -> nr.App:
    app = nr.App()
    app.set_schema(nr.define_schema({
        "orders": nr.define_table({"customer": v.string(), "item": v.string(), "qty": v.int64(),
                                   "price": v.float64()}),
    }))

    @app.query(args={"paginationOpts": v.any()})
    def recent_orders(ctx, paginationOpts):
        return ctx.db.query("orders").order("desc").paginate(paginationOpts)

    @app.query()
    def few_orders(ctx):
        return ctx.db.query("orders").order("desc").take(10)

    @app.mutation(args={"customer": v.string()})
    def place(ctx, customer):
        return ctx.db.insert("orders", {"customer": customer, "item": "bench", "qty": 1, "price": 9.5})

    app.import_documents("orders", [
        {"customer": f"c{i % 5000}", "item": f"item {i % 977}", "qty": i % 7 + 1, "price": (i % 1000) / 4}
        for i in range(rows)
    ], progress=False)
    return app


class Browser:
    def __init__(self) -> None:
        from browser_harness import CHROMIUM, CHROMIUM_ARGS, guard_page
        from playwright.sync_api import sync_playwright

        self.pw = sync_playwright().start()
        self.browser = self.pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        self.guard = guard_page
        self.tmp = tempfile.TemporaryDirectory()

    def page(self) -> Any:
        page = self.browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
        self.guard(page)
        return page

    def close(self) -> None:
        self.browser.close()
        self.pw.stop()
        self.tmp.cleanup()


def first_paint(browser: Browser, app: nr.App, make: Any) -> tuple[float, float, Any, Any]:
    """(seconds until app.live returned, seconds until the first row is in the DOM, the
    widget, its page)."""
    from browser_harness import render_static
    from playwright.sync_api import expect

    page = browser.page()
    page.goto("about:blank")
    t0 = now()
    w = make()
    t_kernel = now() - t0
    static = render_static(w, page, Path(browser.tmp.name), live=True)
    expect(page.locator(FIRST_ROW)).to_be_visible(timeout=30_000)
    return t_kernel, now() - t0, w, static


def commit_to_dom(static: Any, app: nr.App, w: Any, commits: int) -> dict[str, float]:
    """Latency (ms) from before run_mutation to the new row in the DOM, and bytes sent."""
    page = static.page
    page.evaluate("""() => {
      window.__seen = {};
      const rows = document.querySelector(".nbr-rows");
      new MutationObserver(() => {
        const first = rows.firstElementChild;
        const m = first && /bench-(\\d+)/.exec(first.textContent);
        if (m && !(m[1] in window.__seen)) window.__seen[m[1]] = performance.timeOrigin + performance.now();
      }).observe(rows, { childList: true, subtree: true });
    }""")
    bridge = static.bridge
    latencies: list[float] = []
    sizes: list[int] = []
    for k in range(commits):
        before = len(bridge.messages)
        t0 = time.time() * 1000.0
        app.run_mutation("place", {"customer": f"bench-{k}"})
        deadline = now() + 10
        seen = None
        while seen is None and now() < deadline:
            seen = page.evaluate(f"() => window.__seen[{k}] ?? null")
        if seen is None:
            raise RuntimeError(f"commit {k} never reached the DOM")
        latencies.append(seen - t0)
        page.wait_for_timeout(30)  # let the trailing trait updates arrive
        sent = [m for m in bridge.messages[before:] if m["comm_id"] == w.model_id]
        sizes.append(sum(len(json.dumps(m["data"])) + sum(len(b) * 3 // 4 for b in m["buffers"]) for m in sent))
    latencies.sort()
    sizes.sort()
    return {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": latencies[-1], "bytes_p50": percentile(sizes, 50), "bytes_max": sizes[-1]}


def scroll_jumps(static: Any, rows: int, jumps: int = 20) -> dict[str, float]:
    """Scroll to a random place in the table: ms until the rows there are drawn."""
    import random

    page = static.page
    rng = random.Random(7)
    times = []
    for _ in range(jumps):
        target = rng.randrange(rows - 50)
        t0 = now()
        page.evaluate(f"() => {{ const s = document.querySelector('.nbr-scroll'); s.scrollTop = {target} * 24; }}")
        page.wait_for_selector(f'.nbr-tr[data-index="{target + 5}"][data-id]', timeout=10_000)
        times.append((now() - t0) * 1000)
    page.evaluate("() => { document.querySelector('.nbr-scroll').scrollTop = 0; }")
    page.wait_for_selector(FIRST_ROW, timeout=10_000)
    page.wait_for_timeout(500)  # the window requests of the jumps are all answered
    times.sort()
    return {"p50_ms": percentile(times, 50), "max_ms": times[-1]}


def engine_latency(app: nr.App, commits: int) -> dict[str, float]:
    sub = app.subscribe("recent_orders", {"paginationOpts": {"numItems": 2000, "cursor": None}})
    got = threading.Event()
    sub.on_change(lambda _v: got.set())
    latencies = []
    for k in range(commits):
        got.clear()
        t0 = now()
        app.run_mutation("place", {"customer": f"engine-{k}"})
        if not got.wait(10):
            raise RuntimeError("no callback")
        latencies.append((now() - t0) * 1000)
    sub.unsubscribe()
    latencies.sort()
    return {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}


KERNEL_SETUP = r'''
import threading, time
import nbreactive as nr
from nbreactive import v
app = nr.App()
@app.query(args={"n": v.int64()})
def newest(ctx, n):
    return ctx.db.query("events").order("desc").take(n)
@app.mutation(args={"k": v.int64()})
def emit(ctx, k):
    ctx.db.insert("events", {"k": k, "label": f"event {k}"})
for k in range(200):
    app.run_mutation(emit, {"k": k})
widgets = [app.live(newest, {"n": 20 + i}) for i in range(50)]
stop = threading.Event()
done = [0]
def writer(rate):
    k, t0 = 1000, time.perf_counter()
    while not stop.is_set():
        app.run_mutation(emit, {"k": k}); k += 1; done[0] += 1
        delay = t0 + (k - 1000) / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
'''


def kernel_responsiveness(seconds: float) -> dict[str, float]:
    from browser_harness import kernel_env
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=kernel_env())
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)

        def run(code: str, timeout: float = 60) -> float:
            t0 = now()
            msg_id = kc.execute(code)
            while True:
                reply = kc.get_shell_msg(timeout=timeout)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"{code!r} failed: {reply['content']}")
            return now() - t0

        def drain() -> None:
            while kc.iopub_channel.msg_ready():
                kc.get_iopub_msg(timeout=0)

        run(KERNEL_SETUP)

        def cells(label: str) -> list[float]:
            out = []
            deadline = now() + seconds
            while now() < deadline:
                out.append(run("1 + 1") * 1000)
                drain()
                time.sleep(0.05)
            out.sort()
            return out

        idle = cells("idle")
        run("t = threading.Thread(target=writer, args=(100,), daemon=True); t.start()")
        time.sleep(1.0)
        t0, before = now(), None
        busy = cells("busy")
        run("stop.set(); t.join()")
        # the writer's achieved rate, from the kernel
        msg_id = kc.execute("print(done[0])")
        text = ""
        deadline = now() + 10
        while now() < deadline and not text:
            msg = kc.get_iopub_msg(timeout=10)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                text = msg["content"]["text"]
        del before
        rate = int(text.strip() or 0) / (now() - t0 + 1.0)
        return {"idle_p50_ms": percentile(idle, 50), "idle_p99_ms": percentile(idle, 99),
                "busy_p50_ms": percentile(busy, 50), "busy_p99_ms": percentile(busy, 99),
                "busy_max_ms": busy[-1], "commits_per_s": rate, "cells": len(busy)}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--commits", type=int, default=30)
    ap.add_argument("--kernel-seconds", type=float, default=10.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--kernel-only", action="store_true", help="only figure 3")
    args = ap.parse_args()
    out: dict[str, Any] = {"environment": environment(), "rows": args.rows}

    if args.kernel_only:
        print(json.dumps(kernel_responsiveness(args.kernel_seconds), indent=2))
        return
    t0 = now()
    app = make_app(args.rows)
    out["import_s"] = now() - t0
    browser = Browser()
    try:
        k_small, paint_small, w_small, s_small = first_paint(browser, app, lambda: app.live("few_orders"))
        w_small.close()
        s_small.close()
        k_big, paint_big, w, static = first_paint(browser, app, lambda: app.live("recent_orders"))
        out["first_paint"] = {"big_s": paint_big, "big_kernel_s": k_big, "small_s": paint_small,
                              "small_kernel_s": k_small, "ratio": paint_big / paint_small}
        t_load = now()
        deadline = t_load + 300
        while w.loading and now() < deadline:
            time.sleep(0.05)
        out["background_load_s"] = now() - t_load + paint_big
        out["loaded_rows"] = w.row_count
        out["scroll"] = scroll_jumps(static, w.row_count)
        out["commit_to_dom"] = commit_to_dom(static, app, w, args.commits)
        out["engine"] = engine_latency(app, args.commits)
        t0 = now()
        w._resort("price", "asc")
        out["sort_s"] = now() - t0
        t0 = now()
        w._resort(None, None)
        out["unsort_s"] = now() - t0
        w.close()
        static.close()
    finally:
        browser.close()
        app.close()
    out["kernel"] = kernel_responsiveness(args.kernel_seconds)

    if args.json:
        print(json.dumps(out, indent=2))
        return
    fp, cd, en, kr = out["first_paint"], out["commit_to_dom"], out["engine"], out["kernel"]
    print(f"rows: {out['rows']:,} (import {fmt(out['import_s'])} s)")
    print(f"first paint, {out['rows']:,}-row live table: {fmt(fp['big_s'])} s "
          f"(app.live returned after {fmt(fp['big_kernel_s'] * 1000)} ms); "
          f"10-row table: {fmt(fp['small_s'])} s; ratio {fmt(fp['ratio'])}x")
    print(f"all pages loaded in the background after {fmt(out['background_load_s'])} s ({out['loaded_rows']:,} rows)")
    print(f"scrolling to a random row: drawn after p50 {fmt(out['scroll']['p50_ms'])} ms, max {fmt(out['scroll']['max_ms'])} ms")
    print(f"one-row commit -> DOM: p50 {fmt(cd['p50_ms'])} ms, p99 {fmt(cd['p99_ms'])} ms, "
          f"max {fmt(cd['max_ms'])} ms; bytes sent p50 {cd['bytes_p50']:.0f}, max {cd['bytes_max']:.0f}")
    print(f"  engine alone (commit -> on_change of the same page): p50 {fmt(en['p50_ms'])} ms, "
          f"p99 {fmt(en['p99_ms'])} ms")
    print(f"sorting the {out['loaded_rows']:,} rows in the kernel: {fmt(out['sort_s'])} s (unsort {fmt(out['unsort_s'] * 1000)} ms)")
    print(f"50 live widgets, {fmt(kr['commits_per_s'])} commits/s: trivial cell p50 {fmt(kr['busy_p50_ms'])} ms, "
          f"p99 {fmt(kr['busy_p99_ms'])} ms, max {fmt(kr['busy_max_ms'])} ms ({kr['cells']} cells); "
          f"idle kernel p50 {fmt(kr['idle_p50_ms'])} ms, p99 {fmt(kr['idle_p99_ms'])} ms")


if __name__ == "__main__":
    main()
