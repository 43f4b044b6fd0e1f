"""The exporter's own metrics: build info, scrape/collection counters, HTTP handler counters, process_*.

Counters live here (not in a global registry) so every server instance — and every test — has its own.
``promhttp_metric_handler_*`` carry node_exporter's names so existing dashboards show them.
"""
from __future__ import annotations

import platform
import threading
from collections import Counter

from prometheus_client import PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from .scrape import Collection


class SelfMetrics:
    def __init__(self, version: str, process: bool = True):
        self.version = version
        self._lock = threading.Lock()
        self.scrapes = 0
        self.collections = 0
        self.rejected = 0
        self.in_flight = 0
        self.codes: Counter[str] = Counter()
        self.collector_errors: Counter[str] = Counter()
        self._process = [ProcessCollector(registry=None), PlatformCollector(registry=None)] if process else []

    def scrape_started(self) -> None:
        with self._lock:
            self.scrapes += 1
            self.in_flight += 1

    def scrape_finished(self, code: int) -> None:
        with self._lock:
            self.in_flight -= 1
            self.codes[str(code)] += 1

    def request_rejected(self) -> None:
        with self._lock:
            self.rejected += 1

    def collection_done(self, collection: Collection) -> None:
        with self._lock:
            self.collections += 1
            for o in collection.outcomes:
                if not o.success:
                    self.collector_errors[o.collector] += 1

    def families(self) -> list[Metric]:
        with self._lock:
            scrapes, collections, rejected, in_flight = self.scrapes, self.collections, self.rejected, self.in_flight
            codes, errors = dict(self.codes), dict(self.collector_errors)
        build = GaugeMetricFamily("perfadvisor_exporter_build_info",
                                  "A metric with a constant '1' value labeled by version and Python version.",
                                  labels=["version", "pythonversion", "implementation"])
        build.add_metric([self.version, platform.python_version(), platform.python_implementation()], 1)
        out: list[Metric] = [
            build,
            CounterMetricFamily("perfadvisor_exporter_scrapes", "Scrapes of the metrics endpoint served.",
                                value=scrapes),
            CounterMetricFamily("perfadvisor_exporter_collections",
                                "Collections run (concurrent scrapes share one collection).", value=collections),
            CounterMetricFamily("perfadvisor_exporter_requests_rejected",
                                "Requests answered 503 because --web.max-requests were in flight.", value=rejected),
        ]
        err = CounterMetricFamily("perfadvisor_exporter_scrape_errors",
                                  "Collector runs that failed or timed out.", labels=["collector"])
        for name, n in sorted(errors.items()):
            err.add_metric([name], n)
        out.append(err)
        out.append(GaugeMetricFamily("promhttp_metric_handler_requests_in_flight",
                                     "Current number of scrapes being served.", value=in_flight))
        by_code = CounterMetricFamily("promhttp_metric_handler_requests",
                                      "Total number of scrapes by HTTP status code.", labels=["code"])
        for code in sorted(set(codes) | {"200", "500", "503"}):
            by_code.add_metric([code], codes.get(code, 0))
        out.append(by_code)
        for c in self._process:
            out.extend(c.collect())
        return out
