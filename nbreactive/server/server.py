"""``app.serve()``: Tornado on its own thread and event loop.

The server never runs on the notebook's own event loop or thread: a busy cell does not
stall it, and its handlers run functions on a bounded pool of worker threads, so a
slow function does not stall other clients either.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from nbreactive.server.calls import DISCARD_BODY_BYTES, MAX_BODY_BYTES
from nbreactive.server.http_api import ApiHandler, NotFoundHandler, RunHandler, StatusHandler
from nbreactive.server.security import Policy, is_loopback
from nbreactive.server.sync import SyncHandler, _Shared

if TYPE_CHECKING:
    from nbreactive.app import App

__all__ = ["MAX_BODY_BYTES", "Server"]

log = logging.getLogger("nbreactive.server")

#: Worker threads running functions for remote clients.
WORKERS = 8


def _log_request(handler: tornado.web.RequestHandler) -> None:
    status = handler.get_status()
    log.log(logging.WARNING if status >= 500 else logging.DEBUG, "%d %s %.1f ms", status,
            handler._request_summary(), 1000.0 * handler.request.request_time())


class Server:
    """A running server (``app.serve(...)``): ``url``, ``admin_key``, ``stop()``.

    Also a context manager (``with app.serve() as server: ...``).
    """

    def __init__(self, app: App, *, host: str = "127.0.0.1", port: int = 0,
                 allowed_origins: Iterable[str] | None = None,
                 allowed_hosts: Iterable[str] | None = None, admin_key: str | None = None,
                 quiet: bool = False) -> None:
        if not isinstance(host, str) or not host:
            raise ValueError(f"host must be an address such as '127.0.0.1', got {host!r}")
        if type(port) is not int or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int from 0 (any free port) to 65535, got {port!r}")
        app._check_open()
        self.app = app
        self.host = host
        sockets = tornado.netutil.bind_sockets(port, address=host)
        self.port = int(sockets[0].getsockname()[1])
        self.policy = Policy(host, self.port, allowed_hosts=allowed_hosts,
                             allowed_origins=allowed_origins, admin_key=admin_key)
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="nbreactive-server-fn")
        self._shared = _Shared(app, self.policy, self._executor)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: tornado.httpserver.HTTPServer | None = None
        self._started = threading.Event()
        self._stopped = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(sockets,), name="nbreactive-server",
                                        daemon=True)
        self._thread.start()
        self._started.wait(30)
        if self._error is not None:
            raise self._error
        app._servers.append(self)
        if not quiet:
            where = "" if is_loopback(host) else " (reachable from other machines)"
            print(f"nbreactive server at {self.url}{where}; admin key: {self.policy.admin_key}")

    @property
    def admin_key(self) -> str:
        """Send it as ``Authorization: Convex <key>`` to call internal functions."""
        return self.policy.admin_key

    def _application(self) -> tornado.web.Application:
        deps: dict[str, Any] = {"app": self.app, "policy": self.policy, "executor": self._executor}
        sync = {"shared": self._shared}
        return tornado.web.Application(
            [
                (r"/+api/sync/*", SyncHandler, sync),
                (r"/+api/[^/]+/sync/*", SyncHandler, sync),
                (r"/+api/(query|mutation|action)/*", ApiHandler, deps),
                (r"/+api/run/(.+)", RunHandler, deps),
                (r"/+api/status/*", StatusHandler, deps),
            ],
            default_handler_class=NotFoundHandler,
            default_handler_args=deps,
            websocket_max_message_size=DISCARD_BODY_BYTES,  # sync.py answers those over MAX_BODY_BYTES
            log_function=_log_request,
        )

    def _run(self, sockets: list[Any]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            self._http = tornado.httpserver.HTTPServer(
                self._application(), max_body_size=MAX_BODY_BYTES, xheaders=False
            )
            self._http.add_sockets(sockets)
        except BaseException as e:
            self._error = e
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        """Stop serving (idempotent): close the listening socket and every connection."""
        if self._stopped:
            return
        self._stopped = True
        loop, http = self._loop, self._http

        async def shutdown() -> None:
            handlers = [conn.handler for conn in list(self._shared.connections)]
            for handler in handlers:
                handler.close(1001, "the server is stopping")
            deadline = asyncio.get_running_loop().time() + 1.0
            while self._shared.connections and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)  # the clients answer the close
            for handler in handlers:  # the others: drop the TCP connection
                ws = handler.ws_connection
                stream = getattr(ws, "stream", None)
                if stream is not None and not stream.closed():
                    stream.close()
            if http is not None:
                http.stop()
                await http.close_all_connections()
            asyncio.get_running_loop().stop()

        if loop is not None and not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(shutdown(), loop)
            except RuntimeError:  # the loop already stopped
                pass
        if self._thread is not threading.current_thread():
            self._thread.join(10)
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self in self.app._servers:
            self.app._servers.remove(self)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "serving"
        return f"<nbreactive.Server {self.url} {state}>"
