"""udp_queues: memory queued in UDP sockets (node_udp_queues{ip,queue}) from /proc/net/udp and udp6."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.procfs import parse_udp_queues, read
from ..registry import CollectorContext, Family, register
from ..families import Sample, family


@register("udp_queues", default=True, help="Bytes queued in UDP sockets (node_udp_queues).")
class UdpQueuesCollector:
    families = (
        Family("node_udp_queues", "gauge", ("ip", "queue")),
    )

    def __init__(self, ctx: CollectorContext):
        self.net = os.path.join(ctx.procfs, "net")

    def collect(self):
        if not LINUX:
            return
        samples = []
        for ip, name in (("v4", "udp"), ("v6", "udp6")):
            try:
                tx, rx = parse_udp_queues(read(os.path.join(self.net, name)))
            except OSError:
                continue
            samples.append(Sample("node_udp_queues", {"ip": ip, "queue": "rx"}, float(rx), None, None))
            samples.append(Sample("node_udp_queues", {"ip": ip, "queue": "tx"}, float(tx), None, None))
        yield family("node_udp_queues", "Number of allocated memory in the kernel for UDP datagrams in bytes.",
                     "gauge", samples)
