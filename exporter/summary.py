"""A JSON snapshot of key figures computed from one collection, for /api/metrics/summary and the SSE stream.

Rates (CPU percent, per process-group CPU) need two collections: the previous totals are kept here, keyed by
the collection they came from, so that two callers sharing one collection do not see a zero-length window.
Any family may be absent (collector disabled or failing): its figures are then null/empty.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any, Iterable

from prometheus_client.core import Metric

from .scrape import Collection

TOP = 5
_IDLE_MODES = ("idle", "iowait")


def _samples(families: Iterable[Metric]) -> dict[str, list]:
    by_name: dict[str, list] = defaultdict(list)
    for f in families:
        for s in f.samples:
            by_name[s.name].append(s)
    return by_name


def _one(samples: dict[str, list], name: str) -> float | None:
    vals = samples.get(name)
    return vals[0].value if vals else None


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole > 0 else None


class Summarizer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prev: tuple[int, float, dict[str, float], dict[str, float]] | None = None  # seq, time, cpu, groups
        self._cache: tuple[int, dict[str, Any]] | None = None

    def summarize(self, collection: Collection) -> dict[str, Any]:
        with self._lock:
            if self._cache and self._cache[0] == collection.seq:
                return self._cache[1]
            result = self._compute(collection)
            self._cache = (collection.seq, result)
            return result

    def _compute(self, c: Collection) -> dict[str, Any]:
        s = _samples(c.families)
        now = time.monotonic()
        cpu = {"busy": 0.0, "total": 0.0}
        for x in s.get("node_cpu_seconds_total", []):
            cpu["total"] += x.value
            if x.labels.get("mode") not in _IDLE_MODES:
                cpu["busy"] += x.value
        groups: dict[str, float] = defaultdict(float)
        for x in s.get("namedprocess_namegroup_cpu_seconds_total", []):
            groups[x.labels.get("groupname", "")] += x.value
        prev = self._prev if self._prev and self._prev[0] < c.seq else None
        cpu_percent, window = None, None
        if cpu["total"] > 0:
            if prev and cpu["total"] > prev[2].get("total", 0):
                cpu_percent = _pct(cpu["busy"] - prev[2]["busy"], cpu["total"] - prev[2]["total"])
                window = round(now - prev[1], 3)
            else:
                cpu_percent, window = _pct(cpu["busy"], cpu["total"]), "since_boot"
        elapsed = now - prev[1] if prev else None
        self._prev = (c.seq, now, cpu, dict(groups))

        mem_total = _one(s, "node_memory_MemTotal_bytes")
        mem_avail = _one(s, "node_memory_MemAvailable_bytes")
        memory_percent = _pct(mem_total - mem_avail, mem_total) if mem_total and mem_avail is not None else None

        sizes = {(x.labels.get("mountpoint"), x.labels.get("device"), x.labels.get("fstype")): x.value
                 for x in s.get("node_filesystem_size_bytes", [])}
        filesystems = []
        for x in s.get("node_filesystem_avail_bytes", []):
            key = (x.labels.get("mountpoint"), x.labels.get("device"), x.labels.get("fstype"))
            size = sizes.get(key)
            if size:
                filesystems.append({"mountpoint": key[0], "device": key[1], "fstype": key[2],
                                    "used_percent": _pct(size - x.value, size), "size_bytes": size})
        filesystems.sort(key=lambda f: f["mountpoint"] or "")

        top_cpu = []
        for name, total in groups.items():
            entry: dict[str, Any] = {"groupname": name, "cpu_seconds_total": round(total, 3)}
            if prev and elapsed and name in prev[3]:
                entry["cpu_percent"] = round(100.0 * max(0.0, total - prev[3][name]) / elapsed, 2)
            top_cpu.append(entry)
        top_cpu.sort(key=lambda e: (e.get("cpu_percent", -1.0), e["cpu_seconds_total"]), reverse=True)
        rss = [{"groupname": x.labels.get("groupname", ""), "resident_bytes": x.value}
               for x in s.get("namedprocess_namegroup_memory_bytes", []) if x.labels.get("memtype") == "resident"]
        rss.sort(key=lambda e: e["resident_bytes"], reverse=True)

        return {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(c.started_at)),
            "cpu_percent": cpu_percent, "cpu_window_seconds": window,
            "memory_percent": memory_percent,
            "load1": _one(s, "node_load1"), "load5": _one(s, "node_load5"), "load15": _one(s, "node_load15"),
            "filesystems": filesystems,
            "top_process_groups": {"by_cpu": top_cpu[:TOP], "by_rss": rss[:TOP]},
            "collectors_failed": [o.collector for o in c.outcomes if not o.success],
        }
