"""arp: ARP table entries per device from /proc/net/arp (node_arp_entries{device})."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.procfs import parse_arp, read
from ..registry import CollectorContext, Family, register
from ..families import Sample, family


@register("arp", default=True, help="ARP entries per device from /proc/net/arp (node_arp_entries).")
class ArpCollector:
    families = (
        Family("node_arp_entries", "gauge", ("device",)),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "net", "arp")

    def collect(self):
        if not LINUX:
            return
        counts = parse_arp(read(self.path))
        yield family("node_arp_entries", "ARP entries by device", "gauge",
                     [Sample("node_arp_entries", {"device": d}, float(n), None, None)
                      for d, n in sorted(counts.items())])
