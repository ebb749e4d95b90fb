"""Where actions run: never on the notebook's cell thread, and never for ever.

- ``async def`` actions run on the app's own event loop, on a thread of its own
  (started on first use), so ``await`` on network I/O works from a notebook
  whose own loop is busy running the cell.
- Plain ``def`` actions run in a bounded pool of worker threads (``workers``),
  so a burst of scheduled actions cannot start a thread each. An action called
  from inside an action (``ctx.run_action``, at any depth, through ``async``
  ones too) runs on the caller's thread: waiting for a free worker there could
  wait for ever.
- ``timeout`` seconds (``App(action_timeout=...)``; None: no limit) bounds
  every action from the moment it starts (time spent waiting for a free worker
  is bounded separately, by the same amount): the caller gets
  ``ActionTimeoutError``. An ``async`` action is cancelled at its next
  ``await``; a thread cannot be stopped in Python, so a plain ``def`` action
  keeps its worker until it returns (its result is dropped).
- The threads are daemons, and ``close()`` cancels the ``async`` actions still
  running: a hung action never keeps the process from exiting.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from nbreactive.errors import ActionTimeoutError

__all__ = ["ActionRuntime", "DaemonPool", "in_action"]

# True in the context of a running action (its thread, its task, the threads its
# ctx.run_* calls run on): a nested plain action runs inline.
_in_action: contextvars.ContextVar[bool] = contextvars.ContextVar("nbreactive_in_action", default=False)


def in_action() -> bool:
    """Whether the caller runs inside an action."""
    return _in_action.get()


class DaemonPool:
    """A fixed pool of daemon threads (``ThreadPoolExecutor``'s threads are joined at
    interpreter exit, so one hung task would keep the process alive)."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the {self.name} pool is closed")
            if not self._threads:
                for i in range(self.size):
                    t = threading.Thread(target=self._work, name=f"{self.name}-{i}", daemon=True)
                    t.start()
                    self._threads.append(t)
        self._queue.put((future, fn, args))
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as e:
                future.set_exception(e)

    def close(self) -> None:
        """Stop taking work; idle threads end, busy ones after their task."""
        with self._lock:
            self._closed = True
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)


class ActionRuntime:
    """Runs action handlers for one app (see the module docstring)."""

    def __init__(self, *, timeout: float | None, workers: int = 8) -> None:
        self.timeout = timeout
        self.workers = workers
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._pool: DaemonPool | None = None

    def run(self, path: str, handler: Callable[..., Any], ctx: Any, args: dict[str, Any],
            *, is_async: bool) -> Any:
        """Run ``handler(ctx, **args)`` to completion; blocks the calling thread."""
        if is_async:
            future = asyncio.run_coroutine_threadsafe(
                _bounded(handler(ctx, **args), self.timeout), self.loop())
            try:
                return future.result()
            except _Timeout:
                raise self._timed_out(path, "it was cancelled") from None
        if _in_action.get():
            return handler(ctx, **args)
        started: list[float] = []

        def body() -> Any:
            started.append(time.monotonic())
            token = _in_action.set(True)
            try:
                return handler(ctx, **args)
            finally:
                _in_action.reset(token)

        job = self._workers().submit(body)
        if self.timeout is None:
            return job.result()
        try:
            return job.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            pass
        if not started and job.cancel():
            raise ActionTimeoutError(
                f"action {path} could not start within {self.timeout:g} s: all {self.workers} "
                "action threads were busy. Make long actions async, or raise "
                "nr.App(action_timeout=...)."
            ) from None
        left = self.timeout - (time.monotonic() - started[0]) if started else self.timeout
        try:
            return job.result(timeout=max(0.0, left))
        except concurrent.futures.TimeoutError:
            raise self._timed_out(
                path, "its thread keeps running until the function returns (Python cannot stop "
                "a thread); its result will be dropped") from None

    def _timed_out(self, path: str, what: str) -> ActionTimeoutError:
        return ActionTimeoutError(
            f"action {path} did not finish within {self.timeout:g} s and was given up: {what}. "
            "Raise the limit with nr.App(action_timeout=...) (None: no limit), or split the work."
        )

    def loop(self) -> asyncio.AbstractEventLoop:
        """The app's own event loop for ``async def`` actions (never the notebook's)."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    ready.set()
                    loop.run_forever()

                t = threading.Thread(target=run, name="nbreactive-actions", daemon=True)
                t.start()
                if not ready.wait(10):
                    raise RuntimeError("the actions' event loop thread did not start")
                self._loop, self._loop_thread = loop, t
            return self._loop

    def _workers(self) -> DaemonPool:
        with self._lock:
            if self._pool is None:
                self._pool = DaemonPool(self.workers, "nbreactive-action")
            return self._pool

    def close(self) -> None:
        """Cancel the ``async`` actions still running (their callers get
        ``CancelledError``), stop the loop and the pool. Idempotent."""
        with self._lock:
            loop, thread, pool = self._loop, self._loop_thread, self._pool
            self._loop = self._loop_thread = self._pool = None
        if loop is not None:
            async def cancel_all() -> None:
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for t in tasks:
                    t.cancel()
                await asyncio.wait(tasks, timeout=5) if tasks else None

            try:
                asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout=10)
            except Exception:
                pass  # a task that ignores cancellation: the loop stops anyway
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=10)
            if not loop.is_running():
                loop.close()
        if pool is not None:
            pool.close()


class _Timeout(Exception):
    pass


async def _bounded(coro: Any, timeout: float | None) -> Any:
    _in_action.set(True)  # this task's own context
    if timeout is None:
        return await coro
    scope = asyncio.timeout(timeout)
    try:
        async with scope:
            return await coro
    except TimeoutError:
        if scope.expired():  # ours, not a TimeoutError the action itself raised
            raise _Timeout() from None
        raise
