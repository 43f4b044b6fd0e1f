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
        self.sent = 0

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
        return fut.result()

    def instant(self, query: str, time: float) -> QueryResult:
        return self._get(("i", query, time), lambda: self.inner.instant(query, time))

    def range(self, query: str, start: float, end: float, step: float) -> QueryResult:
        return self._get(("r", query, start, end, step), lambda: self.inner.range(query, start, end, step))
