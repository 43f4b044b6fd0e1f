"""cpu: node_cpu_seconds_total{cpu,mode} and node_cpu_guest_seconds_total from /proc/stat."""
from __future__ import annotations

import os
import sys

from prometheus_client.core import CounterMetricFamily

from ..linux.procfs import CPU_MODES, parse_stat, read
from ..registry import CollectorContext, register

TICKS = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0


@register("cpu", default=True, help="Seconds the CPUs spent in each mode (node_cpu_*).")
class CpuCollector:
    # Families this collector exports (documentation; scripts/gen-docs renders them into README.md).
    families = (
        'node_cpu_seconds_total counter {cpu,mode}',
        'node_cpu_guest_seconds_total counter {cpu,mode}',
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "stat")

    def collect(self):
        secs = CounterMetricFamily("node_cpu_seconds", "Seconds the CPUs spent in each mode.", labels=["cpu", "mode"])
        guest = CounterMetricFamily(
            "node_cpu_guest_seconds", "Seconds the CPUs spent in guests (VMs) for each mode.", labels=["cpu", "mode"]
        )
        if sys.platform.startswith("linux"):
            cpus, _ = parse_stat(read(self.path))
            for cpu, v in cpus.items():
                for i, mode in enumerate(CPU_MODES):
                    secs.add_metric([cpu, mode], v[i] / TICKS)
                # Guest time is also counted in user/nice; node_exporter exposes it separately, unsubtracted.
                guest.add_metric([cpu, "nice"], v[9] / TICKS)
                guest.add_metric([cpu, "user"], v[8] / TICKS)
        else:
            import psutil

            for i, t in enumerate(psutil.cpu_times(percpu=True)):
                for mode in CPU_MODES:
                    if hasattr(t, mode):
                        secs.add_metric([str(i), mode], getattr(t, mode))
        yield secs
        if guest.samples:
            yield guest
