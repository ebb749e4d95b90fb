"""Where actions run: never on the notebook's cell thread, and never for ever.

- ``async def`` actions run on the app's own event loop, on a thread of its own
  (started on first use), so ``await`` on network I/O works from a notebook
  whose own loop is busy running the cell.
- Plain ``def`` actions run in a bounded pool of worker threads
  (``workers``), so a burst of scheduled actions cannot start a thread each.
  An action called from an action already on a worker runs on that worker (a
  nested call waiting for a free worker could wait for ever).
- ``timeout`` seconds (``App(action_timeout=...)``; None: no limit) bounds
  every action: the caller gets ``ActionTimeoutError``. An ``async`` action is
  cancelled at its next ``await``; a thread cannot be stopped in Python, so a
  plain ``def`` action keeps its worker until it returns (its result is
  dropped).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from nbreactive.errors import ActionTimeoutError

__all__ = ["ActionRuntime"]

_on_worker = threading.local()


class ActionRuntime:
    """Runs action handlers for one app (see the module docstring)."""

    def __init__(self, *, timeout: float | None, workers: int = 8) -> None:
        self.timeout = timeout
        self.workers = workers
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

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
        if getattr(_on_worker, "active", False):
            return handler(ctx, **args)
        pool = self._workers()
        job = pool.submit(_as_worker, handler, ctx, args)
        try:
            return job.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            if job.done():
                return job.result()
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
                    loop.close()

                t = threading.Thread(target=run, name="nbreactive-actions", daemon=True)
                t.start()
                ready.wait(10)
                self._loop, self._loop_thread = loop, t
            return self._loop

    def _workers(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    self.workers, thread_name_prefix="nbreactive-action")
            return self._pool

    def close(self) -> None:
        """Stop the loop and the pool (running plain actions finish on their own)."""
        with self._lock:
            loop, thread, pool = self._loop, self._loop_thread, self._pool
            self._loop = self._loop_thread = self._pool = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=10)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


class _Timeout(Exception):
    pass


async def _bounded(coro: Any, timeout: float | None) -> Any:
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


def _as_worker(handler: Callable[..., Any], ctx: Any, args: dict[str, Any]) -> Any:
    _on_worker.active = True
    try:
        return handler(ctx, **args)
    finally:
        _on_worker.active = False
