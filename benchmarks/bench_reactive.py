"""The reactivity figures of issue 3, beside perspective-python in the same run.

Every figure runs on a fresh in-memory app holding 100k messages
``{channel, body, n}`` in 10,000 channels of 10 (index ``by_channel``); the live query
is "the messages of a channel" (``with_index("by_channel", eq channel).collect()``) and
a mutation patches one message (``body`` and ``n``), so every commit changes the
result of exactly the queries reading that channel.

1. commit -> ``on_change`` latency of one affected subscription (t0 before calling the
   mutation, t1 first thing in the callback; the next commit waits for the callback),
   beside perspective-python's ``table.update()`` -> ``view.on_update`` on a 100k-row
   table indexed on ``_id`` (a flat view and a 10-row filtered view, default mode);
2. 10,000 subscriptions on distinct channels: the subscribe rate, and commit -> callback
   with 10,000 live subscriptions vs with 10 (each commit must re-run exactly one query);
3. 1,000 subscriptions to 100 distinct queries that one commit invalidates all together:
   commit -> the last subscriber's callback;
4. a paced 1,000 mutations/s for ``--duration`` seconds with 1,000 live subscriptions
   (100 channels x 10), each mutation affecting 1% of them: notification lag (callback
   time - mutation start, at the last of the 10 subscribers), achieved rate, and RSS;
5. a repeated query served from the result cache vs the same with the cache off.

The callbacks run on nbreactive's reactivity thread; perspective's run synchronously
inside ``table.update()``. Ratios are reported, since this machine is shared and noisy.

Run:
    python benchmarks/bench_reactive.py               # ~3 s per figure + a 30 s sustained run
    python benchmarks/bench_reactive.py --quick       # ~1 s per figure + a 5 s sustained run
    python benchmarks/bench_reactive.py --duration 10 --json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _util import (
    append_markdown_section,
    environment,
    fmt,
    measure,
    met,
    now,
    rss_bytes,
    run_steps,
    timing_from_latencies,
)

import nbreactive as nr
from nbreactive import v

PRELOAD_ROWS = 100_000
CHANNELS = 10_000  # 10 messages per channel
CALLBACK_TIMEOUT_S = 10.0
PACKAGES = ("duckdb", "pyarrow", "orjson", "sortedcontainers", "perspective-python")

SCHEMA = nr.define_schema(
    {
        "messages": nr.define_table(
            {"channel": v.string(), "body": v.string(), "n": v.int64()}
        ).index("by_channel", ["channel"]),
    }
)


def channel(k: int) -> str:
    return f"c{k}"


def _message(k: int) -> dict[str, Any]:
    return {"channel": channel(k % CHANNELS), "body": f"message number {k}", "n": 0}


class Bench:
    """A fresh in-memory app with the preloaded messages and the benchmark's functions."""

    def __init__(self, *, query_cache_size: int = 1000) -> None:
        app = nr.App(query_cache_size=query_cache_size)
        app.set_schema(SCHEMA)

        @app.query(args={"channel": v.string()})
        def by_channel(ctx: Any, channel: str) -> list[dict[str, Any]]:
            return (
                ctx.db.query("messages")
                .with_index("by_channel", lambda q: q.eq("channel", channel))
                .collect()
            )

        @app.query(args={"channel": v.string(), "variant": v.int64()})
        def variant(ctx: Any, channel: str, variant: int) -> dict[str, Any]:
            # The same range under distinct arguments: distinct queries, one read set.
            msgs = (
                ctx.db.query("messages")
                .with_index("by_channel", lambda q: q.eq("channel", channel))
                .collect()
            )
            return {"variant": variant, "messages": msgs}

        @app.mutation(args={"id": v.id("messages"), "n": v.int64()})
        def touch(ctx: Any, id: str, n: int) -> None:
            ctx.db.patch(id, {"body": f"edited by mutation {n}", "n": n})

        app.import_documents("messages", [_message(k) for k in range(PRELOAD_ROWS)], progress=False)
        self.app = app
        self.by_channel = by_channel
        self.variant = variant
        self.touch = touch
        self.ids: dict[str, list[str]] = {}
        for r in app.sql("SELECT _id, channel FROM messages ORDER BY _creationTime").to_pylist():
            self.ids.setdefault(r["channel"], []).append(r["_id"])
        self.seq = 0  # the `n` of the next mutation: increasing, so every patch changes something

    def mutate(self, ch: str) -> None:
        """Patch one message of channel ``ch`` (a commit that invalidates exactly its readers)."""
        self.seq += 1
        ids = self.ids[ch]
        self.touch(id=ids[self.seq % len(ids)], n=self.seq)

    @property
    def stats(self) -> dict[str, int]:
        return self.app._reactor.stats

    def close(self) -> None:
        self.app.close()
        gc.collect()


class Probe:
    """Where a callback records the time it ran; the main thread waits on it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.t1 = 0.0
        self.remaining = 0  # callbacks still expected (written before the commit)
        self.unexpected = 0

    def hit(self) -> None:
        self.remaining -= 1  # callbacks all run on the one reactivity thread
        if self.remaining == 0:
            self.t1 = now()
            self.event.set()
        elif self.remaining < 0:
            self.unexpected += 1

    def arm(self, expected: int) -> None:
        self.event.clear()
        self.remaining = expected

    def wait(self, what: str) -> float:
        if not self.event.wait(CALLBACK_TIMEOUT_S):
            raise RuntimeError(f"{what}: no callback within {CALLBACK_TIMEOUT_S} s")
        return self.t1


def commit_to_callback(
    fire: Callable[[int], None],
    probe: Probe,
    expected: int,
    seconds: float,
    *,
    warmup: int = 20,
    min_iterations: int = 50,
    max_iterations: int = 100_000,
    check: Callable[[int], None] | None = None,
) -> tuple[dict[str, Any], list[float]]:
    """Time ``fire(i)`` (a commit) to the ``expected``-th callback, one commit at a time.

    Returns the figures (p50/p99/max ms, commits) and the mutation call latencies (s).
    """
    for i in range(warmup):
        probe.arm(expected)
        fire(i)
        probe.wait("warm-up")
    lat: list[float] = []
    mut: list[float] = []
    i = warmup
    start = now()
    end = start + seconds
    while (now() < end or len(lat) < min_iterations) and len(lat) < max_iterations:
        probe.arm(expected)
        t0 = now()
        fire(i)
        mut.append(now() - t0)
        lat.append(probe.wait("commit -> callback") - t0)
        if check is not None:
            check(i)
        i += 1
    t = timing_from_latencies(lat, now() - start)
    m = timing_from_latencies(mut, t.seconds)
    return {"p50_ms": t.p50_ms, "p99_ms": t.p99_ms, "max_ms": t.max_ms, "commits": t.ops,
            "mutation_p50_ms": m.p50_ms, "mutation_p99_ms": m.p99_ms,
            "unexpected_callbacks": probe.unexpected}, lat


# ------------------------------------------------------------------ 1. one subscription


def bench_one_subscription(seconds: float) -> dict[str, Any]:
    b = Bench()
    try:
        probe = Probe()
        sub = b.app.subscribe(b.by_channel, {"channel": "c0"})
        sub.on_change(lambda value: probe.hit())
        before = dict(b.stats)
        fig, _ = commit_to_callback(lambda i: b.mutate("c0"), probe, 1, seconds)
        fig["reruns"] = b.stats["reruns"] - before["reruns"]
        # The same mutation with nobody subscribed: what the commit alone costs.
        sub.unsubscribe()
        alone = measure(lambda i: b.mutate("c0"), seconds=min(seconds, 1.0), warmup=20)
        fig["no_subscription_mutation_p50_ms"] = alone.p50_ms
        return fig
    finally:
        b.close()


def bench_perspective(seconds: float) -> dict[str, Any]:
    """perspective-python: ``table.update([row])`` -> ``view.on_update`` callback, 100k rows."""
    try:
        import perspective
        from perspective import Server
    except ImportError as e:
        return {"skipped": f"perspective-python is not importable ({e}); "
                           "`pip install -e '.[bench]'` to measure the peer"}
    server = Server()
    client = server.new_local_client()
    data = {
        "_id": [f"m{k:06d}" for k in range(PRELOAD_ROWS)],
        "channel": [channel(k % CHANNELS) for k in range(PRELOAD_ROWS)],
        "body": [f"message number {k}" for k in range(PRELOAD_ROWS)],
        "n": [0] * PRELOAD_ROWS,
    }
    t0 = now()
    table = client.table(data, index="_id", name="messages")
    load_s = now() - t0
    c0_ids = [f"m{k:06d}" for k in range(0, PRELOAD_ROWS, CHANNELS)]  # the 10 rows of "c0"
    out: dict[str, Any] = {"version": perspective.__version__, "load_s": load_s}
    seq = [0]

    def update(i: int) -> None:
        seq[0] += 1
        table.update([{"_id": c0_ids[seq[0] % len(c0_ids)], "channel": "c0",
                       "body": f"edited by update {seq[0]}", "n": seq[0]}])

    for name, view_args in (("flat", {}), ("filtered", {"filter": [["channel", "==", "c0"]]})):
        view = table.view(**view_args)
        rows = view.num_rows()
        probe = Probe()
        view.on_update(lambda *a, probe=probe: probe.hit())
        fig, _ = commit_to_callback(update, probe, 1, seconds)
        out[name] = {**fig, "view_rows": rows}
        view.delete()
    table.delete()
    return out


# ------------------------------------------------------------------ 2. 10,000 subscriptions


def bench_many_ranges(seconds: float, n_subs: int = CHANNELS, few: int = 10) -> dict[str, Any]:
    """Commit -> callback with ``few`` live subscriptions, then with ``n_subs``.

    With ``n_subs`` live, two commit streams: the very commits of the ``few`` run (the
    same seeded choice among the first ``few`` channels: only the number of live
    subscriptions differs), and commits spread over all ``n_subs`` channels (each
    touches data that is cold in the CPU caches).
    """
    b = Bench()
    try:
        probe = Probe()
        subs: list[Any] = []

        def subscribe(k: int) -> None:
            sub = b.app.subscribe(b.by_channel, {"channel": channel(k)})
            sub.on_change(lambda value: probe.hit())
            subs.append(sub)

        reruns_bad: list[int] = []
        commits = [0]

        def run(n: int, seed: int) -> dict[str, Any]:
            rng = random.Random(seed)
            state: dict[str, int] = {}

            def fire(i: int) -> None:
                state["reruns"] = b.stats["reruns"]
                b.mutate(channel(rng.randrange(n)))

            def check(i: int) -> None:
                commits[0] += 1
                delta = b.stats["reruns"] - state["reruns"]
                if delta != 1:
                    reruns_bad.append(delta)

            fig, _ = commit_to_callback(fire, probe, 1, seconds, check=check)
            return fig

        for k in range(few):
            subscribe(k)
        out: dict[str, Any] = {"few": few, "many": n_subs}
        out["few_subs"] = run(few, seed=5)
        gc.collect()
        t0 = now()
        for k in range(few, n_subs):
            subscribe(k)
        took = now() - t0
        out["subscribe_per_s"] = (n_subs - few) / took
        out["many_subs"] = run(few, seed=5)
        out["many_subs_spread"] = run(n_subs, seed=6)
        out["live_queries"] = len(b.app._reactor.entries)
        out["commits_checked"] = commits[0]
        out["reruns_not_1"] = len(reruns_bad)
        assert not reruns_bad, f"commits that re-ran other than 1 query: {reruns_bad[:10]}"
        for name in ("many_subs", "many_subs_spread"):
            for p in ("p50", "p99"):
                out[f"ratio_{name}_{p}"] = out[name][f"{p}_ms"] / out["few_subs"][f"{p}_ms"]
        return out
    finally:
        b.close()


# ------------------------------------------------------------------ 3. fan-out


def bench_fan_out(seconds: float, queries: int = 100, per_query: int = 10) -> dict[str, Any]:
    b = Bench()
    try:
        probe = Probe()
        for q in range(queries):
            for _ in range(per_query):
                sub = b.app.subscribe(b.variant, {"channel": "c0", "variant": q})
                sub.on_change(lambda value: probe.hit())
        before = dict(b.stats)
        fig, _ = commit_to_callback(lambda i: b.mutate("c0"), probe, queries * per_query,
                                    seconds, warmup=5, min_iterations=30)
        rounds = b.stats["rounds"] - before["rounds"]
        fig["reruns_per_commit"] = (b.stats["reruns"] - before["reruns"]) / max(1, rounds)
        fig["rounds_per_commit"] = rounds / (fig["commits"] + 5)
        return {"queries": queries, "subscriptions": queries * per_query, **fig}
    finally:
        b.close()


# ------------------------------------------------------------------ 4. sustained load


def bench_sustained(duration: float, rate: float = 1000.0, channels: int = 100,
                    per_channel: int = 10) -> dict[str, Any]:
    b = Bench()
    try:
        total = int(duration * rate)
        # pending[c]: (seq, start time) of the mutations of channel c, in order; each
        # subscriber keeps how far through that list its callbacks have seen.
        pending: list[list[tuple[int, float]]] = [[] for _ in range(channels)]
        lag = [0.0] * (total + 1)
        notified = [0] * (total + 1)

        def make_callback(c: int) -> Callable[[Any], None]:
            seen = [0]
            lst = pending[c]

            def cb(value: list[dict[str, Any]]) -> None:
                t = now()
                newest = max(d["n"] for d in value)
                p = seen[0]
                while p < len(lst) and lst[p][0] <= newest:
                    seq, t0 = lst[p]
                    if t - t0 > lag[seq]:
                        lag[seq] = t - t0
                    notified[seq] += 1
                    p += 1
                seen[0] = p

            return cb

        for c in range(channels):
            for _ in range(per_channel):
                b.app.subscribe(b.by_channel, {"channel": channel(c)}).on_change(make_callback(c))
        rng = random.Random(9)
        targets = [rng.randrange(channels) for _ in range(total)]
        gc.collect()
        rss = {"start": rss_bytes()}
        before = dict(b.stats)
        behind_max = 0.0
        touch = b.touch
        ids = b.ids
        t_start = now()
        for i in range(total):
            due = t_start + i / rate
            t = now()
            if t < due:
                time.sleep(due - t)
            else:
                behind_max = max(behind_max, t - due)
            seq = i + 1
            c = targets[i]
            ch_ids = ids[channel(c)]
            t0 = now()
            pending[c].append((seq, t0))
            touch(id=ch_ids[seq % len(ch_ids)], n=seq)
            if i == total // 2:
                rss["middle"] = rss_bytes()
        elapsed = now() - t_start
        deadline = now() + CALLBACK_TIMEOUT_S
        while now() < deadline and min(notified[1:]) < per_channel:
            time.sleep(0.01)
        drained = now() - t_start - elapsed
        rss["end"] = rss_bytes()
        missing = sum(1 for k in notified[1:] if k < per_channel)
        t = timing_from_latencies([lag[s] for s in range(1, total + 1) if notified[s]], elapsed)
        rounds = b.stats["rounds"] - before["rounds"]
        return {
            "duration_s": duration, "target_rate": rate, "mutations": total,
            "achieved_rate": total / elapsed, "max_behind_schedule_ms": behind_max * 1e3,
            "lag_p50_ms": t.p50_ms, "lag_p99_ms": t.p99_ms, "lag_max_ms": t.max_ms,
            "not_notified": missing, "drain_after_last_ms": drained * 1e3,
            "subscriptions": channels * per_channel, "rounds": rounds,
            "reruns": b.stats["reruns"] - before["reruns"],
            "rss_start_mb": rss["start"] / 2**20, "rss_middle_mb": rss["middle"] / 2**20,
            "rss_end_mb": rss["end"] / 2**20,
            "rss_growth_mb": (rss["end"] - rss["start"]) / 2**20,
        }
    finally:
        b.close()


# ------------------------------------------------------------------ 5. the result cache


def bench_cache(seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, size in (("cached", 1000), ("uncached", 0)):
        b = Bench(query_cache_size=size)
        try:
            args = {"channel": "c0"}
            before = dict(b.stats)
            t = measure(lambda i, b=b, args=args: b.app.run_query(b.by_channel, args),
                        seconds=seconds, warmup=20)
            out[name] = {"ops_per_s": t.ops_per_s, "p50_ms": t.p50_ms, "p99_ms": t.p99_ms,
                         "cache_hits": b.stats["cache_hits"] - before["cache_hits"]}
        finally:
            b.close()
    out["ratio"] = out["cached"]["ops_per_s"] / out["uncached"]["ops_per_s"]
    return out


# ------------------------------------------------------------------ report


def _ms(fig: dict[str, Any], p50: str = "p50_ms", p99: str = "p99_ms") -> str:
    return f"p50 {fmt(fig[p50])} ms, p99 {fmt(fig[p99])} ms"


def report_rows(r: dict[str, Any]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []

    def add(figure: str, ours: str, peer: str, target: str, met: str) -> None:
        rows.append({"figure": figure, "nbreactive": ours, "peer (same run)": peer,
                     "target": target, "met?": met})

    one = r["one"]
    p = r["perspective"]
    if "skipped" in p:
        peer = f"perspective-python skipped: {p['skipped']}"
    else:
        flat, filt = p["flat"], p["filtered"]
        peer = (f"perspective {p['version']} flat 100k-row view: {_ms(flat)} "
                f"(nbreactive/perspective p50 **{one['p50_ms'] / flat['p50_ms']:.1f}×**); "
                f"filtered {filt['view_rows']}-row view: {_ms(filt)} "
                f"(**{one['p50_ms'] / filt['p50_ms']:.1f}×**)")
    add("commit → on_change, 1 affected subscription (in-memory app)", _ms(one)
        + f"; the mutation call itself p50 {fmt(one['mutation_p50_ms'])} ms", peer,
        "p50 ≤ 0.5 ms, p99 ≤ 3 ms", met(one["p50_ms"] <= 0.5 and one["p99_ms"] <= 3.0))

    m = r["many"]
    few, many = m["few"], m["many"]
    add(f"subscribe rate ({many - few:,} subscriptions on distinct ranges)",
        f"{fmt(m['subscribe_per_s'])}/s (subscribe + on_change)", "–", "–", "–")
    add(f"commit → callback, {few} live subscriptions (commits to them)", _ms(m["few_subs"]),
        "–", "–", "–")
    add(f"commit → callback, {many:,} live subscriptions, the same commits",
        _ms(m["many_subs"]) + f" → p50 **{m['ratio_many_subs_p50']:.2f}×**, "
        f"p99 {m['ratio_many_subs_p99']:.2f}× the {few}-subscription figure", "–",
        f"≤ 1.5× the {few}-subscription figure", met(m["ratio_many_subs_p50"] <= 1.5))
    add(f"commit → callback, {many:,} live subscriptions, commits spread over all {many:,}",
        _ms(m["many_subs_spread"]) + f" → p50 **{m['ratio_many_subs_spread_p50']:.2f}×**, "
        f"p99 {m['ratio_many_subs_spread_p99']:.2f}×", "–",
        f"≤ 1.5× the {few}-subscription figure", met(m["ratio_many_subs_spread_p50"] <= 1.5))
    add("  queries re-run per commit (stats['reruns'] delta)",
        f"exactly 1 in all {m['commits_checked']:,} commits checked", "–", "exactly 1",
        met(m["reruns_not_1"] == 0))

    f = r["fan_out"]
    add(f"{f['subscriptions']:,} subscriptions to {f['queries']} queries, one commit invalidating "
        "all → last callback", _ms(f) + f" ({f['commits']} commits, {fmt(f['reruns_per_commit'])} "
        "re-runs each)", "–", "≤ 20 ms (p99)", met(f["p99_ms"] <= 20.0))

    s = r["sustained"]
    add(f"notification lag, {fmt(s['target_rate'])} mutations/s for {fmt(s['duration_s'])} s, "
        f"{s['subscriptions']:,} subscriptions, 1% per mutation", _ms(s, "lag_p50_ms", "lag_p99_ms")
        + f", max {fmt(s['lag_max_ms'])} ms; {s['not_notified']} not notified", "–",
        "p99 ≤ 50 ms", met(s["lag_p99_ms"] <= 50.0 and s["not_notified"] == 0))
    add("  achieved mutation rate", f"{fmt(s['achieved_rate'])}/s "
        f"(max {fmt(s['max_behind_schedule_ms'])} ms behind schedule)", "–",
        f"{fmt(s['target_rate'])}/s", met(s["achieved_rate"] >= 0.98 * s["target_rate"]))
    add("  RSS start / middle / end", f"{fmt(s['rss_start_mb'])} / {fmt(s['rss_middle_mb'])} / "
        f"{fmt(s['rss_end_mb'])} MB (growth {fmt(s['rss_growth_mb'])} MB)", "–", "flat", "")

    c = r["cache"]
    add("repeated query (10 documents), result cache hit vs cache off",
        f"{fmt(c['cached']['ops_per_s'])}/s vs {fmt(c['uncached']['ops_per_s'])}/s "
        f"(**{c['ratio']:.1f}×**)", "–", "–", "–")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 s per figure, 5 s sustained run")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per timed figure")
    ap.add_argument("--duration", type=float, default=None,
                    help="seconds of the sustained 1,000 mutations/s run (default 30; 5 with --quick)")
    ap.add_argument("--rate", type=float, default=1000.0, help="mutations/s of the sustained run")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    seconds = args.seconds or (1.0 if args.quick else 3.0)
    duration = args.duration or (5.0 if args.quick else 30.0)
    env = environment(PACKAGES)
    t0 = now()
    results: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("one", lambda: bench_one_subscription(seconds)),
        ("perspective", lambda: bench_perspective(seconds)),
        ("many", lambda: bench_many_ranges(seconds)),
        ("fan_out", lambda: bench_fan_out(seconds)),
        ("sustained", lambda: bench_sustained(duration, args.rate)),
        ("cache", lambda: bench_cache(seconds)),
    ]
    run_steps(steps, results, env, t0)
    env["seconds_per_figure"] = seconds
    env["sustained_s"] = duration
    if args.json:
        print(json.dumps({"env": env, **results}, indent=1, default=str))
        return 0
    notes = [
        f"{PRELOAD_ROWS:,} messages in {CHANNELS:,} channels of 10; the live query collects "
        "one channel (10 documents) through index by_channel; each mutation patches one message.",
        "nbreactive callbacks run on its reactivity thread after a re-run of the query and get "
        "a copy of the new result; perspective's default-mode on_update runs synchronously "
        "inside table.update() and carries no data.",
    ]
    print(append_markdown_section("", "Reactivity, same run", report_rows(results), env=env,
                                  notes=notes))
    print(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
