"""The sync protocol of ``app.serve()`` (``nbreactive/server/sync.py``): protocol-level
tests of every message and error path over a raw WebSocket, the npm ``ConvexClient``, and
the PyPI ``ConvexClient`` from another process."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import tornado.httpclient
import tornado.websocket
from async_util import run_async
from convex_clients import SCRIPTS, pypi_convex, run_node
from server_app import messages_app

import nbreactive as nr
from nbreactive import v
from nbreactive.server import Server

ZERO = {"querySet": 0, "identity": 0, "ts": "AAAAAAAAAAA="}


def ts_of(text: str) -> int:
    return int(struct.unpack("<Q", base64.b64decode(text))[0])


@pytest.fixture
def app() -> Iterator[nr.App]:
    a = messages_app()
    yield a
    a.close()


class Socket:
    """A raw protocol client: send dicts, receive dicts (Pings skipped)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, server: Server, path: str = "/api/1.48.0/sync", **headers: str) -> Socket:
        req = tornado.httpclient.HTTPRequest(f"ws://127.0.0.1:{server.port}{path}", headers=headers)
        return cls(await tornado.websocket.websocket_connect(req))

    async def send(self, **msg: Any) -> None:
        await self.ws.write_message(orjson.dumps(msg).decode())

    async def recv(self, timeout: float = 10.0) -> dict[str, Any] | None:
        while True:
            frame = await asyncio.wait_for(self.ws.read_message(), timeout)
            if frame is None:
                return None
            msg = orjson.loads(frame)
            if msg["type"] != "Ping":
                return msg

    async def connect(self, session: str = "s-1") -> None:
        await self.send(type="Connect", sessionId=session, connectionCount=0,
                        lastCloseReason="InitialConnect", clientTs=0)

    def close(self) -> None:
        self.ws.close()


def run(coro: Any) -> Any:
    return run_async(coro)


def add(qid: int, path: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Add", "queryId": qid, "udfPath": path, "args": [args]}


def test_queries_transitions_and_exact_version_chaining(app: nr.App, server: Server) -> None:
    async def scenario() -> None:
        s = await Socket.open(server)
        await s.connect()
        await s.send(type="ModifyQuerySet", baseVersion=0, newVersion=1,
                     modifications=[add(1, "messages:list", {"channel": "a"}), add(2, "messages:count", {})])
        t = await s.recv()
        assert t is not None and t["type"] == "Transition" and t["startVersion"] == ZERO
        assert t["endVersion"]["querySet"] == 1 and t["endVersion"]["identity"] == 0
        assert {m["queryId"]: m["value"] for m in t["modifications"]} == {1: [], 2: {"$integer": "AAAAAAAAAAA="}}
        assert all(m["type"] == "QueryUpdated" and m["logLines"] == [] for m in t["modifications"])
        version = t["endVersion"]
        # One commit touching both queries: one Transition with both, chained exactly.
        for n in range(3):
            await asyncio.to_thread(app.run_mutation, "messages:send", {"channel": "a", "body": f"m{n}"})
            t = await s.recv()
            assert t is not None and t["startVersion"] == version
            assert ts_of(t["endVersion"]["ts"]) > ts_of(version["ts"])
            assert sorted(m["queryId"] for m in t["modifications"]) == [1, 2]
            version = t["endVersion"]
        # A commit elsewhere changes only the count
        await asyncio.to_thread(app.run_mutation, "messages:send", {"channel": "b", "body": "x"})
        t = await s.recv()
        assert t is not None and [m["queryId"] for m in t["modifications"]] == [2]
        # Remove: QueryRemoved, query set version 2
        await s.send(type="ModifyQuerySet", baseVersion=1, newVersion=2,
                     modifications=[{"type": "Remove", "queryId": 1}])
        t = await s.recv()
        assert t is not None and t["endVersion"]["querySet"] == 2
        assert {"type": "QueryRemoved", "queryId": 1} in t["modifications"]
        s.close()

    run(scenario())


def test_mutations_answer_then_a_transition_reaching_their_ts(app: nr.App, server: Server) -> None:
    async def scenario() -> None:
        s = await Socket.open(server, "/api/sync")
        await s.connect("session-m")
        await s.send(type="ModifyQuerySet", baseVersion=0, newVersion=1, modifications=[])
        t0 = await s.recv()
        assert t0 is not None and t0["type"] == "Transition" and t0["modifications"] == []
        await s.send(type="Mutation", requestId=0, udfPath="messages:send",
                     args=[{"channel": "a", "body": "hello"}])
        resp = await s.recv()
        assert resp is not None and resp["type"] == "MutationResponse" and resp["success"] is True
        assert resp["requestId"] == 0 and isinstance(resp["result"], str)
        t = await s.recv()
        assert t is not None and t["type"] == "Transition" and t["startVersion"] == t0["endVersion"]
        assert ts_of(t["endVersion"]["ts"]) >= ts_of(resp["ts"])
        # the same request again (a reconnect resends it): the first answer, no second write
        s2 = await Socket.open(server)
        await s2.connect("session-m")
        await s2.send(type="Mutation", requestId=0, udfPath="messages:send",
                      args=[{"channel": "a", "body": "hello"}])
        again = await s2.recv()
        assert again is not None and again["result"] == resp["result"]
        assert ts_of(again["ts"]) >= ts_of(resp["ts"])
        assert len(await asyncio.to_thread(app.run_query, "messages:list", {"channel": "a"})) == 1
        # a failed mutation: success false, errorData, ts null, and still a Transition
        await s.send(type="Mutation", requestId=1, udfPath="messages:refuse", args=[{}])
        fail = await s.recv()
        assert fail is not None and fail["success"] is False and fail["ts"] is None
        assert fail["errorData"] == {"code": "CLOSED", "retry": {"$integer": "AwAAAAAAAAA="}}
        assert "ConvexError" in fail["result"]
        after = await s.recv()
        assert after is not None and after["type"] == "Transition"
        # actions
        await s.send(type="Action", requestId=2, udfPath="messages:shout", args=[{"text": "x"}])
        act = await s.recv()
        assert act is not None and act == {"type": "ActionResponse", "requestId": 2, "success": True,
                                           "result": "X!", "logLines": []}
        s.close()
        s2.close()

    run(scenario())


def test_failed_queries_and_admin_authentication(server: Server) -> None:
    async def scenario() -> None:
        s = await Socket.open(server)
        await s.connect()
        await s.send(type="ModifyQuerySet", baseVersion=0, newVersion=1, modifications=[
            add(1, "messages:nope", {}), add(2, "messages:double", {"n": 1.0}), add(3, "messages:secret", {})])
        t = await s.recv()
        assert t is not None
        failed = {m["queryId"]: m["errorMessage"] for m in t["modifications"]}
        assert failed[1] == "Could not find public function for 'messages:nope'."
        assert failed[2].startswith("ArgumentValidationError:")
        assert failed[3] == "Could not find public function for 'messages:secret'."
        assert all(m["type"] == "QueryFailed" for m in t["modifications"])
        # admin auth: a wrong key is an AuthError; the right one bumps the identity
        await s.send(type="Authenticate", baseVersion=0, tokenType="Admin", value="not-the-key-123456")
        err = await s.recv()
        assert err is not None and err["type"] == "AuthError" and err["baseVersion"] == 0
        await s.send(type="Authenticate", baseVersion=0, tokenType="Admin", value=server.admin_key)
        t = await s.recv()
        assert t is not None and t["endVersion"]["identity"] == 1 and t["startVersion"]["identity"] == 0
        await s.send(type="ModifyQuerySet", baseVersion=1, newVersion=2, modifications=[add(4, "messages:secret", {})])
        t = await s.recv()
        assert t is not None and t["modifications"] == [
            {"type": "QueryUpdated", "queryId": 4, "value": "the secret", "logLines": [], "journal": None}]
        await s.send(type="Event", eventType="ClientConnect", event={})
        # signing out: the internal query fails again; signing in: it runs again
        await s.send(type="Authenticate", baseVersion=1, tokenType="None")
        t = await s.recv()
        assert t is not None and t["endVersion"]["identity"] == 2
        assert [(m["queryId"], m["type"]) for m in t["modifications"]] == [(3, "QueryFailed"), (4, "QueryFailed")]
        await s.send(type="Authenticate", baseVersion=2, tokenType="Admin", value=server.admin_key)
        t = await s.recv()
        assert t is not None and t["endVersion"]["identity"] == 3
        assert sorted((m["queryId"], m["type"]) for m in t["modifications"]) == [
            (3, "QueryUpdated"), (4, "QueryUpdated")]
        # user tokens cannot be verified (no auth providers, as in Convex): AuthError
        await s.send(type="Authenticate", baseVersion=3, tokenType="User", value="a.b.c")
        err = await s.recv()
        assert err is not None and err["type"] == "AuthError" and "No auth provider" in err["error"]
        s.close()

    run(scenario())


def test_a_query_of_a_function_defined_later_recovers(app: nr.App, server: Server) -> None:
    """A page open before the notebook defines the function it watches: the query fails
    ("Could not find public function"), then runs once the function is defined, as a
    Convex deployment re-runs its queries when new functions are pushed."""
    async def scenario() -> None:
        s = await Socket.open(server)
        await s.connect()
        await s.send(type="ModifyQuerySet", baseVersion=0, newVersion=1, modifications=[
            add(1, "later:count", {}), add(2, "messages:secret", {})])
        t = await s.recv()
        assert t is not None and [m["type"] for m in t["modifications"]] == ["QueryFailed", "QueryFailed"]

        @app.query(name="later:count")
        def later_count(ctx):
            return "defined now"

        t = await s.recv()
        assert t is not None and t["type"] == "Transition" and t["startVersion"] == t["endVersion"] | {
            "ts": t["startVersion"]["ts"]}
        assert t["modifications"] == [{"type": "QueryUpdated", "queryId": 1, "value": "defined now",
                                       "logLines": [], "journal": None}]
        s.close()

    run(scenario())


@pytest.mark.parametrize("frame, error", [
    ("{not json", "not JSON"),
    ('{"type": "Dance"}', "unknown message type 'Dance'"),
    ('[1, 2]', 'with a "type"'),
    ('{"type": "ModifyQuerySet", "baseVersion": 5, "newVersion": 6, "modifications": []}', "at version 0"),
    ('{"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": [{"type": "Remove", "queryId": 9}]}',
     "never added"),
    ('{"type": "Mutation", "requestId": "x", "udfPath": "messages:send", "args": [{}]}', "a requestId that is an integer from 0 to 2^63-1"),
    ('{"type": "Mutation", "requestId": 9223372036854775808, "udfPath": "messages:send", "args": [{}]}', "a requestId that is an integer from 0 to 2^63-1"),
    ('{"type": "Authenticate", "baseVersion": 3, "tokenType": "User", "value": "t"}', "identity version"),
])
def test_protocol_errors_are_fatal_errors_and_close_the_socket(server: Server, frame: str, error: str) -> None:
    async def scenario() -> None:
        s = await Socket.open(server)
        await s.connect()
        await s.ws.write_message(frame)
        msg = await s.recv()
        assert msg is not None and msg["type"] == "FatalError" and error in msg["error"]
        assert await s.recv() is None  # closed
        # the server is fine
        s2 = await Socket.open(server)
        await s2.connect()
        await s2.send(type="ModifyQuerySet", baseVersion=0, newVersion=1, modifications=[add(1, "messages:count", {})])
        assert (await s2.recv() or {})["type"] == "Transition"
        s2.close()

    run(scenario())


def test_websocket_origin_and_host_checks(server: Server) -> None:
    async def scenario() -> None:
        for headers in ({"Origin": "https://evil.example"}, {"Host": "evil.example"}):
            with pytest.raises(tornado.httpclient.HTTPClientError) as info:
                await Socket.open(server, **headers)
            assert info.value.code == 403
        ok = await Socket.open(server, Origin=f"http://localhost:{server.port}")
        ok.close()

    run(scenario())


def test_npm_convex_client(app: nr.App, server: Server) -> None:
    steps = {s["step"]: s for s in run_node("sync_client.cjs", server.url)}
    assert "crash" not in steps, steps.get("crash")
    assert steps["mutation"]["ok"]
    assert steps["read_your_writes"]["bodies"] == ["one", "two"]
    assert steps["subscription"]["seen"][-1] == ["one", "two"]
    assert steps["apperror"]["kind"] == "ConvexError"
    assert steps["apperror"]["data"] == {"code": "CLOSED", "retry": {"bigint": "3"}}  # an int64: 3n
    assert "Could not find public function for 'messages:nope'" in steps["missing"]["message"]
    assert steps["action"]["value"] == "WS!"
    assert steps["int64"]["value"] == {"bigint": "10"}


def test_pypi_convex_client_from_another_process(app: nr.App, server: Server) -> None:
    pypi_convex()
    proc = subprocess.Popen([sys.executable, str(SCRIPTS / "pypi_client.py"), server.url],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    steps: dict[str, Any] = {}
    try:
        assert proc.stdout is not None and proc.stdin is not None
        for line in proc.stdout:
            msg = orjson.loads(line)
            steps[msg["step"]] = msg
            if msg["step"] == "ready":
                app.run_mutation("messages:send", {"channel": "py-live", "body": "from the notebook"})
                proc.stdin.write("go\n")
                proc.stdin.flush()
            if msg["step"] == "subscribe_next":
                break
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert steps["query"]["value"] == []
    assert steps["after"]["value"] == ["from pypi"]
    assert steps["action"]["value"] == "RUST!"
    assert steps["apperror"]["data"] == {"code": "CLOSED", "retry": "ConvexInt64(3)"}  # (its repr, printed)
    assert steps["subscribe_first"]["value"] == []
    assert steps["subscribe_next"]["value"] == ["from the notebook"], proc.stderr.read() if proc.stderr else ""


def test_npm_convex_client_reconnects_after_a_server_restart(tmp_path: Path) -> None:
    from convex_clients import npm_modules

    modules = npm_modules()
    path = str(tmp_path / "r.duckdb")

    def open_app() -> nr.App:
        a = nr.App(path)

        @a.query(name="messages:list", args={"channel": v.string()})
        def list_(ctx, channel):
            return ctx.db.query("messages").filter(lambda q: q.eq(q.field("channel"), channel)).collect()

        @a.mutation(name="messages:send", args={"channel": v.string(), "body": v.string()})
        def send(ctx, channel, body):
            return ctx.db.insert("messages", {"channel": channel, "body": body})

        return a

    app = open_app()
    server = app.serve(quiet=True)
    port = server.port
    proc = subprocess.Popen(["node", str(SCRIPTS / "reconnect_client.cjs"), server.url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "NODE_PATH": str(modules)})
    steps: dict[str, Any] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not line.startswith("{"):
                continue  # the client's own logging
            msg = orjson.loads(line)
            steps[msg["step"]] = msg
            if msg["step"] == "ready":
                server.stop()
                app.close()
                time.sleep(0.3)  # the client sees the socket close and starts reconnecting
                app = open_app()
                app.run_mutation("messages:send", {"channel": "r", "body": "after the restart"})
                server = app.serve(port=port, quiet=True)
            if msg["step"] in ("mutation", "crash"):
                break
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        server.stop()
        app.close()
    assert "crash" not in steps, steps.get("crash")
    assert steps["after_restart"]["seen"] == ["after the restart"]
    assert steps["mutation"]["seen"] == ["after the restart", "from node again"]


def test_pings_keep_a_quiet_connection_alive(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbreactive.server import sync

    monkeypatch.setattr(sync, "HEARTBEAT_SECONDS", 0.3)

    async def scenario() -> None:
        s = await Socket.open(server)
        await s.connect()
        frame = await asyncio.wait_for(s.ws.read_message(), 5)
        assert frame is not None and orjson.loads(frame) == {"type": "Ping"}
        s.close()

    run(scenario())


def test_timestamps_keep_growing_across_restarts(tmp_path: Path) -> None:
    path = str(tmp_path / "ts.duckdb")
    seen = []
    for run_number in range(2):
        a = nr.App(path)

        @a.mutation(name="m:add")
        def add(ctx):
            return ctx.db.insert("t", {"x": 1})

        with a.serve(quiet=True) as s:
            async def scenario(server: Server = s, session: str = f"s-{run_number}") -> int:
                sock = await Socket.open(server)
                await sock.connect(session)
                await sock.send(type="Mutation", requestId=0, udfPath="m:add", args=[{}])
                resp = await sock.recv()
                assert resp is not None and resp["success"]
                sock.close()
                return ts_of(resp["ts"])

            seen.append(run(scenario()))
        a.close()
    assert seen[1] > seen[0]


def test_messages_beyond_the_size_limit_close_the_socket(server: Server) -> None:
    async def scenario() -> None:
        s = await Socket.open(server)
        await s.connect()
        try:
            await s.ws.write_message("x" * (18 * 1024 * 1024))
            msg = await s.recv()
            if msg is not None:
                assert msg["type"] == "FatalError" and "18.0 MiB" in msg["error"]
                assert await s.recv() is None
        except tornado.websocket.WebSocketClosedError:
            pass  # closed while we were still writing it
        s2 = await Socket.open(server)  # the server is fine
        await s2.connect()
        await s2.send(type="ModifyQuerySet", baseVersion=0, newVersion=1, modifications=[])
        assert (await s2.recv() or {})["type"] == "Transition"
        s2.close()

    run(scenario())


def test_a_mutation_too_large_is_answered_not_dropped(server: Server) -> None:
    """A Mutation or Action over the size limit gets a failed response (and, for a
    mutation, its Transition), as Convex answers arguments over its limit. Closing the
    socket instead made the official clients resend it on every reconnect, forever."""
    async def scenario() -> None:
        s = await Socket.open(server)
        await s.connect("big-session")
        await s.send(type="ModifyQuerySet", baseVersion=0, newVersion=1,
                     modifications=[add(1, "messages:count", {})])
        t0 = await s.recv()
        assert t0 is not None and t0["type"] == "Transition"
        big = {"channel": "a", "body": "x" * (18 * 1024 * 1024)}
        for kind, rid in (("Mutation", 7), ("Action", 8)):
            await s.send(type=kind, requestId=rid, udfPath="messages:send", args=[big])
            resp = await s.recv()
            assert resp is not None and resp["type"] == f"{kind}Response" and resp["requestId"] == rid
            assert resp["success"] is False and "18.0 MiB" in resp["result"] and "16 MiB" in resp["result"]
            after = await s.recv()
            assert after is not None and after["type"] == "Transition"
        # the socket lives on
        await s.send(type="Mutation", requestId=9, udfPath="messages:send", args=[{"channel": "a", "body": "ok"}])
        for _ in range(3):  # the count's Transition may come first
            msg = await s.recv() or {}
            if msg.get("type") == "MutationResponse":
                break
        assert msg.get("requestId") == 9 and msg.get("success") is True
        s.close()

    run(scenario())


def test_a_mutation_that_writes_nothing_still_gets_its_transition(app: nr.App, server: Server) -> None:
    @app.mutation(name="m:noop")
    def noop(ctx):
        return "nothing written"

    async def scenario() -> None:
        s = await Socket.open(server)
        await s.connect()
        await s.send(type="ModifyQuerySet", baseVersion=0, newVersion=1, modifications=[])
        t0 = await s.recv()
        assert t0 is not None
        await s.send(type="Mutation", requestId=0, udfPath="m:noop", args=[{}])
        resp = await s.recv()
        assert resp is not None and resp["success"] and resp["result"] == "nothing written"
        t = await s.recv()
        assert t is not None and t["type"] == "Transition"
        assert ts_of(t["endVersion"]["ts"]) >= ts_of(resp["ts"])
        # and the connection goes on
        await s.send(type="ModifyQuerySet", baseVersion=1, newVersion=2, modifications=[add(1, "messages:count", {})])
        t = await s.recv()
        assert t is not None and t["endVersion"]["querySet"] == 2
        s.close()

    run(scenario())


def test_one_session_per_socket(server: Server) -> None:
    async def scenario() -> None:
        s = await Socket.open(server)
        await s.connect("first")
        await s.connect("second")
        msg = await s.recv()
        assert msg is not None and msg["type"] == "FatalError" and "connects once" in msg["error"]

    run(scenario())


def test_closing_the_app_closes_sockets_without_a_fatal_error(app: nr.App) -> None:
    server = app.serve(quiet=True)

    async def scenario() -> None:
        s = await Socket.open(server)
        await s.connect()
        await s.send(type="ModifyQuerySet", baseVersion=0, newVersion=1, modifications=[add(1, "messages:count", {})])
        assert (await s.recv() or {})["type"] == "Transition"
        await asyncio.to_thread(app.close)
        frames = []
        while True:
            frame = await asyncio.wait_for(s.ws.read_message(), 10)
            if frame is None:
                break
            frames.append(orjson.loads(frame)["type"])
        assert "FatalError" not in frames and s.ws.close_code == 1001

    run(scenario())
    assert "stopped" in repr(server)


def _counter_app(path: str) -> nr.App:
    a = nr.App(path)

    @a.mutation(name="m:add", args={"n": nr.v.number()})
    def add(ctx, n):
        ctx.db.insert("t", {"n": n})
        return {"n": n, "total": float(len(ctx.db.query("t").collect()))}

    @a.mutation(name="m:fail")
    def fail(ctx):
        ctx.db.insert("t", {"n": -1})
        raise nr.AppError("no")

    @a.mutation(name="m:read")
    def read(ctx):
        return float(len(ctx.db.query("t").collect()))

    return a


async def _send_mutation(server: Server, session: str, request_id: int, path: str,
                         args: dict[str, Any]) -> dict[str, Any]:
    sock = await Socket.open(server)
    await sock.connect(session)
    await sock.send(type="Mutation", requestId=request_id, udfPath=path, args=[args])
    resp = await sock.recv()
    sock.close()
    assert resp is not None and resp["type"] == "MutationResponse"
    return resp


def test_a_resent_mutation_runs_once_across_an_app_restart(tmp_path: Path) -> None:
    """The (session, request id) record commits with the mutation's writes: a client that
    resends after the server and the app restarted gets the first answer, and no second
    write happens. Failed and write-free mutations leave no record (they may run again)."""
    path = str(tmp_path / "dedupe.duckdb")
    a = _counter_app(path)
    with a.serve(quiet=True) as s:
        first = run(_send_mutation(s, "sess-A", 7, "m:add", {"n": 1}))
        assert first["success"] and first["result"] == {"n": 1, "total": 1}
        failed = run(_send_mutation(s, "sess-A", 8, "m:fail", {}))
        assert failed["success"] is False
        read = run(_send_mutation(s, "sess-A", 9, "m:read", {}))
        assert read["result"] == 1
    a.close()

    b = _counter_app(path)
    assert b.count("t") == 1
    with b.serve(quiet=True) as s:
        again = run(_send_mutation(s, "sess-A", 7, "m:add", {"n": 1}))
        assert again["success"] and again["result"] == {"n": 1, "total": 1}
        assert ts_of(again["ts"]) >= ts_of(first["ts"])
        assert b.count("t") == 1  # not run twice
        # same request id, another session: a different mutation
        other = run(_send_mutation(s, "sess-B", 7, "m:add", {"n": 2}))
        assert other["result"] == {"n": 2, "total": 2}
        # the failed one was not recorded: sent again, it runs (and fails) again
        assert run(_send_mutation(s, "sess-A", 8, "m:fail", {}))["success"] is False
    rows = b.sql('SELECT "sessionId", "requestId" FROM _session_requests ORDER BY 1').to_pylist()
    assert rows == [{"sessionId": "sess-A", "requestId": 7}, {"sessionId": "sess-B", "requestId": 7}]
    assert "_session_requests" not in b.tables()
    b.close()


def test_concurrent_resends_of_one_request_run_it_once(app: nr.App, server: Server) -> None:
    async def scenario() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(
            _send_mutation(server, "sess-C", 1, "messages:send", {"channel": "c", "body": "once"})
            for _ in range(6))))

    answers = run(scenario())
    assert all(r["success"] for r in answers)
    assert len({r["result"] for r in answers}) == 1
    assert len(app.run_query("messages:list", {"channel": "c"})) == 1


def test_session_request_records_are_pruned(monkeypatch: pytest.MonkeyPatch) -> None:
    from nbreactive.functions import requests

    monkeypatch.setattr(requests, "MAX_RECORDS", 5)
    a = _counter_app(None)  # type: ignore[arg-type]
    try:
        for i in range(12):
            a._call("mutation", "m:add", {"n": i}, None, None, requests.Request("s", i))
        # at most MAX_RECORDS (+ the one just written, before its transaction pruned)
        assert a.sql("SELECT count(*) AS n FROM _session_requests").to_pylist()[0]["n"] <= 6
        kept = [r["requestId"] for r in a.sql(
            'SELECT "requestId" FROM _session_requests ORDER BY 1').to_pylist()]
        assert kept == sorted(kept) and kept[-1] == 11  # the oldest went first
        # an expired record goes too
        monkeypatch.setattr(requests, "RETENTION_SECONDS", -1.0)
        a._call("mutation", "m:add", {"n": 99}, None, None, requests.Request("s", 99))
        left = [r["requestId"] for r in a.sql('SELECT "requestId" FROM _session_requests').to_pylist()]
        assert len(left) < len(kept) + 1 and 99 in left
    finally:
        a.close()
