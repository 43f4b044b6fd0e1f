"""Collection orchestration: run the enabled collectors in parallel, each bounded by a timeout.

node_exporter's contract: a collector that raises or times out is logged and reported as
``node_scrape_collector_success{collector} 0``; the scrape itself always succeeds. Scrapes that arrive while a
collection is in flight wait for it and share its result (singleflight); nothing is cached beyond that.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterable, Mapping, NamedTuple

from prometheus_client.core import Metric

from .config import ExporterConfig
from .exposition import merge_families
from .families import Labels, Sample, SampleType, family
from .registry import Collector, CollectorSpec

log = logging.getLogger("perfadvisor.exporter.scrape")

SLOW_SECONDS = 0.01  # a collector slower than this gets its own thread in the next collection


class Outcome(NamedTuple):
    """How one collector did in one collection (immutable; built with ``_outcome`` on the scrape path, a tenth
    of a frozen dataclass' cost, ~46 per scrape)."""

    collector: str
    duration: float
    success: bool
    error: str | None
    finished_at: float  # wall clock


_tuple_new = tuple.__new__


def _outcome(collector: str, duration: float, success: bool, error: str | None, finished_at: float) -> Outcome:
    return _tuple_new(Outcome, (collector, duration, success, error, finished_at))


@dataclass(frozen=True)
class Collection:
    """The result of one collection: the families collected (including node_scrape_collector_*) and outcomes.

    ``collected`` is every collector's families as they came; ``families`` is the same merged by name. A
    scrape of the metrics endpoint merges ``collected`` with the exporter's own families instead, so each
    scrape merges once.
    """

    seq: int
    collected: tuple[Metric, ...]
    outcomes: tuple[Outcome, ...]
    started_at: float  # wall clock
    duration: float

    @cached_property
    def families(self) -> list[Metric]:
        return merge_families(self.collected)


class _Broken:
    """Stands in for a collector whose construction failed, so the failure shows up in every scrape."""

    def __init__(self, error: Exception):
        self.error = error

    def collect(self) -> Iterable[Metric]:
        raise self.error


def build_collectors(specs: Mapping[str, CollectorSpec], config: ExporterConfig) -> dict[str, Collector]:
    """Instantiate the enabled collectors; one that fails to build is logged and fails each scrape."""
    out: dict[str, Collector] = {}
    for name in config.collectors:
        try:
            out[name] = specs[name].factory(config.context_for(name))
        except Exception as e:  # a broken collector must not keep the others from running
            log.error("collector failed to initialise", extra={"kv": {"collector": name, "err": str(e)}})
            out[name] = _Broken(e)
    return out


class _Pool:
    """A fixed set of daemon threads: a hung collector must never keep the process from exiting."""

    def __init__(self, workers: int):
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        for i in range(workers):
            threading.Thread(target=self._run, name=f"collector-{i}", daemon=True).start()

    def _run(self) -> None:
        self._drain(self._q)

    @staticmethod
    def _drain(q: queue.SimpleQueue) -> None:
        while True:
            task = q.get()
            if task is None:
                return
            task()

    def submit(self, task: Callable[[], None]) -> None:
        self._q.put(task)

    def close(self, workers: int) -> None:
        for _ in range(workers):
            self._q.put(None)


class _Lane:
    """The thread that runs the batch of fast collectors: the same thread every collection.

    Handing the batch to whichever pool thread is free cost measurably more CPU per scrape than keeping it on
    one thread. A lane still busy when the next batch comes (a collector hung past the deadline, or an
    overlapping scrape with another collect[] filter) finishes on its own and then exits; a new thread takes
    over, so a batch never queues behind another one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._q: queue.SimpleQueue | None = None
        self._last: _Batch | None = None

    def submit(self, batch: "_Batch") -> None:
        with self._lock:
            if self._q is None or (self._last is not None and not self._last.done.is_set()):
                if self._q is not None:
                    self._q.put(None)  # the busy thread leaves after its current batch
                self._q = queue.SimpleQueue()
                threading.Thread(target=_Pool._drain, args=(self._q,), name="collector-fast", daemon=True).start()
            self._last = batch
            self._q.put(batch)

    def close(self) -> None:
        with self._lock:
            if self._q is not None:
                self._q.put(None)
                self._q = None


class _Batch:
    """Collectors run one after another on one pool thread, each result recorded as it completes.

    Fast collectors share one batch: handing each to its own thread costs more CPU (thread switches, cold
    caches) than they take to run. A slow or not-yet-measured collector gets a batch of its own, so slow ones
    overlap. If a batch is still busy at the deadline, the collector it is running has timed out and the ones
    queued behind it are cancelled.
    """

    def __init__(self, items: list[tuple[str, Collector]]):
        self.items = items
        self.results: dict[str, tuple[list[Metric] | None, float, BaseException | None, float]] = {}
        self.current: str | None = None
        self.current_since = 0.0
        self.cancelled = False
        self.done = threading.Event()

    def __call__(self) -> None:
        results = self.results
        perf = time.perf_counter
        for name, collector in self.items:
            if self.cancelled:
                break
            t0 = self.current_since = perf()
            self.current = name
            try:
                fams = list(collector.collect())
                for f in fams:
                    if not isinstance(f, Metric):
                        raise TypeError(f"collect() yielded {type(f).__name__}, not a metric family")
                t1 = perf()
                results[name] = (fams, t1 - t0, None, t1)
            except BaseException as e:  # reported by the waiting scrape, never raised into the pool
                t1 = perf()
                results[name] = (None, t1 - t0, e, t1)
        self.current = None
        self.done.set()


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Collection | None = None
        self.error: BaseException | None = None


class Scraper:
    """Runs collectors; ``collect()`` is safe to call from many request threads at once."""

    def __init__(self, collectors: Mapping[str, Collector], timeout: float = 10.0, workers: int = 4,
                 on_collection: Iterable[Callable[[Collection], None]] = ()):
        self.collectors = dict(collectors)
        self.timeout = timeout
        self._workers = max(1, min(workers, len(self.collectors) or 1))
        self._pool = _Pool(self._workers)
        self._lane = _Lane()
        self._listeners = list(on_collection)
        self._lock = threading.Lock()
        self._flights: dict[frozenset[str] | None, _Flight] = {}
        self._running: dict[str, _Batch] = {}
        self._fast: set[str] = set()  # collectors that recently finished in < SLOW_SECONDS
        self._seq = 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.collectors)

    def collect(self, only: frozenset[str] | None = None, timeout: float | None = None) -> Collection:
        """Collect from all collectors (or the named subset), joining a collection already in flight.

        timeout (e.g. from Prometheus' scrape timeout header) can only shorten the configured one.
        """
        with self._lock:
            flight = self._flights.get(only)
            leader = flight is None
            if leader:
                flight = self._flights[only] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.result
        try:
            flight.result = self._collect(only, min(self.timeout, timeout) if timeout else self.timeout)
            return flight.result
        except BaseException as e:
            flight.error = e
            raise
        finally:
            with self._lock:
                del self._flights[only]
            flight.done.set()

    def _collect(self, only: frozenset[str] | None, timeout: float) -> Collection:
        started_wall, started = time.time(), time.perf_counter()
        names = [n for n in self.collectors if only is None or n in only]
        outcomes: dict[str, Outcome] = {}
        fast: list[tuple[str, Collector]] = []
        batches: list[_Batch] = []
        with self._lock:
            for name in names:
                previous = self._running.get(name)
                # Overlapping scrapes (different collect[] filters) may run a collector concurrently; only one
                # stuck past the timeout is not started again, so a hung collector holds at most one thread.
                if previous is not None and previous.current == name and \
                        time.perf_counter() - previous.current_since > self.timeout:
                    outcomes[name] = _outcome(name, 0.0, False, "previous collection still running", time.time())
                elif name in self._fast:
                    fast.append((name, self.collectors[name]))
                else:
                    batches.append(_Batch([(name, self.collectors[name])]))
            lane = _Batch(fast) if fast else None
            if lane is not None:
                batches.append(lane)
            for b in batches:
                for name, _ in b.items:
                    self._running[name] = b
        for b in batches:
            if b is lane:
                self._lane.submit(b)
            else:
                self._pool.submit(b)
        deadline = time.monotonic() + timeout
        for b in batches:
            b.done.wait(max(0.0, deadline - time.monotonic()))
        families: list[Metric] = []
        for b in batches:
            stuck = None if b.done.is_set() else b.current
            b.cancelled = not b.done.is_set()
            for name, _ in b.items:
                result = b.results.get(name)
                if result is None:
                    why = f"timed out after {timeout:g}s" if name == stuck else \
                        "not run: queued behind a collector that timed out"
                    outcomes[name] = _outcome(name, timeout if name == stuck else 0.0, False, why, time.time())
                    log.error("collector timed out", extra={"kv": {"collector": name, "err": why}})
                    if name == stuck:
                        self._fast.discard(name)
                    continue
                fams, duration, exc, finished = result
                finished = started_wall + (finished - started)  # wall clock, without a time() call per collector
                if exc is not None:
                    error = f"{type(exc).__name__}: {exc}"
                    outcomes[name] = _outcome(name, duration, False, error, finished)
                    log.error("collector failed", extra={"kv": {
                        "collector": name, "duration_seconds": round(duration, 6), "err": error}},
                        exc_info=(type(exc), exc, exc.__traceback__) if log.isEnabledFor(logging.DEBUG) else None)
                else:
                    families.extend(fams)
                    outcomes[name] = _outcome(name, duration, True, None, finished)
                if duration < SLOW_SECONDS:
                    self._fast.add(name)
                else:
                    self._fast.discard(name)
        ordered = tuple(outcomes[n] for n in names)
        families.extend(_scrape_families(ordered))
        with self._lock:
            self._seq += 1
            seq = self._seq
        collection = Collection(seq, tuple(families), ordered, started_wall, time.perf_counter() - started)
        for listener in self._listeners:
            listener(collection)
        return collection

    def close(self) -> None:
        """Stop the worker threads and let collectors release what they keep open (files, connections)."""
        self._pool.close(self._workers)
        self._lane.close()
        for name, collector in self.collectors.items():
            close = getattr(collector, "close", None)
            if close is None:
                continue
            try:
                close()
            except Exception as e:  # closing is best effort; one collector must not keep the others open
                log.warning("closing collector failed", extra={"kv": {"collector": name, "err": str(e)}})


# per collector name (a fixed set): its label set, and its two node_scrape_collector_success samples (immutable)
_COLLECTOR_LABELS: dict[str, tuple[Labels, SampleType, SampleType]] = {}


def _scrape_families(outcomes: Iterable[Outcome]) -> list[Metric]:
    duration, success = [], []
    for o in outcomes:
        kept = _COLLECTOR_LABELS.get(o.collector)
        if kept is None:
            labels = Labels(collector=o.collector)
            kept = _COLLECTOR_LABELS.setdefault(o.collector, (
                labels, Sample("node_scrape_collector_success", labels, 0.0, None, None),
                Sample("node_scrape_collector_success", labels, 1.0, None, None)))
        duration.append(Sample("node_scrape_collector_duration_seconds", kept[0], o.duration, None, None))
        success.append(kept[2] if o.success else kept[1])
    return [family("node_scrape_collector_duration_seconds", "node_exporter: Duration of a collector scrape.",
                   "gauge", duration),
            family("node_scrape_collector_success", "node_exporter: Whether a collector succeeded.", "gauge", success)]
