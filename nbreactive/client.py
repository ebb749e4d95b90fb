"""``nr.Client(url)``: nbreactive's own Python client for a served app.

Works from another process and from the server's own process (the official PyPI client
holds the GIL while it waits, so it deadlocks there; this one never blocks the server).

- ``query``, ``mutation``, ``action``: Convex's HTTP API (``POST /api/...``), one
  request each; ``aquery``, ``amutation``, ``aaction`` are the ``async`` forms. Once the
  client has live queries, ``mutation`` goes over their socket instead and returns only
  when they reflect it (read your writes), as the official clients do (one over 16 MiB
  still goes over HTTP, which can answer that it is too large).
- ``subscribe(ref, args)``: a live query over Convex's sync protocol, on one WebSocket
  per client run by a background thread. The subscription has ``.value`` (raises the
  query's error), ``.error``, ``.on_change(callback, on_error)``, ``.unsubscribe()``,
  and is iterable (``for value in sub``: the current value, then each new one) and
  async-iterable. As with ``app.subscribe``, callbacks run once every subscription an
  update touched has its new value, so they never see two snapshots mixed. The socket
  reconnects by itself (backoff up to 5 s) and re-adds the live queries.

Values use nbreactive's Python mapping (``int`` is int64, ``float`` float64, ``bytes``
bytes); a function's ``nr.AppError`` arrives as ``nr.AppError`` with its data, other
failures as ``nr.ClientError``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import queue
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from nbreactive.errors import AppError, NbReactiveError
from nbreactive.values.wire import from_wire, timestamp_from_wire, to_wire

__all__ = ["Client", "ClientError", "ClientSubscription"]

log = logging.getLogger("nbreactive.client")

_END = object()
#: Larger mutations go over HTTP even with a socket open: the server's WebSocket closes
#: on a message over its limit (17 MiB), where HTTP answers why (413). Convex's limit
#: for a function's arguments is 16 MiB, so nothing valid is sent this way.
_MAX_SOCKET_FRAME = 16 * 1024 * 1024
#: The largest message taken from the server. One Transition carries every changed result
#: (each up to Convex's 16 MiB); tornado's default of 10 MiB made the client close its
#: own socket on a large result and reconnect to be sent it again, forever.
_MAX_RECEIVED_MESSAGE = 1 << 30


class ClientError(NbReactiveError):
    """A call through ``nr.Client`` failed (the function's error, or the transport's)."""


def _path(ref: Any) -> str:
    path = getattr(ref, "path", ref)
    if not isinstance(path, str) or not path:
        raise TypeError(f"a function is named by its path like 'messages:list', got {ref!r}")
    return path


def _function_error(message: str, data: Any, has_data: bool) -> Exception:
    if has_data:
        err = AppError(from_wire(data))
        err.args = (message,)
        return err
    return ClientError(message)


class _Pending:
    """A mutation or action sent over the socket, until its answer is visible."""

    def __init__(self, frame: dict[str, Any]) -> None:
        self.frame = frame
        self.text = json.dumps(frame)  # what is sent (and resent after a reconnect)
        self.answer: dict[str, Any] | None = None
        self.ts: int | None = None  # a mutation's commit ts, from its answer
        self.done = threading.Event()


class ClientSubscription:
    """A live query of a ``Client`` (see the module docstring)."""

    def __init__(self, client: Client, query_id: int, path: str, args: dict[str, Any]) -> None:
        self._client = client
        self.query_id = query_id
        self.function = path
        self.args = args
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[tuple[Callable[[Any], Any], Callable[[BaseException], Any] | None]] = []
        self._queues: list[queue.SimpleQueue[Any]] = []
        self.active = True

    def _set(self, value: Any, error: BaseException | None) -> None:
        """Take a new result; ``_notify`` tells the watchers (once every subscription
        the same Transition touched has its new result: they see one snapshot)."""
        with self._lock:
            self._value, self._error = value, error
        self._ready.set()

    def _notify(self) -> None:
        with self._lock:
            value, error = self._value, self._error
            callbacks = list(self._callbacks)
            queues = list(self._queues)
        for q in queues:
            q.put((value, error))
        for cb, on_error in callbacks:
            try:
                if error is None:
                    cb(value)
                elif on_error is not None:
                    on_error(error)
            except Exception:
                log.exception("a client subscription callback failed")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the first result; whether it arrived."""
        return self._ready.wait(self._client.timeout if timeout is None else timeout)

    @property
    def value(self) -> Any:
        if not self.wait():
            why = self._client._connect_error
            raise ClientError(f"no result for {self.function} within {self._client.timeout} s"
                              + (f": {why}" if why else ""))
        if self._error is not None:
            raise self._error
        return self._value

    @property
    def error(self) -> BaseException | None:
        return self._error

    def on_change(self, callback: Callable[[Any], Any],
                  on_error: Callable[[BaseException], Any] | None = None) -> Callable[[Any], Any]:
        if not callable(callback):
            raise TypeError(f"on_change expects a callable, got {callback!r}")
        with self._lock:
            self._callbacks.append((callback, on_error))
        return callback

    def __iter__(self) -> Iterator[Any]:
        q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        with self._lock:
            self._queues.append(q)
            if self._ready.is_set():
                q.put((self._value, self._error))
        try:
            while True:
                item = q.get()
                if item is _END:
                    return
                value, error = item
                if error is not None:
                    raise error
                yield value
        finally:
            with self._lock:
                if q in self._queues:
                    self._queues.remove(q)

    async def __aiter__(self) -> AsyncIterator[Any]:
        it = iter(self)
        while True:
            item = await asyncio.to_thread(next, it, _END)
            if item is _END:
                return
            yield item

    def unsubscribe(self) -> None:
        if self.active:
            self.active = False
            self._client._remove(self)
            with self._lock:
                queues = list(self._queues)
            for q in queues:
                q.put(_END)

    def __enter__(self) -> ClientSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unsubscribe()

    def __repr__(self) -> str:
        return f"<nbreactive.ClientSubscription {self.function}({self.args!r})>"


class Client:
    """A client of a served nbreactive app (or any Convex-protocol server)."""

    def __init__(self, url: str, *, admin_key: str | None = None, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"nr.Client needs the server's URL like 'http://127.0.0.1:8187', got {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._admin_key = admin_key
        self._session = str(uuid.uuid4())
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._subs: dict[int, ClientSubscription] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ws: Any = None
        self._closed = False
        self._query_set = 0
        self._live_ids: set[int] = set()  # queries the current connection has (client thread)
        self._request_ids = itertools.count()
        self._pending: dict[int, _Pending] = {}  # (client thread)
        self._seen_ts = 0  # the ts of the last Transition (client thread)
        self._connected = threading.Event()
        self._auth_error: str | None = None  # the server refused the admin key (this connection)
        self._connect_error: str | None = None  # why the last attempt to connect failed

    # -- one-shot calls (HTTP) --------------------------------------------------------

    def _post(self, kind: str, ref: Any, args: dict[str, Any] | None) -> Any:
        if self._closed:
            raise ClientError("this client is closed")
        body = json.dumps({"path": _path(ref), "args": to_wire(dict(args or {})),
                           "format": "convex_encoded_json"}).encode()
        headers = {"Content-Type": "application/json", "Convex-Client": "nbreactive-py"}
        if self._admin_key:
            headers["Authorization"] = f"Convex {self._admin_key}"
        req = urllib.request.Request(f"{self.url}/api/{kind}", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                out = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            try:
                detail = json.loads(e.read())
                message = f"{e.code} {detail.get('code')}: {detail.get('message')}"
            except ValueError:
                message = f"{e.code} {e.reason}"
            raise ClientError(f"{kind} {_path(ref)} was refused: {message}") from None
        except OSError as e:
            raise ClientError(f"cannot reach {self.url}: {e}") from None
        if out.get("status") == "success":
            return from_wire(out.get("value"))
        raise _function_error(str(out.get("errorMessage")), out.get("errorData"), "errorData" in out)

    def query(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        return self._post("query", ref, args)

    def mutation(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        """Run a mutation. With live queries open, it goes over their socket and returns
        once they reflect it (read your writes); otherwise over HTTP."""
        # (from a callback — the socket's own thread — it cannot wait for the socket)
        if self._connected.is_set() and threading.current_thread() is not self._thread:
            return self._over_socket("Mutation", ref, args)
        return self._post("mutation", ref, args)

    def action(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        return self._post("action", ref, args)

    def _over_socket(self, kind: str, ref: Any, args: dict[str, Any] | None) -> Any:
        frame = {"type": kind, "requestId": next(self._request_ids), "udfPath": _path(ref),
                 "args": [to_wire(dict(args or {}))]}
        pending = _Pending(frame)
        if len(pending.text) > _MAX_SOCKET_FRAME:
            return self._post(kind.lower(), ref, args)
        self._call_soon(self._send_request, pending)
        if not pending.done.wait(self.timeout):
            # forgotten, so a reconnect does not send it again after the caller gave up
            self._call_soon(self._pending.pop, pending.frame["requestId"], None)
            raise ClientError(f"no answer to {kind.lower()} {_path(ref)} within {self.timeout} s")
        answer = pending.answer
        assert answer is not None
        if answer.get("success"):
            return from_wire(answer.get("result"))
        raise self._socket_error(str(answer.get("result")), answer)

    def _socket_error(self, message: str, msg: dict[str, Any]) -> Exception:
        """A function's error from the socket; an internal function "not found" because
        the server refused the admin key says so."""
        refused = self._auth_error
        if refused is not None and message.startswith("Could not find public function"):
            message += (f" (the server refused this client's admin key: {refused}; internal "
                        "functions need the server's current admin key, server.admin_key)")
        return _function_error(message, msg.get("errorData"), "errorData" in msg)

    def _send_request(self, pending: _Pending) -> None:
        """(client thread) Send, or keep until connected: a reconnect resends it (the
        server answers a resent mutation once)."""
        self._pending[pending.frame["requestId"]] = pending
        if self._ws is not None:
            self._ws.write_message(pending.text)

    def _answered(self, msg: dict[str, Any]) -> None:
        pending = self._pending.get(msg.get("requestId", -1))
        if pending is None:
            return
        pending.answer = msg
        if msg.get("success") and msg.get("ts") is not None:
            pending.ts = timestamp_from_wire(msg["ts"])
            if pending.ts > self._seen_ts:
                return  # done when a transition reaches it
        del self._pending[msg["requestId"]]
        pending.done.set()

    def _reached(self, ts: int) -> None:
        self._seen_ts = max(self._seen_ts, ts)
        for rid, pending in list(self._pending.items()):
            if pending.ts is not None and pending.ts <= ts:
                del self._pending[rid]
                pending.done.set()

    async def aquery(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        return await asyncio.to_thread(self.query, ref, args)

    async def amutation(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        return await asyncio.to_thread(self.mutation, ref, args)

    async def aaction(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        return await asyncio.to_thread(self.action, ref, args)

    # -- live queries (WebSocket) -------------------------------------------------------

    def subscribe(self, ref: Any, args: dict[str, Any] | None = None) -> ClientSubscription:
        if self._closed:
            raise ClientError("this client is closed")
        sub = ClientSubscription(self, next(self._ids), _path(ref), dict(args or {}))
        with self._lock:
            self._subs[sub.query_id] = sub
        self._ensure_socket()
        self._call_soon(self._send_modify, [self._add(sub)])
        return sub

    def _add(self, sub: ClientSubscription) -> dict[str, Any]:
        return {"type": "Add", "queryId": sub.query_id, "udfPath": sub.function, "args": [to_wire(sub.args)]}

    def _remove(self, sub: ClientSubscription) -> None:
        with self._lock:
            found = self._subs.pop(sub.query_id, None)
        if found is not None and not self._closed:
            self._call_soon(self._send_modify, [{"type": "Remove", "queryId": sub.query_id}])

    def _call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(fn, *args)

    def _ensure_socket(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            started = threading.Event()

            def run() -> None:
                loop = asyncio.new_event_loop()
                self._loop = loop
                started.set()
                try:
                    loop.run_until_complete(self._socket_loop())
                finally:
                    loop.close()

            self._thread = threading.Thread(target=run, name="nbreactive-client", daemon=True)
            self._thread.start()
        started.wait(10)

    def _send_modify(self, modifications: list[dict[str, Any]]) -> None:
        """(client thread) Send the query-set changes this connection has not seen."""
        ws = self._ws
        if ws is None:
            return  # not connected: the next connection re-adds every live query
        wanted = []
        for mod in modifications:
            qid = mod["queryId"]
            if mod["type"] == "Add" and qid not in self._live_ids:
                self._live_ids.add(qid)
                wanted.append(mod)
            elif mod["type"] == "Remove" and qid in self._live_ids:
                self._live_ids.discard(qid)
                wanted.append(mod)
        if not wanted:
            return
        modifications = wanted
        base = self._query_set
        self._query_set += 1
        ws.write_message(json.dumps({"type": "ModifyQuerySet", "baseVersion": base,
                                     "newVersion": base + 1, "modifications": modifications}))

    async def _socket_loop(self) -> None:
        import tornado.websocket

        ws_url = "ws" + self.url[4:] + "/api/sync"
        delay, attempt = 0.1, 0
        while not self._closed:
            try:
                ws = await tornado.websocket.websocket_connect(
                    ws_url, connect_timeout=self.timeout, max_message_size=_MAX_RECEIVED_MESSAGE)
            except Exception as e:
                log.debug("nr.Client: connecting to %s failed: %s", ws_url, e)
                self._connect_error = f"cannot connect to {ws_url} ({e}); retrying"
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._query_set, version = 0, None
            self._auth_error = self._connect_error = None
            self._live_ids = set()
            ws.write_message(json.dumps({"type": "Connect", "sessionId": self._session, "connectionCount": attempt,
                                         "lastCloseReason": "InitialConnect" if attempt == 0 else "Reconnect",
                                         "clientTs": 0}))
            if self._admin_key:
                ws.write_message(json.dumps({"type": "Authenticate", "baseVersion": 0, "tokenType": "Admin",
                                             "value": self._admin_key}))
            self._ws = ws
            self._connected.set()
            with self._lock:
                subs = list(self._subs.values())
            self._send_modify([self._add(s) for s in subs])
            for pending in list(self._pending.values()):
                if pending.answer is None:
                    ws.write_message(pending.text)  # resent: answered once
            attempt += 1
            while not self._closed:
                frame = await ws.read_message()
                if frame is None:
                    break
                msg = json.loads(frame)
                kind = msg.get("type")
                if kind == "Transition":
                    if version is not None and msg["startVersion"] != version:
                        log.warning("nr.Client: a transition out of order; reconnecting")
                        ws.close()
                        break
                    version = msg["endVersion"]
                    delay = 0.1
                    touched = {}  # all new results first, then the callbacks: one snapshot
                    for mod in msg.get("modifications", ()):
                        sub = self._apply(mod)
                        if sub is not None:
                            touched[sub.query_id] = sub
                    self._reached(timestamp_from_wire(version["ts"]))
                    for sub in touched.values():
                        sub._notify()
                elif kind in ("MutationResponse", "ActionResponse"):
                    self._answered(msg)
                elif kind == "AuthError":
                    self._auth_error = str(msg.get("error"))
                    log.error("nr.Client: the server refused the admin key: %s", self._auth_error)
                elif kind == "FatalError":
                    log.error("nr.Client: the server ended the connection: %s", msg.get("error"))
                    break
            self._ws = None
            self._connected.clear()
            if not self._closed:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _apply(self, mod: dict[str, Any]) -> ClientSubscription | None:
        """Give one modification's result to its subscription (which is returned)."""
        with self._lock:
            sub = self._subs.get(mod.get("queryId", -1))
        if sub is None:
            return None
        if mod["type"] == "QueryUpdated":
            sub._set(from_wire(mod.get("value")), None)
        elif mod["type"] == "QueryFailed":
            sub._set(None, self._socket_error(str(mod.get("errorMessage")), mod))
        else:
            return None
        return sub

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the socket and end every subscription (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for pending in list(self._pending.values()):
            if not pending.done.is_set():
                pending.answer = pending.answer or {"success": False, "result": "the client was closed"}
                pending.done.set()
        with self._lock:
            subs = list(self._subs.values())
        for sub in subs:
            sub.unsubscribe()
        ws = self._ws
        if ws is not None:
            self._call_soon(ws.close)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<nbreactive.Client {self.url}{' closed' if self._closed else ''}>"
