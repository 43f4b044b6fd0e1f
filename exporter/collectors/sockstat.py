"""sockstat: node_sockstat_* from /proc/net/sockstat and sockstat6."""
from __future__ import annotations

import os

from ..linux.procfs import parse_sockstat, read
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ..families import single

PAGE = os.sysconf("SC_PAGESIZE") if hasattr(os, "sysconf") else 4096


@register("sockstat", default=True, help="Socket statistics from /proc/net/sockstat{,6} (node_sockstat_*).")
class SockstatCollector:
    families = (
        Family("node_sockstat_sockets_used", "gauge"),
        Family("node_sockstat_<PROTO>_<state>", "gauge",
               note="TCP inuse/orphan/tw/alloc/mem, UDP, UDPLITE, RAW, FRAG, and the 6 variants"),
        Family("node_sockstat_{TCP,UDP}_mem_bytes", "gauge"),
    )

    def __init__(self, ctx: CollectorContext):
        self.net = os.path.join(ctx.procfs, "net")

    def collect(self):
        if not LINUX:
            return  # a Linux /proc source only
        rows = parse_sockstat(read(os.path.join(self.net, "sockstat")))
        try:
            rows += [(p, k, v) for p, k, v in parse_sockstat(read(os.path.join(self.net, "sockstat6")))]
        except OSError:
            pass
        for proto, field, value in rows:
            if proto == "sockets":
                if field == "used":
                    yield single("node_sockstat_sockets_used", "Number of IPv4 sockets in use.", "gauge", value)
                continue
            yield single(f"node_sockstat_{proto}_{field}", f"Number of {proto} sockets in state {field}.", "gauge",
                         value)
            if field == "mem" and proto in ("TCP", "UDP"):  # pages; FRAG "memory" is already bytes
                yield single(f"node_sockstat_{proto}_mem_bytes", f"Number of {proto} sockets in state mem_bytes.",
                             "gauge", value * PAGE)
