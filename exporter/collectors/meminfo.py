"""meminfo: node_memory_* from /proc/meminfo, named as node_exporter names them (swap included)."""
from __future__ import annotations

import os

from ..families import single
from ..linux import LINUX
from ..linux.procfs import parse_meminfo, read
from ..registry import CollectorContext, Family, register


def _portable() -> dict[str, float]:
    import psutil

    vm, sw = psutil.virtual_memory(), psutil.swap_memory()
    return {
        "MemTotal_bytes": vm.total, "MemFree_bytes": getattr(vm, "free", 0), "MemAvailable_bytes": vm.available,
        "SwapTotal_bytes": sw.total, "SwapFree_bytes": sw.free,
    }


@register("meminfo", default=True, help="Memory statistics from /proc/meminfo (node_memory_*).")
class MeminfoCollector:
    families = (
        Family("node_memory_<Field>_bytes", "gauge",
               note="every kB field of /proc/meminfo, e.g. MemTotal, MemAvailable, Active_anon, SwapTotal, SwapFree"),
        Family("node_memory_<Field>", "gauge", note="unitless fields, e.g. HugePages_Total"),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "meminfo")

    def collect(self):
        fields = parse_meminfo(read(self.path)) if LINUX else _portable()
        for key, value in fields.items():
            yield single(f"node_memory_{key}", f"Memory information field {key}.", "gauge", value)
