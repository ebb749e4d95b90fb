"""pytest fixtures for widget tests in Chromium and through a kernel's comm messages.

Loaded by ``tests/conftest.py`` (``pytest_plugins``); the tools are in
``tests/browser_harness.py``.

- ``browser`` (session): one headless Debian Chromium driven by Playwright.
- ``page``: a fresh page (own browser context, 1000×700) per test. Requests to anywhere
  but 127.0.0.1 are aborted. The test fails if the page logged a console error, threw
  an uncaught exception or tried to reach the outside — opt out with
  ``@pytest.mark.allow_console_errors`` / ``@pytest.mark.allow_external_requests``.
  When a test fails, a screenshot of its page goes to the artifacts folder
  (``$NBR_ARTIFACTS_DIR``, else ``.cache/test-artifacts``).
- ``page_log``: the page's :class:`~browser_harness.PageLog` (console, errors, blocked).
- ``render_widgets(widgets, **kw)``: :func:`~browser_harness.render_static` on ``page``;
  the pages it made are closed (servers stopped) after the test. In live mode, an
  exception in a Python widget handler fails the test too (``allow_console_errors``
  opts out).
- ``comm_mirror``: a :class:`~browser_harness.CommMirror` kernel started in the test's
  ``tmp_path``, shut down after the test.

When Chromium or Playwright (or npm, for the vendor JS) is missing, the browser tests
skip; with ``NBR_REQUIRE_BROWSER=1`` (CI) they fail instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from browser_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    BrowserUnavailable,
    CommMirror,
    PageLog,
    StaticPage,
    browser_unavailable_reason,
    guard_page,
    render_static,
    save_screenshot,
    skip_or_fail,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_console_errors: the test's page may log console errors or throw (and, on a "
        "live page, Python widget handlers may raise) without failing the test",
    )
    config.addinivalue_line(
        "markers",
        "allow_external_requests: the test's page may try to reach hosts other than "
        "127.0.0.1 (the requests are still aborted)",
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # keep each phase's report on the item, so that fixtures can see whether the test failed
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def _failed(request: pytest.FixtureRequest) -> bool:
    reports = request.node.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Any]:
    reason = browser_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    # Playwright does file I/O (screenshots to a path, ...) in its event loop's default
    # executor, whose non-daemon worker threads would outlive the first test that needs
    # one and trip the thread-leak check. This session's own pool instead: its "pytest"
    # name prefix is one the leak check ignores, and it is shut down with the session.
    io_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pytest-browser-io")
    pw = manager.start()
    loop = getattr(manager, "_loop", None)
    if loop is not None:
        loop.set_default_executor(io_pool)
    try:
        yield pw
    finally:
        pw.stop()
        io_pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def browser(_playwright: Any) -> Iterator[Any]:
    """One headless Chromium (``/usr/bin/chromium``, never Playwright's download)."""
    try:
        chromium = _playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    except Exception as e:
        # it is installed (else _playwright skipped), so this is a real problem
        pytest.fail(f"{CHROMIUM} is installed but did not start: {e}", pytrace=False)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new page in its own browser context; see the module docstring for its checks."""
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    log = guard_page(page)
    yield page
    failed = _failed(request)
    if failed and not page.is_closed():
        name = "failed-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        try:
            path = save_screenshot(page, name)
            print(f"screenshot of the failed test's page: {path}")
        except Exception as e:
            print(f"no screenshot of the failed test's page: {e}")
    context.close()
    if failed:
        return  # the test's own failure says more
    problems = log.problems(
        console=request.node.get_closest_marker("allow_console_errors") is None,
        external=request.node.get_closest_marker("allow_external_requests") is None,
    )
    if problems:
        pytest.fail(
            "the browser page reported problems (opt out with "
            "@pytest.mark.allow_console_errors / allow_external_requests):\n  "
            + "\n  ".join(problems),
            pytrace=False,
        )


@pytest.fixture
def page_log(page: Any) -> PageLog:
    return guard_page(page)


@pytest.fixture
def render_widgets(
    page: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., StaticPage]]:
    """``render_widgets(widgets, *, live=False, theme=None, head="", timeout=30.0)`` →
    :class:`~browser_harness.StaticPage` (see :func:`~browser_harness.render_static`)."""
    opened: list[StaticPage] = []

    def render(widgets: Any, **kwargs: Any) -> StaticPage:
        try:
            static = render_static(widgets, page, tmp_path, **kwargs)
        except BrowserUnavailable as e:
            skip_or_fail(str(e))
        opened.append(static)
        return static

    yield render
    python_errors: list[str] = []
    close_errors: list[BaseException] = []
    for static in opened:
        try:
            static.close()
        except Exception as e:  # close the others all the same
            close_errors.append(e)
        python_errors += static.python_errors
    if close_errors:
        raise close_errors[0]
    allowed = request.node.get_closest_marker("allow_console_errors") is not None
    if python_errors and not allowed and not _failed(request):
        pytest.fail(
            "Python widget handlers raised while handling the page's messages:\n"
            + "\n".join(python_errors),
            pytrace=False,
        )


@pytest.fixture
def comm_mirror(tmp_path: Path) -> Iterator[CommMirror]:
    """A kernel of this interpreter (repository on PYTHONPATH, cwd ``tmp_path``) with
    every widget message it sends mirrored; shut down after the test."""
    with CommMirror(cwd=tmp_path) as mirror:
        yield mirror
