"""What the health endpoints report: readiness, per-collector status and the exporter's own performance."""
from __future__ import annotations

import os
import resource
import threading
import time
from collections import deque
from typing import Any

from .scrape import Collection, Outcome

WINDOW = 1000  # scrape latencies kept for the percentiles


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(0, min(len(sorted_values) - 1, int(round(q * len(sorted_values) + 0.5)) - 1))
    return sorted_values[rank]


class HealthState:
    def __init__(self, version: str, collectors: tuple[str, ...]):
        self.version = version
        self.collectors = collectors
        self.started = time.monotonic()
        self.ready = threading.Event()
        self._lock = threading.Lock()
        self._last: dict[str, Outcome] = {}
        self._last_error: dict[str, str] = {}
        self._latencies: deque[float] = deque(maxlen=WINDOW)
        self._scrapes = 0

    def record_collection(self, collection: Collection) -> None:
        with self._lock:
            for o in collection.outcomes:
                self._last[o.collector] = o
                if o.error:
                    self._last_error[o.collector] = o.error
        if collection.outcomes or not self.collectors:
            self.ready.set()

    def record_scrape(self, seconds: float) -> None:
        with self._lock:
            self._latencies.append(seconds)
            self._scrapes += 1

    def uptime(self) -> float:
        return time.monotonic() - self.started

    def summary(self) -> dict[str, Any]:
        return {"status": "ok", "version": self.version, "uptime_seconds": round(self.uptime(), 3),
                "collectors": list(self.collectors)}

    def detailed(self) -> dict[str, Any]:
        with self._lock:
            last, errors = dict(self._last), dict(self._last_error)
        per = {}
        for name in self.collectors:
            o = last.get(name)
            per[name] = {
                "success": None if o is None else o.success,
                "last_duration_seconds": None if o is None else round(o.duration, 6),
                "last_scrape_time": None if o is None else time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(o.finished_at)),
                "last_error": errors.get(name),
            }
        failing = [n for n, v in per.items() if v["success"] is False]
        return {**self.summary(), "status": "degraded" if failing else "ok", "ready": self.ready.is_set(),
                "failing": failing, "collector_status": per}

    def performance(self) -> dict[str, Any]:
        with self._lock:
            values, scrapes = sorted(self._latencies), self._scrapes
        ms = {f"p{int(q * 100)}": (None if (v := _percentile(values, q)) is None else round(v * 1000, 3))
              for q in (0.5, 0.9, 0.99)}
        return {"scrapes_total": scrapes, "window": len(values), "scrape_latency_ms": ms,
                "cpu_seconds": round(time.process_time(), 3), "rss_bytes": _rss_bytes(),
                "uptime_seconds": round(self.uptime(), 3), "threads": threading.active_count()}
