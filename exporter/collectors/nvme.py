"""nvme: NVMe controllers from /sys/class/nvme (node_nvme_info)."""
from __future__ import annotations

import os

from ..families import Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._sysread import entries, text


@register("nvme", default=True, help="NVMe controllers from /sys/class/nvme (node_nvme_info).")
class NvmeCollector:
    families = (Family("node_nvme_info", "gauge", ("device", "firmware_revision", "model", "serial", "state"),
                       "value 1"),)

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "class", "nvme")

    def collect(self):
        if not LINUX:
            return
        samples = []
        for dev in entries(self.dir):
            attrs = {k: text(os.path.join(self.dir, dev, f)) for k, f in (
                ("firmware_revision", "firmware_rev"), ("model", "model"), ("serial", "serial"), ("state", "state"))}
            if any(v is None for v in attrs.values()):
                raise OSError(f"nvme: cannot read the attributes of {os.path.join(self.dir, dev)}")
            samples.append(Sample("node_nvme_info", {"device": dev, **attrs}, 1.0, None, None))
        if samples:
            yield family("node_nvme_info", "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
                         "gauge", samples)
