"""The HTTP API of Convex (``shared/reference/convex-protocol.md`` §1).

``POST /api/query``, ``/api/mutation``, ``/api/action`` with a JSON body
``{"path", "args", "format"?}`` — ``args`` an object or a list holding one object,
values in Convex's JSON encoding. Answers carry values in the encoded format, or with
``"format": "json"`` in Convex's lossy clean JSON (int64 as a base-10 string):

- ``200 {"status": "success", "value": ...}``;
- ``200 {"status": "error", "errorMessage": ..., "errorData"?: ...}`` when the function
  failed (``errorData`` for ``nr.AppError``) — 200, as Convex does, since the legacy
  Python client reads no body from other statuses;
- ``4xx/5xx {"code", "message"}`` for everything else: a bad Host or Origin, a wrong
  admin key or a user token (401), malformed JSON, a missing path, an unknown format, a
  body too large, an unknown route.

``OPTIONS`` answers CORS preflights from allowed origins. ``POST /api/run/<dir/mod/fn>``
(the backend's ``{args, format}`` form) runs any kind of public function and, as the
backend does, answers in clean JSON unless the body asks for ``convex_encoded_json``.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

import orjson
import tornado.web

from nbreactive.server.calls import (
    DISCARD_BODY_BYTES,
    MAX_BODY_BYTES,
    Outcome,
    RemoteError,
    call,
    find_function,
    too_large,
)
from nbreactive.values.wire import to_clean_json

if TYPE_CHECKING:
    from nbreactive.app import App
    from nbreactive.server.security import Policy

__all__ = ["MAX_BODY_BYTES", "ApiHandler", "NotFoundHandler", "RunHandler", "StatusHandler"]

log = logging.getLogger("nbreactive.server")

#: The value formats of Convex's HTTP API: the encoded one (what the clients use) and the
#: lossy "clean" one of its docs' examples (int64 as a string; ``to_clean_json``).
_ENCODED_FORMATS = {"convex_encoded_json", "convex_json"}
_CLEAN_FORMATS = {"json", "convex_clean_json"}
_FORMATS = {None} | _ENCODED_FORMATS | _CLEAN_FORMATS


class BaseHandler(tornado.web.RequestHandler):
    app: App
    policy: Policy
    executor: Executor

    def initialize(self, app: App, policy: Policy, executor: Executor) -> None:
        self.app = app
        self.policy = policy
        self.executor = executor

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")

    def prepare(self) -> None:
        self.check_request()

    def check_request(self) -> bool:
        """The Host and Origin checks: True, or False after answering 403."""
        if not self.policy.host_ok(self.request.headers.get("Host")):
            self.fail(403, "HostNotAllowed", self.policy.host_refusal(self.request.headers.get("Host")))
            return False
        origin = self.request.headers.get("Origin")
        if not self.policy.origin_ok(origin):
            self.fail(403, "OriginNotAllowed",
                      f"the origin {origin!r} may not call this server: add it to allowed_origins= "
                      "of app.serve()")
            return False
        if origin is not None:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Allow-Credentials", "true")
            self.set_header("Vary", "Origin")
        return True

    def fail(self, status: int, code: str, message: str) -> None:
        self.set_status(status)
        self.finish(orjson.dumps({"code": code, "message": message}))

    def options(self, *_args: Any) -> None:
        requested = self.request.headers.get("Access-Control-Request-Headers")
        self.set_header("Access-Control-Allow-Headers",
                        requested or "Content-Type, Authorization, Convex-Client")
        self.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.set_header("Access-Control-Max-Age", "86400")
        self.set_status(204)
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason = self._reason or "error"
        self.finish(orjson.dumps({"code": reason.replace(" ", ""), "message": reason}))

    def body_json(self) -> dict[str, Any] | None:
        """The request's JSON object, or None after answering 400."""
        try:
            body = orjson.loads(self.request.body or b"null")
        except orjson.JSONDecodeError as e:
            self.fail(400, "BadJsonBody", f"the request body is not JSON: {e}")
            return None
        if not isinstance(body, dict):
            self.fail(400, "BadJsonBody",
                      'the request body must be a JSON object like {"path": "messages:list", "args": {}}')
            return None
        fmt = body.get("format")
        if fmt not in _FORMATS:
            self.fail(400, "BadFormat",
                      f"unknown format {fmt!r}: use \"convex_encoded_json\" (int64 as {{\"$integer\": ...}}) "
                      "or \"json\" (int64 as a string)")
            return None
        return body

    def caller_is_admin(self) -> bool | None:
        """Whether the ``Authorization`` header holds this server's admin key; None after
        answering 401 for a credential that cannot be accepted (as Convex does)."""
        authorization = self.request.headers.get("Authorization")
        if authorization and authorization.startswith("Bearer "):
            # As a Convex deployment without auth providers: a user token cannot be verified.
            self.fail(401, "NoAuthProvider",
                      "No auth provider found matching the given token: this nbreactive server has "
                      "no user authentication configured (send no Authorization header)")
            return None
        admin = self.policy.is_admin(authorization)
        if not admin and authorization and authorization.startswith("Convex "):
            self.fail(401, "BadAdminKey",
                      "The provided admin key was invalid for this instance: it is not this server's "
                      "admin key (server.admin_key; a new random one each time the server starts "
                      "unless given with admin_key= or --admin-key)")
            return None
        return admin

    async def run_call(self, kind: str, path: Any, args: Any, *, clean: bool = False) -> None:
        """Run the call and answer; ``clean``: in the ``json`` format (else the encoded one)."""
        admin = self.caller_is_admin()
        if admin is None:
            return
        loop = asyncio.get_running_loop()
        outcome: Outcome = await loop.run_in_executor(
            self.executor, lambda: call(self.app, kind, path, args, admin=admin)
        )
        export = to_clean_json if clean else (lambda wire: wire)
        if outcome.error is None:
            self.finish(orjson.dumps({"status": "success", "value": export(outcome.value)}))
            return
        err = outcome.error
        body: dict[str, Any] = {"status": "error", "errorMessage": err.message}
        if err.has_data:
            body["errorData"] = export(err.data)
        self.finish(orjson.dumps(body))


@tornado.web.stream_request_body
class BodyHandler(BaseHandler):
    """A handler that reads the request body itself: a body over ``MAX_BODY_BYTES`` is
    read to its end and dropped, then answered with 413 (refused by the HTTP server
    instead, it would only see its connection reset). The Host and Origin checks are
    answered once the body is read, for the same reason."""

    def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        connection = self.request.connection
        if connection is not None and hasattr(connection, "set_max_body_size"):
            connection.set_max_body_size(DISCARD_BODY_BYTES)

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= MAX_BODY_BYTES:
            self._chunks.append(chunk)
        else:
            self._chunks.clear()

    def options(self, *args: Any) -> None:
        if self.check_request():
            super().options(*args)

    def body_json(self) -> dict[str, Any] | None:
        if not self.check_request():
            return None
        if self._size > MAX_BODY_BYTES:
            self.fail(413, "PayloadTooLarge", too_large("the request body", self._size))
            return None
        self.request.body = b"".join(self._chunks)
        self._chunks = []
        return super().body_json()


class ApiHandler(BodyHandler):
    """``POST /api/(query|mutation|action)``."""

    async def post(self, kind: str) -> None:
        body = self.body_json()
        if body is None:
            return
        if "path" not in body:
            self.fail(400, "MissingPath", 'the request needs "path", the function to run, e.g. "messages:list"')
            return
        await self.run_call(kind, body["path"], body.get("args"), clean=body.get("format") in _CLEAN_FORMATS)


class RunHandler(BodyHandler):
    """``POST /api/run/<dir/mod/fn>``: the backend's form; the function's kind decides,
    and values are in the ``json`` format unless the body names another."""

    async def post(self, route: str) -> None:
        body = self.body_json()
        if body is None:
            return
        module, _, name = route.strip("/").rpartition("/")
        path = f"{module}:{name}" if module else name
        admin = self.caller_is_admin()
        if admin is None:
            return
        kind = "query"
        for k in ("query", "mutation", "action"):
            try:
                find_function(self.app, path, k, admin=admin)
                kind = k
                break
            except RemoteError:
                continue
        await self.run_call(kind, path, body.get("args"),
                            clean=body.get("format") not in _ENCODED_FORMATS)


class StatusHandler(BaseHandler):
    """``GET /api/status``: a liveness probe (``{"status": "ok"}``)."""

    def get(self) -> None:
        self.finish(orjson.dumps({"status": "ok", "functions": len(self.app.functions)}))


class NotFoundHandler(BaseHandler):
    def prepare(self) -> None:
        super().prepare()
        if not self._finished:
            self.fail(404, "NotFound",
                      f"no route {self.request.method} {self.request.path}: the API is POST "
                      "/api/query, /api/mutation, /api/action and the WebSocket /api/sync")
