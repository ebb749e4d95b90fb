"""The pages of a live paginated query, for ``app.live`` over results of any size.

A query returns at most 8,192 values and reads at most 32,000 documents (Convex's
limits), so a million-row table is a *paginated* query — one whose arguments include
``paginationOpts`` — read page after page, as Convex's ``usePaginatedQuery`` does.
``LivePages`` subscribes to the first page at once and to each next page (from the
previous page's ``continueCursor``) on a loader thread, until a page says
``isDone`` or ``max_rows`` documents are held. Every page is a live subscription
whose end is fixed by the page journal, so pages never overlap or leave gaps: a
commit re-runs only the pages whose range it touched, and a page may grow or shrink.

The listener hears of each page (``page(index, value)``: a new page when ``index``
is the next one, a change otherwise), of failures (``failed(index, error)``) and of
the end of loading (``loaded(capped)``), always with no lock of ours held.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import threading
import time
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, overload

from nbreactive.values.copies import copy_document

if TYPE_CHECKING:
    from nbreactive.app import App
    from nbreactive.functions.registry import RegisteredFunction
    from nbreactive.reactive.subscription import Subscription

__all__ = ["DEFAULT_PAGE_SIZE", "LivePages", "PagedRows", "takes_pagination"]

log = logging.getLogger("nbreactive")

#: Documents per page (a changed page re-runs whole: a few milliseconds).
DEFAULT_PAGE_SIZE = 2000
#: Longest wait for the first page to be shown before loading the others (seconds).
FIRST_PAINT_WAIT = 1.0
#: A pause between pages while loading (seconds): the GIL goes to other threads.
LOAD_PAUSE = 0.002


def takes_pagination(fn: RegisteredFunction) -> bool:
    """Whether a query takes ``paginationOpts`` (by its validator or its signature)."""
    fields = getattr(fn.args_validator, "fields", None)
    if fields is not None:
        return "paginationOpts" in fields
    if fn.args_validator is not None:
        return False
    try:
        return "paginationOpts" in inspect.signature(fn.handler).parameters
    except (TypeError, ValueError):
        return False


Doc = dict[str, Any]


class PagedRows(Sequence[Doc]):
    """The documents of the pages loaded, as one read-only sequence (``LiveWidget.value``
    for a paginated query).

    Made in O(pages) after each change — never a list of a million documents per
    commit — and each document read from it is a copy you may change. ``list(rows)``
    makes a list; ``len``, indexing, slicing, iteration and ``==`` work as for a list.
    """

    __slots__ = ("_ends", "_pages")

    def __init__(self, pages: Sequence[list[Doc]]) -> None:
        self._pages = list(pages)  # the widget replaces a changed page, never mutates one
        self._ends = list(itertools.accumulate(len(p) for p in self._pages))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, i: int) -> Doc: ...
    @overload
    def __getitem__(self, i: slice) -> list[Doc]: ...

    def __getitem__(self, i: int | slice) -> Doc | list[Doc]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("PagedRows index out of range")
        page = bisect_right(self._ends, i)
        start = self._ends[page - 1] if page else 0
        return copy_document(self._pages[page][i - start])

    def __iter__(self) -> Iterator[Doc]:
        return map(copy_document, itertools.chain.from_iterable(self._pages))

    def __eq__(self, other: object) -> bool:
        # Compares the documents held, never copies (traitlets compares on every commit).
        if isinstance(other, PagedRows):
            if self._ends == other._ends:
                return self._pages == other._pages
            return len(self) == len(other) and self._flat() == other._flat()
        if isinstance(other, list):
            return len(self) == len(other) and self._flat() == other
        return NotImplemented

    def _flat(self) -> list[Doc]:
        return list(itertools.chain.from_iterable(self._pages))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<nbreactive.PagedRows: {len(self):,} documents in {len(self._pages)} pages>"


class PageListener(Protocol):
    def page(self, index: int, value: Any) -> None: ...
    def failed(self, index: int, error: BaseException) -> None: ...
    def loaded(self, capped: bool) -> None: ...


class LivePages:
    """See the module docstring. ``close()`` unsubscribes every page."""

    def __init__(self, app: App, fn: RegisteredFunction, args: dict[str, Any] | None,
                 listener: PageListener, *, page_size: int = DEFAULT_PAGE_SIZE,
                 max_rows: int | None = None) -> None:
        if type(page_size) is not int or not 1 <= page_size <= 8192:
            raise ValueError(f"page_size must be an int from 1 to 8192, got {page_size!r}")
        if max_rows is not None and (type(max_rows) is not int or max_rows <= 0):
            raise ValueError(f"max_rows must be a positive int or None, got {max_rows!r}")
        self._app = app
        self._fn = fn
        self._args = dict(args or {})
        self._listener = listener
        self.page_size = page_size
        self.max_rows = max_rows
        self.subscriptions: list[Subscription] = []
        self._sizes: list[int] = []  # documents in each page, as last heard
        self._state: list[tuple[bool, str | None] | None] = []  # (isDone, continueCursor)
        self._closed = False
        self._more = threading.Condition()  # the loader waits here for a failing last page
        self._thread: threading.Thread | None = None
        #: Set once the first page is on screen (the front end's first window was
        #: answered): the loader waits for it (``FIRST_PAINT_WAIT`` at most), so the
        #: first paint does not compete with loading for the GIL.
        self.shown = threading.Event()

    @property
    def first(self) -> Subscription:
        return self.subscriptions[0]

    def start(self) -> None:
        """Load the first page now (the listener hears of it before this returns), and
        the next pages in the background."""
        self._subscribe(None)
        self._thread = threading.Thread(target=self._load, name="nbreactive-live-pages", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self._more:
            self._closed = True
            self._more.notify_all()
            subs = list(self.subscriptions)
        for sub in subs:
            sub.unsubscribe()  # a page subscribed after this unsubscribes itself
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and \
                not self._app._reactor._on_reactor_thread():
            # (never from the engine thread: the loader may be waiting for it)
            thread.join(timeout=10)

    # -- loading ----------------------------------------------------------------------

    def _subscribe(self, cursor: str | None) -> None:
        index = len(self.subscriptions)
        args = {**self._args, "paginationOpts": {"numItems": self.page_size, "cursor": cursor}}
        sub = self._app.subscribe(self._fn, args)
        with self._more:
            if self._closed:
                sub.unsubscribe()
                return
            self.subscriptions.append(sub)
            self._sizes.append(0)
            self._state.append(None)
        sub._watch(lambda value: self._heard(index, value), lambda error: self._failed(index, error),
                   share=True)  # the pages are only read

    def _heard(self, index: int, value: Any) -> None:
        if isinstance(value, dict) and isinstance(value.get("page"), list):
            self._sizes[index] = len(value["page"])
            state = (bool(value.get("isDone", True)), value.get("continueCursor"))
        else:  # not a page: nothing more to load
            state = (True, None)
        # The listener hears of this page before the loader may go on to the next one.
        self._listener.page(index, value)
        with self._more:
            self._state[index] = state
            self._more.notify_all()

    def _failed(self, index: int, error: BaseException) -> None:
        self._listener.failed(index, error)

    def _stopped(self) -> bool:
        """Closed, or the app is (no page changes or loads any more)."""
        return self._closed or self._app._db._closed

    def _next_cursor(self) -> str | None:
        """Wait until the last page has a result; its cursor, or None when done."""
        with self._more:
            while not self._stopped() and self._state[-1] is None:
                self._more.wait(1.0)  # a failing page: wait for it to recover
            if self._stopped():
                return None
            done, cursor = self._state[-1]  # type: ignore[misc]
            return None if done or not isinstance(cursor, str) else cursor

    def _load(self) -> None:
        capped = False
        self.shown.wait(FIRST_PAINT_WAIT)
        try:
            while True:
                cursor = self._next_cursor()
                if cursor is None:
                    break
                if self.max_rows is not None and sum(self._sizes) >= self.max_rows:
                    capped = True
                    break
                self._subscribe(cursor)
                time.sleep(LOAD_PAUSE)  # let the kernel's other threads (comms, cells) in
        except Exception:
            if not self._stopped():  # (subscribing fails once the app closed)
                log.exception("loading the pages of %s failed", self._fn.path)
        if not self._closed:
            self._listener.loaded(capped)
