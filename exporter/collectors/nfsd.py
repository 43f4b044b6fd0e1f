"""nfsd: NFS server statistics from /proc/net/rpc/nfsd (node_nfsd_*)."""
from __future__ import annotations

import os

from ..families import NO_LABELS, Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from . import _rpcstat as rpc
from ._sysread import text


def _one(name: str, doc: str, typ: str, value: int):
    return family("node_nfsd_" + name, doc, typ, [
        Sample(f"node_nfsd_{name}" + ("_total" if typ == "counter" else ""), NO_LABELS, float(value), None, None)])


@register("nfsd", default=True, help="NFS server statistics from /proc/net/rpc/nfsd (node_nfsd_*).")
class NfsdCollector:
    families = (
        Family("node_nfsd_reply_cache_{hits,misses,nocache}_total", "counter"),
        Family("node_nfsd_file_handles_stale_total", "counter"),
        Family("node_nfsd_disk_bytes_{read,written}_total", "counter"),
        Family("node_nfsd_server_threads", "gauge"),
        Family("node_nfsd_read_ahead_cache_size_blocks", "gauge"),
        Family("node_nfsd_read_ahead_cache_not_found_total", "counter"),
        Family("node_nfsd_packets_total", "counter", ("proto",), "udp, tcp"),
        Family("node_nfsd_connections_total", "counter"),
        Family("node_nfsd_server_rpcs_total", "counter"),
        Family("node_nfsd_rpc_errors_total", "counter", ("error",), "fmt, auth, cInt"),
        Family("node_nfsd_requests_total", "counter", ("method", "proto"), "proto 2, 3, 4"),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "net", "rpc", "nfsd")

    def collect(self):
        if not LINUX:
            return
        raw = text(self.path)
        if raw is None:
            return
        p, stats = self.path, rpc.parse(raw, self.path)
        hits, misses, nocache = rpc.fields(stats.get("rc"), 3, p, "rc")
        stale = rpc.fields(stats.get("fh"), 5, p, "fh")[0]
        read, written = rpc.fields(stats.get("io"), 2, p, "io")
        threads = rpc.fields(stats.get("th"), 2, p, "th")[0]
        ra = rpc.fields(stats.get("ra"), 12, p, "ra")
        _, udp, tcp, connect = rpc.fields(stats.get("net"), 4, p, "net")
        calls, _, bad_fmt, bad_auth, bad_cint = rpc.fields(stats.get("rpc"), 5, p, "rpc")
        requests = []
        for proto, line, names in (("2", "proc2", rpc.V2), ("3", "proc3", rpc.V3)):
            minimum = len(names)
            for method, v in rpc.procedures(stats.get(line), names, p, line, minimum):
                if method != "Null":
                    requests.append(Sample("node_nfsd_requests_total", {"method": method, "proto": proto}, float(v),
                                           None, None))
        ops = stats.get("proc4ops")
        if ops and (ops[0] != len(ops) - 1 or ops[0] < 39):
            raise ValueError(f"{p}: proc4ops: says {ops[0]} values, has {len(ops) - 1}")
        for method, pos in rpc.SERVER_V4_OPS:
            v = ops[pos] if ops else 0
            requests.append(Sample("node_nfsd_requests_total", {"method": method, "proto": "4"}, float(v), None, None))
        yield _one("reply_cache_hits", "Total number of NFSd Reply Cache hits (client lost server response).",
                   "counter", hits)
        yield _one("reply_cache_misses",
                   "Total number of NFSd Reply Cache an operation that requires caching (idempotent).", "counter",
                   misses)
        yield _one("reply_cache_nocache",
                   "Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).", "counter",
                   nocache)
        yield _one("file_handles_stale", "Total number of NFSd stale file handles", "counter", stale)
        yield _one("disk_bytes_read", "Total NFSd bytes read.", "counter", read)
        yield _one("disk_bytes_written", "Total NFSd bytes written.", "counter", written)
        yield _one("server_threads", "Total number of NFSd kernel threads that are running.", "gauge", threads)
        yield _one("read_ahead_cache_size_blocks", "How large the read ahead cache is in blocks.", "gauge", ra[0])
        yield _one("read_ahead_cache_not_found", "Total number of NFSd read ahead cache not found.", "counter", ra[11])
        yield family("node_nfsd_packets", "Total NFSd network packets (sent+received) by protocol type.", "counter", [
            Sample("node_nfsd_packets_total", {"proto": "udp"}, float(udp), None, None),
            Sample("node_nfsd_packets_total", {"proto": "tcp"}, float(tcp), None, None)])
        yield _one("connections", "Total number of NFSd TCP connections.", "counter", connect)
        yield _one("server_rpcs", "Total number of NFSd RPCs.", "counter", calls)
        yield family("node_nfsd_rpc_errors", "Total number of NFSd RPC errors by error type.", "counter", [
            Sample("node_nfsd_rpc_errors_total", {"error": e}, float(v), None, None)
            for e, v in (("fmt", bad_fmt), ("auth", bad_auth), ("cInt", bad_cint))])
        yield family("node_nfsd_requests", "Total number NFSd Requests by method and protocol.", "counter", requests)
