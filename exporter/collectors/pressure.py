"""pressure: pressure stall information (node_pressure_*_seconds_total) when /proc/pressure exists."""
from __future__ import annotations

import os

from ..linux.procfs import parse_pressure, read
from ..families import single
from ..linux import LINUX
from ..registry import CollectorContext, Family, register

# (resource, PSI line, metric, help) — node_exporter 1.5 exports cpu "some" only.
SERIES = (
    ("cpu", "some", "node_pressure_cpu_waiting_seconds",
     "Total time in seconds that processes have waited for CPU time"),
    ("io", "some", "node_pressure_io_waiting_seconds",
     "Total time in seconds that processes have waited due to IO congestion"),
    ("io", "full", "node_pressure_io_stalled_seconds",
     "Total time in seconds no process could make progress due to IO congestion"),
    ("memory", "some", "node_pressure_memory_waiting_seconds",
     "Total time in seconds that processes have waited for memory"),
    ("memory", "full", "node_pressure_memory_stalled_seconds",
     "Total time in seconds no process could make progress due to memory congestion"),
)


@register("pressure", default=True, help="Pressure stall information from /proc/pressure (node_pressure_*).")
class PressureCollector:
    families = (
        Family("node_pressure_cpu_waiting_seconds_total", "counter"),
        Family("node_pressure_{io,memory}_{waiting,stalled}_seconds_total", "counter"),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.procfs, "pressure")

    def collect(self):
        if not LINUX:
            return  # a Linux /proc source only
        parsed: dict[str, dict[str, float]] = {}
        for resource, line, name, doc in SERIES:
            if resource not in parsed:
                try:
                    parsed[resource] = parse_pressure(read(os.path.join(self.dir, resource)))
                except OSError:  # kernel without PSI (or psi=0): no series, like node_exporter
                    parsed[resource] = {}
            if line in parsed[resource]:
                yield single(name, doc, "counter", parsed[resource][line])
