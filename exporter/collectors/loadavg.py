"""loadavg: node_load1, node_load5, node_load15."""
from __future__ import annotations

import os

from ..families import single
from ..linux import LINUX
from ..linux.procfs import parse_loadavg, read
from ..registry import CollectorContext, Family, register


@register("loadavg", default=True, help="Load averages (node_load1/5/15).")
class LoadavgCollector:
    families = (
        Family("node_load1", "gauge"),
        Family("node_load5", "gauge"),
        Family("node_load15", "gauge"),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "loadavg")

    def collect(self):
        loads = parse_loadavg(read(self.path)) if LINUX else os.getloadavg()
        for minutes, value in zip((1, 5, 15), loads):
            yield single(f"node_load{minutes}", f"{minutes}m load average.", "gauge", value)
