"""The HTTP API of ``app.serve()`` (``nbreactive/server/http_api.py``): every answer
and error shape on a real Tornado server on 127.0.0.1, the npm ``ConvexHttpClient``
and the PyPI legacy ``ConvexHttpClient``."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from convex_clients import pypi_convex, run_node
from server_app import messages_app

import nbreactive as nr
from nbreactive.server import Server


@pytest.fixture
def app() -> Iterator[nr.App]:
    a = messages_app()
    yield a
    a.close()


def request(server: Server, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
            raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    text = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, (json.loads(text) if text else None)


def post(server: Server, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
    status, _, out = request(server, "POST", path, body, **kw)
    return status, out


def test_answers_and_value_encoding(app: nr.App, server: Server) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}" and server.admin_key.startswith("nbr-admin-")
    assert post(server, "/api/mutation", {"path": "messages:send", "args": {"channel": "a", "body": "x"}})[0] == 200
    # args as a one-element list (npm) or an object (Python legacy); int64 as $integer
    status, out = post(server, "/api/query", {"path": "messages:double", "format": "convex_encoded_json",
                                              "args": [{"n": {"$integer": "FQAAAAAAAAA="}}]})
    assert (status, out) == (200, {"status": "success", "value": {"$integer": "KgAAAAAAAAA="}})
    status, out = post(server, "/api/query", {"path": "messages:list", "args": {"channel": "a"}})
    (doc,) = out["value"]
    assert doc["body"] == "x" and isinstance(doc["_creationTime"], float)
    # special floats tagged, whole floats stay floats, int64 tagged
    _, out = post(server, "/api/query", {"path": "stats", "args": {}})
    assert out["value"] == {"count": {"$integer": "AQAAAAAAAAA="}, "ratio": 1.0,
                            "nan": {"$float": "AAAAAAAA+H8="}}
    _, headers, _ = request(server, "POST", "/api/query", {"path": "stats"})
    assert headers["content-type"] == "application/json"
    # the paths clients send: "mod.js:fn" (Rust), a trailing-slash base URL (npm: //api)
    assert post(server, "/api/query", {"path": "messages.js:list", "args": {"channel": "a"}})[1]["status"] == "success"
    assert post(server, "//api/query", {"path": "stats"})[1]["status"] == "success"
    assert post(server, "/api/query", {"path": "stats:default"})[1]["status"] == "success"
    # the backend's /api/run form
    assert post(server, "/api/run/messages/shout", {"args": {"text": "yo"}}) == (
        200, {"status": "success", "value": "YO!"})


def test_the_clean_json_format_of_the_http_api(app: nr.App, server: Server) -> None:
    """``format: "json"`` (Convex's documented HTTP API format, alias ``convex_clean_json``)
    answers in clean JSON: int64 as a base-10 string, bytes as base64, NaN/±Infinity as
    strings, for the value and for errorData. ``/api/run`` uses it when no format is given."""
    @app.query(name="kinds")
    def kinds(ctx):
        return {"i": 42, "neg": -7, "f": 1.5, "b": b"\x00\x10\x83", "nan": float("nan"),
                "inf": float("inf"), "ninf": float("-inf"), "s": "x", "l": [1, None, True]}

    clean = {"i": "42", "neg": "-7", "f": 1.5, "b": "ABCD", "nan": "NaN", "inf": "Infinity",
             "ninf": "-Infinity", "s": "x", "l": ["1", None, True]}
    for fmt in ("json", "convex_clean_json"):
        assert post(server, "/api/query", {"path": "kinds", "format": fmt}) == (
            200, {"status": "success", "value": clean})
    assert post(server, "/api/run/kinds", {"args": {}}) == (200, {"status": "success", "value": clean})
    # the encoded format stays the default of /api/query and can be asked of /api/run
    assert post(server, "/api/query", {"path": "kinds"})[1]["value"]["i"] == {"$integer": "KgAAAAAAAAA="}
    assert post(server, "/api/run/kinds", {"args": {}, "format": "convex_encoded_json"})[1]["value"]["i"] == {
        "$integer": "KgAAAAAAAAA="}
    status, out = post(server, "/api/mutation", {"path": "messages:refuse", "format": "json"})
    assert status == 200 and out["errorData"] == {"code": "CLOSED", "retry": "3"}


def test_function_errors_are_200_with_convex_messages(server: Server) -> None:
    cases = {
        ("mutation", "messages:refuse", None): ("Uncaught ConvexError: " + '{"code":"CLOSED","retry":3}',
                                                {"code": "CLOSED", "retry": {"$integer": "AwAAAAAAAAA="}}),
        ("query", "messages:nope", None): ("Could not find public function for 'messages:nope'.", None),
        ("query", "messages:secret", None): ("Could not find public function for 'messages:secret'.", None),
        ("mutation", "messages:list", None): (
            "Trying to execute messages:list as Mutation, but it is defined as Query.", None),
    }
    for (kind, path, args), (message, data) in cases.items():
        status, out = post(server, f"/api/{kind}", {"path": path, "args": args or {}})
        assert status == 200 and out["status"] == "error" and out["errorMessage"] == message, out
        assert out.get("errorData") == data
    status, out = post(server, "/api/query", {"path": "messages:double", "args": {"n": 2}})
    assert out["errorMessage"].startswith("ArgumentValidationError: ") and "v.int64()" in out["errorMessage"]
    _, out = post(server, "/api/query", {"path": "messages:double", "args": [1, 2]})
    assert "one object" in out["errorMessage"]
    _, out = post(server, "/api/query", {"path": "messages:double", "args": "seven"})
    assert out["errorMessage"].startswith("ArgumentValidationError: Expected to receive an object")
    _, out = post(server, "/api/query", {"path": "messages:double", "args": {"n": {"$nope": 1}}})
    assert out["errorMessage"].startswith("ArgumentValidationError: the arguments are not Convex values")
    # an encoded value that is not an object ({"$integer": ...} as the whole arguments)
    for args in ({"$integer": "AQAAAAAAAAA="}, [{"$bytes": "AA=="}]):
        _, out = post(server, "/api/query", {"path": "messages:double", "args": args})
        assert out["errorMessage"].startswith(
            "ArgumentValidationError: Expected to receive an object as the function's argument. "
            "Instead received: "), out


def test_undeliverable_error_data_is_still_a_function_error(app: nr.App, server: Server) -> None:
    """AppError data that is not a Convex value, or a message JSON cannot carry, reaches
    remote callers as a function error saying why (it was an HTTP 500 and an uncaught
    exception in Tornado); over HTTP, the sync protocol and to live queries alike."""

    @app.mutation(name="bad:raised")
    def raised(ctx):
        raise nr.AppError({"n": 2**70})  # refused where it is built: a ValidationError

    @app.mutation(name="bad:changed")
    def changed(ctx):
        error = nr.AppError("x")
        error.data = {1, 2}  # .data replaced after the check
        raise error

    @app.query(name="bad:live")
    def live(ctx):
        error = nr.AppError("x")
        error.data = {"n": 2**70}
        raise error

    @app.query(name="bad:message")
    def message(ctx):
        raise ValueError("a lone \ud800 surrogate")

    for kind, path, fragment in [
        ("mutation", "bad:raised", "ValidationError: nr.AppError(data): data must be a Convex value"),
        ("mutation", "bad:changed", "Uncaught AppError whose data cannot be sent"),
        ("query", "bad:message", "Uncaught ValueError: a lone ? surrogate"),
    ]:
        status, out = post(server, f"/api/{kind}", {"path": path, "args": {}})
        assert status == 200 and out["status"] == "error" and "errorData" not in out, out
        assert fragment in out["errorMessage"], out
    _, out = post(server, "/api/mutation", {"path": "bad:raised", "args": {}})
    assert "does not fit in int64" in out["errorMessage"]
    _, out = post(server, "/api/mutation", {"path": "bad:changed", "args": {}})
    assert "set is not a Convex value" in out["errorMessage"]

    with nr.Client(server.url) as client:
        with pytest.raises(nr.ClientError, match="data must be a Convex value"):
            client.mutation("bad:raised")
        with pytest.raises(nr.ClientError, match="AppError whose data cannot be sent"):
            client.mutation("bad:changed")
        sub = client.subscribe("bad:live", {})
        sub.wait()
        assert isinstance(sub.error, nr.ClientError)
        assert "does not fit in int64" in str(sub.error)
        assert client.query("messages:count") == 0  # the connection lives on


def test_user_tokens_are_refused_as_by_a_deployment_without_auth_providers(server: Server) -> None:
    status, out = post(server, "/api/query", {"path": "stats"}, headers={"Authorization": "Bearer a.b.c"})
    assert status == 401 and out["code"] == "NoAuthProvider"


def test_the_admin_key_reaches_internal_functions(server: Server) -> None:
    body = {"path": "messages:secret", "args": {}}
    assert post(server, "/api/query", body)[1]["errorMessage"] == "Could not find public function for 'messages:secret'."
    # a wrong key (e.g. an earlier server's: the key is random per server) is refused as
    # Convex refuses it, not taken for no key (which reads "Could not find public function")
    for path, call in (("/api/query", body), ("/api/mutation", {"path": "messages:send", "args": {}}),
                       ("/api/run/messages/secret", {"args": {}})):
        status, out = post(server, path, call, headers={"Authorization": "Convex wrong-key-0123456789"})
        assert status == 401 and out["code"] == "BadAdminKey", (path, out)
        assert "admin key" in out["message"] and "server.admin_key" in out["message"]
    assert post(server, "/api/query", body, headers={"Authorization": f"Convex {server.admin_key}"})[1] == {
        "status": "success", "value": "the secret"}


def test_transport_errors_are_4xx_with_code_and_message(server: Server) -> None:
    assert post(server, "/api/query", None, raw=b"{not json") [0] == 400
    status, out = post(server, "/api/query", None, raw=b"{not json")
    assert out["code"] == "BadJsonBody" and "not JSON" in out["message"]
    assert post(server, "/api/query", [1])[1]["code"] == "BadJsonBody"
    assert post(server, "/api/query", {"args": {}})[1]["code"] == "MissingPath"
    assert post(server, "/api/query", {"path": "stats", "format": "xml"})[1]["code"] == "BadFormat"
    status, out = post(server, "/api/elsewhere", {})
    assert status == 404 and out["code"] == "NotFound" and "/api/sync" in out["message"]
    status, _, _ = request(server, "GET", "/api/query")
    assert status == 405


def test_host_and_origin_checks(server: Server) -> None:
    body = {"path": "stats"}
    status, out = post(server, "/api/query", body, headers={"Host": "attacker.example"})
    assert status == 403 and out["code"] == "HostNotAllowed"
    assert post(server, "/api/query", body, headers={"Host": f"localhost:{server.port}"})[0] == 200
    assert post(server, "/api/query", body, headers={"Host": f"127.0.0.1:{server.port + 1}"})[0] == 403
    status, out = post(server, "/api/query", body, headers={"Origin": "https://evil.example"})
    assert status == 403 and out["code"] == "OriginNotAllowed"
    status, headers, _ = request(server, "POST", "/api/query", body, headers={"Origin": "http://localhost:8888"})
    assert status == 200 and headers["access-control-allow-origin"] == "http://localhost:8888"
    # a browser's preflight for the Convex-Client header
    status, headers, _ = request(server, "OPTIONS", "/api/query", headers={
        "Origin": "http://127.0.0.1:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,convex-client"})
    assert status == 204 and "convex-client" in headers["access-control-allow-headers"]
    assert "POST" in headers["access-control-allow-methods"]


def test_allowed_origins_and_hosts_are_configurable(app: nr.App) -> None:
    with app.serve(quiet=True, allowed_origins=["https://app.example.com"],
                   allowed_hosts=["notebook.internal"]) as s:
        assert post(s, "/api/query", {"path": "stats"}, headers={"Origin": "https://app.example.com",
                                                               "Host": "notebook.internal"})[0] == 200
        # allowed_hosts adds names: the server's own URL (127.0.0.1) still works
        assert post(s, "/api/query", {"path": "stats"})[0] == 200
        assert nr.Client(s.url).query("stats")["ratio"] == 1.0
        status, out = post(s, "/api/query", {"path": "stats"}, headers={"Host": "rebound.example"})
        assert status == 403 and out["code"] == "HostNotAllowed"
        assert "notebook.internal" in out["message"] and "'rebound.example'" in out["message"]
    with pytest.raises(ValueError, match="allowed_origins are origins like"):
        app.serve(quiet=True, allowed_origins=["example.com"])
    with pytest.raises(ValueError, match="port must be an int"):
        app.serve(port=70000)
    with pytest.raises(ValueError, match="without ':'"):
        app.serve(quiet=True, admin_key="0123456789abcdef:x")


def test_a_body_too_large_is_refused_and_the_server_lives_on(server: Server) -> None:
    """The client is told why (413 with code and message), not left with a dropped
    connection ("Connection reset by peer")."""
    big = b'{"path": "stats", "args": {"x": "' + b"a" * (18 * 1024 * 1024) + b'"}}'
    status, out = post(server, "/api/query", None, raw=big)
    assert status == 413 and out["code"] == "PayloadTooLarge"
    assert "18.0 MiB" in out["message"] and "17 MiB" in out["message"]
    assert post(server, "/api/query", {"path": "stats"})[0] == 200
    # the checks of Host and Origin still come first
    status, out = post(server, "/api/query", None, raw=big, headers={"Origin": "https://evil.example"})
    assert status == 403 and out["code"] == "OriginNotAllowed"


def test_slow_functions_do_not_stall_other_clients(app: nr.App, server: Server) -> None:
    gate = threading.Event()

    @app.action(name="slow")
    def slow(ctx):
        gate.wait(10)
        return "done"

    t = threading.Thread(target=post, args=(server, "/api/action", {"path": "slow"}))
    t.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    assert post(server, "/api/query", {"path": "stats"})[0] == 200
    assert time.monotonic() - t0 < 2.0
    gate.set()
    t.join(10)


def test_stop_closes_the_port_and_app_close_stops_the_server(app: nr.App) -> None:
    s = app.serve(quiet=True)
    port = s.port
    s.stop()
    s.stop()  # idempotent
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    s2 = app.serve(quiet=True)
    app.close()
    assert "stopped" in repr(s2)


def test_npm_convex_http_client(app: nr.App, server: Server) -> None:
    steps = {s["step"]: s for s in run_node("http_client.cjs", server.url)}
    assert steps["query"] == {"step": "query", "ok": True, "value": []}
    assert steps["int64"]["value"] == {"bigint": "42"}
    assert steps["mutation"]["ok"] and isinstance(steps["mutation"]["value"], str)
    (doc,) = steps["after"]["value"]
    assert doc["body"] == "from node" and doc["_id"] == steps["mutation"]["value"]
    assert steps["action"]["value"] == "HI!"
    assert steps["apperror"]["kind"] == "ConvexError"
    assert steps["apperror"]["data"] == {"code": "CLOSED", "retry": {"bigint": "3"}}  # an int64: 3n
    assert not steps["missing"]["ok"] and "Could not find public function for 'messages:nope'" in steps["missing"]["error"]
    assert not steps["internal"]["ok"]
    assert "ArgumentValidationError" in steps["badargs"]["error"]


def test_pypi_legacy_http_client(app: nr.App, server: Server) -> None:
    convex = pypi_convex()
    from convex.http_client import ConvexHttpClient

    client = ConvexHttpClient(server.url)
    doc_id = client.mutation("messages:send", {"channel": "b", "body": "from python"})
    (doc,) = client.query("messages:list", {"channel": "b"})
    assert doc["_id"] == doc_id and doc["body"] == "from python"
    assert client.query("messages:double", {"n": convex.ConvexInt64(4)}) == 8
    assert client.action("messages:shout", {"text": "py"}) == "PY!"
    with pytest.raises(convex.ConvexError) as info:
        client.mutation("messages:refuse", {})
    # (this legacy client leaves values inside errorData in the wire encoding)
    assert info.value.data == {"code": "CLOSED", "retry": {"$integer": "AwAAAAAAAAA="}}
    with pytest.raises(Exception, match="Could not find public function"):
        client.query("messages:nope", {})


def test_a_busy_main_thread_does_not_stall_the_server(app: nr.App, server: Server) -> None:
    """A notebook cell computing in pure Python (holding the GIL between switches) while
    another process calls the server: answers keep coming."""
    import subprocess
    import sys

    script = (
        "import json, time, urllib.request\n"
        f"url = {server.url!r} + '/api/query'\n"
        "worst = 0.0\n"
        "for _ in range(40):\n"
        "    t0 = time.monotonic()\n"
        "    req = urllib.request.Request(url, data=b'{\"path\": \"stats\"}', headers={'Content-Type': 'application/json'})\n"
        "    urllib.request.urlopen(req, timeout=30).read()\n"
        "    worst = max(worst, time.monotonic() - t0)\n"
        "    time.sleep(0.02)\n"
        "print(worst)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    # The busy "cell": pure computation for 4 s (no system calls: a loop that also
    # polled the child would release and retake the GIL constantly, and CPython then
    # never forces a switch to the waiting threads — a starvation of its own).
    deadline = time.monotonic() + 4.0
    n = 0
    while time.monotonic() < deadline:
        n += sum(i * i for i in range(10_000))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert float(out) < 1.0, f"the slowest answer took {out.strip()} s"
