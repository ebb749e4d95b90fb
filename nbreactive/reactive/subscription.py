"""``Subscription``: one consumer's handle on a live query (``app.subscribe``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbreactive.values.model import copy_value

if TYPE_CHECKING:
    from nbreactive.reactive.engine import QueryEntry, Reactor

__all__ = ["Subscription"]

log = logging.getLogger("nbreactive")

Callback = Callable[[Any], Any]


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
        self._callbacks: list[Callback] = []
        self._error_callbacks: list[Callback] = []
        self._lock = threading.Lock()
        self.active = True
        #: Hand callbacks the engine's own result instead of a copy: only for
        #: nbreactive's widgets, which never change what they are given.
        self._share = False

    # -- the current result ------------------------------------------------------

    @property
    def value(self) -> Any:
        """The query's current result (a copy you may change).

        Raises the query's error if its latest run failed (see ``error``). Results
        change between reads as commits arrive: to read several subscriptions at one
        snapshot, read them inside an ``on_change`` callback.
        """
        entry = self._entry
        error = entry.error
        if error is not None:
            raise error.with_traceback(entry.error_tb)
        return copy_value(entry.value)

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
            self._callbacks.append(callback)
            if on_error is not None:
                self._error_callbacks.append(on_error)
        return callback

    def _watch(self, callback: Callback, on_error: Callback | None) -> None:
        """``app.watch``: call ``callback`` with the current value now (on the caller's
        thread), then register it, catching up if a change slipped in between."""
        entry = self._entry
        with self._lock:
            # The value handed over now counts as delivered: the engine will not repeat it.
            seen = self._delivered = max(self._delivered, entry.version)
            error, value = entry.error, entry.value
        copy = _same if self._share else copy_value
        if error is None:
            callback(copy(value))
        elif on_error is not None:
            on_error(error)
        with self._lock:
            self._callbacks.append(callback)
            if on_error is not None:
                self._error_callbacks.append(on_error)
            # The engine delivered a newer result while there was no callback yet.
            missed = self._delivered > seen
            error, value = entry.error, entry.value
        if missed:
            if error is None:
                _call(callback, copy(value))
            elif on_error is not None:
                _call(on_error, error)

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
            error_callbacks = list(self._error_callbacks)
            error, value = entry.error, entry.value
        if error is not None:
            if not error_callbacks and callbacks:
                log.warning("live query %s failed: %s: %s", self.function, type(error).__name__, error)
            for cb in error_callbacks:
                _call(cb, error)
            return
        copy = _same if self._share else copy_value
        for cb in callbacks:
            _call(cb, copy(value))


def _same(value: Any) -> Any:
    return value


def _call(cb: Callback, arg: Any) -> None:
    try:
        cb(arg)
    except BaseException:  # even SystemExit: it would end the engine thread
        log.exception("a subscription callback failed: %r", cb)
