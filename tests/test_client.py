"""``nr.Client``: in the server's own process and from another one, HTTP calls,
live subscriptions (callbacks, iteration, async iteration), reconnecting after the
server restarts, and ``nbreactive serve``."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from async_util import run_async
from waiting import wait_until

import nbreactive as nr
from nbreactive import v

REPO = Path(__file__).resolve().parent.parent




def make_app(path: str | None = None) -> nr.App:
    a = nr.App(path)

    @a.query(name="notes:list", args={"tag": v.string()})
    def list_(ctx, tag):
        return [d["text"] for d in ctx.db.query("notes").collect() if d["tag"] == tag]

    @a.mutation(name="notes:add", args={"tag": v.string(), "text": v.string()})
    def add(ctx, tag, text):
        return ctx.db.insert("notes", {"tag": tag, "text": text})

    @a.mutation(name="notes:refuse")
    def refuse(ctx):
        raise nr.AppError({"why": "closed"})

    @a.action(name="notes:echo", args={"x": v.any()})
    def echo(ctx, x):
        return x

    @a.internal_query(name="notes:secret")
    def secret(ctx):
        return 42

    return a


@pytest.fixture
def app() -> Iterator[nr.App]:
    a = make_app()
    yield a
    a.close()


def test_calls_in_the_servers_own_process(app: nr.App) -> None:
    with app.serve(quiet=True) as server, nr.Client(server.url) as client:
        note = client.mutation("notes:add", {"tag": "a", "text": "hello"})
        assert isinstance(note, str) and client.query("notes:list", {"tag": "a"}) == ["hello"]
        value = {"i": 3, "f": 2.5, "b": b"\x00\x01", "l": [1, None, True]}
        assert client.action("notes:echo", {"x": value}) == value  # int stays int64, bytes bytes
        with pytest.raises(nr.AppError) as info:
            client.mutation("notes:refuse")
        assert info.value.data == {"why": "closed"}
        with pytest.raises(nr.ClientError, match="Could not find public function for 'notes:secret'"):
            client.query("notes:secret")
        assert nr.Client(server.url, admin_key=server.admin_key).query("notes:secret") == 42
        assert run_async(client.aquery("notes:list", {"tag": "a"})) == ["hello"]
    with pytest.raises(nr.ClientError, match="cannot reach"):
        nr.Client(server.url, timeout=2).query("notes:list", {"tag": "a"})
    # a live query says why it has no value
    with nr.Client(server.url, timeout=2) as gone, pytest.raises(
            nr.ClientError, match=r"no result for notes:list within 2 s: cannot connect to ws://"):
        gone.subscribe("notes:list", {"tag": "a"}).value
    with pytest.raises(ValueError, match="needs the server's URL"):
        nr.Client("127.0.0.1:1")


def test_subscriptions_follow_commits_from_anywhere(app: nr.App) -> None:
    with app.serve(quiet=True) as server, nr.Client(server.url) as client:
        sub = client.subscribe("notes:list", {"tag": "t"})
        assert sub.value == []
        seen: list[list[str]] = []
        sub.on_change(seen.append)
        app.run_mutation("notes:add", {"tag": "t", "text": "from the notebook"})
        wait_until(lambda: seen and seen[-1] == ["from the notebook"], "the notebook's commit")
        client.mutation("notes:add", {"tag": "t", "text": "from the client"})
        wait_until(lambda: sub.value == ["from the notebook", "from the client"], "the client's commit")
        # iteration: the current value first, then each change
        it = iter(sub)
        assert next(it) == ["from the notebook", "from the client"]
        threading.Timer(0.2, app.run_mutation, ("notes:add", {"tag": "t", "text": "third"})).start()
        assert next(it)[-1] == "third"

        async def first_two() -> list[Any]:
            out = []
            async for value in client.subscribe("notes:list", {"tag": "t"}):
                out.append(value)
                if len(out) == 1:
                    await asyncio.to_thread(app.run_mutation, "notes:add", {"tag": "t", "text": "fourth"})
                else:
                    return out
            return out

        values = run_async(first_two(), 20)
        assert values[-1][-1] == "fourth"
        failing = client.subscribe("notes:nope", {})
        failing.wait()
        assert isinstance(failing.error, nr.ClientError)
        with pytest.raises(nr.ClientError, match="Could not find public function"):
            failing.value
        sub.unsubscribe()
        assert len(list(it)) <= 1  # unsubscribing ends the iteration (after what was queued)


def test_callbacks_see_one_snapshot_across_subscriptions(app: nr.App) -> None:
    """As with app.subscribe: a callback runs once every subscription the Transition
    touched has its new value, so reading another subscription never mixes snapshots."""
    @app.query(name="notes:count")
    def count(ctx):
        return len(ctx.db.query("notes").collect())

    with app.serve(quiet=True) as server, nr.Client(server.url) as client:
        n = client.subscribe("notes:count")
        texts = client.subscribe("notes:list", {"tag": "s"})
        assert n.value == 0 and texts.value == []
        seen: list[tuple[int, int]] = []
        n.on_change(lambda value: seen.append((value, len(texts.value))))
        texts.on_change(lambda value: seen.append((n.value, len(value))))
        for i in range(3):
            app.run_mutation("notes:add", {"tag": "s", "text": str(i)})
            wait_until(lambda i=i: n.value == i + 1 and texts.value and len(texts.value) == i + 1,
                       "the commit on both subscriptions")
        assert seen and all(a == b for a, b in seen), seen


def test_mutations_read_your_writes_once_live_queries_are_open(app: nr.App) -> None:
    with app.serve(quiet=True) as server, nr.Client(server.url) as client:
        sub = client.subscribe("notes:list", {"tag": "ryw"})
        assert sub.value == []
        for n in range(20):
            client.mutation("notes:add", {"tag": "ryw", "text": f"n{n}"})
            assert sub.value[-1] == f"n{n}"  # no waiting: the mutation returned after it
        with pytest.raises(nr.AppError) as info:
            client.mutation("notes:refuse")
        assert info.value.data == {"why": "closed"}
        with pytest.raises(nr.ClientError, match="Could not find public function"):
            client.mutation("notes:nope")
        assert len(app.run_query("notes:list", {"tag": "ryw"})) == 20

        @app.mutation(name="notes:noop")
        def noop(ctx):
            return "nothing"

        assert client.mutation("notes:noop") == "nothing"  # no write, still answered
        # a mutation from a callback (the client's own thread) goes over HTTP
        done: list[Any] = []
        sub.on_change(lambda value: done.append(client.mutation("notes:add", {"tag": "other", "text": "cb"}))
                      if not done else None)
        client.mutation("notes:add", {"tag": "ryw", "text": "trigger"})
        wait_until(lambda: bool(done), "the callback's mutation")
        assert app.run_query("notes:list", {"tag": "other"}) == ["cb"]


def test_a_mutation_too_large_for_the_socket_is_refused_with_the_reason(app: nr.App) -> None:
    """With live queries open, mutations go over the socket; one too large for a
    WebSocket message is told why (as over HTTP), instead of the socket closing, the
    client resending it on every reconnect, and the caller waiting for its timeout."""
    with app.serve(quiet=True) as server, nr.Client(server.url, timeout=10) as client:
        sub = client.subscribe("notes:list", {"tag": "big"})
        assert sub.value == []
        with pytest.raises(nr.ClientError, match=r"413 PayloadTooLarge: the request body is 18\.0 MiB"):
            client.mutation("notes:add", {"tag": "big", "text": "x" * (18 * 1024 * 1024)})
        client.mutation("notes:add", {"tag": "big", "text": "small"})
        assert sub.value == ["small"]


def test_live_results_larger_than_tornados_default_message_limit(app: nr.App) -> None:
    """A Transition over 10 MiB (tornado's default limit for a client's messages; Convex
    allows 16 MiB per query result) reaches the subscription, instead of the client
    closing its own socket, reconnecting and being sent it again, forever."""
    @app.query(name="notes:big")
    def big(ctx):
        return "x" * (12 * 1024 * 1024)

    with app.serve(quiet=True) as server, nr.Client(server.url, timeout=10) as client:
        small = client.subscribe("notes:list", {"tag": "t"})
        assert small.value == []
        assert len(client.subscribe("notes:big").value) == 12 * 1024 * 1024
        client.mutation("notes:add", {"tag": "t", "text": "after"})
        assert small.value == ["after"]


def test_a_wrong_admin_key_is_reported_over_http_and_over_the_socket(app: nr.App) -> None:
    """The key is random per server, so a client holding an earlier server's key is
    told its key was refused, not that the internal function does not exist."""
    with app.serve(quiet=True) as server, nr.Client(server.url, admin_key="nbr-admin-not-this-servers",
                                                   timeout=10) as client:
        with pytest.raises(nr.ClientError, match="401 BadAdminKey"):
            client.query("notes:secret")
        sub = client.subscribe("notes:secret")
        sub.wait()
        with pytest.raises(nr.ClientError, match="refused this client's admin key"):
            sub.value
        assert client.subscribe("notes:list", {"tag": "t"}).value == []  # public ones still work
    with app.serve(quiet=True) as server, nr.Client(server.url, admin_key=server.admin_key) as client:
        assert client.subscribe("notes:secret").value == 42


def test_reconnects_after_a_server_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "notes.duckdb")
    app = make_app(path)
    server = app.serve(quiet=True)
    port = server.port
    client = nr.Client(server.url)
    sub = client.subscribe("notes:list", {"tag": "r"})
    assert sub.value == []
    server.stop()
    app.close()
    app = make_app(path)  # the notebook restarts; the data is in the file
    app.run_mutation("notes:add", {"tag": "r", "text": "after the restart"})
    server = app.serve(port=port, quiet=True)
    try:
        wait_until(lambda: sub.error is None and sub._value == ["after the restart"], "the re-added query", 20)
    finally:
        client.close()
        server.stop()
        app.close()


def test_from_another_process_and_nbreactive_serve(tmp_path: Path) -> None:
    app_file = tmp_path / "notes_app.py"
    app_file.write_text(textwrap.dedent("""
        import nbreactive as nr
        from nbreactive import v
        app = nr.App()

        @app.mutation(name="notes:add", args={"text": v.string()})
        def add(ctx, text):
            return ctx.db.insert("notes", {"text": text})

        @app.query(name="notes:all")
        def all_(ctx):
            return [d["text"] for d in ctx.db.query("notes").collect()]
    """))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "nbreactive.cli", "serve", str(app_file), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith(f"nbreactive serving {app_file} at http://127.0.0.1:"), first
        url = first.rsplit(" ", 1)[1].strip()
        assert "notes:add" in proc.stdout.readline()
        client_script = textwrap.dedent(f"""
            import nbreactive as nr
            c = nr.Client({url!r})
            sub = c.subscribe("notes:all")
            assert sub.value == []
            c.mutation("notes:add", {{"text": "from a script"}})
            import time
            deadline = time.monotonic() + 15
            while sub._value != ["from a script"] and time.monotonic() < deadline:
                time.sleep(0.01)
            print(sub._value)
            c.close()
        """)
        out = subprocess.run([sys.executable, "-c", client_script], capture_output=True, text=True,
                             timeout=60, env=env)
        assert out.stdout.strip() == "['from a script']", out.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0
    assert "stopped" in (proc.stdout.read() if proc.stdout else "")
    bad = subprocess.run([sys.executable, "-m", "nbreactive.cli", "serve", str(tmp_path / "none.py")],
                         capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode != 0 and "is not a file" in bad.stderr


def test_nbreactive_serve_shows_where_an_app_file_failed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # It printed only "NameError: name 'undefined_name' is not defined": no file, no line.
    from nbreactive.cli import main

    app_file = tmp_path / "broken_app.py"
    app_file.write_text("import nbreactive as nr\n\n\ndef helper():\n    return undefined_name\n\n\nhelper()\n")
    with pytest.raises(SystemExit) as info:
        main(["serve", str(app_file)])
    assert "running" in str(info.value) and "NameError" in str(info.value)
    err = capsys.readouterr().err
    assert f'File "{app_file}", line 5, in helper' in err
    assert f'File "{app_file}", line 8' in err
    assert "return undefined_name" in err
    assert "runpy" not in err and "cli.py" not in err  # only the app's own frames
    app_file.write_text("import nbreactive as nr\napp = nr.App(\n")
    with pytest.raises(SystemExit) as info:
        main(["serve", str(app_file)])
    assert "SyntaxError" in str(info.value)
    err = capsys.readouterr().err
    assert f'File "{app_file}", line 2' in err and "app = nr.App(" in err


def test_nbreactive_serve_says_when_it_is_reachable_from_other_machines(tmp_path: Path) -> None:
    app_file = tmp_path / "open_app.py"
    app_file.write_text("import nbreactive as nr\napp = nr.App()\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "nbreactive.cli", "serve", str(app_file), "--port", "0",
                             "--host", "0.0.0.0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert first.startswith(f"nbreactive serving {app_file} at http://0.0.0.0:"), first
    assert "reachable from other machines" in first
    assert proc.returncode == 0
