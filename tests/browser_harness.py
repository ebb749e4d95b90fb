"""Helpers for the widget tests at kernel level and in a real browser (not a test file).

The recipe behind this module is ``shared/recipes/browser-testing.md``. Three tools:

- :func:`vendor_dir`: the JavaScript an exported notebook needs (require.js and
  ``@jupyter-widgets/html-manager``'s ``embed-amd.js`` from npm, anywidget's AMD module
  from the installed anywidget wheel), fetched once with ``npm pack`` into a cache.
- :func:`render_static`: renders widgets of this process in Chromium (Playwright) from
  their embedded state, in a page served on 127.0.0.1 with local JS only. With
  ``live=True`` the page is also wired to the Python widgets over HTTP, so updates and
  custom messages flow both ways, without a kernel or JupyterLab.
- :class:`CommMirror`: a kernel started from this interpreter (repository on
  ``PYTHONPATH``, like ``tests/test_notebooks.py``) whose every iopub message is
  followed: widget state by model id, and every custom message with its buffers, also
  the ones sent while no cell runs.

The pytest fixtures around these (``browser``, ``page``, ``render_widgets``,
``comm_mirror``, ...) are in ``tests/browser_fixtures.py``.

Run ``python tests/browser_harness.py fetch-vendor`` to fill the vendor cache (CI does).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import html
import http.server
import json
import logging
import os
import queue
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Debian's chromium (``apt-get install -y chromium``); never Playwright's own download.
CHROMIUM = os.environ.get("NBR_CHROMIUM", "/usr/bin/chromium")
#: Flags known to work headless as root with no display and no outside network.
#: Playwright adds ``--headless`` and a fresh ``--user-data-dir`` itself.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

#: ``NBR_REQUIRE_BROWSER=1`` (CI) turns "browser missing" skips into failures.
REQUIRE_BROWSER_ENV = "NBR_REQUIRE_BROWSER"

#: What the static page loads from npm: (package, version, file in its tarball, name in
#: vendor/). html-manager 1.x goes with ipywidgets 8; the theme files are JupyterLab's
#: ``--jp-*`` CSS variables (``render_static(theme=...)``).
JUPYTERLAB_THEMES_VERSION = "4.6.4"
VENDOR_FILES = [
    ("@jupyter-widgets/html-manager", "1.0.15", "package/dist/embed-amd.js", "embed-amd.js"),
    ("requirejs", "2.3.7", "package/require.js", "require.js"),
    *(
        (
            f"@jupyterlab/theme-{theme}-extension",
            JUPYTERLAB_THEMES_VERSION,
            "package/style/variables.css",
            f"theme-{theme}.css",
        )
        for theme in ("light", "dark")
    ),
]

VIEW_MIME = "application/vnd.jupyter.widget-view+json"

T = TypeVar("T")


class BrowserUnavailable(Exception):
    """Chromium, Playwright or the vendor JS is missing: browser tests skip (or fail
    under ``NBR_REQUIRE_BROWSER=1``)."""


def browser_required() -> bool:
    return os.environ.get(REQUIRE_BROWSER_ENV, "") not in ("", "0")


def browser_unavailable_reason() -> str | None:
    """Why browser tests cannot run here, or None if Chromium and Playwright are present."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"Playwright for Python is not installed ({e}); pip install -e '.[test]'"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing (apt-get install -y chromium, or set NBR_CHROMIUM)"
    return None


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the current test, or fail it when ``NBR_REQUIRE_BROWSER=1``."""
    import pytest

    if browser_required():
        pytest.fail(
            f"{reason} (browser tests are required: {REQUIRE_BROWSER_ENV}=1)", pytrace=False
        )
    pytest.skip(reason)


def artifacts_dir() -> Path:
    """Where browser tests keep screenshots: ``$NBR_ARTIFACTS_DIR`` or
    ``<repo>/.cache/test-artifacts`` (git-ignored)."""
    path = Path(os.environ.get("NBR_ARTIFACTS_DIR") or REPO_ROOT / ".cache" / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a PNG of ``page`` as ``<artifacts_dir>/<name>.png`` and return its path."""
    path = artifacts_dir() / (name if name.endswith(".png") else f"{name}.png")
    page.screenshot(path=str(path), full_page=full_page)
    return path


# ---------------------------------------------------------------------- vendor JS


def vendor_cache_root() -> Path:
    """``$NBR_VENDOR_DIR`` or ``<repo>/.cache/browser-vendor`` (git-ignored)."""
    env = os.environ.get("NBR_VENDOR_DIR")
    return Path(env) if env else REPO_ROOT / ".cache" / "browser-vendor"


def _anywidget_amd() -> Path:
    try:
        import anywidget
    except ImportError as e:
        raise BrowserUnavailable(f"anywidget is not installed ({e})") from e
    path = Path(anywidget.__file__).parent / "nbextension" / "index.js"
    if not path.is_file():
        raise BrowserUnavailable(f"{path} missing: this anywidget wheel has no AMD module")
    return path


def _npm_pack(dest: Path) -> None:
    specs = [f"{name}@{version}" for name, version, _, _ in VENDOR_FILES]
    with tempfile.TemporaryDirectory(prefix="nbr-npm-pack-") as tmp:
        try:
            proc = subprocess.run(
                ["npm", "pack", "--silent", *specs],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except FileNotFoundError as e:
            raise BrowserUnavailable(f"npm is not installed, cannot fetch {specs}") from e
        if proc.returncode != 0:
            raise BrowserUnavailable(
                f"npm pack {' '.join(specs)} failed (exit {proc.returncode}):\n{proc.stderr.strip()}"
            )
        for name, version, member, target in VENDOR_FILES:
            tarball = Path(tmp) / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
            with tarfile.open(tarball) as tar:
                src = tar.extractfile(member)
                if src is None:
                    raise BrowserUnavailable(f"{member} missing from {tarball.name}")
                part = dest / f".{target}.part"
                part.write_bytes(src.read())
                part.replace(dest / target)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (concurrent first fetches just race)
        yield
        return
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def vendor_dir() -> Path:
    """A directory whose ``vendor/`` holds ``require.js``, ``embed-amd.js`` and
    ``anywidget.js`` (and JupyterLab's ``theme-light.css`` / ``theme-dark.css``). The npm
    files are fetched with one ``npm pack`` once (versions pinned in ``VENDOR_FILES``; a
    stamp file notices a version change); ``anywidget.js`` is copied from the installed
    anywidget wheel whenever it differs, so it always matches the Python side.

    Raises :class:`BrowserUnavailable` when npm or anywidget is missing.
    """
    root = vendor_cache_root()
    vendor = root / "vendor"
    vendor.mkdir(parents=True, exist_ok=True)
    stamp = vendor / ".versions"
    want = "".join(f"{name}@{version}\n" for name, version, _, _ in VENDOR_FILES)
    with _file_lock(root / ".lock"):
        have_all = all((vendor / target).is_file() for _, _, _, target in VENDOR_FILES)
        if not have_all or not stamp.is_file() or stamp.read_text() != want:
            _npm_pack(vendor)
            stamp.write_text(want)
        src = _anywidget_amd()
        target = vendor / "anywidget.js"
        if not target.is_file() or _digest(target) != _digest(src):
            shutil.copyfile(src, vendor / ".anywidget.js.part")
            (vendor / ".anywidget.js.part").replace(target)
    return root


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------- page guard (any page)


@dataclass
class PageLog:
    """What a page did that a test may not want: console errors, uncaught exceptions,
    and requests to anywhere but this machine (aborted)."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)  # every console message, for reports

    def problems(self, *, console: bool = True, external: bool = True) -> list[str]:
        out = [f"uncaught exception in the page: {e}" for e in self.page_errors]
        if console:
            out += [f"console error: {e}" for e in self.console_errors]
        if external:
            out += [f"request to the outside (aborted): {u}" for u in self.blocked]
        return out


_LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
_page_logs: weakref.WeakKeyDictionary[Any, PageLog] = weakref.WeakKeyDictionary()


def _is_local(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in _LOCAL_HOSTS


_NOT_LOCAL = re.compile(
    r"^(?!(?:https?|wss?)://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?(?:[/?#]|$))"
    r"(?!(?:data|blob|about):)"
)


def guard_page(page: Page) -> PageLog:
    """Abort (and record) every request not to 127.0.0.1/localhost, and collect console
    errors and uncaught exceptions. Idempotent: returns the page's existing log."""
    log = _page_logs.get(page)
    if log is not None:
        return log
    log = PageLog()
    _page_logs[page] = log

    def gate(route: Any) -> None:
        url = route.request.url
        if _is_local(url):
            route.continue_()
        else:
            log.blocked.append(url)
            route.abort()

    def on_console(msg: Any) -> None:
        text = f"{msg.type}: {msg.text}"
        log.console.append(text)
        if msg.type == "error":
            loc = msg.location or {}
            where = f" ({loc.get('url')}:{loc.get('lineNumber')})" if loc.get("url") else ""
            log.console_errors.append(msg.text + where)

    # Only non-local URLs are routed, by a pattern Playwright matches in the browser:
    # a routed request waits for its Python handler, and the sync API runs handlers
    # only while the test is inside a Playwright call, so routing every request would
    # stall the page's own requests while the test waits in plain Python.
    page.route(_NOT_LOCAL, gate)
    page.on("console", on_console)
    page.on("pageerror", lambda err: log.page_errors.append(str(err)))
    return log


# ----------------------------------------------------------------- static page server


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site folder, plus the live bridge's ``nbr/poll`` and ``nbr/send``."""

    bridge: _LiveBridge | None = None

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        if parts.path == "/nbr/poll":
            since = int(urllib.parse.parse_qs(parts.query).get("since", ["0"])[0])
            self._bridge_call(lambda b: b.poll(since))
        else:
            super().do_GET()

    def do_POST(self) -> None:
        if urllib.parse.urlsplit(self.path).path != "/nbr/send":
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._bridge_call(lambda b: b.receive(json.loads(body)))

    def _bridge_call(self, call: Callable[[_LiveBridge], dict[str, Any]]) -> None:
        bridge = self.bridge
        if bridge is None:
            self.send_error(404, "not a live page")
            return
        result = call(bridge)
        payload = json.dumps(result).encode()
        with contextlib.suppress(OSError):  # the page went away meanwhile
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)


class StaticServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 serving ``root``; ``close()`` stops and
    joins its thread (handler threads are daemons and end with their request)."""

    def __init__(self, root: Path, bridge: _LiveBridge | None = None) -> None:
        handler = type("Handler", (_Handler,), {"bridge": bridge})
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
        )
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._bridge = bridge
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="nbr-static-http",
            daemon=False,  # close() must stop it; the leak check catches a missing close()
        )
        self._thread.start()

    def close(self) -> None:
        try:
            if self._bridge is not None:
                self._bridge.close()
        finally:
            if self._thread.is_alive():
                self.httpd.shutdown()
                self._thread.join()
            self.httpd.server_close()


# ----------------------------------------------------------------------- live bridge


def _b64(buf: Any) -> str:
    return base64.b64encode(bytes(buf)).decode("ascii")


_BaseComm: type
try:
    from comm.base_comm import BaseComm as _BaseComm
except ImportError:  # widgets not installed: render_static raises BrowserUnavailable
    _BaseComm = object


class _BridgeComm(_BaseComm):  # type: ignore[misc]
    """A comm whose messages to the front end go into the live bridge's queue."""

    def __init__(self, bridge: _LiveBridge, **kwargs: Any) -> None:
        self._bridge = bridge  # before BaseComm.__init__, which may publish comm_open
        super().__init__(**kwargs)

    def publish_msg(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        buffers: list[Any] | None = None,
        **keys: Any,
    ) -> None:
        self._bridge.publish(self.comm_id, msg_type, data, metadata, buffers, keys)


class _ErrorRecorder(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.sink.append(self.format(record))


class _LiveBridge:
    """Connects widgets of this process to the page: their comms are swapped for
    bridge comms (and widgets created meanwhile get one), whose messages the page
    long-polls; what the page sends is handled by the widget on a server thread, like
    a kernel handles a comm message."""

    active: _LiveBridge | None = None

    def __init__(self) -> None:
        self.closed = False
        self.messages: list[dict[str, Any]] = []
        self.errors: list[str] = []  # exceptions raised by widget handlers
        self._cond = threading.Condition()
        self._comms: dict[str, Any] = {}
        self._swapped: list[tuple[Any, Any, Any]] = []  # (widget, its comm, bridge comm)
        self._parent = threading.local()
        self._recorder = _ErrorRecorder(self.errors)
        self._saved_create_comm: Any = None

    def attach(self, model_ids: Iterable[str]) -> None:
        import comm as comm_module
        from ipywidgets.widgets.widget import _instances  # type: ignore[import-untyped]

        if _LiveBridge.active is not None:
            raise RuntimeError("only one live page at a time: close the other one first")
        _LiveBridge.active = self
        manager = comm_module.get_comm_manager()
        for model_id in model_ids:
            widget = _instances[model_id]
            bridge_comm = _BridgeComm(
                self, comm_id=model_id, primary=False, target_name="jupyter.widget"
            )
            self._swapped.append((widget, widget.comm, bridge_comm))
            self._comms[model_id] = bridge_comm
            widget.comm = bridge_comm
            manager.register_comm(bridge_comm)  # so that widget.close() finds it there
        # widgets created while the page is live (from any thread) open their comm here
        self._saved_create_comm = comm_module.create_comm
        comm_module.create_comm = self._create_comm
        logging.getLogger("traitlets").addHandler(self._recorder)

    def _create_comm(self, **kwargs: Any) -> Any:
        if self.closed:
            return self._saved_create_comm(**kwargs)
        comm_ = _BridgeComm(self, **kwargs)
        self._comms[comm_.comm_id] = comm_
        return comm_

    def publish(
        self,
        comm_id: str,
        msg_type: str,
        data: dict[str, Any] | None,
        metadata: dict[str, Any] | None,
        buffers: list[Any] | None,
        keys: dict[str, Any],
    ) -> None:
        parent = getattr(self._parent, "msg_id", None)
        msg = {
            "msg_type": msg_type,
            "comm_id": comm_id,
            "data": data or {},
            "metadata": metadata or {},
            "buffers": [_b64(b) for b in buffers or ()],
            "parent_header": {"msg_id": parent} if parent else {},
            "target_name": keys.get("target_name"),
        }
        with self._cond:
            if self.closed:
                return
            msg["seq"] = len(self.messages) + 1
            self.messages.append(msg)
            self._cond.notify_all()

    def poll(self, since: int, wait: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + wait
        with self._cond:
            while len(self.messages) <= since and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return {"messages": self.messages[since:], "closed": self.closed}

    def receive(self, wire: dict[str, Any]) -> dict[str, Any]:
        comm_ = self._comms.get(wire["comm_id"])
        if comm_ is None:
            return {"ok": False, "error": f"unknown comm {wire['comm_id']}"}
        msg = {
            "header": {"msg_id": wire["msg_id"], "msg_type": "comm_msg"},
            "parent_header": {},
            "metadata": {},
            "content": {"comm_id": wire["comm_id"], "data": wire["data"]},
            "buffers": [memoryview(base64.b64decode(b)) for b in wire.get("buffers", [])],
        }
        self._parent.msg_id = wire["msg_id"]
        try:
            comm_.handle_msg(msg)
        except Exception as e:  # handle_msg's callbacks mostly log instead of raising
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            self._parent.msg_id = None
        return {"ok": True}

    def close(self) -> None:
        import comm as comm_module

        with self._cond:
            if self.closed:
                return
            self.closed = True
            self._cond.notify_all()
        if _LiveBridge.active is self:
            _LiveBridge.active = None
        if comm_module.create_comm == self._create_comm:
            comm_module.create_comm = self._saved_create_comm
        logging.getLogger("traitlets").removeHandler(self._recorder)
        for comm_ in self._comms.values():
            comm_._closed = True  # nothing to tell: the page is going away
        manager = comm_module.get_comm_manager()
        for widget, original, bridge_comm in self._swapped:
            if widget.comm is bridge_comm:  # still open: give it its own comm back
                widget.comm = original
                manager.register_comm(original)


# ----------------------------------------------------------------------- static page


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>nbreactive widget test</title>
<link rel="icon" href="data:,">
<script src="vendor/require.js"></script>
<script>require.config({{paths: {{anywidget: "vendor/anywidget"}}}});</script>
<script src="vendor/embed-amd.js"></script>
<style>body {{ margin: 0; padding: 8px; }} .nbr-view {{ margin-bottom: 8px; }}</style>
{head}
</head><body{body_attrs}>
<script type="application/json" id="nbr-config">{config}</script>
<script type="application/json" id="nbr-state">{state}</script>
{views}
<script src="bootstrap.js"></script>
</body></html>
"""


def _script_json(value: Any) -> str:
    # "</" would end the <script> element early; "<\/" is the same JSON string.
    return json.dumps(value).replace("</", "<\\/")


def _theme_css(theme: str) -> str:
    if theme not in ("light", "dark"):
        raise ValueError(f"theme must be 'light' or 'dark', not {theme!r}")
    return (vendor_dir() / "vendor" / f"theme-{theme}.css").read_text()


@dataclass
class SentMessage:
    """A comm message the front end sent (``data["method"]`` is "custom" or "update")."""

    model_id: str
    msg_id: str
    data: dict[str, Any]
    buffers: list[bytes]


def _model_id(model: Any) -> str:
    return model if isinstance(model, str) else str(model.model_id)


class StaticPage:
    """The widgets rendered by :func:`render_static`. Close it (or use it as a context
    manager) to stop its server; the ``render_widgets`` fixture does that itself."""

    def __init__(
        self,
        page: Page,
        server: StaticServer,
        model_ids: list[str],
        log: PageLog,
        bridge: _LiveBridge | None,
    ) -> None:
        self.page = page
        self.server = server
        self.url = f"{server.base_url}/index.html"
        #: model ids of the rendered views, in the order given
        self.model_ids = model_ids
        self.log = log
        self.bridge = bridge

    @property
    def blocked(self) -> list[str]:
        """Requests to anywhere but 127.0.0.1 that were aborted."""
        return self.log.blocked

    @property
    def python_errors(self) -> list[str]:
        """Live mode: exceptions raised by Python widget handlers for front-end messages."""
        return self.bridge.errors if self.bridge else []

    def view(self, index: int = 0) -> Locator:
        """The element the ``index``-th widget's view was rendered into."""
        return self.page.locator(f'.nbr-view[data-nbr-view="{index}"]')

    def deliver(
        self, model: Any, data: dict[str, Any], buffers: Sequence[bytes] = (), **extra: Any
    ) -> None:
        """Hand the page one comm message as if the kernel sent it, and wait until the
        model has processed it."""
        msg = {
            "msg_type": "comm_msg",
            "comm_id": _model_id(model),
            "data": data,
            "buffers": [_b64(b) for b in buffers],
            **extra,
        }
        self.page.evaluate("msg => window.__nbr.deliver(msg)", msg)

    def send_custom(self, model: Any, content: Any, buffers: Sequence[bytes] = ()) -> None:
        """A custom message "from the kernel" (``model.on("msg:custom", ...)`` gets it)."""
        self.deliver(model, {"method": "custom", "content": content}, buffers)

    def update(self, model: Any, state: dict[str, Any]) -> None:
        """A state update "from the kernel" (JSON values only)."""
        self.deliver(model, {"method": "update", "state": state, "buffer_paths": []})

    def sent(self, model: Any | None = None) -> list[SentMessage]:
        """What the front end sent (``model.send``, ``save_changes``), oldest first."""
        raw = self.page.evaluate("() => window.__nbr.sent")
        out = [
            SentMessage(
                m["comm_id"], m["msg_id"], m["data"], [base64.b64decode(b) for b in m["buffers"]]
            )
            for m in raw
        ]
        return out if model is None else [m for m in out if m.model_id == _model_id(model)]

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the page may be closed already
            if not self.page.is_closed():
                self.page.evaluate("() => { if (window.__nbr) window.__nbr.stopped = true; }")
                if self.bridge is not None:
                    self.bridge.close()  # answers the page's long poll with "closed"
                    # the server must outlive the page's last request, or it is reset
                    self.page.wait_for_function(
                        "() => !window.__nbr || window.__nbr.inflight === 0", timeout=5000
                    )
        self.server.close()

    def __enter__(self) -> StaticPage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def render_static(
    widgets: Any,
    page: Page,
    tmp_path: Path,
    *,
    live: bool = False,
    theme: str | None = None,
    head: str = "",
    timeout: float = 30.0,
) -> StaticPage:
    """Render ``widgets`` (one or a list) in ``page`` and return once their views are
    displayed (anywidget's ``render()`` has run).

    The page embeds the widgets' current state (``embed_data(drop_defaults=False)``, only
    these widgets and the widgets they contain) and loads only local JS from
    :func:`vendor_dir`. It is served from ``tmp_path/site`` by a server on 127.0.0.1;
    every request elsewhere is aborted and recorded (``.blocked``). Each view is rendered
    into ``<div class="nbr-view" data-nbr-view="i" data-model-id="...">``.

    - ``live=False``: no Python behind the page. What the front end sends is recorded
      (``.sent()``); the test plays the kernel with ``.send_custom()`` / ``.update()``.
    - ``live=True``: the page talks to these Python widgets over HTTP: trait changes
      and ``widget.send()`` (from any thread) reach the page, and the page's
      ``model.send()`` / ``save_changes()`` reach the widget's handlers. One live page
      at a time.
    - ``theme="light"`` / ``"dark"``: JupyterLab's theme CSS variables (``--jp-*``, from
      npm's ``@jupyterlab/theme-*-extension``), the body attributes JupyterLab sets, and
      the theme's background, text colour and font on the body.

    Raises :class:`BrowserUnavailable` if the vendor JS cannot be had, and
    ``AssertionError`` (with the page's console) if rendering fails or times out.
    """
    try:
        from ipywidgets.embed import dependency_state, embed_data  # type: ignore[import-untyped]
    except ImportError as e:
        raise BrowserUnavailable(f"ipywidgets is not installed ({e})") from e

    views = list(widgets) if isinstance(widgets, list | tuple) else [widgets]
    site = Path(tempfile.mkdtemp(prefix="site-", dir=tmp_path))
    vendor = vendor_dir() / "vendor"
    try:
        (site / "vendor").symlink_to(vendor, target_is_directory=True)
    except OSError:
        shutil.copytree(vendor, site / "vendor")
    shutil.copyfile(Path(__file__).with_name("browser_bootstrap.js"), site / "bootstrap.js")

    body_attrs = ""
    if theme is not None:
        head = f"<style>{_theme_css(theme)}</style>\n{head}"
        light = "true" if theme == "light" else "false"
        body_attrs = (
            f' data-jp-theme-light="{light}" data-jp-theme-name="JupyterLab {theme.title()}"'
            ' style="background: var(--jp-layout-color0); color: var(--jp-ui-font-color1);'
            ' font-family: var(--jp-ui-font-family);"'
        )

    bridge = _LiveBridge() if live else None
    try:
        if bridge is not None:
            # attach first, then snapshot: a change in between is queued, never lost
            bridge.attach(dependency_state(views, drop_defaults=False))
        state = dependency_state(views, drop_defaults=False)
        data = embed_data(views=views, drop_defaults=False, state=state)
        model_ids = [spec["model_id"] for spec in data["view_specs"]]
        view_divs = "\n".join(
            f'<div class="nbr-view" data-nbr-view="{i}" data-model-id="{html.escape(m)}"></div>'
            for i, m in enumerate(model_ids)
        )
        (site / "index.html").write_text(
            _PAGE.format(
                head=head,
                body_attrs=body_attrs,
                config=_script_json({"live": live}),
                state=_script_json(data["manager_state"]),
                views=view_divs,
            )
        )
        server = StaticServer(site, bridge)
    except BaseException:
        if bridge is not None:
            bridge.close()
        raise

    result = StaticPage(page, server, model_ids, guard_page(page), bridge)
    try:
        page.goto(result.url)
        page.wait_for_function(
            "() => window.__nbr && (window.__nbr.ready || window.__nbr.error !== null)",
            timeout=timeout * 1000,
        )
        error = page.evaluate("() => window.__nbr.error")
    except BaseException as e:
        result.close()
        if type(e).__name__ == "TimeoutError":
            raise AssertionError(
                f"the widgets did not render within {timeout:g} s; page log:\n"
                + "\n".join(result.log.console + result.log.page_errors)
            ) from e
        raise
    if error is not None:
        result.close()
        raise AssertionError(
            f"rendering the widgets failed: {error}\npage log:\n"
            + "\n".join(result.log.console + result.log.page_errors)
        )
    return result


# ------------------------------------------------------------------------ CommMirror


class KernelError(Exception):
    """Code run by :meth:`CommMirror.execute` raised; the message holds the traceback."""


@dataclass
class CommEvent:
    """One widget comm message seen on iopub."""

    kind: str  # "open" | "update" | "custom" | "close"
    model_id: str
    data: dict[str, Any]
    buffers: list[bytes]
    time: float  # time.monotonic() when the mirror read it
    parent_msg_id: str | None  # the request the kernel attributed it to (may be stale)
    #: JSON of the comm data plus the buffers: what this message costs on the wire,
    #: give or take the message header
    payload_bytes: int


@dataclass
class CustomMessage:
    """A custom message the kernel sent to a widget's front end (``widget.send``)."""

    content: Any
    buffers: list[bytes]
    time: float


@dataclass
class Execution:
    """The outcome of :meth:`CommMirror.execute`."""

    msg_id: str
    outputs: list[dict[str, Any]]  # iopub contents of this request, with "msg_type"
    idle_at: float  # time.monotonic() when the kernel reported idle for it
    error: dict[str, Any] | None = None

    @property
    def stdout(self) -> str:
        return "".join(o["text"] for o in self.outputs if o.get("name") == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(o["text"] for o in self.outputs if o.get("name") == "stderr")

    @property
    def model_ids(self) -> list[str]:
        """Model ids of the widgets this request displayed, in order."""
        return [
            o["data"][VIEW_MIME]["model_id"] for o in self.outputs if VIEW_MIME in o.get("data", {})
        ]


def _put_buffers(state: dict[str, Any], paths: list[list[Any]], buffers: list[bytes]) -> None:
    for path, buf in zip(paths, buffers):
        obj: Any = state
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = buf


def kernel_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the repository first on ``PYTHONPATH``."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env.update(extra or {})
    return env


class CommMirror:
    """A kernel of this interpreter, and a mirror of every widget message it sends.

    ``execute(code)`` runs code and waits for the kernel to be idle again; every iopub
    message read (by ``execute``, ``wait_for`` or ``pump``) updates:

    - ``models``: ``model_id -> state``, from ``comm_open`` and ``update``/``echo_update``
      (binary values put back in place as ``bytes``);
    - ``customs``: ``model_id -> [CustomMessage]``, custom messages with their buffers;
    - ``events``: every comm message in order (:class:`CommEvent`), with its size;
    - ``closed``: model ids whose comm was closed; ``streams``: all stdout/stderr text.

    Messages are read whatever request they are attributed to, so updates sent by a
    background thread while no cell runs are seen too. Use as a context manager, or
    call ``close()``.
    """

    def __init__(
        self,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager
        from traitlets import default

        class _ThisPythonKernelManager(KernelManager):
            @default("kernel_spec_manager")
            def _kernel_spec_manager_default(self) -> KernelSpecManager:
                # no kernel folders: "python3" is ipykernel's spec for sys.executable
                return KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True)

        self.models: dict[str, dict[str, Any]] = {}
        self.customs: dict[str, list[CustomMessage]] = {}
        self.events: list[CommEvent] = []
        self.closed: set[str] = set()
        self.streams: list[str] = []
        self.km = _ThisPythonKernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd or REPO_ROOT), env=kernel_env(env))
        try:
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=startup_timeout)
        except BaseException:
            self.km.shutdown_kernel(now=True)
            raise

    # -- reading iopub

    def _handle(self, msg: dict[str, Any]) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            self.streams.append(content["text"])
            return
        if kind not in ("comm_open", "comm_msg", "comm_close"):
            return
        model_id = content["comm_id"]
        data = content.get("data") or {}
        buffers = [bytes(b) for b in msg.get("buffers") or ()]
        parent = msg.get("parent_header", {}).get("msg_id")
        size = len(json.dumps(data, default=str)) + sum(len(b) for b in buffers)
        event_kind = ""
        if kind == "comm_open":
            if content.get("target_name") != "jupyter.widget":
                return
            state = dict(data.get("state", {}))
            _put_buffers(state, data.get("buffer_paths", []), buffers)
            self.models[model_id] = state
            event_kind = "open"
        elif kind == "comm_msg":
            method = data.get("method")
            if method in ("update", "echo_update"):
                state = dict(data.get("state", {}))
                _put_buffers(state, data.get("buffer_paths", []), buffers)
                self.models.setdefault(model_id, {}).update(state)
                event_kind = "update"
            elif method == "custom":
                now = time.monotonic()
                self.customs.setdefault(model_id, []).append(
                    CustomMessage(data.get("content"), buffers, now)
                )
                event_kind = "custom"
            else:
                return
        else:
            if model_id not in self.models:
                return
            self.closed.add(model_id)
            event_kind = "close"
        self.events.append(
            CommEvent(event_kind, model_id, data, buffers, time.monotonic(), parent, size)
        )

    def _next(self, timeout: float) -> dict[str, Any] | None:
        try:
            msg = self.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return None
        self._handle(msg)
        return msg

    def pump(self, timeout: float = 0.05) -> int:
        """Read what iopub has now (waiting at most ``timeout`` for the first message);
        return how many messages were read."""
        n = 0
        while self._next(timeout if n == 0 else 0.001) is not None:
            n += 1
        return n

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
        """Read iopub until ``predicate()`` returns something truthy, and return that.

        ``KeyError``/``IndexError`` in the predicate count as "not yet", so
        ``lambda: m.customs[mid][0]`` works. Raises ``TimeoutError`` with what the
        mirror holds, and the kernel's stderr, after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            value: T | None
            try:
                value = predicate()
            except (KeyError, IndexError):
                value = None
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._next(min(left, 0.05))
        stderr = "".join(self.streams)[-2000:]
        raise TimeoutError(
            f"waited {timeout:g} s for {what or 'the predicate'}; models: "
            f"{json.dumps({k: _brief(v) for k, v in self.models.items()}, default=str)[:2000]}; "
            f"custom messages: { {k: len(v) for k, v in self.customs.items()} }"
            + (f"\nkernel output:\n{stderr}" if stderr else "")
        )

    def _wait_idle(self, msg_id: str, timeout: float, outputs: list[dict[str, Any]]) -> float:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the kernel did not finish request {msg_id} in {timeout:g} s")
            msg = self._next(min(left, 0.5))
            if msg is None or msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                return time.monotonic()
            if kind in ("stream", "display_data", "execute_result", "error", "update_display_data"):
                outputs.append({"msg_type": kind, **msg["content"]})

    # -- talking to the kernel

    def execute(self, code: str, timeout: float = 60.0, allow_error: bool = False,
                cell_id: str | None = None) -> Execution:
        """Run ``code``; return once the kernel reported idle for it. Raises
        :class:`KernelError` if it raised (unless ``allow_error``). ``cell_id``: sent as
        the request's ``cellId`` metadata, as JupyterLab does for the cell it runs."""
        # not kc.execute_interactive(): it would consume the iopub messages itself
        if cell_id is None:
            msg_id = self.kc.execute(code, store_history=False)
        else:
            content = {"code": code, "silent": False, "store_history": False,
                       "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}
            request = self.kc.session.msg("execute_request", content, metadata={"cellId": cell_id})
            self.kc.shell_channel.send(request)
            msg_id = str(request["header"]["msg_id"])
        outputs: list[dict[str, Any]] = []
        idle_at = self._wait_idle(msg_id, timeout, outputs)
        with contextlib.suppress(queue.Empty):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                reply = self.kc.get_shell_msg(timeout=max(0.01, deadline - time.monotonic()))
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    break
        errors = [o for o in outputs if o["msg_type"] == "error"]
        result = Execution(msg_id, outputs, idle_at, errors[0] if errors else None)
        if result.error and not allow_error:
            raise KernelError(
                f"{result.error['ename']}: {result.error['evalue']}\n"
                + "\n".join(result.error.get("traceback", []))
            )
        return result

    def send_to_kernel(
        self,
        model: str,
        data: dict[str, Any],
        buffers: Sequence[bytes] = (),
        wait: bool = True,
        timeout: float = 30.0,
    ) -> str:
        """Send a comm message to widget ``model`` as a front end would; with ``wait``,
        return once the kernel handled it (idle). Returns the message id."""
        msg = self.kc.session.msg("comm_msg", {"comm_id": model, "data": data})
        self.kc.session.send(self.kc.shell_channel.socket, msg, buffers=list(buffers))
        msg_id = str(msg["header"]["msg_id"])
        if wait:
            self._wait_idle(msg_id, timeout, [])
        return msg_id

    def send_custom(self, model: str, content: Any, buffers: Sequence[bytes] = ()) -> str:
        """``model.send(content, buffers)`` from a front end."""
        return self.send_to_kernel(model, {"method": "custom", "content": content}, buffers)

    def send_update(self, model: str, state: dict[str, Any]) -> str:
        """A front end's ``model.set(...); model.save_changes()`` (JSON values)."""
        return self.send_to_kernel(model, {"method": "update", "state": state, "buffer_paths": []})

    # -- looking things up

    def find(self, **match: Any) -> list[str]:
        """Model ids whose state has all of ``match`` (e.g. ``_model_name="AnyModel"``)."""
        return [
            mid
            for mid, state in self.models.items()
            if all(state.get(k) == v for k, v in match.items())
        ]

    def events_for(
        self, model: str, kind: str | None = None, after: float = 0.0
    ) -> list[CommEvent]:
        return [
            e
            for e in self.events
            if e.model_id == model and (kind is None or e.kind == kind) and e.time > after
        ]

    # -- lifetime

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def __enter__(self) -> CommMirror:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _brief(state: dict[str, Any]) -> dict[str, Any]:
    """State without the bulky ``_esm``/``_css`` and with bytes as their length."""
    return {
        k: (f"<{len(v)} bytes>" if isinstance(v, bytes) else v)
        for k, v in state.items()
        if k not in ("_esm", "_css")
    }


# --------------------------------------------------------------------------- CLI


def main(argv: list[str]) -> int:
    if argv[1:] == ["fetch-vendor"]:
        try:
            root = vendor_dir()
        except BrowserUnavailable as e:
            print(f"fetch-vendor: {e}", file=sys.stderr)
            return 1
        for path in sorted(p for p in (root / "vendor").iterdir() if p.suffix in (".js", ".css")):
            print(f"    {path} ({path.stat().st_size:,} bytes)")
        return 0
    print(f"usage: {argv[0]} fetch-vendor", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
