"""Deterministic execution for queries and mutations: a frozen clock, seeded randomness.

Inside a query or mutation handler, ``time.time()``, ``time.time_ns()`` return
the transaction's start time, and the functions of the ``random`` module and
``uuid.uuid4()`` draw from a ``random.Random`` seeded for that call — as in
Convex, where ``Date.now()`` is frozen and ``Math.random()`` is seeded.

The module functions are replaced once, process-wide, by thin wrappers that
consult a context variable, so other threads (the server, a cell computing
something else) keep the real clock and real randomness. ``datetime.now()`` is
implemented in C and cannot be redirected; use ``ctx.now`` (a datetime) or
``time.time()`` inside handlers.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Sandbox", "active", "sandboxed"]


@dataclass(frozen=True)
class Sandbox:
    """The frozen clock (seconds since the epoch) and the seeded generator of one call.

    ``source.rng`` is read only when user code draws a random number, so a call that
    never does pays nothing for seeding.
    """

    now: float
    source: Any

    @property
    def rng(self) -> random.Random:
        return self.source.rng  # type: ignore[no-any-return]


_current: contextvars.ContextVar[Sandbox | None] = contextvars.ContextVar("nbreactive_sandbox", default=None)
_installed = False
_install_lock = threading.Lock()

_RANDOM_FUNCS = (
    "random", "uniform", "randint", "randrange", "choice", "choices", "shuffle", "sample",
    "getrandbits", "gauss", "normalvariate", "triangular", "betavariate", "expovariate",
    "gammavariate", "lognormvariate", "vonmisesvariate", "paretovariate", "weibullvariate",
    "randbytes", "binomialvariate", "seed", "getstate", "setstate",
)  # fmt: skip


def active() -> Sandbox | None:
    return _current.get()


def _install() -> None:
    global _installed
    if _installed:  # the common case, without taking the lock
        return
    with _install_lock:
        if _installed:
            return
        real_time, real_time_ns, real_uuid4 = time.time, time.time_ns, uuid.uuid4

        def sandboxed_time() -> float:
            sb = _current.get()
            if sb is None:
                return real_time()
            sb.source.time_read = True
            return sb.now

        def sandboxed_time_ns() -> int:
            sb = _current.get()
            if sb is None:
                return real_time_ns()
            sb.source.time_read = True
            return int(sb.now * 1e9)

        def sandboxed_uuid4() -> uuid.UUID:
            sb = _current.get()
            if sb is None:
                return real_uuid4()
            return uuid.UUID(int=sb.rng.getrandbits(128), version=4)

        time.time = sandboxed_time
        time.time_ns = sandboxed_time_ns
        uuid.uuid4 = sandboxed_uuid4
        for name in _RANDOM_FUNCS:
            real = getattr(random, name, None)
            if real is None:
                continue
            setattr(random, name, _wrap_random(name, real))
        _installed = True


def _wrap_random(name: str, real: object):  # type: ignore[no-untyped-def]
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        sb = _current.get()
        if sb is None:
            return real(*args, **kwargs)  # type: ignore[operator]
        return getattr(sb.rng, name)(*args, **kwargs)

    wrapper.__name__ = name
    wrapper.__doc__ = getattr(real, "__doc__", None)
    return wrapper


@contextlib.contextmanager
def sandboxed(now: float, source: Any) -> Iterator[Sandbox]:
    """Run the body with the clock frozen at ``now`` and randomness drawn from
    ``source.rng`` (the transaction's seeded generator, created on first use)."""
    _install()
    sb = Sandbox(now, source)
    token = _current.set(sb)
    try:
        yield sb
    finally:
        _current.reset(token)
