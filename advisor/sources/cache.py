"""A per-run memo in front of a source: identical queries (same text and times) are sent once.

Packs reuse queries (one CPU-busy expression feeds saturation, right-sizing and idle rules; capacity and
metric-presence checks repeat), so a run sends each distinct request once; concurrent identical requests
wait for the first instead of racing.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future

from .base import QueryResult, Source


class MemoSource:
    """Wraps a source for one evaluation run."""

    def __init__(self, inner: Source):
        self.inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)
        self._lock = threading.Lock()
        self._memo: dict[tuple, Future] = {}
        self._uses: dict[tuple, int] = {}
        self.sent = 0

    def expect(self, keys) -> None:
        """Announce range requests and how often the run will make each: an answer is dropped once its last
        expected use has it (a fleet's range answers are the run's largest objects)."""
        for k in keys:
            self._uses[k] = self._uses.get(k, 0) + 1

    def __getattr__(self, item):  # base URL, warnings, … of the wrapped source
        return getattr(self.inner, item)

    def _get(self, key: tuple, call) -> QueryResult:
        with self._lock:
            fut = self._memo.get(key)
            owner = fut is None
            if owner:
                fut = self._memo[key] = Future()
                self.sent += 1
        if owner:
            try:
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
        return self._get(("i", query, time), lambda: self.inner.instant(query, time))

    def range(self, query: str, start: float, end: float, step: float) -> QueryResult:
        return self._get(self.range_key(query, start, end, step), lambda: self.inner.range(query, start, end, step))

    @staticmethod
    def range_key(query: str, start: float, end: float, step: float) -> tuple:
        return ("r", query, start, end, step)
