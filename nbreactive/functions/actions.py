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
from typing import Any, TypeVar

from nbreactive.errors import ActionTimeoutError, FunctionError

__all__ = ["ActionRuntime", "DaemonPool", "in_action", "run_in_thread"]

T = TypeVar("T")

IO_THREADS = 64  # threads for ctx.run_* calls of async actions (shared by all apps)
MAX_OWN_THREADS = 32  # scheduled plain actions running at once, timed-out ones included
CANCEL_GRACE = 10.0  # seconds a timed-out async action gets to stop after its cancellation

# True in the context of a running action (its thread, its task, the threads its
# ctx.run_* calls run on): a nested plain action runs inline.
_in_action: contextvars.ContextVar[bool] = contextvars.ContextVar("nbreactive_in_action", default=False)


# The threads ``ctx.run_*`` of async actions run on (set in each action's task, to its
# app's pool): daemons (a hung call must not keep the process alive at exit), and many
# (nested calls each hold one while they wait).
_io_pool: contextvars.ContextVar[DaemonPool | None] = contextvars.ContextVar("nbreactive_io_pool", default=None)


def in_action() -> bool:
    """Whether the caller runs inside an action."""
    return _in_action.get()


def run_in_thread(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """Start ``fn(*args)`` on a thread, now, from an ``async`` action; returns a future to
    await. The thread runs in the action's context (so nbreactive knows it is inside an
    action), and the call happens even if the future is never awaited."""
    pool = _io_pool.get()
    if pool is None:
        raise FunctionError("ctx.run_* of an async action can only be awaited inside that action")
    ctx = contextvars.copy_context()
    return asyncio.get_running_loop().run_in_executor(pool, ctx.run, fn, *args)


class DaemonPool(concurrent.futures.Executor):
    """A fixed pool of daemon threads (``ThreadPoolExecutor``'s threads are joined at
    interpreter exit, so one hung task would keep the process alive). Also the
    default executor of the actions' event loop (``ctx.run_*`` in ``async`` actions)."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:  # the put too: close() must not slip its sentinels in before it
            if self._closed:
                raise RuntimeError(f"the {self.name} pool is closed (the App was closed)")
            if not self._threads:
                for i in range(self.size):
                    t = threading.Thread(target=self._work, name=f"{self.name}-{i}", daemon=True)
                    t.start()
                    self._threads.append(t)
            self._queue.put((future, fn, args, kwargs))
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as e:
                    future.set_exception(e)
            # An idle thread must not keep its last task alive (an App, its database):
            # at interpreter exit daemon threads are frozen with whatever they hold.
            del item, future, fn, args, kwargs

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work; queued tasks are cancelled; running ones finish (never
        waited for: the threads are daemons)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads, self._threads = self._threads, []
            queued = []
            while True:
                try:
                    queued.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for _ in threads:
                self._queue.put(None)
        for item in queued:
            if item is not None and item[0].set_running_or_notify_cancel():
                item[0].set_exception(FunctionError("the App was closed before this call could start"))

    def close(self) -> None:
        self.shutdown(wait=False)


class ActionRuntime:
    """Runs action handlers for one app (see the module docstring)."""

    def __init__(self, *, timeout: float | None, workers: int = 8) -> None:
        self.timeout = timeout
        self.workers = workers
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._pool: DaemonPool | None = None
        self._io = DaemonPool(IO_THREADS, "nbreactive-action-io")  # threads start on first use
        self._closed = False
        self._own_threads = 0  # plain actions on threads of their own still running

    def run(self, path: str, handler: Callable[..., Any], ctx: Any, args: dict[str, Any],
            *, is_async: bool, own_thread: bool = False) -> Any:
        """Run ``handler(ctx, **args)`` to completion; blocks the calling thread.

        ``own_thread``: a plain action runs on a thread of its own instead of the pool
        (the scheduler's job threads, already bounded, use it: a job claimed to run must
        not then wait for a free worker)."""
        if self._closed:
            raise FunctionError(f"cannot run action {path}: the App is closed")
        if self._loop_thread is not None and threading.current_thread() is self._loop_thread:
            raise FunctionError(
                f"action {path} was called in a way that blocks the actions' event loop: inside "
                "an async action, use `await ctx.run_action(...)` (not app.run_action or a "
                "direct call)"
            )
        if is_async:
            future = asyncio.run_coroutine_threadsafe(
                _bounded(handler(ctx, **args), self.timeout, self._io), self.loop())
            try:
                return future.result(None if self.timeout is None else self.timeout + CANCEL_GRACE)
            except _Timeout:
                raise self._timed_out(path, "it was cancelled") from None
            except concurrent.futures.TimeoutError:
                if not future.done():  # it ignored its cancellation
                    future.cancel()
                    raise self._timed_out(path, "it did not stop when cancelled") from None
                raise  # the action's own TimeoutError
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

        job = self._own_thread(body, path) if own_thread else self._workers().submit(body)
        if self.timeout is None:
            return job.result()
        concurrent.futures.wait([job], timeout=self.timeout)
        if not job.done() and not started and job.cancel():
            raise ActionTimeoutError(
                f"action {path} could not start within {self.timeout:g} s: all {self.workers} "
                "action threads were busy. Make long actions async, or raise "
                "nr.App(action_timeout=...)."
            )
        if not job.done():
            left = self.timeout - (time.monotonic() - started[0]) if started else self.timeout
            concurrent.futures.wait([job], timeout=max(0.0, left))
        if not job.done():
            raise self._timed_out(
                path, "its thread keeps running until the function returns (Python cannot stop "
                "a thread); its result will be dropped")
        return job.result()  # its value, or the action's own exception (a TimeoutError too)

    def _own_thread(self, body: Callable[[], Any], path: str) -> concurrent.futures.Future[Any]:
        """Run ``body`` on a new daemon thread; at most ``MAX_OWN_THREADS`` at a time (a
        plain action that timed out keeps its thread until it returns)."""
        with self._lock:
            if self._own_threads >= MAX_OWN_THREADS:
                raise FunctionError(
                    f"action {path} cannot start: {self._own_threads} earlier scheduled actions are "
                    "still running (some timed out but cannot be stopped); make them return"
                )
            self._own_threads += 1
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()

        def run() -> None:
            try:
                future.set_result(body())
            except BaseException as e:
                future.set_exception(e)
            finally:
                with self._lock:
                    self._own_threads -= 1

        threading.Thread(target=run, name=f"nbreactive-action {path}", daemon=True).start()
        return future

    async def run_nested(self, path: str, handler: Callable[..., Any], ctx: Any, args: dict[str, Any]) -> Any:
        """An ``async`` action called from an ``async`` action: awaited on the same loop
        (a thread blocked waiting for it could starve the loop's executor)."""
        try:
            return await _bounded(handler(ctx, **args), self.timeout, self._io)
        except _Timeout:
            raise self._timed_out(path, "it was cancelled") from None

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
            self._closed = True
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
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=10)
            if not loop.is_running():
                loop.close()
        if pool is not None:
            pool.close()
        self._io.close()


class _Timeout(Exception):
    pass




async def _bounded(coro: Any, timeout: float | None, io: DaemonPool) -> Any:
    _in_action.set(True)  # this task's own context
    _io_pool.set(io)
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
