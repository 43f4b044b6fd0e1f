"""arp: ARP table entries per device from /proc/net/arp (node_arp_entries{device})."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.procfs import parse_arp, read
from ..registry import CollectorContext, register
from ._families import Sample, family


@register("arp", default=True, help="ARP entries per device from /proc/net/arp (node_arp_entries).")
class ArpCollector:
    # Families this collector exports (documentation; scripts/gen-docs renders them into README.md).
    families = ("node_arp_entries gauge {device}",)

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "net", "arp")

    def collect(self):
        if not LINUX:
            return
        counts = parse_arp(read(self.path))
        yield family("node_arp_entries", "ARP entries by device", "gauge",
                     [Sample("node_arp_entries", {"device": d}, float(n), None, None)
                      for d, n in sorted(counts.items())])
