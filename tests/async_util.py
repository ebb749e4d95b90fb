"""``run_async(coro)``: run a coroutine to completion on its own thread and event loop.

Tests cannot call ``asyncio.run`` on the main thread once Playwright's sync API has
started (the browser tests' session fixture keeps an event loop running there)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

__all__ = ["run_async"]


def run_async(coro: Any, timeout: float = 60.0) -> Any:
    box: dict[str, Any] = {}

    def main() -> None:
        try:
            box["value"] = asyncio.run(asyncio.wait_for(coro, timeout))
        except BaseException as e:
            box["error"] = e

    t = threading.Thread(target=main, name="test-async")
    t.start()
    t.join(timeout + 30)
    assert not t.is_alive(), "the coroutine did not finish"
    if "error" in box:
        raise box["error"]
    return box.get("value")
