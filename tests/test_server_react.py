"""Convex's React hooks against ``app.serve()``: a page using ``ConvexReactClient``,
``useQuery``, ``useMutation`` and ``usePaginatedQuery`` (``tests/clients/react/app.jsx``),
bundled with esbuild, served from 127.0.0.1 and driven in Debian's Chromium.

Needs node with npm ``convex``, ``react``, ``react-dom`` and ``esbuild`` in the folder
``tests/convex_clients.py`` finds (``.ci/run`` installs them), else the tests skip (fail
under ``NBR_REQUIRE_CLIENTS=1``); and Chromium with Playwright, else they skip (fail under
``NBR_REQUIRE_BROWSER=1``). Screenshots go to the artifacts folder (``react-*.png``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import StaticServer, save_screenshot
from convex_clients import SCRIPTS, _skip_or_fail, npm_modules

import nbreactive as nr
from nbreactive import v
from nbreactive.server import Server

#: What ``.ci/run`` installs next to npm ``convex`` for this page (esbuild: the version
#: npm ``convex`` 1.48.0 itself depends on, so there is one copy).
REACT_PACKAGES = {"react": "19.3.1", "react-dom": "19.3.1", "esbuild": "0.27.0"}
SOURCES = SCRIPTS / "react"
#: Playwright's bounded waits (ms): a push from the server takes milliseconds.
WAIT_MS = 10_000
CHANNEL = "general"


# ----------------------------------------------------------------------- the page


@pytest.fixture(scope="session")
def react_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``index.html`` and ``app.js`` (app.jsx bundled once per session)."""
    modules = npm_modules()
    missing = [f"{name}@{version}" for name, version in REACT_PACKAGES.items()
               if not (modules / name / "package.json").is_file()]
    esbuild = modules / ".bin" / "esbuild"
    if missing or not esbuild.exists():
        _skip_or_fail(f"{', '.join(missing) or 'esbuild'} not installed in {modules.parent}: (cd "
                      f"{modules.parent} && npm install {' '.join(f'{n}@{v}' for n, v in REACT_PACKAGES.items())})")
    # Build from a copy outside the repository: its imports then resolve through
    # NODE_PATH only, never through a node_modules/ above tests/ (the repository has one
    # for js/; a React found there besides convex's would break the hooks).
    src = tmp_path_factory.mktemp("react-src")
    for path in SOURCES.iterdir():
        if path.is_file():
            shutil.copyfile(path, src / path.name)
    site = tmp_path_factory.mktemp("react-site")
    shutil.copyfile(SOURCES / "index.html", site / "index.html")
    meta = src / "meta.json"
    proc = subprocess.run(
        [str(esbuild), "app.jsx", "--bundle", "--format=iife", "--target=es2020",
         "--jsx=automatic", "--define:process.env.NODE_ENV=\"development\"",
         f"--outfile={site / 'app.js'}", f"--metafile={meta}", "--log-level=warning"],
        cwd=src, env={**os.environ, "NODE_PATH": str(modules)},
        capture_output=True, text=True, timeout=120,
    )
    if proc.returncode != 0:
        raise AssertionError(f"esbuild failed (exit {proc.returncode}):\n{proc.stderr}")
    # exactly one React in the bundle (two copies: "Invalid hook call")
    inputs = json.loads(meta.read_text())["inputs"]
    reacts = {str((src / name).resolve()).rsplit("/node_modules/react/", 1)[0]
              for name in inputs if "/node_modules/react/" in f"/{name}"}
    assert len(reacts) == 1, f"React is bundled from {sorted(reacts)}"
    return site


@pytest.fixture(scope="session")
def static_server(react_site: Path) -> Iterator[StaticServer]:
    server = StaticServer(react_site)
    yield server
    server.close()


# ----------------------------------------------------------------------- the app


@pytest.fixture
def app() -> Iterator[nr.App]:
    a = nr.App()
    a.set_schema(nr.define_schema({
        "messages": nr.define_table({"channel": v.string(), "body": v.string()})
        .index("by_channel", ["channel"]),
    }))

    def by_channel(ctx: Any, channel: str) -> Any:
        return ctx.db.query("messages").with_index("by_channel", lambda q: q.eq("channel", channel))

    @a.query(name="messages:list", args={"channel": v.string()})
    def list_(ctx, channel):
        return by_channel(ctx, channel).collect()

    # Convex's paginationOptsValidator, as usePaginatedQuery fills it in
    pagination_opts = v.object({
        "numItems": v.number(),
        "cursor": v.union(v.string(), v.null()),
        "endCursor": v.optional(v.union(v.string(), v.null())),
        "id": v.optional(v.number()),
        "maximumRowsRead": v.optional(v.number()),
        "maximumBytesRead": v.optional(v.number()),
    })

    @a.query(name="messages:page", args={"channel": v.string(), "paginationOpts": pagination_opts})
    def page(ctx, channel, paginationOpts):
        return by_channel(ctx, channel).order("desc").paginate(paginationOpts)

    @a.mutation(name="messages:send", args={"channel": v.string(), "body": v.string()})
    def send(ctx, channel, body):
        return ctx.db.insert("messages", {"channel": channel, "body": body})

    @a.mutation(name="messages:remove", args={"id": v.id("messages")})
    def remove(ctx, id):
        ctx.db.delete(id)

    yield a
    a.close()


@pytest.fixture
def open_page(server: Server, static_server: StaticServer, page: Any) -> Any:
    """``open_page()`` loads the React page on ``page``, talking to ``server``. (The page
    is closed before the server stops: ``server`` is set up first.)"""
    from playwright.sync_api import expect

    def load(channel: str = CHANNEL) -> Any:
        query = urllib.parse.urlencode({"convex": server.url, "channel": channel})
        page.goto(f"{static_server.base_url}/index.html?{query}")
        expect(page.locator("#title")).to_have_attribute("data-channel", channel, timeout=WAIT_MS)
        return page

    return load


def send(app: nr.App, body: str, channel: str = CHANNEL) -> str:
    return str(app.run_mutation("messages:send", {"channel": channel, "body": body}))


def bodies(app: nr.App, channel: str = CHANNEL) -> list[str]:
    return [d["body"] for d in app.run_query("messages:list", {"channel": channel})]


# ----------------------------------------------------------------------- the tests


def test_use_query_renders_results_and_follows_commits_from_python(app: nr.App, open_page: Any) -> None:
    from playwright.sync_api import expect

    send(app, "hello")
    send(app, "elsewhere", channel="other")
    page = open_page()
    items = page.locator("#messages li")
    expect(page.locator("#messages")).to_have_attribute("data-status", "ready", timeout=WAIT_MS)
    expect(items).to_have_text(["hello"], timeout=WAIT_MS)
    # a commit from Python while the page sits idle is pushed to it
    new_id = send(app, "from python")
    expect(items).to_have_text(["hello", "from python"], timeout=WAIT_MS)
    expect(items.nth(1)).to_have_attribute("data-id", new_id)
    send(app, "still elsewhere", channel="other")  # another channel's commit changes nothing
    send(app, "and again")
    expect(items).to_have_text(["hello", "from python", "and again"], timeout=WAIT_MS)
    save_screenshot(page, "react-use-query")


def test_use_mutation_from_the_page_is_stored_and_shown(app: nr.App, open_page: Any) -> None:
    from playwright.sync_api import expect

    send(app, "first")
    page = open_page()
    items = page.locator("#messages li")
    expect(items).to_have_text(["first"], timeout=WAIT_MS)
    page.locator("#body").fill("typed in the browser")
    page.locator("#send").click()
    sent = page.locator("#sent")
    expect(sent).to_have_attribute("data-count", "1", timeout=WAIT_MS)
    # the mutation's promise resolved only once its commit reached the client's queries
    expect(sent).to_have_attribute("data-read-your-writes", "true")
    expect(items).to_have_text(["first", "typed in the browser"], timeout=WAIT_MS)
    new_id = sent.get_attribute("data-last-id")
    expect(items.nth(1)).to_have_attribute("data-id", new_id or "?")
    docs = app.run_query("messages:list", {"channel": CHANNEL})
    assert [(str(d["_id"]), d["body"]) for d in docs[1:]] == [(new_id, "typed in the browser")]
    # a second one, by pressing Enter in the field
    page.locator("#body").fill("and another")
    page.locator("#body").press("Enter")
    expect(sent).to_have_attribute("data-count", "2", timeout=WAIT_MS)
    expect(items).to_have_text(["first", "typed in the browser", "and another"], timeout=WAIT_MS)
    assert bodies(app) == ["first", "typed in the browser", "and another"]
    save_screenshot(page, "react-use-mutation")


def test_use_paginated_query_loads_pages_and_keeps_their_boundaries(app: nr.App, open_page: Any) -> None:
    from playwright.sync_api import expect

    ids = {f"m{n:02d}": send(app, f"m{n:02d}") for n in range(1, 13)}
    send(app, "not this channel", channel="other")
    newest_first = [f"m{n:02d}" for n in range(12, 0, -1)]
    page = open_page()
    pages, status, more = page.locator("#page li"), page.locator("#page"), page.locator("#load-more")

    expect(pages).to_have_text(newest_first[:5], timeout=WAIT_MS)
    expect(status).to_have_attribute("data-status", "CanLoadMore", timeout=WAIT_MS)
    more.click()
    expect(pages).to_have_text(newest_first[:10], timeout=WAIT_MS)
    expect(status).to_have_attribute("data-status", "CanLoadMore", timeout=WAIT_MS)
    more.click()
    expect(pages).to_have_text(newest_first, timeout=WAIT_MS)
    expect(status).to_have_attribute("data-status", "Exhausted", timeout=WAIT_MS)
    expect(more).to_be_disabled()
    save_screenshot(page, "react-paginated-loaded")

    # A new message lands on the first page, which grows (its end stays where it was):
    # no row shows twice, none goes missing.
    send(app, "m13")
    expect(pages).to_have_text(["m13", *newest_first], timeout=WAIT_MS)
    # a row deleted from the middle page leaves that page; the others keep theirs
    app.run_mutation("messages:remove", {"id": ids["m05"]})
    expect(pages).to_have_text(["m13", *(b for b in newest_first if b != "m05")], timeout=WAIT_MS)
    expect(status).to_have_attribute("data-status", "Exhausted")
    # the page's rows are the stored ones, in order, each once
    assert page.locator("#page li").evaluate_all("els => els.map(e => e.textContent)") == list(
        reversed(bodies(app))
    )
    save_screenshot(page, "react-paginated-live")


def test_use_paginated_query_keeps_its_boundaries_across_a_reconnect(
    app: nr.App, server: Server, open_page: Any
) -> None:
    from playwright.sync_api import expect

    for n in range(1, 13):
        send(app, f"m{n:02d}")
    newest_first = [f"m{n:02d}" for n in range(12, 0, -1)]
    page = open_page()
    pages, more = page.locator("#page li"), page.locator("#load-more")
    expect(pages).to_have_text(newest_first[:5], timeout=WAIT_MS)
    more.click()
    expect(pages).to_have_text(newest_first[:10], timeout=WAIT_MS)
    send(app, "m13")  # the first page grows to 6 rows: its end stays after m08
    expect(pages).to_have_text(["m13", *newest_first[:10]], timeout=WAIT_MS)
    connection = page.locator("#connection")
    expect(connection).to_have_attribute("data-connected", "true")
    count = int(connection.get_attribute("data-connection-count") or "0")

    # The server goes away and comes back on the same port (the app, its data and its
    # cache stay); the client reconnects and re-adds its queries, each page with the
    # journal (the end) the server gave it.
    server.stop()
    app.serve(port=server.port, quiet=True)  # stopped by app.close()
    send(app, "m14")  # while the client is away
    expect(connection).to_have_attribute("data-connection-count", str(count + 1), timeout=WAIT_MS)
    expect(pages.first).to_have_text("m14", timeout=WAIT_MS)
    save_screenshot(page, "react-paginated-reconnect")
    # the first Transition after the reconnect has every page: no more waiting needed
    expect(pages).to_have_text(["m14", "m13", *newest_first[:10]], timeout=2000)
