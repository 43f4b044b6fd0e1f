"""A per-run memo in front of a source: identical queries (same text and times) are sent once.

Packs reuse queries (one CPU-busy expression feeds saturation, right-sizing and idle rules; capacity and
metric-presence checks repeat), so a run sends each distinct request once; concurrent identical requests
wait for the first instead of racing. ``in_flight`` bounds the requests sent at once, whatever the number of
threads asking: the evaluator runs more rules than that, so one rule's analysis does not hold a request slot.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future

from .base import QueryResult, Source


class MemoSource:
    """Wraps a source for one evaluation run."""

    def __init__(self, inner: Source, in_flight: int | None = None):
        self.inner = inner
        self._slots = threading.BoundedSemaphore(in_flight) if in_flight else None
        self.name = getattr(inner, "name", type(inner).__name__)
        self._lock = threading.Lock()
        self._memo: dict[tuple, Future] = {}
        self._uses: dict[tuple, int] = {}
        self._local = threading.local()
        self.sent = 0

    def expect(self, keys) -> None:
        """Announce requests and how often the run will make each: an answer is dropped once its last expected
        use has it (a fleet's answers are the run's largest objects). A use that turns out not to happen is
        given back with ``settle``."""
        for k in keys:
            self._uses[k] = self._uses.get(k, 0) + 1

    def begin(self) -> None:
        """Start counting this thread's requests (one rule's evaluation), for ``settle``."""
        self._local.fetched = {}

    def settle(self, planned) -> None:
        """Give back the uses announced for this thread's rule that it did not make (a rule without findings
        asks no evidence), so those answers are dropped too."""
        fetched = getattr(self._local, "fetched", None) or {}
        self._local.fetched = None
        left = dict(fetched)
        for key in planned:
            if left.get(key, 0) > 0:
                left[key] -= 1
                continue
            with self._lock:
                n = self._uses.get(key)
                if n is not None:
                    if n <= 1:
                        del self._uses[key]
                        self._memo.pop(key, None)
                    else:
                        self._uses[key] = n - 1

    def __getattr__(self, item):  # base URL, warnings, … of the wrapped source
        return getattr(self.inner, item)

    def _get(self, key: tuple, call) -> QueryResult:
        fetched = getattr(self._local, "fetched", None)
        if fetched is not None:
            fetched[key] = fetched.get(key, 0) + 1
        with self._lock:
            fut = self._memo.get(key)
            owner = fut is None
            if owner:
                fut = self._memo[key] = Future()
                self.sent += 1
        if owner:
            try:
                if self._slots is None:
                    fut.set_result(call())
                else:
                    with self._slots:
                        fut.set_result(call())
            except BaseException as e:  # noqa: BLE001 - re-raised to every waiter
                fut.set_exception(e)
        with self._lock:
            left = self._uses.get(key)
            if left is not None:
                if left <= 1:
                    del self._uses[key]
                    self._memo.pop(key, None)
                else:
                    self._uses[key] = left - 1
        return fut.result()

    def instant(self, query: str, time: float) -> QueryResult:
        return self._get(self.instant_key(query, time), lambda: self.inner.instant(query, time))

    @staticmethod
    def instant_key(query: str, time: float) -> tuple:
        return ("i", query, time)

    def range(self, query: str, start: float, end: float, step: float) -> QueryResult:
        return self._get(self.range_key(query, start, end, step), lambda: self.inner.range(query, start, end, step))

    @staticmethod
    def range_key(query: str, start: float, end: float, step: float) -> tuple:
        return ("r", query, start, end, step)
