"""schedstat: per-CPU scheduler statistics from /proc/schedstat (node_schedstat_*), when the kernel has them."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.procfs import parse_schedstat, read
from ..registry import CollectorContext, Family, register
from ..families import Sample, family

SERIES = (  # (metric, help, column, scale)
    ("node_schedstat_running_seconds", "Number of seconds CPU spent running a process.", 0, 1e-9),
    ("node_schedstat_waiting_seconds", "Number of seconds spent by processing waiting for this CPU.", 1, 1e-9),
    ("node_schedstat_timeslices", "Number of timeslices executed by CPU.", 2, 1),
)


@register("schedstat", default=True, help="Per-CPU run and run-queue wait time from /proc/schedstat.")
class SchedstatCollector:
    families = (
        Family("node_schedstat_running_seconds_total", "counter", ("cpu",)),
        Family("node_schedstat_waiting_seconds_total", "counter", ("cpu",),
               "run-queue latency: time runnable tasks waited"),
        Family("node_schedstat_timeslices_total", "counter", ("cpu",)),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "schedstat")

    def collect(self):
        if not LINUX:
            return
        try:
            cpus = parse_schedstat(read(self.path))
        except OSError:
            return  # kernel built without CONFIG_SCHEDSTATS (node_exporter reports the collector as failed)
        for name, doc, col, scale in SERIES:
            yield family(name, doc, "counter", [Sample(name + "_total", {"cpu": cpu}, v[col] * scale, None, None)
                                                for cpu, v in cpus.items()])
