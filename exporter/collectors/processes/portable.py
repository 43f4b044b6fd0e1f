"""The processes collector's scanner off Linux: the same per-group rows as procscan.py, from psutil.

Slower than reading /proc directly and without what psutil does not offer on a platform (page faults and I/O
bytes on macOS stay 0), but under the same metric names.
"""
from __future__ import annotations

from typing import Any, Callable

from .procscan import CPU_NOW, N_COUNTERS, ROW, TICKS

_STATES = {"running": 8, "sleeping": 9, "idle": 9, "disk-sleep": 10, "zombie": 11}
_ATTRS = ["name", "create_time", "cpu_times", "memory_info", "num_threads", "num_ctx_switches", "status"]


class PortableScanner:
    def __init__(self, procfs: str, name_fn: Callable[[int, str, str], str | None], **_: Any):
        import psutil

        self.psutil = psutil
        self.name_fn = name_fn
        self.boot = psutil.boot_time()
        self._last: dict[tuple[int, float], tuple] = {}
        self._names: dict[tuple[int, float], str | None] = {}
        self._gen = 0
        self.partial_errors = 0
        self.read_errors = 0

    def scan(self) -> dict[str, list[float]]:
        self._gen += 1
        rows: dict[str, list[float]] = {}
        seen = set()
        for p in self.psutil.process_iter(_ATTRS):
            info = p.info
            if info.get("cpu_times") is None or info.get("memory_info") is None:
                self.read_errors += 1
                continue
            key = (p.pid, info["create_time"])
            seen.add(key)
            if key not in self._names:
                self._names[key] = self.name_fn(p.pid, info["name"] or "", str(p.pid))
            group = self._names[key]
            if group is None:
                continue
            ct, mem, ctx = info["cpu_times"], info["memory_info"], info["num_ctx_switches"]
            faults = getattr(mem, "pfaults", 0), getattr(mem, "pageins", 0)
            try:
                io = p.io_counters()
                rb, wb = io.read_bytes, io.write_bytes
            except (AttributeError, self.psutil.Error):
                rb = wb = 0
                self.partial_errors += 1
            try:
                fds = p.num_fds() if hasattr(p, "num_fds") else p.num_handles()
            except self.psutil.Error:
                fds = -1
            cur = (round(ct.user * TICKS), round(ct.system * TICKS), faults[0], faults[1],
                   ctx.voluntary if ctx else 0, ctx.involuntary if ctx else 0, rb, wb)
            last = self._last.get(key)
            self._last[key] = cur
            row = rows.get(group)
            if row is None:
                row = rows[group] = ROW.copy()
            start = (info["create_time"] - self.boot) * TICKS
            row[0] += 1
            row[1] += mem.rss
            row[2] += mem.vms
            row[3] += 0  # swapped bytes: not offered by psutil per process on every platform
            if fds >= 0:
                row[4] += fds
            row[6] += info["num_threads"] or 0
            row[7] = min(row[7], start)
            row[_STATES.get(info["status"], 12)] += 1
            row[CPU_NOW] += cur[0] + cur[1]
            for i in range(N_COUNTERS):
                d = cur[i] - (last[i] if last else (cur[i] if self._gen == 1 else 0))
                if d > 0:
                    row[13 + i] += d
        for key in [k for k in self._last if k not in seen]:
            del self._last[key]
            self._names.pop(key, None)
        return rows
