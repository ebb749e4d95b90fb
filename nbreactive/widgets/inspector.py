"""``app.inspector()``: the live picture of reactivity, for teaching and debugging.

Left: the live queries, each with what it read (readable index ranges, fetched
ids, SQL tables), its subscriber count and runs. Right: a timeline of recent
commits, each with the documents it wrote (and their old and new index keys) and
the live queries it invalidated; selecting a commit highlights those queries.

The data is ``app.inspect()``, refreshed by a small daemon thread after commits
(at most ten times a second) and once a second otherwise (subscriptions come and
go without commits), and only sent when it changed.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget  # type: ignore[import-untyped]
import traitlets

from nbreactive.values.model import UNDEFINED
from nbreactive.widgets.cells import format_value

if TYPE_CHECKING:
    from nbreactive.app import App

__all__ = ["InspectorWidget"]

log = logging.getLogger("nbreactive")

_STATIC = Path(__file__).resolve().parent.parent / "static"

#: Commits shown in the timeline (the engine keeps the last 200).
MAX_COMMITS = 50
MIN_INTERVAL = 0.1
IDLE_INTERVAL = 1.0


def _text(value: Any) -> str:
    return "missing" if value is UNDEFINED else format_value(value, limit=120)


class InspectorWidget(anywidget.AnyWidget):  # type: ignore[misc]
    """The widget returned by ``app.inspector()`` (see the module docstring)."""

    _esm = _STATIC / "inspector.js"
    _css = _STATIC / "inspector.css"

    subscriptions: traitlets.List[Any] = traitlets.List().tag(sync=True)
    commits: traitlets.List[Any] = traitlets.List().tag(sync=True)
    stats: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)

    def __init__(self, app: App, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._app = app
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._listener = lambda _records: self._wake.set()
        app._db.commit_listeners.append(self._listener)
        app._db.close_hooks.append(self.stop)
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="nbreactive-inspector", daemon=True)
        self._thread.start()

    def refresh(self) -> None:
        """Take a new snapshot now (sent only if something changed)."""
        insp = self._app.inspect()
        subs = [
            {
                "id": s["id"],
                "function": s["function"],
                "args": format_value(s["args"], limit=200),
                "subscribers": s["subscribers"],
                "reads": s["reads"],
                "runs": s["runs"],
                "last_run_ms": s["last_run_ms"],
                "stale": s["stale"],
                "error": s["error"],
            }
            for s in insp.subscriptions
        ]
        commits = [
            {
                "ts": str(c["ts"]),
                "time": c["time"],
                "source": c["source"],
                "num_writes": c["num_writes"],
                "whole_tables": sorted(c["whole_tables"]),
                "invalidated": c["invalidated"],
                "cache_dropped": c["cache_dropped"],
                "writes": [
                    {
                        "table": w["table"],
                        "id": str(w["id"]),
                        "op": w["op"],
                        "keys": [
                            {
                                "index": name,
                                "fields": k["fields"],
                                "old": None if k["old"] is None else [_text(x) for x in k["old"]],
                                "new": None if k["new"] is None else [_text(x) for x in k["new"]],
                            }
                            for name, k in w["keys"].items()
                        ],
                    }
                    for w in c["write_set"]
                ],
            }
            for c in insp.commits[-MAX_COMMITS:]
        ]
        stats = {k: v for k, v in insp.stats.items() if isinstance(v, int | float)}
        if subs != self.subscriptions:
            self.subscriptions = subs
        if commits != self.commits:
            self.commits = commits
        if stats != self.stats:
            self.stats = stats

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(IDLE_INTERVAL)
            if self._stop.is_set():
                return
            self._wake.clear()
            try:
                self.refresh()
            except Exception:
                log.exception("the inspector could not refresh")
            self._stop.wait(MIN_INTERVAL)

    def stop(self) -> None:
        """Stop refreshing (the widget keeps its last picture)."""
        self._stop.set()
        self._wake.set()
        try:
            self._app._db.commit_listeners.remove(self._listener)
        except ValueError:
            pass
        try:
            self._app._db.close_hooks.remove(self.stop)
        except ValueError:
            pass

    def close(self) -> None:
        self.stop()
        super().close()
