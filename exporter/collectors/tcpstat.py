"""tcpstat: node_tcp_connection_states{state} from /proc/net/tcp and tcp6 (off by default, as in node_exporter)."""
from __future__ import annotations

import os

from ..families import Sample, family
from ..linux.procfs import parse_tcp_states, read
from ..linux import LINUX
from ..registry import CollectorContext, Family, register


@register("tcpstat", default=False, help="TCP connection counts by state (node_tcp_connection_states).")
class TcpstatCollector:
    families = (
        Family("node_tcp_connection_states", "gauge", ("state",)),
    )

    def __init__(self, ctx: CollectorContext):
        self.paths = [os.path.join(ctx.procfs, "net", n) for n in ("tcp", "tcp6")]

    def collect(self):
        if not LINUX:
            return  # a Linux /proc source only
        counts: dict[str, int] = {}
        for p in self.paths:
            try:
                parse_tcp_states(read(p), counts)
            except OSError:
                pass
        yield family("node_tcp_connection_states", "Number of connection states.", "gauge",
                     [Sample("node_tcp_connection_states", {"state": state}, n, None, None)
                      for state, n in sorted(counts.items())])
