"""Live cells: notebook code that re-runs, replacing its output, when data it read changes.

``%load_ext nbreactive`` registers the ``%%live`` cell magic::

    %%live
    msgs = app.run_query(list_messages, {"channel": "general"})
    print(len(msgs), "messages")
    pd.DataFrame(msgs)          # the last expression is displayed, as in any cell

and ``nr.live_cell`` is the same for a function (``@nr.live_cell`` displays it at
once). While the block runs, every query it runs (through any App, cached or not)
and every ``app.sql`` statement and ``app.count`` add their read sets to the block's; a commit that
touches them schedules a re-run on the kernel's own event loop, so the block runs
on the kernel's main thread between cells, exactly like a cell (printing,
``display``, DataFrames, matplotlib figures), and its output widget is replaced.
An error shows as the output, and the block recovers when the data does.

Running a notebook cell again stops the live blocks its previous run started (with
the extension loaded, when the front end sends the cell's id, as JupyterLab and
VS Code do): an edited ``%%live`` cell replaces its block instead of adding a second
one that keeps re-running the old code.
"""

from __future__ import annotations

import ast
import asyncio
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

import ipywidgets  # type: ignore[import-untyped]

from nbreactive.reactive.engine import Reactor, ReadWatcher
from nbreactive.reactive.tracking import track_reads

__all__ = ["LiveCell", "adopt", "cell_finished", "cell_started", "live_cell", "run_code"]

#: The id of the notebook cell running now (None between cells, or when the front
#: end sends none), and the live blocks each cell's last run started.
_current_cell: list[str | None] = [None]
_by_cell: dict[str, list[LiveCell]] = {}
_by_cell_lock = threading.Lock()


def cell_started(info: Any) -> None:
    """IPython's ``pre_run_cell`` event: a cell runs (again), so the live blocks its
    previous run started stop."""
    cell_id = getattr(info, "cell_id", None)
    cell_id = cell_id if isinstance(cell_id, str) and cell_id else None
    _current_cell[0] = cell_id
    if cell_id is None:
        return
    with _by_cell_lock:
        old = _by_cell.pop(cell_id, [])
    for cell in old:
        cell.stop()


def cell_finished(_result: Any = None) -> None:
    """IPython's ``post_run_cell`` event."""
    _current_cell[0] = None


def adopt(cell: LiveCell) -> None:
    """Tie ``cell`` to the notebook cell running now (if its id is known)."""
    cell_id = _current_cell[0]
    if cell_id is not None:
        with _by_cell_lock:
            _by_cell.setdefault(cell_id, []).append(cell)


def run_code(code: str, namespace: dict[str, Any], filename: str = "<live cell>") -> Any:
    """Run ``code`` like a notebook cell: statements, then the value of a final expression."""
    tree = ast.parse(code, filename=filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        final = tree.body.pop()
        assert isinstance(final, ast.Expr)
        last = ast.Expression(final.value)
    exec(compile(tree, filename, "exec"), namespace)
    if last is not None:
        return eval(compile(last, filename, "eval"), namespace)
    return None


class LiveCell:
    """A block of code whose output stays current (see the module docstring).

    ``.output`` is the ipywidgets ``Output`` showing it; ``.runs`` counts runs;
    ``.stop()`` ends it (its output stays as it is).
    """

    def __init__(self, body: Callable[[], Any], *, label: str = "live cell") -> None:
        self._body = body
        self.label = label
        self.output = ipywidgets.Output()
        self.runs = 0
        self.error: BaseException | None = None
        self._watchers: dict[Reactor, ReadWatcher] = {}
        self._lock = threading.Lock()
        self._pending = False
        self._stopped = False
        self._loop = _kernel_loop()
        self.run()

    # -- running ----------------------------------------------------------------------

    def run(self) -> None:
        """Run the block now (on this thread), replace the output, and watch what it read."""
        with track_reads() as reads:
            outputs = self._capture()
        self.runs += 1
        merged = reads.merged()
        with self._lock:
            if self._stopped:
                return
            for reactor, rs in merged.items():
                # ``since``: a commit that landed after the block read, before this
                # watch, re-runs it too.
                since = reads.since.get(reactor)
                watcher = self._watchers.get(reactor)
                if watcher is None:
                    self._watchers[reactor] = reactor.watch_reads(rs, self._invalidated, since)
                else:
                    watcher.update(rs, since)
            for reactor in [r for r in self._watchers if r not in merged]:
                self._watchers.pop(reactor).close()
        self.output.outputs = tuple(outputs)

    def _capture(self) -> list[dict[str, Any]]:
        from IPython.display import display
        from IPython.utils.capture import capture_output

        error_output = None
        with capture_output() as cap:
            try:
                value = self._body()
                if value is not None:
                    display(value)
                _show_figures(display)
                self.error = None
            except Exception as e:
                self.error = e
                tb = traceback.format_exception(type(e), e, e.__traceback__)
                error_output = {
                    "output_type": "error",
                    "ename": type(e).__name__,
                    "evalue": str(e),
                    "traceback": [line.rstrip("\n") for line in tb],
                }
        outputs: list[dict[str, Any]] = []
        if cap.stdout:
            outputs.append({"output_type": "stream", "name": "stdout", "text": cap.stdout})
        if cap.stderr:
            outputs.append({"output_type": "stream", "name": "stderr", "text": cap.stderr})
        for out in cap.outputs:
            outputs.append({"output_type": "display_data", "data": out.data, "metadata": out.metadata})
        if error_output is not None:
            outputs.append(error_output)
        return outputs

    def _invalidated(self) -> None:
        """A commit touched what the block read (engine thread): re-run it on the kernel's
        loop, once however many commits arrive meanwhile."""
        with self._lock:
            if self._pending or self._stopped:
                return
            self._pending = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._rerun)
        else:  # no kernel loop (a plain script): re-run here
            self._rerun()

    def _rerun(self) -> None:
        with self._lock:
            self._pending = False
            if self._stopped:
                return
        self.run()

    def stop(self) -> None:
        """Stop re-running (the last output stays)."""
        with self._lock:
            self._stopped = True
            watchers, self._watchers = self._watchers, {}
        for w in watchers.values():
            w.close()

    @property
    def stopped(self) -> bool:
        """Whether the block stopped re-running (``stop()``, or its cell ran again)."""
        return self._stopped

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.output)

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "live"
        return f"<nbreactive.LiveCell {self.label} {state}, {self.runs} runs>"


def live_cell(fn: Callable[[], Any]) -> LiveCell:
    """Decorator: run ``fn`` as a live cell and display it (inside IPython).

    Example::

        @nr.live_cell
        def dashboard():
            print(app.run_query(total, {}))
    """
    cell = LiveCell(fn, label=getattr(fn, "__name__", "live cell"))
    adopt(cell)
    if _in_ipython():
        from IPython.display import display

        display(cell)
    return cell


def _show_figures(display: Callable[..., Any]) -> None:
    """Display and close the matplotlib figures the block made (the inline backend
    only does that after a real cell)."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    for num in plt.get_fignums():
        display(plt.figure(num))
    plt.close("all")


def _kernel_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    if _in_ipython():
        try:
            return asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            return None
    return None


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None
