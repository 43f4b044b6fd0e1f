"""The exporter's own metrics: build info, scrape/collection counters, HTTP handler counters, process_*.

Counters live here (not in a global registry) so every server instance — and every test — has its own.
``promhttp_metric_handler_*`` carry node_exporter's names so existing dashboards show them.
"""
from __future__ import annotations

import os
import platform
import threading
from collections import Counter

from prometheus_client import PlatformCollector, ProcessCollector
from prometheus_client.core import Metric

from .families import Sample, family, single
from .linux.pids import fd_count_in_size
from .linux.procfs import read
from .scrape import Collection


class _OwnProcess(ProcessCollector):
    """process_* exactly as prometheus_client writes them, with open descriptors counted by one stat().

    The processes collector keeps two /proc files open per watched process (up to its max_open_files), so this
    process holds hundreds of descriptors: listing /proc/self/fd every scrape cost ~0.5 ms at 150 processes and grew with each one.
    Since Linux 6.2 the directory's st_size is the count; older kernels keep the listing.
    """

    def __init__(self, procfs: str = "/proc"):
        super().__init__(registry=None, proc=procfs)
        self._fd_dir = os.path.join(procfs, "self", "fd")
        self._stat, self._limits = os.path.join(procfs, "self", "stat"), os.path.join(procfs, "self", "limits")
        self._in_size = fd_count_in_size(procfs)

    def collect(self) -> list[Metric]:
        if not self._in_size or not self._btime:
            return list(super().collect())
        result: list[Metric] = []
        try:
            # kept descriptors re-read with pread (procfs.read): /proc/self resolved once, to this process
            parts = read(self._stat).rsplit(")", 1)[-1].split()
            result += [
                single("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", float(parts[20])),
                single("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge",
                       float(parts[21]) * self._pagesize),
                single("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge",
                       float(parts[19]) / self._ticks + self._btime),
                single("process_cpu_seconds", "Total user and system CPU time spent in seconds.", "counter",
                       (float(parts[11]) + float(parts[12])) / self._ticks),
            ]
        except OSError:
            pass
        try:
            max_fds = next(float(line.split()[3]) for line in read(self._limits).splitlines()
                           if line.startswith("Max open file"))
            open_fds = os.stat(self._fd_dir).st_size  # after the reads: counts the descriptors they keep
            result += [single("process_open_fds", "Number of open file descriptors.", "gauge", open_fds),
                       single("process_max_fds", "Maximum number of open file descriptors.", "gauge", max_fds)]
        except (OSError, StopIteration):
            pass
        return result


class _AddressSpaceLimit:
    """process_virtual_memory_max_bytes as Go's client writes it for node_exporter: the soft RLIMIT_AS from
    /proc/self/limits, "unlimited" being the largest 64-bit value. Dashboards set it beside
    process_virtual_memory_bytes; prometheus_client does not publish it."""

    UNLIMITED = float(2**64 - 1)

    def __init__(self, procfs: str = "/proc"):
        self._limits = os.path.join(procfs, "self", "limits")

    def collect(self) -> list[Metric]:
        try:
            soft = next(line[26:].split()[0] for line in read(self._limits).splitlines()
                        if line.startswith("Max address space"))
        except (OSError, StopIteration, IndexError):
            return []
        value = self.UNLIMITED if soft == "unlimited" else float(soft)
        return [single("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.",
                       "gauge", value)]


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
        self._process = [_OwnProcess(), _AddressSpaceLimit(), PlatformCollector(registry=None)] if process else []

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
        build = {"version": self.version, "pythonversion": platform.python_version(),
                 "implementation": platform.python_implementation()}
        out: list[Metric] = [
            family("perfadvisor_exporter_build_info",
                   "A metric with a constant '1' value labeled by version and Python version.", "gauge",
                   [Sample("perfadvisor_exporter_build_info", build, 1, None, None)]),
            single("perfadvisor_exporter_scrapes", "Scrapes of the metrics endpoint served.", "counter", scrapes),
            single("perfadvisor_exporter_collections", "Collections run (concurrent scrapes share one collection).",
                   "counter", collections),
            single("perfadvisor_exporter_requests_rejected",
                   "Requests answered 503 because --web.max-requests were in flight.", "counter", rejected),
            family("perfadvisor_exporter_scrape_errors", "Collector runs that failed or timed out.", "counter",
                   [Sample("perfadvisor_exporter_scrape_errors_total", {"collector": name}, n, None, None)
                    for name, n in sorted(errors.items())]),
            single("promhttp_metric_handler_requests_in_flight", "Current number of scrapes being served.", "gauge",
                   in_flight),
            family("promhttp_metric_handler_requests", "Total number of scrapes by HTTP status code.", "counter",
                   [Sample("promhttp_metric_handler_requests_total", {"code": code}, codes.get(code, 0), None, None)
                    for code in sorted(set(codes) | {"200", "500", "503"})]),
        ]
        for c in self._process:
            out.extend(c.collect())
        return out
