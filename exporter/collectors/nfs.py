"""nfs: NFS client RPC statistics from /proc/net/rpc/nfs (node_nfs_*)."""
from __future__ import annotations

import os

from ..families import NO_LABELS, Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from . import _rpcstat as rpc
from ._sysread import text


@register("nfs", default=True, help="NFS client statistics from /proc/net/rpc/nfs (node_nfs_*).")
class NfsCollector:
    families = (
        Family("node_nfs_packets_total", "counter", ("protocol",), "udp, tcp"),
        Family("node_nfs_connections_total", "counter"),
        Family("node_nfs_{rpcs,rpc_retransmissions,rpc_authentication_refreshes}_total", "counter"),
        Family("node_nfs_requests_total", "counter", ("method", "proto"), "proto 2, 3, 4"),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "net", "rpc", "nfs")

    def collect(self):
        if not LINUX:
            return
        raw = text(self.path)
        if raw is None:
            return
        p, stats = self.path, rpc.parse(raw, self.path)
        _, udp, tcp, connect = rpc.fields(stats.get("net"), 4, p, "net")
        rpcs, retrans, refresh = rpc.fields(stats.get("rpc"), 3, p, "rpc")
        requests = []
        for proto, line, names, minimum, pad in (("2", "proc2", rpc.V2, 18, False), ("3", "proc3", rpc.V3, 22, False),
                                                 ("4", "proc4", rpc.CLIENT_V4, 0, True)):
            for method, v in rpc.procedures(stats.get(line), names, p, line, minimum, pad):
                requests.append(Sample("node_nfs_requests_total", {"method": method, "proto": proto}, float(v),
                                       None, None))
        yield family("node_nfs_packets", "Total NFSd network packets (sent+received) by protocol type.", "counter", [
            Sample("node_nfs_packets_total", {"protocol": "udp"}, float(udp), None, None),
            Sample("node_nfs_packets_total", {"protocol": "tcp"}, float(tcp), None, None)])
        for name, doc, v in (
                ("connections", "Total number of NFSd TCP connections.", connect),
                ("rpcs", "Total number of RPCs performed.", rpcs),
                ("rpc_retransmissions", "Number of RPC transmissions performed.", retrans),
                ("rpc_authentication_refreshes", "Number of RPC authentication refreshes performed.", refresh)):
            yield family("node_nfs_" + name, doc, "counter",
                         [Sample(f"node_nfs_{name}_total", NO_LABELS, float(v), None, None)])
        yield family("node_nfs_requests", "Number of NFS procedures invoked.", "counter", requests)
