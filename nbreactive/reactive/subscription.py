"""``Subscription``: one consumer's handle on a live query (``app.subscribe``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbreactive.values.copies import copy_value

if TYPE_CHECKING:
    from nbreactive.reactive.engine import QueryEntry, Reactor

__all__ = ["Subscription"]

log = logging.getLogger("nbreactive")

Callback = Callable[[Any], Any]

#: Longest ``Subscription.value`` waits for a pending re-run before it returns the
#: previous result (with a warning).
FRESH_WAIT = 10.0


class Subscription:
    """A live query: its current result, and callbacks for every change.

    Made by ``app.subscribe(ref, args)`` (or ``app.watch``). Subscriptions to the
    same (function, args, identity) share one execution. After a commit that
    changes the result, every affected subscription takes its new value first;
    then the callbacks run, on nbreactive's reactivity thread, so a callback that
    reads several subscriptions sees one snapshot. A re-run whose result did not
    change calls nothing. Under a burst of commits intermediate results may be
    skipped; the last one is always delivered, and results never go backwards.

    Example::

        sub = app.subscribe(list_messages, {"channel": "general"})
        sub.value                       # the current result (a copy)
        sub.on_change(lambda msgs: print(len(msgs), "messages"))
        ...
        sub.unsubscribe()
    """

    def __init__(self, reactor: Reactor, entry: QueryEntry) -> None:
        self._reactor = reactor
        self._entry = entry
        self._delivered = entry.version
        self._callbacks: list[_Callback] = []
        self._lock = threading.Lock()
        # Callbacks of one subscription run one at a time, each never seeing an older
        # result after a newer one (the engine's delivery and a watch's catch-up race).
        self._calls = threading.RLock()
        self.active = True

    # -- the current result ------------------------------------------------------

    @property
    def value(self) -> Any:
        """The query's current result (a copy you may change).

        It reflects every commit acknowledged before the read: right after a
        mutation returns, ``value`` waits for the query's re-run if that commit
        touched it, so a thread always reads its own writes. Inside callbacks (the
        reactivity thread), and inside a query or mutation (which holds the locks a
        re-run needs), it is the current result, without waiting.
        Raises the query's error if its latest run failed (see ``error``). Results
        change between reads as commits arrive: to read several subscriptions at one
        snapshot, read them inside an ``on_change`` callback.
        """
        entry = self._entry
        if entry.stale and self.active and not self._reactor.wait_fresh(entry, FRESH_WAIT):
            log.warning(
                "%s: the re-run after the latest commit took over %.0f s (a callback holding "
                "the reactivity thread?); returning the previous result", self.function, FRESH_WAIT,
            )
        error = entry.error
        if error is not None:
            raise error.with_traceback(entry.error_tb)
        return entry.copy(entry.value)

    @property
    def error(self) -> BaseException | None:
        """The exception of the latest run, or None if it succeeded."""
        return self._entry.error

    @property
    def function(self) -> str:
        """The path of the subscribed query."""
        return self._entry.fn.path

    @property
    def args(self) -> dict[str, Any]:
        """The (validated) arguments of the subscribed query (a copy)."""
        return copy_value(self._entry.args)  # type: ignore[no-any-return]

    @property
    def ts(self) -> int:
        """The commit timestamp (ns) of the snapshot the current result was computed at."""
        return self._entry.ts

    # -- callbacks ---------------------------------------------------------------

    def on_change(self, callback: Callback, on_error: Callback | None = None) -> Callback:
        """Call ``callback(new_value)`` whenever the result changes; returns ``callback``
        (so it works as a decorator).

        ``on_error(exception)`` is called when a re-run fails (the subscription
        stays live and recovers when the data does); without it, failures are
        logged. Callbacks run on nbreactive's reactivity thread; an exception in
        one is logged and affects nothing else.
        """
        if not callable(callback):
            raise TypeError(f"on_change expects a callable, got {callback!r}")
        if on_error is not None and not callable(on_error):
            raise TypeError(f"on_error expects a callable, got {on_error!r}")
        with self._lock:
            self._callbacks.append(_Callback(callback, on_error, False, self._entry.version))
        return callback

    def _watch(self, callback: Callback, on_error: Callback | None, *, share: bool = False) -> None:
        """``app.watch``: call ``callback`` with the current value now (on the caller's
        thread), then with every newer one. ``share``: hand it the engine's own result,
        not a copy (nbreactive's widgets only, which never change what they get)."""
        cb = _Callback(callback, on_error, share, -1)
        with self._calls:
            self._run(cb)
            with self._lock:
                self._callbacks.append(cb)
            self._run(cb)  # a change delivered while it was not registered yet
        error = self._entry.error
        if error is not None and on_error is None:  # failing from the start: say so
            log.warning("live query %s failed: %s: %s", self.function, type(error).__name__, error)

    def _run(self, cb: _Callback) -> None:
        """Call ``cb`` with the entry's current outcome unless it has seen it or the
        subscription ended meanwhile (an earlier callback was running when
        ``unsubscribe()`` returned) (under ``_calls``)."""
        entry = self._entry
        with self._lock:
            version, error, value = entry.version, entry.error, entry.value
        if version <= cb.seen or not self.active:
            return
        cb.seen = version
        if error is None:
            _call(cb.on_value, value if cb.share else entry.copy(value))
        elif cb.on_error is not None:
            _call(cb.on_error, error)

    def unsubscribe(self) -> None:
        """Stop receiving changes. Idempotent. The query stops re-running when its
        last subscription goes (its result may stay cached)."""
        if self.active:
            self.active = False
            self._reactor.detach(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unsubscribe()

    def __repr__(self) -> str:
        state = "active" if self.active else "unsubscribed"
        if self._entry.error is not None:
            state += f", failing: {type(self._entry.error).__name__}"
        return f"<nbreactive.Subscription {self.function}({self._entry.args!r}) {state}>"

    # -- delivery (reactivity thread) ----------------------------------------------

    def _deliver(self) -> None:
        """Run the callbacks if the entry moved past what this subscription saw."""
        entry = self._entry
        with self._lock:
            if not self.active or self._delivered >= entry.version:
                return
            self._delivered = entry.version
            callbacks = list(self._callbacks)
            error = entry.error
        if error is not None and callbacks and all(cb.on_error is None for cb in callbacks):
            log.warning("live query %s failed: %s: %s", self.function, type(error).__name__, error)
        with self._calls:
            for cb in callbacks:
                self._run(cb)


@dataclass(eq=False)
class _Callback:
    on_value: Callback
    on_error: Callback | None
    share: bool
    seen: int  # the entry version it was last called for


def _call(cb: Callback, arg: Any) -> None:
    try:
        cb(arg)
    except BaseException:  # even SystemExit: it would end the engine thread
        log.exception("a subscription callback failed: %r", cb)
