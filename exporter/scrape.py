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
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric

from .config import ExporterConfig
from .exposition import merge_families
from .registry import Collector, CollectorSpec

log = logging.getLogger("perfadvisor.exporter.scrape")


@dataclass(frozen=True)
class Outcome:
    """How one collector did in one collection."""

    collector: str
    duration: float
    success: bool
    error: str | None
    finished_at: float  # wall clock


@dataclass(frozen=True)
class Collection:
    """The result of one collection: merged families (including node_scrape_collector_*) and outcomes."""

    seq: int
    families: tuple[Metric, ...]
    outcomes: tuple[Outcome, ...]
    started_at: float  # wall clock
    duration: float


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
        while True:
            item = self._q.get()
            if item is None:
                return
            fn, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as e:  # delivered to the waiting scrape, which reports it
                fut.set_exception(e)

    def submit(self, fn: Callable) -> Future:
        fut: Future = Future()
        self._q.put((fn, fut))
        return fut

    def close(self, workers: int) -> None:
        for _ in range(workers):
            self._q.put(None)


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
        self._listeners = list(on_collection)
        self._lock = threading.Lock()
        self._flights: dict[frozenset[str] | None, _Flight] = {}
        self._running: dict[str, Future] = {}
        self._seq = 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.collectors)

    def collect(self, only: frozenset[str] | None = None) -> Collection:
        """Collect from all collectors (or the named subset), joining a collection already in flight."""
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
            flight.result = self._collect(only)
            return flight.result
        except BaseException as e:
            flight.error = e
            raise
        finally:
            with self._lock:
                del self._flights[only]
            flight.done.set()

    def _collect(self, only: frozenset[str] | None) -> Collection:
        started_wall, started = time.time(), time.perf_counter()
        names = [n for n in self.collectors if only is None or n in only]
        futures: dict[str, Future] = {}
        outcomes: dict[str, Outcome] = {}
        for name in names:
            with self._lock:
                previous = self._running.get(name)
                if previous is not None and not previous.done():
                    outcomes[name] = Outcome(name, 0.0, False, "previous collection still running", time.time())
                    continue
                futures[name] = self._running[name] = self._pool.submit(self._runner(name))
        wait(futures.values(), timeout=self.timeout)
        families: list[Metric] = []
        for name, fut in futures.items():
            if not fut.done():
                outcomes[name] = Outcome(name, self.timeout, False, f"timed out after {self.timeout:g}s", time.time())
                log.error("collector timed out", extra={"kv": {"collector": name, "timeout": self.timeout}})
                continue
            exc = fut.exception()
            if exc is not None:
                duration, error = getattr(exc, "_duration", 0.0), f"{type(exc).__name__}: {exc}"
                outcomes[name] = Outcome(name, duration, False, error, time.time())
                log.error("collector failed", extra={"kv": {"collector": name, "duration_seconds": round(duration, 6),
                                                            "err": error}}, exc_info=log.isEnabledFor(logging.DEBUG))
                continue
            fams, duration = fut.result()
            families.extend(fams)
            outcomes[name] = Outcome(name, duration, True, None, time.time())
        ordered = tuple(outcomes[n] for n in names)
        families.extend(_scrape_families(ordered))
        _warn_type_conflicts(families)
        with self._lock:
            self._seq += 1
            seq = self._seq
        collection = Collection(seq, tuple(merge_families(families)), ordered, started_wall,
                                time.perf_counter() - started)
        for listener in self._listeners:
            listener(collection)
        return collection

    def _runner(self, name: str) -> Callable[[], tuple[list[Metric], float]]:
        collector = self.collectors[name]

        def run() -> tuple[list[Metric], float]:
            t0 = time.perf_counter()
            try:
                fams = list(collector.collect())
                for f in fams:
                    if not isinstance(f, Metric):
                        raise TypeError(f"collect() yielded {type(f).__name__}, not a metric family")
                return fams, time.perf_counter() - t0
            except BaseException as e:
                e._duration = time.perf_counter() - t0  # type: ignore[attr-defined]
                raise

        return run

    def close(self) -> None:
        self._pool.close(self._workers)


def _scrape_families(outcomes: Iterable[Outcome]) -> list[Metric]:
    duration = GaugeMetricFamily("node_scrape_collector_duration_seconds",
                                 "node_exporter: Duration of a collector scrape.", labels=["collector"])
    success = GaugeMetricFamily("node_scrape_collector_success",
                                "node_exporter: Whether a collector succeeded.", labels=["collector"])
    for o in outcomes:
        duration.add_metric([o.collector], o.duration)
        success.add_metric([o.collector], 1.0 if o.success else 0.0)
    return [duration, success]


def _warn_type_conflicts(families: list[Metric]) -> None:
    seen: dict[str, str] = {}
    for f in families:
        t = seen.setdefault(f.name, f.type)
        if t != f.type:
            log.warning("metric family exported with two types; keeping the first",
                        extra={"kv": {"family": f.name, "first": t, "dropped": f.type}})
