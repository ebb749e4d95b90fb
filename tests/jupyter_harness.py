"""A real JupyterLab 4 / Notebook 7 server for end-to-end tests (not a test file).

The recipe behind this is ``shared/recipes/browser-testing.md`` §2. :class:`JupyterServer`
starts ``python -m jupyterlab`` or ``python -m notebook`` from this interpreter:

- on 127.0.0.1, a free port (``port_retries=0``: a port taken meanwhile makes the start
  fail and it is retried on another port, instead of the server quietly moving elsewhere),
  a fixed token, ``--allow-root`` (CI runs as root);
- ``JUPYTER_CONFIG_DIR``, ``JUPYTER_DATA_DIR``, ``JUPYTER_RUNTIME_DIR``, ``IPYTHONDIR`` and
  the user-settings and workspaces folders in a temp dir, so that nothing of the user's
  setup (or of another run) takes part;
- nothing that reaches the internet: no news feed (``news_url=None``), no update check
  (``NeverCheckForUpdate``), a read-only extension manager (no PyPI queries), and the
  front end's news/update question answered "no" in its user settings;
- ``expose_app_in_browser``, so that the page has ``window.jupyterapp``: the only reliable
  sign that a notebook's kernel is connected (:func:`wait_kernel_ready`);
- the repository first on ``PYTHONPATH`` of the server, and so of its kernels.

Readiness is a poll of ``/api/status`` with a deadline. :meth:`JupyterServer.stop` sends
SIGTERM (the server shuts its kernels down), waits, kills it if need be, and then kills
whatever of its process tree is left (kernels run in sessions of their own, so a process
group kill would miss them).

The page helpers (:func:`open_notebook`, :func:`wait_kernel_ready`, :func:`run_all_cells`,
:func:`add_and_run_cell`, :func:`set_theme`) work in both JupyterLab and Notebook 7. Every
wait in here is bounded.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from browser_harness import kernel_env

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

Kind = Literal["lab", "notebook"]

TOKEN = "nbr-e2e-token"

#: (distribution, importable module, lowest major version) the servers need
_REQUIREMENTS: dict[Kind, list[tuple[str, str, int]]] = {
    "lab": [("jupyterlab", "jupyterlab", 4), ("ipykernel", "ipykernel", 6)],
    "notebook": [("notebook", "notebook", 7), ("ipykernel", "ipykernel", 6)],
}


class JupyterUnavailable(Exception):
    """JupyterLab / Notebook 7 is not installed: the end-to-end tests skip (or fail
    under ``NBR_REQUIRE_BROWSER=1``)."""


def jupyter_unavailable_reason(kind: Kind) -> str | None:
    """Why a ``kind`` server cannot run here, or None."""
    for dist, module, major in _REQUIREMENTS[kind]:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return f"{dist} is not installed (pip install -e '.[test]')"
        try:
            got = int(version.split(".")[0])
        except ValueError:
            got = major
        if got < major:
            return f"{dist} {version} is too old: these tests need {dist} >= {major}"
        if not _has_module(module):
            return f"{dist} {version} is installed but `import {module}` is not possible"
    return None


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Only loopback, and never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _proc_stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a Linux process, from /proc; None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ..." and comm may hold spaces or parentheses
    fields = raw[raw.rfind(")") + 2 :].split()
    return int(fields[1]), fields[19]


def _descendants(root: int) -> list[tuple[int, str]]:
    """(pid, start time) of every process below ``root`` (Linux; elsewhere: none)."""
    children: dict[int, list[tuple[int, str]]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        stat = _proc_stat(int(entry))
        if stat is not None:
            children.setdefault(stat[0], []).append((int(entry), stat[1]))
    out: list[tuple[int, str]] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


class JupyterServer:
    """``python -m jupyterlab`` (``kind="lab"``) or ``python -m notebook`` (Notebook 7,
    ``kind="notebook"``) serving ``root_dir``; see the module docstring.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, kind: Kind, root_dir: Path | None = None, token: str = TOKEN) -> None:
        if kind not in ("lab", "notebook"):
            raise ValueError(f"kind must be 'lab' or 'notebook', not {kind!r}")
        self.kind: Kind = kind
        self.token = token
        self.tmp = Path(tempfile.mkdtemp(prefix=f"nbr-jupyter-{kind}-"))
        self.root_dir = Path(root_dir) if root_dir is not None else self.tmp / "root"
        self.root_dir.mkdir(parents=True, exist_ok=True)
        self.port = 0
        self.log_path = self.tmp / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    # -- addresses

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query: str) -> str:
        """``base_url/path?token=...`` (plus ``query``)."""
        q = urllib.parse.urlencode({**query, "token": self.token})
        return f"{self.base_url}/{path.lstrip('/')}?{q}"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- start / stop

    def _command(self) -> list[str]:
        settings, workspaces = self.tmp / "settings", self.tmp / "workspaces"
        app = "LabApp" if self.kind == "lab" else "JupyterNotebookApp"
        return [
            sys.executable,
            "-m",
            "jupyterlab" if self.kind == "lab" else "notebook",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            "--allow-root",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.terminals_enabled=False",
            f"--{app}.user_settings_dir={settings}",
            f"--{app}.workspaces_dir={workspaces}",
            f"--{app}.expose_app_in_browser=True",
            # the jupyterlab server extension is loaded by Notebook 7 too: no news feed, no
            # update check, no PyPI queries from the extension manager
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]

    def _environment(self) -> dict[str, str]:
        env = kernel_env()  # the repository first on PYTHONPATH, for the kernels
        for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
            env.pop(proxy, None)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.tmp / "config"),
            JUPYTER_DATA_DIR=str(self.tmp / "data"),
            JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"),
            IPYTHONDIR=str(self.tmp / "ipython"),
            JUPYTERLAB_SETTINGS_DIR=str(self.tmp / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.tmp / "workspaces"),
            JUPYTER_PLATFORM_DIRS="0",
            PYTHONUNBUFFERED="1",
        )
        return env

    def _write_user_settings(self) -> None:
        # The front end asks once whether it may fetch news; answer "no" up front (no toast
        # over the screenshots, no request leaving the machine).
        folder = self.tmp / "settings" / "@jupyterlab" / "apputils-extension"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )

    def start(self, timeout: float = 60.0, attempts: int = 3) -> float:
        """Start the server and wait until ``/api/status`` answers; return the seconds
        that took. Raises ``RuntimeError`` (with the server's log) if it cannot start."""
        if self.proc is not None:
            raise RuntimeError("already started")
        self._write_user_settings()
        t0 = time.monotonic()
        deadline = t0 + timeout
        problem = ""
        for _ in range(attempts):
            self.port = free_port()
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    self._command(),
                    env=self._environment(),
                    cwd=self.root_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a Ctrl-C in the terminal is for pytest only
                )
            problem = self._wait_ready(deadline)
            if not problem:
                return time.monotonic() - t0
            self._terminate()
            if "already in use" not in self.log_tail() or time.monotonic() >= deadline:
                break
        self.proc = None
        raise RuntimeError(
            f"the {self.kind} server did not start: {problem}\n--- server log:\n{self.log_tail()}"
        )

    def _wait_ready(self, deadline: float) -> str:
        """'' once /api/status answers 200; else why not."""
        assert self.proc is not None
        while True:
            if self.proc.poll() is not None:
                return f"it exited with code {self.proc.returncode}"
            try:
                with _OPENER.open(self.url("/api/status"), timeout=2) as r:
                    if r.status == 200:
                        return ""
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() >= deadline:
                return "/api/status did not answer in time"
            time.sleep(0.1)

    def _terminate(self, timeout: float = 20.0) -> None:
        proc = self.proc
        if proc is None:
            return
        tree = _descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # it shuts its kernels down itself
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for pid, started in tree:  # what is left of its tree (and is still that process)
            stat = _proc_stat(pid)
            if stat is not None and stat[1] == started:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the server and whatever it started, and delete its temp dir."""
        try:
            self._terminate()
        finally:
            self.proc = None
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> JupyterServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- REST API

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        """Call the server's REST API; the decoded JSON answer (None when empty)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with _OPENER.open(request, timeout=timeout) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def shutdown_kernels(self) -> None:
        """Shut down every kernel of the server (and end their sessions)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for session in self.api("GET", "/api/sessions"):
            with contextlib.suppress(urllib.error.HTTPError):
                self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30)
        for kernel in self.api("GET", "/api/kernels"):
            with contextlib.suppress(urllib.error.HTTPError):
                self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=30)

    # -- pages

    def notebook_url(self, name: str, workspace: str | None = None) -> str:
        """Where the notebook ``name`` (relative to ``root_dir``) opens: JupyterLab's
        ``/lab/workspaces/<workspace>/tree/<name>`` (a fresh workspace, so that notebooks
        of earlier pages are not restored next to it), or Notebook 7's ``/notebooks/<name>``."""
        quoted = urllib.parse.quote(name)
        if self.kind == "notebook":
            return self.url(f"/notebooks/{quoted}")
        ws = re.sub(r"[^A-Za-z0-9_-]+", "-", workspace or Path(name).stem)
        return self.url(f"/lab/workspaces/{ws}/tree/{quoted}")


# ------------------------------------------------------------------------ in the page

# Needs expose_app_in_browser. The toolbar's execution indicator says "idle" before the
# session is connected, and a Run All issued then is dropped without a word; this is not.
KERNEL_READY_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const ctx = w && w.sessionContext;
  const k = ctx && ctx.session && ctx.session.kernel;
  return !!(ctx && ctx.isReady && k && k.status === 'idle' && k.connectionStatus === 'connected');
}"""

_PROMPTS_JS = """() => Array.from(
  document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell .jp-InputPrompt'),
  p => p.textContent.trim())"""


def open_notebook(page: Page, server: JupyterServer, name: str, timeout: float = 60.0) -> None:
    """Open the notebook ``name`` and wait until its kernel is connected and idle."""
    from playwright.sync_api import expect

    page.goto(server.notebook_url(name), timeout=timeout * 1000)
    wait_kernel_ready(page, timeout)
    expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=timeout * 1000)


def wait_kernel_ready(page: Page, timeout: float = 60.0) -> None:
    """Wait until the current notebook's session is ready and its kernel connected and
    idle (so also: until no cell runs)."""
    page.wait_for_function(KERNEL_READY_JS, timeout=timeout * 1000, polling=100)


_CELLS_JS = """() => {
  const model = window.jupyterapp.shell.currentWidget.content.model;
  const out = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    out.push({
      count: cell.executionCount,
      errors: cell.outputs.toJSON().filter(o => o.output_type === 'error')
        .map(o => `${o.ename}: ${o.evalue}`),
    });
  }
  return out;
}"""


def run_all_cells(page: Page, timeout: float = 60.0) -> None:
    """Clear the outputs, run all cells (``notebook:run-all-cells``, what Run → Run All
    Cells does) and wait until every code cell has run (or one raised) and the kernel
    is idle again. Raises
    ``AssertionError`` with the exception if a cell raised.

    The command is retried once if no cell started within 10 s (a dropped request; it
    never happened after :func:`wait_kernel_ready`), but only while no prompt changed,
    so no cell runs twice.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    if not page.evaluate(_CELLS_JS):
        raise AssertionError("the notebook has no code cells")
    # outputs and execution counts saved in the file must not pass for this run's
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.wait_for_function(
        f"() => ({_CELLS_JS})().every(c => c.count === null)", timeout=10_000, polling=100
    )
    for attempt in (1, 2):
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        try:  # "[ ]:" becomes "[*]:", then "[1]:"
            page.wait_for_function(
                f"() => ({_PROMPTS_JS})().some(p => p !== '[ ]:')", timeout=10_000, polling=100
            )
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise AssertionError(
                    f"Run All Cells did not start a cell; prompts: {page.evaluate(_PROMPTS_JS)}"
                ) from None
    page.wait_for_function(
        f"""() => {{
          const cells = ({_CELLS_JS})();
          return cells.every(c => c.count !== null) || cells.some(c => c.errors.length);
        }}""",
        timeout=timeout * 1000,
        polling=100,
    )
    wait_kernel_ready(page, timeout)
    errors = [e for cell in page.evaluate(_CELLS_JS) for e in cell["errors"]]
    if errors:
        raise AssertionError("a cell raised: " + "; ".join(errors))


def add_and_run_cell(page: Page, code: str, timeout: float = 30.0) -> Locator:
    """Append a code cell with ``code`` at the end of the notebook, run it like a person
    would (select the last cell, Esc, B, Enter, enter the code, Shift+Enter), and return
    its output area once the kernel is idle again."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    before = cells.count()
    cells.last.locator(".jp-InputPrompt").click()  # select it, without editing it
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    from playwright.sync_api import expect

    expect(cells).to_have_count(before + 1, timeout=timeout * 1000)
    page.keyboard.press("Enter")
    # all at once, like a paste: typed key by key, the editor's auto-indent and closing
    # brackets would change multi-line code
    editor = cells.last.locator(".cm-content")
    expect(editor).to_be_focused(timeout=timeout * 1000)
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    cell = cells.nth(before)
    expect(cell.locator(".jp-InputPrompt")).to_have_text(
        re.compile(r"^\[\d+\]:$"), timeout=timeout * 1000
    )
    wait_kernel_ready(page, timeout)
    return cell.locator(".jp-OutputArea")


def current_theme(page: Page) -> str | None:
    """The name of the theme the page shows (``document.body.dataset.jpThemeName``)."""
    name = page.evaluate("() => document.body.dataset.jpThemeName || null")
    return str(name) if name is not None else None


def set_theme(page: Page, theme: str, timeout: float = 30.0) -> None:
    """Switch JupyterLab's theme (``"JupyterLab Light"`` / ``"JupyterLab Dark"``) like the
    Settings → Theme menu does, and wait until the page shows it (JupyterLab covers the
    page with its splash screen while it swaps the theme's CSS). The choice is saved in
    the server's user settings, so later pages start with it."""
    from playwright.sync_api import expect

    if current_theme(page) != theme:
        page.evaluate(
            "t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})",
            theme,
        )
    light = "true" if "Light" in theme else "false"
    page.wait_for_function(
        """([t, light]) => document.body.dataset.jpThemeName === t
             && document.body.dataset.jpThemeLight === light""",
        arg=[theme, light],
        timeout=timeout * 1000,
        polling=100,
    )
    expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=timeout * 1000)


def collapse_side_panels(page: Page) -> None:
    """Close JupyterLab's left and right side panels (file browser, ...), so that the
    notebook gets the whole width; a no-op in Notebook 7."""
    page.evaluate(
        """() => {
          const shell = window.jupyterapp.shell;
          if (shell.collapseLeft) shell.collapseLeft();
          if (shell.collapseRight) shell.collapseRight();
        }"""
    )


def scroll_to_cell_of(locator: Locator) -> None:
    """Scroll the notebook so that the cell holding ``locator`` starts at the top."""
    locator.first.evaluate("el => el.closest('.jp-Cell').scrollIntoView({block: 'start'})")
