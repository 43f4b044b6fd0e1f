"""entropy: the kernel entropy pool (node_entropy_available_bits, node_entropy_pool_size_bits)."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.procfs import read
from ..registry import CollectorContext, Family, register
from ..families import single


@register("entropy", default=True, help="Kernel entropy pool (node_entropy_*_bits).")
class EntropyCollector:
    families = (
        Family("node_entropy_available_bits", "gauge"),
        Family("node_entropy_pool_size_bits", "gauge"),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.procfs, "sys", "kernel", "random")

    def collect(self):
        if not LINUX:
            return
        yield single("node_entropy_available_bits", "Bits of available entropy.", "gauge",
                     float(read(os.path.join(self.dir, "entropy_avail"))))
        yield single("node_entropy_pool_size_bits", "Bits of entropy pool.", "gauge",
                     float(read(os.path.join(self.dir, "poolsize"))))
