"""cpu: node_cpu_seconds_total{cpu,mode}, node_cpu_guest_seconds_total from /proc/stat, and thermal throttle counts.

Like node_exporter, a CPU's counters never go backwards (some kernels let iowait dip): a lower reading keeps the
previous value, unless idle fell by 3 s or more, which means the CPU was hot-plugged and its counters restarted.
"""
from __future__ import annotations

import os
import threading

from ..linux import LINUX
from ..linux.procfs import CPU_MODES, parse_stat, read
from ..linux.sysfs import AttrFiles
from ..registry import CollectorContext, Family, register
from ..families import LabelCache, Sample, family

TICKS = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
JUMP_BACK = 3.0  # seconds of idle lost that mean a hot-plug reset rather than a kernel accounting dip
IDLE = CPU_MODES.index("idle")


@register("cpu", default=True, help="Seconds the CPUs spent in each mode (node_cpu_*).")
class CpuCollector:
    families = (
        Family("node_cpu_seconds_total", "counter", ("cpu", "mode")),
        Family("node_cpu_guest_seconds_total", "counter", ("cpu", "mode")),
        Family("node_cpu_core_throttles_total", "counter", ("package", "core"),
               "thermal throttling, where the CPU reports it"),
        Family("node_cpu_package_throttles_total", "counter", ("package",)),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "stat")
        self.sysdir = os.path.join(ctx.sysfs, "devices", "system", "cpu")
        self.attrs = AttrFiles(self.sysdir, limit=2048)
        self._last: dict[str, list[float]] = {}  # cpu -> seconds per mode, as last exported
        self._lock = threading.Lock()
        self._labels = LabelCache("cpu", "mode")

    def _times(self) -> dict[str, list[float]]:
        if LINUX:
            return {cpu: [x / TICKS for x in v] for cpu, v in parse_stat(read(self.path))[0].items()}
        import psutil

        return {str(i): [getattr(t, m, 0.0) for m in CPU_MODES] + [getattr(t, "guest", 0.0),
                                                                  getattr(t, "guest_nice", 0.0)]
                for i, t in enumerate(psutil.cpu_times(percpu=True))}

    def _monotonic(self, times: dict[str, list[float]]) -> dict[str, list[float]]:
        with self._lock:
            for cpu, new in times.items():
                old = self._last.get(cpu)
                if old is not None and old[IDLE] - new[IDLE] < JUMP_BACK:
                    new = [max(a, b) for a, b in zip(old, new)]
                self._last[cpu] = times[cpu] = new
            for cpu in [c for c in self._last if c not in times]:  # offline now
                del self._last[cpu]
        return times

    def _throttles(self):
        """node_exporter's thermal_throttle reading: one core count per (package, core), one per package."""
        try:
            cpus = [d for d in os.listdir(self.sysdir) if d.startswith("cpu") and d[3:].isdigit()]
        except OSError:
            return
        read_attr = self.attrs.read
        cores: dict[tuple[str, str], float] = {}
        packages: dict[str, float] = {}
        for cpu in sorted(cpus, key=lambda d: int(d[3:])):
            pkg, core = read_attr(cpu, "topology/physical_package_id"), read_attr(cpu, "topology/core_id")
            if not pkg or not core:
                continue
            if (pkg, core) not in cores:
                count = read_attr(cpu, "thermal_throttle/core_throttle_count")
                if count and count.isdigit():
                    cores[(pkg, core)] = float(count)
            if pkg not in packages:
                count = read_attr(cpu, "thermal_throttle/package_throttle_count")
                if count and count.isdigit():
                    packages[pkg] = float(count)
        if cores:
            yield family("node_cpu_core_throttles", "Number of times this CPU core has been throttled.", "counter",
                         [Sample("node_cpu_core_throttles_total", {"package": p, "core": c}, v, None, None)
                          for (p, c), v in cores.items()])
        if packages:
            yield family("node_cpu_package_throttles", "Number of times this CPU package has been throttled.",
                         "counter", [Sample("node_cpu_package_throttles_total", {"package": p}, v, None, None)
                                     for p, v in packages.items()])

    def collect(self):
        times = self._monotonic(self._times())
        lv = self._labels
        secs, guest = [], []
        for cpu, v in times.items():
            for i, mode in enumerate(CPU_MODES):
                secs.append(Sample("node_cpu_seconds_total", lv(cpu, mode), v[i], None, None))
            # Guest time is also counted in user/nice; node_exporter exposes it separately, unsubtracted.
            guest.append(Sample("node_cpu_guest_seconds_total", lv(cpu, "nice"), v[9], None, None))
            guest.append(Sample("node_cpu_guest_seconds_total", lv(cpu, "user"), v[8], None, None))
        yield family("node_cpu_seconds", "Seconds the CPUs spent in each mode.", "counter", secs)
        if LINUX:
            yield family("node_cpu_guest_seconds", "Seconds the CPUs spent in guests (VMs) for each mode.", "counter",
                         guest)
            yield from self._throttles()
