"""Convex's WebSocket sync protocol on ``/api/sync`` and ``/api/<version>/sync``
(``shared/reference/convex-protocol.md`` §2).

One ``Connection`` per socket. Its state — the query set, the versions it has sent,
the mutations awaiting their transition — lives on nbreactive's engine thread: every
message that changes it is handed there (``Reactor.call_soon``), and the engine calls
``after_round`` once the callbacks of each round have run. There, between rounds, every
live result is current at ``Reactor.settled_ts()``, so each ``Transition`` carries all
of the connection's changed queries at one snapshot, and its ``startVersion`` is always
exactly the version sent before (a wrong one wedges the npm client for good).

Frames leave through the socket's event loop in the order they were made
(``IOLoop.add_callback`` is FIFO). Mutations and actions run on the server's worker
threads; a ``MutationResponse`` is always followed by a ``Transition`` that reaches
its commit ts (the clients resolve a mutation only then). A resent mutation — same
session, same request id, after a reconnect — gets its first answer again instead of
running twice. A ``Ping`` goes out after 15 s of silence. A query of a function that
does not exist yet runs once the notebook defines it (checked every second).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import tornado.ioloop
import tornado.websocket

from nbreactive.errors import ValidationError
from nbreactive.functions.requests import Request
from nbreactive.server.calls import (
    MAX_BODY_BYTES,
    Outcome,
    RemoteError,
    call,
    decode_args,
    find_function,
    too_large,
    wire_error,
)
from nbreactive.values.wire import timestamp_to_wire, to_wire

if TYPE_CHECKING:
    from nbreactive.app import App
    from nbreactive.reactive.subscription import Subscription
    from nbreactive.server.security import Policy

__all__ = ["SyncHandler"]

log = logging.getLogger("nbreactive.server")

#: A connection whose client has not taken this many bytes gets no new Transition until it
#: does (the next one carries every change meanwhile): a stalled reader costs bounded memory.
MAX_UNSENT_BYTES = 8 * 1024 * 1024
#: A Ping after this long without any other frame (Convex's heartbeat).
HEARTBEAT_SECONDS = 15.0


class ProtocolError(Exception):
    """The client broke the protocol: answered with a FatalError, then the socket closes."""


@dataclass
class _Query:
    udf_path: str
    sub: Subscription | None  # None: it failed before it could run (bad path or args)
    error: RemoteError | None = None
    sent: int = -1  # the entry version last sent
    mod: dict[str, Any] = field(default_factory=dict)  # its Add, to add again
    internal: bool = False  # reachable only with the admin key
    missing: bool = False  # failed for want of its function: retried once it is defined


@dataclass
class _Version:
    query_set: int = 0
    identity: int = 0
    ts: int = 0

    def wire(self) -> dict[str, Any]:
        return {"querySet": self.query_set, "identity": self.identity, "ts": timestamp_to_wire(self.ts)}


@dataclass
class _Shared:
    """What all connections of one server share."""

    app: App
    policy: Policy
    executor: Executor
    connections: set[Connection] = field(default_factory=set)


class Connection:
    """The protocol state of one socket (engine thread; see the module docstring)."""

    def __init__(self, shared: _Shared, handler: SyncHandler) -> None:
        self.shared = shared
        self.reactor = shared.app._reactor
        self.handler = handler
        self.loop = tornado.ioloop.IOLoop.current()
        self.session = ""
        self.admin = False  # as the IO thread last heard (requests run with it)
        self.engine_admin = False  # as the query set was last changed under (engine thread)
        self.queries: dict[int, _Query] = {}
        self.removed: list[int] = []
        self.sent = _Version()  # the endVersion of the last Transition
        self.target = _Version()  # query set / identity versions granted, not yet sent
        self.received_query_set = 0
        self.received_identity = 0
        self.need_ts = 0  # a mutation's ts the next Transition must reach
        self.force = False  # send a Transition even with nothing in it
        self.closed = False
        self.held = False  # Transitions held back from a client that does not read
        self.has_missing = False  # some query waits for its function (read by the IO thread)
        self.functions_seen = 0  # how many functions the app had when they were looked for
        self.last_send = time.monotonic()

    # -- frames out (any thread) ---------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        frame = orjson.dumps(message).decode()
        self.last_send = time.monotonic()
        self.loop.add_callback(self.handler.write_frame, frame)

    # -- engine thread -------------------------------------------------------------------

    def after_round(self) -> None:
        if self.closed:
            return
        if self.handler.unsent_bytes() > MAX_UNSENT_BYTES:
            self.held = True  # a client not reading: its next Transition carries all that changed
            return
        self.held = False
        if self.force or self.need_ts or any(
            q.sub is not None and q.sub._entry.version != q.sent for q in self.queries.values()
        ):
            self.flush()

    def flush(self) -> None:
        """Send one Transition with every query that changed, at ``settled_ts``."""
        ts = max(self.reactor.settled_ts(), self.sent.ts)
        if self.need_ts and ts < self.need_ts:
            return  # the mutation's commit is not re-run yet: the next round sends
        mods: list[dict[str, Any]] = []
        for qid, q in self.queries.items():
            if q.sub is None:
                if q.sent == -1 and q.error is not None:
                    q.sent = 0
                    mods.append({"type": "QueryFailed", "queryId": qid, "errorMessage": q.error.message,
                                 "logLines": [], "journal": None,
                                 **({"errorData": q.error.data} if q.error.has_data else {})})
                continue
            entry = q.sub._entry
            if entry.version == q.sent:
                continue
            q.sent = entry.version
            if entry.error is not None:
                err = wire_error(entry.error, redact=self.shared.app.redact_errors)
                mods.append({"type": "QueryFailed", "queryId": qid, "errorMessage": err.message,
                             "logLines": [], "journal": entry.journal,
                             **({"errorData": err.data} if err.has_data else {})})
            else:
                try:
                    value = to_wire(entry.value)
                except (TypeError, ValueError, ValidationError) as e:  # to_wire raises ValidationError
                    mods.append({"type": "QueryFailed", "queryId": qid, "logLines": [], "journal": None,
                                 "errorMessage": f"the result cannot be sent to a client: {e}"})
                    continue
                mods.append({"type": "QueryUpdated", "queryId": qid, "value": value, "logLines": [],
                             "journal": entry.journal})
        for qid in self.removed:
            mods.append({"type": "QueryRemoved", "queryId": qid})
        self.removed = []
        end = _Version(self.target.query_set, self.target.identity, ts)
        if not mods and end == self.sent and not self.force:
            self.need_ts = 0
            return
        self.send({"type": "Transition", "startVersion": self.sent.wire(), "endVersion": end.wire(),
                   "modifications": mods, "serverTs": ts})
        self.sent = end
        self.need_ts = 0
        self.force = False

    def modify(self, new_version: int, modifications: list[dict[str, Any]], admin: bool) -> None:
        self.engine_admin = admin
        for mod in modifications:
            qid = mod["queryId"]
            if mod["type"] == "Add":
                self.queries[qid] = self._add(mod)
            else:
                q = self.queries.pop(qid, None)
                if q is not None and q.sub is not None:
                    q.sub.unsubscribe()
                self.removed.append(qid)
        self.target.query_set = new_version
        self.force = True
        self._note_missing()
        self.flush()

    def _note_missing(self) -> None:
        self.functions_seen = len(self.shared.app.functions)  # functions are only ever added
        self.has_missing = any(q.missing for q in self.queries.values())

    def retry_missing(self) -> None:
        """Add again the queries whose function did not exist and now does (the notebook
        defined it after the client subscribed), as a Convex deployment re-runs its
        queries when functions are pushed; their results go out in the next Transition."""
        if self.closed:
            return
        for qid, q in list(self.queries.items()):
            if q.missing:
                try:
                    find_function(self.shared.app, q.mod.get("udfPath"), "query", admin=self.engine_admin)
                except RemoteError:
                    continue
                self.queries[qid] = self._add(q.mod)
                self.force = True  # its result (or its new error) goes out
        self._note_missing()
        self.after_round()

    def _add(self, mod: dict[str, Any]) -> _Query:
        app = self.shared.app
        try:
            fn = find_function(app, mod.get("udfPath"), "query", admin=self.engine_admin)
        except RemoteError as e:
            return _Query(str(mod.get("udfPath")), None, e, mod=mod, missing=True)
        try:
            args = decode_args(mod.get("args"))
            journal = mod.get("journal")  # a reconnecting client's page end
            sub = app._reactor.subscribe(fn, app._validate_args(fn, args), None,
                                         journal if isinstance(journal, str) else None)
            # no callback: after_round compares entry versions with what was sent
            return _Query(fn.path, sub, mod=mod, internal=fn.internal)
        except Exception as e:
            return _Query(str(mod.get("udfPath")), None, wire_error(e, redact=app.redact_errors), mod=mod)

    def answered(self, message: dict[str, Any], ts: int) -> None:
        """A mutation's or action's answer, then a Transition reaching ``ts``."""
        self.send(message)
        self.need_ts = max(self.need_ts, ts)
        self.force = True
        self.flush()

    def authenticated(self, identity_version: int, admin: bool) -> None:
        """A new identity: queries are added again, so that what it may read is what
        the next Transition shows (an internal query fails without the admin key, and a
        query that failed for want of it runs now)."""
        changed = admin != self.engine_admin
        self.engine_admin = admin
        if changed:
            for qid, q in list(self.queries.items()):
                if q.sub is None:  # failed: again only if for want of the admin key
                    try:
                        fn = find_function(self.shared.app, q.mod.get("udfPath"), "query", admin=True)
                    except RemoteError:
                        continue
                    if not fn.internal:
                        continue
                elif not q.internal:
                    continue  # public queries read the same under either identity
                else:
                    q.sub.unsubscribe()
                self.queries[qid] = self._add(q.mod)
        self.target.identity = identity_version
        self.force = True
        self._note_missing()
        self.flush()

    def close(self) -> None:
        self.closed = True
        for q in self.queries.values():
            if q.sub is not None:
                q.sub.unsubscribe()
        self.queries.clear()
        if self.after_round in self.reactor.round_listeners:
            self.reactor.round_listeners.remove(self.after_round)


class SyncHandler(tornado.websocket.WebSocketHandler):
    """One client socket (the IO side: parsing, checks, handing work to the engine)."""

    shared: _Shared

    def initialize(self, shared: _Shared) -> None:
        self.shared = shared
        self.conn: Connection | None = None
        self.query_ids: set[int] = set()  # as the client sees them (IO thread)
        self._ping: tornado.ioloop.PeriodicCallback | None = None

    def prepare(self) -> None:
        policy = self.shared.policy
        if not policy.host_ok(self.request.headers.get("Host")):
            self.set_status(403)
            self.finish(orjson.dumps({"code": "HostNotAllowed",
                                      "message": policy.host_refusal(self.request.headers.get("Host"))}))

    def check_origin(self, origin: str) -> bool:
        return self.shared.policy.origin_ok(origin)

    def open(self, *_args: Any) -> None:
        self.conn = Connection(self.shared, self)
        self.shared.connections.add(self.conn)
        self.shared.app._reactor.round_listeners.append(self.conn.after_round)
        self._ping = tornado.ioloop.PeriodicCallback(self._heartbeat, 1000 * min(HEARTBEAT_SECONDS / 3, 1.0))
        self._ping.start()

    def _heartbeat(self) -> None:
        conn = self.conn
        if conn is None:
            return
        if conn.held and self.unsent_bytes() <= MAX_UNSENT_BYTES // 2:
            try:
                self._on_engine(conn.after_round)  # it caught up: send what changed meanwhile
            except RuntimeError:  # the app is closing
                pass
        if conn.has_missing and len(self.shared.app.functions) != conn.functions_seen:
            try:
                self._on_engine(conn.retry_missing)  # their functions may be defined by now
            except RuntimeError:  # the app is closing
                pass
        if time.monotonic() - conn.last_send >= HEARTBEAT_SECONDS:
            conn.send({"type": "Ping"})

    def unsent_bytes(self) -> int:
        """Bytes written to the socket that the client has not taken yet (a lower
        bound read from another thread: good enough to hold back a slow reader)."""
        stream = getattr(self.ws_connection, "stream", None)
        if stream is None:
            return 0
        return int(getattr(stream, "_total_write_index", 0) - getattr(stream, "_total_write_done_index", 0))

    def write_frame(self, frame: str) -> None:
        if self.ws_connection is None or self.ws_connection.is_closing():
            return
        try:
            self.write_message(frame)
        except tornado.websocket.WebSocketClosedError:
            pass

    def on_close(self) -> None:
        if self._ping is not None:
            self._ping.stop()
        conn, self.conn = self.conn, None
        if conn is not None:
            self.shared.connections.discard(conn)
            try:
                self.shared.app._reactor.call_soon(conn.close)
            except RuntimeError:  # the app is closed
                conn.close()

    def fatal(self, message: str) -> None:
        self.write_frame(orjson.dumps({"type": "FatalError", "error": message}).decode())
        self.close(1008, message[:120])

    def on_message(self, message: str | bytes) -> None:
        conn = self.conn
        if conn is None:
            return
        try:
            if len(message) > MAX_BODY_BYTES:
                self._too_large(conn, message)
                return
            msg = orjson.loads(message)
            if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
                raise ProtocolError('every message is a JSON object with a "type"')
            handler = _HANDLERS.get(msg["type"])
            if handler is None:
                raise ProtocolError(f"unknown message type {msg['type']!r}: expected one of {', '.join(_HANDLERS)}")
            handler(self, conn, msg)
        except ProtocolError as e:
            self.fatal(str(e))
        except orjson.JSONDecodeError as e:
            self.fatal(f"a message is not JSON: {e}")
        except (KeyError, TypeError, ValueError) as e:
            self.fatal(f"a malformed {type(e).__name__} in a message: {e}")
        except RuntimeError:  # the app is closing: a plain close, so clients reconnect
            self.close(1012, "the app is closing")

    def _too_large(self, conn: Connection, message: str | bytes) -> None:
        """A message over the limit: a Mutation or Action is answered as failed (closing
        the socket would make the clients resend it on every reconnect); anything else
        is a protocol error."""
        why = too_large("the message", len(message))
        try:
            msg = orjson.loads(message)
        except orjson.JSONDecodeError:
            msg = None
        kind = msg.get("type") if isinstance(msg, dict) else None
        request_id = msg.get("requestId") if isinstance(msg, dict) else None
        if kind not in ("Mutation", "Action") or type(request_id) is not int or not 0 <= request_id < 2**63:
            raise ProtocolError(why)
        ts = self.shared.app._db.base_ts
        answer = _response(kind.lower(), request_id, Outcome(error=RemoteError(f"ArgumentsTooLarge: {why}"), ts=ts))
        self._on_engine(lambda: conn.answered(answer, ts if kind == "Mutation" else 0))

    # -- the messages -------------------------------------------------------------------

    def _connect(self, conn: Connection, msg: dict[str, Any]) -> None:
        session = msg.get("sessionId")
        if not isinstance(session, str) or not session or len(session) > 128:
            raise ProtocolError("Connect needs a sessionId (a string of at most 128 characters)")
        if conn.session and conn.session != session:
            raise ProtocolError("a socket connects once: open a new socket for another session")
        conn.session = session

    def _modify(self, conn: Connection, msg: dict[str, Any]) -> None:
        base, new = msg.get("baseVersion"), msg.get("newVersion")
        if base != conn.received_query_set or not isinstance(new, int) or new <= base:
            raise ProtocolError(
                f"ModifyQuerySet from version {base!r} to {new!r}, but this connection's query set "
                f"is at version {conn.received_query_set}"
            )
        mods = msg.get("modifications")
        if not isinstance(mods, list):
            raise ProtocolError("ModifyQuerySet needs a list of modifications")
        ids = set(self.query_ids)
        for mod in mods:
            if (not isinstance(mod, dict) or mod.get("type") not in ("Add", "Remove")
                    or not isinstance(mod.get("queryId"), int)):
                raise ProtocolError(
                    f"a modification is {{'type': 'Add' | 'Remove', 'queryId': int, ...}}, got {mod!r}")
            qid = mod["queryId"]
            if mod["type"] == "Add":
                if qid in ids:
                    raise ProtocolError(f"query {qid} is added twice")
                ids.add(qid)
            elif qid not in ids:
                raise ProtocolError(f"query {qid} is removed but was never added")
            else:
                ids.discard(qid)
        self.query_ids = ids
        conn.received_query_set = new
        admin = conn.admin  # the identity this query set was sent under
        self._on_engine(lambda: conn.modify(new, mods, admin))

    def _mutation(self, conn: Connection, msg: dict[str, Any]) -> None:
        self._run_request(conn, msg, "mutation")

    def _action(self, conn: Connection, msg: dict[str, Any]) -> None:
        self._run_request(conn, msg, "action")

    def _run_request(self, conn: Connection, msg: dict[str, Any], kind: str) -> None:
        request_id = msg.get("requestId")
        if type(request_id) is not int or not 0 <= request_id < 2**63:
            raise ProtocolError(f"{kind.capitalize()} needs a requestId that is an integer from 0 to 2^63-1")
        path, args, admin, shared = msg.get("udfPath"), msg.get("args"), conn.admin, self.shared
        session = conn.session

        # A mutation runs once per (session, request id): its record commits with its
        # writes (``functions/requests.py``), so a resend after a reconnect or a restart
        # gets the first result back.
        request = Request(session, request_id) if kind == "mutation" and session else None

        def run() -> None:
            outcome: Outcome = call(shared.app, kind, path, args, admin=admin, request=request)
            answer = _response(kind, request_id, outcome)
            self._on_engine(lambda: conn.answered(answer, outcome.ts if kind == "mutation" else 0))

        asyncio.get_running_loop().run_in_executor(shared.executor, run)

    def _authenticate(self, conn: Connection, msg: dict[str, Any]) -> None:
        base = msg.get("baseVersion")
        if base != conn.received_identity:
            raise ProtocolError(f"Authenticate from identity version {base!r}, but it is at {conn.received_identity}")
        token_type = msg.get("tokenType")
        if token_type == "Admin":
            if not self.shared.policy.is_admin(f"Convex {msg.get('value', '')}"):
                conn.send({"type": "AuthError", "error": "the admin key is not this server's",
                           "baseVersion": base, "authUpdateAttempted": True})
                return
            conn.admin = True
        elif token_type == "User":
            # As a Convex deployment without auth providers: a user token cannot be verified.
            conn.send({
                "type": "AuthError", "baseVersion": base, "authUpdateAttempted": True,
                "error": "No auth provider found matching the given token: this nbreactive server "
                         "has no user authentication configured",
            })
            return
        elif token_type == "None":
            conn.admin = False
        else:
            raise ProtocolError(f"Authenticate needs tokenType 'User', 'Admin' or 'None', got {token_type!r}")
        conn.received_identity = base + 1
        admin = conn.admin
        self._on_engine(lambda: conn.authenticated(base + 1, admin))

    def _event(self, conn: Connection, msg: dict[str, Any]) -> None:
        pass  # client telemetry

    def _on_engine(self, task: Any) -> None:
        self.shared.app._reactor.call_soon(task)


def _response(kind: str, request_id: int, outcome: Outcome) -> dict[str, Any]:
    kind_name = "MutationResponse" if kind == "mutation" else "ActionResponse"
    if outcome.error is None:
        out: dict[str, Any] = {"type": kind_name, "requestId": request_id, "success": True,
                               "result": outcome.value, "logLines": []}
        if kind == "mutation":
            out["ts"] = timestamp_to_wire(outcome.ts)
        return out
    err = outcome.error
    out = {"type": kind_name, "requestId": request_id, "success": False, "result": err.message,
           "logLines": []}
    if err.has_data:
        out["errorData"] = err.data
    if kind == "mutation":
        out["ts"] = None
    return out


_HANDLERS = {
    "Connect": SyncHandler._connect,
    "ModifyQuerySet": SyncHandler._modify,
    "Mutation": SyncHandler._mutation,
    "Action": SyncHandler._action,
    "Authenticate": SyncHandler._authenticate,
    "Event": SyncHandler._event,
}
