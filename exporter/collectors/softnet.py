"""softnet: per-CPU packet processing statistics from /proc/net/softnet_stat (node_softnet_*_total{cpu})."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.procfs import parse_softnet, read
from ..registry import CollectorContext, Family, register
from ..families import LabelCache, Sample, family

COLUMNS = (("processed", "Number of processed packets"), ("dropped", "Number of dropped packets"),
           ("times_squeezed", "Number of times processing packets ran out of quota"))


@register("softnet", default=True, help="Per-CPU softirq packet statistics from /proc/net/softnet_stat.")
class SoftnetCollector:
    families = (
        Family("node_softnet_processed_total", "counter", ("cpu",)),
        Family("node_softnet_dropped_total", "counter", ("cpu",)),
        Family("node_softnet_times_squeezed_total", "counter", ("cpu",)),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "net", "softnet_stat")
        self._labels = LabelCache("cpu")

    def collect(self):
        if not LINUX:
            return
        rows = parse_softnet(read(self.path))
        for i, (col, doc) in enumerate(COLUMNS):
            name = f"node_softnet_{col}_total"
            yield family(name[:-6], doc, "counter",
                         [Sample(name, self._labels(str(cpu)), float(r[i]), None, None) for cpu, r in enumerate(rows)])
