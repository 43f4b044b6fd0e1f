"""The embedded default: continuous local sampling into the sample store, and the engine's view of it.

With no Prometheus, ``advisor serve`` samples this machine (or ``--exporter URL``) every sample interval into
local mode's SQLite sample store (``advisor.local.store``, in the same file as the history), and every
evaluation loads what the store holds into the embedded engine with pack windows fitted to it
(``advisor.local.adapt``) — so the rules needing 10 minutes to an hour of history start evaluating as it
accumulates, across restarts. Only the window the rules can reach is loaded (``needed_seconds``): the store
keeps up to 7 days, a cycle reads the last hour or so of it.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import SourceError
from ..local.adapt import History, adapt_rules
from ..packs.model import ResolvedRule
from ..promql.parse import parse, range_windows
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
    window: float | None = None    # seconds of samples loaded before `now` (None: the whole store)

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

    def load(self, needed: Callable[[History], tuple[float, float] | None] | None = None) -> Loaded:
        """The store's samples as an engine storage; SourceError while the store holds nothing.

        `needed(history)` → (read, probe) seconds: every sample of the last `read` seconds is loaded, and of
        the `probe` seconds before that only each series' oldest sample (the rules' history probes ask how far
        back a metric goes, never for the samples themselves). None loads the whole store."""
        times = self._reader.scrape_times()
        if not times:
            raise SourceError(f"no local samples yet ({self.error or 'sampling just started'})")
        hist = history(times, self.interval)
        window = needed(hist) if needed else None
        since = first = None
        if window is not None and window[0] * 1000 < times[-1] - times[0]:
            since = int(times[-1] - window[0] * 1000)
            first = int(times[-1] - max(window) * 1000)
        storage = Storage()
        for labels, ts, vals in self._reader.series(since_ms=since, first_since_ms=first):
            storage.add_many(labels, ts, vals)
        return Loaded(storage, times[-1] / 1000.0, hist, len(times), None if since is None else window[0])

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        self._sampler.close()
        self._writer.close()
        self._reader.close()


LOOKBACK_DELTA = 300.0      # an instant selector reaches this far back for its latest sample


def _query_texts(obj, depth: int = 0):
    """Every string held by a resolved rule (its query, limit, evidence, sizing and replica queries, …)."""
    if depth > 4:
        return
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _query_texts(x, depth + 1)
    elif hasattr(obj, "__dataclass_fields__"):
        for name in obj.__dataclass_fields__:
            if name not in ("rule", "params"):
                yield from _query_texts(getattr(obj, name), depth + 1)


def needed_seconds(rules: list[ResolvedRule]) -> tuple[float, float] | None:
    """How far before the evaluation instant the rules read samples, and how far their history probes look.

    read: the longest lookback + `for` (at least a minute), plus the longest range window of any of the
    rule's queries, plus the 5-minute lookback of instant selectors and two steps of slack. probe: the longest
    history window (lookback, `for`, min_history, preferred_history) plus the probe's resolution and slack.
    None (load everything) when a query reads outside such a window (``offset``, ``@``)."""
    read = probe = 0.0
    for rr in rules:
        reach = 0.0
        for text in _query_texts(rr):
            try:
                parse(text)
            except Exception:  # noqa: BLE001 - ParseError, or a string that is not PromQL at all
                continue
            if " offset " in text or "@" in text:
                return None
            for w in range_windows(text):
                reach = max(reach, w.seconds + (w.subquery_step or 0.0))
        step = rr.step or 60.0
        slack = LOOKBACK_DELTA + 2 * step
        read = max(read, max((rr.lookback or 0.0) + (rr.for_seconds or 0.0), 60.0) + reach + slack)
        hist = max(rr.lookback or 0.0, rr.for_seconds or 0.0, rr.min_history or 0.0, rr.preferred_history or 0.0,
                   60.0)
        probe = max(probe, hist + max(1.0, hist / 600) + slack)
    return (read, max(read, probe)) if rules else None
