"""The peer of ``bench_server.py``: perspective-python's own Tornado server pushing a
one-row update to a remote client (perspective's ``AsyncClient`` over a loopback
WebSocket, ``websocket-client`` as transport), measured like nbreactive's: the time
from the server-side write (``table.update`` of one row) to the remote client's
``view.on_update`` callback, in one process with the server on its own thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

__all__ = ["perspective_remote_update"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def perspective_remote_update(n: int = 300) -> dict[str, Any]:
    import perspective
    import perspective.handlers.tornado
    import tornado.ioloop
    import tornado.web
    import websocket
    from _util import percentile

    port = _free_port()
    pserver = perspective.Server()
    local = pserver.new_local_client()
    table = local.table({"k": "integer", "v": "string"}, name="bench", index="k")
    table.update([{"k": i, "v": "start"} for i in range(100)])
    started = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        app = tornado.web.Application([(r"/websocket", perspective.handlers.tornado.PerspectiveTornadoHandler,
                                        {"perspective_server": pserver})])
        holder["http"] = app.listen(port, "127.0.0.1")
        holder["loop"] = tornado.ioloop.IOLoop.current()
        started.set()
        holder["loop"].start()

    server_thread = threading.Thread(target=serve, daemon=True)
    server_thread.start()
    started.wait(10)

    client_loop = asyncio.new_event_loop()
    client_thread = threading.Thread(target=client_loop.run_forever, daemon=True)
    client_thread.start()
    updated = threading.Event()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def send_request(msg: bytes) -> None:
        state["ws"].send(msg, websocket.ABNF.OPCODE_BINARY)

    def on_message(_ws: Any, message: bytes) -> None:
        asyncio.run_coroutine_threadsafe(state["client"].handle_response(message), client_loop)

    async def subscribe() -> None:
        remote = await state["client"].open_table("bench")
        view = await remote.view()
        await view.on_update(lambda *_: updated.set())
        state["view"] = view
        ready.set()

    def on_open(_ws: Any) -> None:
        state["client"] = perspective.AsyncClient(send_request)
        asyncio.run_coroutine_threadsafe(subscribe(), client_loop)

    state["ws"] = websocket.WebSocketApp(f"ws://127.0.0.1:{port}/websocket", on_open=on_open, on_message=on_message)
    ws_thread = threading.Thread(target=state["ws"].run_forever, daemon=True)
    ws_thread.start()
    if not ready.wait(20):
        raise RuntimeError("the perspective client did not subscribe")
    lat = []
    lost = 0
    for i in range(n + 20):
        updated.clear()
        t0 = time.perf_counter()
        table.update([{"k": i % 100, "v": f"m{i}"}])
        if not updated.wait(2):
            lost += 1  # seen now and then: reported, not hidden
            if lost > 10:
                raise RuntimeError("perspective's remote updates stopped arriving")
            continue
        if i >= 20:
            lat.append((time.perf_counter() - t0) * 1000)
    state["ws"].close()
    ws_thread.join(5)
    client_loop.call_soon_threadsafe(client_loop.stop)
    client_thread.join(5)
    loop = holder["loop"]
    loop.add_callback(holder["http"].stop)
    loop.add_callback(loop.stop)
    server_thread.join(5)
    lat.sort()
    return {"p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99), "n": len(lat), "lost": lost,
            "version": perspective.__version__}
