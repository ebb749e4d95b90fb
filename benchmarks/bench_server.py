"""The server figures of issue 5, with the official npm ``convex`` clients as load.

1. latency: a mutation from one npm ``ConvexClient`` → the updated result at another,
   subscribed ``ConvexClient`` (both in one node process, one clock); beside it, the
   same commit → ``on_change`` inside the server's process (what the wire adds);
2. fan-out: 200 ``ConvexClient`` sockets, each subscribed to its own channel's message,
   while this process rewrites 500 messages/s spread over the channels (the data stays
   the same size); each update's lag is the client's wall clock minus the commit's (one
   machine); updates received vs mutations, errors; the server process's memory at
   start, middle and end;
3. ``POST /api/query`` of a cached query from a node load generator (keep-alive, 16
   connections, another process), beside ``app.run_query`` of the same query in-process;
4. the peer: a one-row write → a remote client's callback, server and client in one
   process over loopback, for nbreactive (mutation → ``nr.Client`` subscription) and for
   perspective-python's Tornado server (``table.update`` → ``AsyncClient``
   ``view.on_update``; ``benchmarks/perspective_server_peer.py``), as a ratio.

npm ``convex`` must be installed (``.ci/run`` does it; locally:
``mkdir -p .cache/convex-npm && cd .cache/convex-npm && npm install convex@1.48.0``).

Run:
    python benchmarks/bench_server.py                 # ~90 s (a 60 s fan-out run)
    python benchmarks/bench_server.py --seconds 10    # a shorter fan-out run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _util import environment, fmt, now, percentile, rss_bytes

import nbreactive as nr
from nbreactive import v

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def node_modules() -> Path:
    base = Path(os.environ.get("NBR_CONVEX_NPM_DIR") or REPO / ".cache" / "convex-npm")
    modules = base / "node_modules"
    if not (modules / "convex").is_dir():
        raise SystemExit(f"npm convex is not installed in {base}: (cd {base} && npm install convex@1.48.0)")
    return modules


def node(script: str, *args: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(["node", str(HERE / "clients" / script), *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NODE_PATH": str(node_modules())})


def last_json(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"no result from node:\n{out}\n{err}")
    return lines[-1]


def make_app() -> nr.App:
    app = nr.App()
    app.set_schema(nr.define_schema({
        "messages": nr.define_table({"channel": v.string(), "body": v.string(), "sentMs": v.float64()})
        .index("by_channel", ["channel"]),
    }))

    @app.query(name="bench:latest", args={"channel": v.string()})
    def latest(ctx, channel):
        return ctx.db.query("messages").with_index("by_channel", lambda q: q.eq("channel", channel)).order("desc").first()

    @app.mutation(name="bench:send", args={"channel": v.string(), "body": v.string()})
    def send(ctx, channel, body):
        return ctx.db.insert("messages", {"channel": channel, "body": body, "sentMs": time.time() * 1000})

    @app.mutation(name="bench:touch", args={"channel": v.string(), "body": v.string()})
    def touch(ctx, channel, body):
        """Rewrite the channel's one message (the data stays the same size)."""
        doc = ctx.db.query("messages").with_index("by_channel", lambda q: q.eq("channel", channel)).first()
        fields = {"channel": channel, "body": body, "sentMs": time.time() * 1000}
        if doc is None:
            return ctx.db.insert("messages", fields)
        ctx.db.replace(doc["_id"], fields)
        return doc["_id"]

    return app


def engine_latency(app: nr.App, n: int) -> dict[str, float]:
    sub = app.subscribe("bench:latest", {"channel": "engine"})
    got = threading.Event()
    sub.on_change(lambda _v: got.set())
    lat = []
    for i in range(n):
        got.clear()
        t0 = now()
        app.run_mutation("bench:send", {"channel": "engine", "body": f"e{i}"})
        got.wait(10)
        lat.append((now() - t0) * 1000)
    sub.unsubscribe()
    lat.sort()
    return {"p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99)}


def nr_client_latency(app: nr.App, url: str, n: int) -> dict[str, float]:
    """A commit in the server's process → ``nr.Client``'s subscription callback (its own
    thread and loopback WebSocket): measured exactly like the perspective peer."""
    client = nr.Client(url)
    sub = client.subscribe("bench:latest", {"channel": "peer"})
    got = threading.Event()
    expect: list[str] = [""]
    sub.on_change(lambda doc: got.set() if doc and doc["body"] == expect[0] else None)
    sub.wait()
    lat = []
    for i in range(n + 20):
        got.clear()
        expect[0] = f"p{i}"
        t0 = now()
        app.run_mutation("bench:touch", {"channel": "peer", "body": expect[0]})
        if not got.wait(10):
            raise RuntimeError("nr.Client never saw the update")
        if i >= 20:
            lat.append((now() - t0) * 1000)
    client.close()
    lat.sort()
    return {"p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99)}


def fan_out(app: nr.App, url: str, clients: int, rate: float, seconds: float) -> dict[str, Any]:
    for i in range(clients):
        app.run_mutation("bench:touch", {"channel": f"c{i}", "body": "start"})
    proc = node("fanout.cjs", url, clients, seconds)
    assert proc.stdout is not None and proc.stdin is not None
    ready = proc.stdout.readline()
    if '"ready"' not in ready:
        raise RuntimeError(f"fanout.cjs did not start: {ready}")
    time.sleep(3.0)  # every client connected and subscribed
    rss = [rss_bytes()]
    t0, k = now(), 0
    behind = 0.0
    while now() - t0 < seconds:
        app.run_mutation("bench:touch", {"channel": f"c{k % clients}", "body": f"m{k}"})
        k += 1
        due = t0 + k / rate
        delay = due - now()
        if delay > 0:
            time.sleep(delay)
        else:
            behind = max(behind, -delay)
        if k == int(rate * seconds / 2):
            rss.append(rss_bytes())
    achieved = k / (now() - t0)
    rss.append(rss_bytes())
    proc.stdin.write("stop\n")
    proc.stdin.flush()
    result = last_json(proc, timeout=60)
    result.update(mutations=k, achieved_rate=achieved, behind_ms=behind * 1000,
                  rss_mb=[r / 2**20 for r in rss])
    return result


def http_rate(app: nr.App, url: str, seconds: float) -> dict[str, Any]:
    app.run_mutation("bench:send", {"channel": "hot", "body": "cached"})
    out = last_json(node("http_load.cjs", url, seconds, 16), timeout=seconds + 60)
    t0, n = now(), 0
    while now() - t0 < 1.0:
        app.run_query("bench:latest", {"channel": "hot"})
        n += 1
    out["in_process_per_s"] = n / (now() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the fan-out run")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict[str, Any] = {"environment": environment()}
    app = make_app()
    server = app.serve(quiet=True)
    try:
        out["latency"] = last_json(node("latency.cjs", server.url, 300), timeout=120)
        out["engine"] = engine_latency(app, 300)
        out["nr_client"] = nr_client_latency(app, server.url, 300)
        out["http"] = http_rate(app, server.url, 5.0)
        out["fan_out"] = fan_out(app, server.url, args.clients, args.rate, args.seconds)
    finally:
        server.stop()
        app.close()
    try:
        from perspective_server_peer import perspective_remote_update

        out["perspective"] = perspective_remote_update(300)
    except ImportError as e:
        out["perspective"] = {"error": f"not installed ({e}): pip install -e '.[bench]'"}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    la, en, ht, fo = out["latency"], out["engine"], out["http"], out["fan_out"]
    print(f"npm ConvexClient mutation -> another ConvexClient's update: p50 {fmt(la['p50_ms'])} ms, "
          f"p99 {fmt(la['p99_ms'])} ms, max {fmt(la['max_ms'])} ms ({la['n']} mutations); in-process "
          f"commit -> on_change: p50 {fmt(en['p50_ms'])} ms, p99 {fmt(en['p99_ms'])} ms")
    pe, nc = out["perspective"], out["nr_client"]
    if "error" in pe:
        print(f"perspective peer: {pe['error']}")
    else:
        print(f"one-row write -> remote client's callback, in-process server + client over loopback: "
              f"nbreactive (mutation -> nr.Client) p50 {fmt(nc['p50_ms'])} ms, p99 {fmt(nc['p99_ms'])} ms; "
              f"perspective {pe['version']} (table.update -> AsyncClient view.on_update) p50 "
              f"{fmt(pe['p50_ms'])} ms, p99 {fmt(pe['p99_ms'])} ms ({pe['lost']} updates not seen within 2 s); ratio p50 "
              f"{nc['p50_ms'] / pe['p50_ms']:.2f}x")
    print(f"POST /api/query (cached), 16 keep-alive connections from node: {ht['rps']:,.0f}/s "
          f"(p50 {fmt(ht['p50_ms'])} ms, p99 {fmt(ht['p99_ms'])} ms, {ht['errors']} errors); "
          f"in-process run_query {ht['in_process_per_s']:,.0f}/s")
    print(f"{fo['clients']} sockets, {fo['achieved_rate']:,.0f} mutations/s for {args.seconds:g} s: "
          f"{fo['updates']:,} updates, lag p50 {fmt(fo['p50_ms'])} ms, p99 {fmt(fo['p99_ms'])} ms, "
          f"max {fmt(fo['max_ms'])} ms, {fo['errors']} errors; RSS "
          f"{' / '.join(f'{r:.0f}' for r in fo['rss_mb'])} MB (start / middle / end)")


if __name__ == "__main__":
    main()
