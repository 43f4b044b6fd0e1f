"""stat: boot time, context switches, forks, interrupts and running/blocked process counts from /proc/stat."""
from __future__ import annotations

import os

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..linux.procfs import parse_stat, read
from ..linux import LINUX
from ..registry import CollectorContext, Family, register


@register("stat", default=True, help="Kernel counters from /proc/stat (node_boot_time_seconds, node_forks_total, ...).")
class StatCollector:
    families = (
        Family("node_boot_time_seconds", "gauge"),
        Family("node_context_switches_total", "counter"),
        Family("node_forks_total", "counter"),
        Family("node_intr_total", "counter"),
        Family("node_procs_running", "gauge"),
        Family("node_procs_blocked", "gauge"),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "stat")

    def collect(self):
        if LINUX:
            _, s = parse_stat(read(self.path))
        else:
            import psutil

            cs = psutil.cpu_stats()
            s = {"btime": psutil.boot_time(), "ctxt": cs.ctx_switches, "intr": cs.interrupts}
        yield CounterMetricFamily("node_intr", "Total number of interrupts serviced.", value=s.get("intr", 0))
        yield CounterMetricFamily("node_context_switches", "Total number of context switches.", value=s.get("ctxt", 0))
        yield CounterMetricFamily("node_forks", "Total number of forks.", value=s.get("processes", 0))
        yield GaugeMetricFamily("node_boot_time_seconds", "Node boot time, in unixtime.", value=s.get("btime", 0))
        yield GaugeMetricFamily(
            "node_procs_running", "Number of processes in runnable state.", value=s.get("procs_running", 0)
        )
        yield GaugeMetricFamily(
            "node_procs_blocked", "Number of processes blocked waiting for I/O to complete.",
            value=s.get("procs_blocked", 0),
        )
