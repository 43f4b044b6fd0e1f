"""stat: boot time, context switches, forks, interrupts and running/blocked process counts from /proc/stat."""
from __future__ import annotations

import os

from ..families import single
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
        yield single("node_intr", "Total number of interrupts serviced.", "counter", s.get("intr", 0))
        yield single("node_context_switches", "Total number of context switches.", "counter", s.get("ctxt", 0))
        yield single("node_forks", "Total number of forks.", "counter", s.get("processes", 0))
        yield single("node_boot_time_seconds", "Node boot time, in unixtime.", "gauge", s.get("btime", 0))
        yield single("node_procs_running", "Number of processes in runnable state.", "gauge",
                     s.get("procs_running", 0))
        yield single("node_procs_blocked", "Number of processes blocked waiting for I/O to complete.", "gauge",
                     s.get("procs_blocked", 0))
