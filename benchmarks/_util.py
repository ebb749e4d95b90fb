"""Small helpers shared by the benchmark scripts: timing, environment, markdown.

- ``measure(fn, seconds=..., iterations=...)`` calls ``fn(i)`` in a loop and returns a
  ``Timing`` (operations/s and p50/p99/max latency of single calls).
- ``environment()`` captures what a figure depends on: versions, CPU, load average.
- ``markdown_table`` / ``append_markdown_section`` render figures for
  ``benchmarks/RESULTS.md``; they return text and never write the file.

Figures from this machine are noisy (2 shared cores): report the load average beside
them and compare peers measured in the same run, not across runs.
"""

from __future__ import annotations

import gc
import importlib.metadata
import math
import os
import platform
import resource
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

now = time.perf_counter


@dataclass(frozen=True)
class Timing:
    """What one ``measure`` run saw. Latencies are of single calls, in milliseconds."""

    ops: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else math.nan

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        """The figures as a flat dict (``ops_per_s`` included), keys prefixed by ``prefix``."""
        out: dict[str, float] = {**asdict(self), "ops_per_s": self.ops_per_s}
        return {prefix + k: v for k, v in out.items()}


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (``p`` in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = math.ceil(p / 100.0 * len(sorted_values))
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


def timing_from_latencies(latencies: list[float], seconds: float) -> Timing:
    """A ``Timing`` from per-call latencies (seconds) over a wall-clock span of ``seconds``."""
    latencies.sort()
    return Timing(
        ops=len(latencies),
        seconds=seconds,
        p50_ms=percentile(latencies, 50) * 1e3,
        p99_ms=percentile(latencies, 99) * 1e3,
        max_ms=(latencies[-1] * 1e3) if latencies else math.nan,
    )


def measure(
    fn: Callable[[int], object],
    *,
    seconds: float | None = None,
    iterations: int | None = None,
    warmup: int = 0,
) -> Timing:
    """Call ``fn(0), fn(1), ...`` for ``seconds`` of wall time or ``iterations`` calls.

    With both given, stops at whichever comes first; with neither, raises ValueError.
    ``warmup`` calls (indices ``0..warmup-1``) run first and are not counted; the
    measured calls continue the index from there, so ``fn`` can use it to pick a fresh
    row. Each call is timed on its own (``perf_counter`` costs ~0.1 µs a call, so
    for operations much shorter than a microsecond the figures are upper bounds).

    Example:
        >>> t = measure(lambda i: sum(range(100)), iterations=1000)
        >>> t.ops
        1000
    """
    if seconds is None and iterations is None:
        raise ValueError("measure() needs seconds=..., iterations=... or both")
    for i in range(warmup):
        fn(i)
    limit = iterations if iterations is not None else sys.maxsize
    latencies: list[float] = []
    append = latencies.append
    i = warmup
    start = now()
    end = start + seconds if seconds is not None else math.inf
    t1 = start
    while len(latencies) < limit and t1 < end:
        t0 = now()
        fn(i)
        t1 = now()
        append(t1 - t0)
        i += 1
    return timing_from_latencies(latencies, t1 - start)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``fn()`` once; return ``(its result, seconds it took)``."""
    t0 = now()
    result = fn()
    return result, now() - t0


# ------------------------------------------------------------------ environment


def load_average() -> tuple[float, float, float] | None:
    """The 1-, 5- and 15-minute load averages, or None where the OS has none."""
    try:
        return os.getloadavg()
    except OSError:
        return None


def rss_bytes() -> int:
    """Current resident set size of this process (VmRSS), in bytes.

    Falls back to the peak RSS from ``getrusage`` where /proc is missing.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def versions(
    packages: Iterable[str] = ("duckdb", "pyarrow", "orjson", "sortedcontainers"),
) -> dict[str, str]:
    """Versions of Python, SQLite and the given distributions (without importing them)."""
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(
    packages: Iterable[str] = ("duckdb", "pyarrow", "orjson", "sortedcontainers"),
) -> dict[str, Any]:
    """What a figure depends on: versions, CPU, core count, load average, time (UTC)."""
    load = load_average()
    return {
        "when_utc": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "loadavg": " ".join(f"{x:.2f}" for x in load) if load else "n/a",
        **versions(packages),
    }


# ------------------------------------------------------------------ formatting


def run_steps(steps: Sequence[tuple[str, Callable[[], Any]]], results: dict[str, Any],
              env: dict[str, Any], t0: float) -> None:
    """Run each named figure in turn into ``results`` (a full collection between them,
    so one figure's garbage is not collected inside the next), then note in ``env`` the
    load average after the run and its length."""
    for name, step in steps:
        print(f"  {name} ...", file=sys.stderr, flush=True)
        results[name] = step()
        gc.collect()
    env["loadavg_after"] = environment(())["loadavg"]
    env["total_s"] = round(now() - t0, 1)


def met(ok: bool) -> str:
    """A table's "met?" cell."""
    return "yes" if ok else "**no**"


def fmt(value: Any) -> str:
    """A number as people read it in a table: thousands separators, 3 significant digits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    a = abs(value)
    if isinstance(value, int) or a >= 100:
        return f"{value:,.0f}"
    if a >= 10:
        return f"{value:.1f}"
    if a >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Render ``rows`` (dicts) as a GitHub markdown table; numbers go through ``fmt``.

    ``columns`` picks and orders the columns (default: the keys of the first row, then
    any new keys in order of appearance). Missing cells are left empty.
    """
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        columns = list(seen)
    lines = [
        "| " + " | ".join(c.replace("|", "\\|") for c in columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for row in rows:
        cells = (fmt(row[c]) if c in row else "" for c in columns)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def append_markdown_section(
    text: str,
    title: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    columns: Sequence[str] | None = None,
    env: Mapping[str, Any] | None = None,
    notes: Iterable[str] = (),
    level: int = 2,
) -> str:
    """Return ``text`` with a new section appended: heading, environment line, table, notes.

    Meant for ``benchmarks/RESULTS.md``; the caller decides whether to write the result.

    Example:
        >>> out = append_markdown_section("# Results\\n", "Peers", [{"what": "x", "ops/s": 1200.0}])
        >>> print(out.splitlines()[2])
        ## Peers
    """
    parts = [text.rstrip("\n")] if text.strip() else []
    parts.append("#" * level + " " + title)
    if env:
        parts.append("_" + ", ".join(f"{k}: {v}" for k, v in env.items()) + "_")
    parts.append(markdown_table(rows, columns))
    notes = list(notes)
    if notes:
        parts.append("\n".join(f"- {n}" for n in notes))
    return "\n\n".join(parts) + "\n"
