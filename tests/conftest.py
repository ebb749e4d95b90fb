"""Fixtures every test can use.

- ``tmp_db_path``: where a test puts its DuckDB file (a fresh path, no file yet).
- ``_no_leaked_threads`` (autouse): a test that leaves non-daemon threads running fails.
- from ``tests/browser_fixtures.py``: ``browser``, ``page``, ``page_log``,
  ``render_widgets`` and ``comm_mirror`` for widget tests in Chromium and at kernel level.

Leak checks follow the spirit of ``manzt/anywidget:tests/test_descriptor.py`` and
``simonw/sqlite-utils:tests/conftest.py``: a leak shows up at the test that caused
it, not as a hang at interpreter exit or a flaky failure three tests later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import nbreactive as nr
from nbreactive.server import Server

# browser / kernel-level widget fixtures: browser, page, render_widgets, comm_mirror, ...
pytest_plugins = ["browser_fixtures"]

# How long a test's threads get to finish after the test (and its fixtures) returned.
# Generous enough for a server or writer thread that was told to stop and is on its
# way out; short enough that a real leak costs little time.
THREAD_GRACE_SECONDS = 2.0

# Threads that libraries or the test runner start and own; they are not a test's leak.
# (Daemon threads are ignored anyway; these are the known non-daemon ones.)
IGNORED_THREAD_PREFIXES = (
    "pytest",  # pytest and its plugins (e.g. pytest-timeout's timer)
    "pydevd",  # a debugger attached to the run
    "IPythonHistorySavingThread",  # IPython's history writer, one per shell
    "QueueFeederThread",  # multiprocessing's queue feeders
    "Dummy-",  # threads not started by `threading` (foreign threads calling into Python)
)


@pytest.fixture
def server(app: nr.App) -> Iterator[Server]:
    """The test module's ``app`` served on a loopback port (stopped afterwards)."""
    s = app.serve(quiet=True)
    yield s
    s.stop()


@pytest.fixture
def tmp_db_path(tmp_path: Path) -> Path:
    """A path for a fresh DuckDB database file inside the test's own ``tmp_path``.

    The file does not exist yet; ``duckdb.connect(tmp_db_path)`` creates it.
    """
    return tmp_path / "test.duckdb"


def _is_ignored(thread: threading.Thread) -> bool:
    return thread.daemon or thread.name.startswith(IGNORED_THREAD_PREFIXES)


@pytest.fixture(autouse=True)
def _no_leaked_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if it leaves non-daemon threads running that it started.

    Threads alive before the test are not counted, so a module- or session-scoped
    fixture may own a thread for its whole scope. Being autouse and function-scoped,
    this runs its check after the test's other function-scoped fixtures were torn
    down, so a fixture that stops its thread in its teardown is fine.

    A test that means to leave a thread behind says so with
    ``@pytest.mark.allow_thread_leak("why")``.
    """
    before = set(threading.enumerate())
    yield
    if request.node.get_closest_marker("allow_thread_leak") is not None:
        return
    deadline = time.monotonic() + THREAD_GRACE_SECONDS
    leaked = [t for t in threading.enumerate() if t not in before and not _is_ignored(t)]
    for thread in leaked:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    still_running = [t for t in leaked if t.is_alive()]
    if still_running:
        names = ", ".join(repr(t.name) for t in still_running)
        pytest.fail(
            f"the test left {len(still_running)} non-daemon thread(s) running after "
            f"{THREAD_GRACE_SECONDS:g} s: {names}. Stop and join the threads it starts (close the "
            "app, server or writer in a fixture teardown or a `with` block), or mark the test "
            "with @pytest.mark.allow_thread_leak('why').",
            pytrace=False,
        )
