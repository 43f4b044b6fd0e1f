"""The embedded default: continuous local sampling into the sample store, and the engine's view of it.

With no Prometheus, ``advisor serve`` samples this machine (or ``--exporter URL``) every sample interval into
local mode's SQLite sample store (``advisor.local.store``, in the same file as the history), and every
evaluation loads what the store holds into the embedded engine with pack windows fitted to it
(``advisor.local.adapt``) — so the rules needing 10 minutes to an hour of history start evaluating as it
accumulates, across restarts.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import SourceError
from ..local.adapt import History, adapt_rules
from ..local.options import LocalOptions
from ..local.runner import history, make_sampler, with_staleness
from ..local.store import Batch, SampleStore
from ..promql.storage import Storage

log = logging.getLogger("perfadvisor.advisor.serve")


@dataclass(frozen=True)
class Loaded:
    """The store's samples in an engine storage, with the history they cover."""

    storage: Storage
    now: float                     # the newest sample (s): the evaluation instant
    history: History
    samples: int                   # scrapes

    def adapt(self, packs, values, rules):
        return adapt_rules(packs, values, rules, self.history)[0]


class LocalFeed:
    """Samples in a thread until stopped; ``load()`` reads the store for an evaluation."""

    def __init__(self, path: str, interval: float, exporter: str | None = None,
                 on_error: Callable[[str | None], None] | None = None):
        self.path, self.interval = path, interval
        self._opts = LocalOptions(interval=interval, duration=0.0, exporter=exporter, store=path)
        self._writer = SampleStore(path)
        self._reader = SampleStore(path)
        self._sampler = make_sampler(self._opts)
        self.instance = self._sampler.instance
        self.described = f"exporter {self._sampler.url}" if exporter else "in-process collectors"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_error = on_error
        self.error: str | None = None
        self.taken = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="serve-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        seen: dict[tuple, dict[str, str]] = {}
        start = time.monotonic()
        k = 0
        while not self._stop.is_set():
            try:
                b: Batch = with_staleness(self._sampler.sample(), seen)
                self._writer.append([b])
                self.taken += 1
                self.error = None
            except (SourceError, Exception) as e:  # noqa: BLE001 - a failed sample is logged; sampling goes on
                self.error = str(e)
                log.warning("local sample failed: %s", e)
            k += 1
            delay = start + k * self.interval - time.monotonic()
            if delay < 0:   # fell behind (a slow sample): skip the missed ticks rather than burst
                k += int(-delay // self.interval) + 1
                delay = start + k * self.interval - time.monotonic()
            self._stop.wait(max(0.0, delay))

    def wait_samples(self, n: int, timeout: float) -> bool:
        """Wait until `n` samples were taken (or tried) in this process; False on timeout or stop."""
        deadline = time.monotonic() + timeout
        while self.taken < n and not self._stop.is_set():
            if time.monotonic() >= deadline:
                return False
            self._stop.wait(min(0.1, self.interval / 4))
        return self.taken >= n

    def load(self) -> Loaded:
        """Everything the store holds, as an engine storage; SourceError while it holds nothing."""
        times = self._reader.scrape_times()
        if not times:
            raise SourceError(f"no local samples yet ({self.error or 'sampling just started'})")
        storage = Storage()
        for labels, ts, vals in self._reader.series():
            storage.add_many(labels, ts, vals)
        return Loaded(storage, times[-1] / 1000.0, history(times, self.interval), len(times))

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        self._sampler.close()
        self._writer.close()
        self._reader.close()
