"""ipvs: IPVS (Linux virtual server) totals and backend connection counts from /proc/net/ip_vs* (node_ipvs_*)."""
from __future__ import annotations

import ipaddress
import os

from ..families import NO_LABELS, Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._sysread import text

ALL_LABELS = ("local_address", "local_port", "remote_address", "remote_port", "proto", "local_mark")
TOTALS = (("connections", "The total number of connections made."),
          ("incoming_packets", "The total number of incoming packets."),
          ("outgoing_packets", "The total number of outgoing packets."),
          ("incoming_bytes", "The total amount of incoming data."),
          ("outgoing_bytes", "The total amount of outgoing data."))
BACKEND = (("connections_active", "The current active connections by local and remote address."),
           ("connections_inactive", "The current inactive connections by local and remote address."),
           ("weight", "The current backend weight by local and remote address."))


def parse_stats(raw: str) -> list[int]:
    """The five totals (connections, packets in/out, bytes in/out) of /proc/net/ip_vs_stats, hex in the file."""
    lines = raw.splitlines()
    if len(lines) < 3 or len(lines[2].split()) < 5:
        raise ValueError("ip_vs_stats: fewer than 3 lines or 5 totals")
    return [int(v, 16) for v in lines[2].split()[:5]]


def _address(hexaddr: str) -> tuple[str, str]:
    """'C0A80016:0CEA' -> ('192.168.0.22', '3306'); '[2620:0000:…:0001]:0035' -> ('2620::1', '53')."""
    if hexaddr.startswith("["):
        host, _, port = hexaddr[1:].partition("]:")
        return ipaddress.IPv6Address(host).compressed, str(int(port, 16))
    host, _, port = hexaddr.partition(":")
    return str(ipaddress.IPv4Address(int(host, 16))), str(int(port, 16))


def parse_backends(raw: str) -> list[dict]:
    """One dict per real server of /proc/net/ip_vs: its virtual service, address, weight and connection counts."""
    out, service = [], None
    for line in raw.splitlines()[3:]:
        fields = line.split()
        if not fields:
            continue
        if fields[0] in ("TCP", "UDP", "SCTP"):
            addr, port = _address(fields[1])
            service = {"proto": fields[0], "local_address": addr, "local_port": port, "local_mark": ""}
        elif fields[0] == "FWM":
            service = {"proto": "FWM", "local_address": "", "local_port": "0", "local_mark": fields[1]}
        elif fields[0] == "->" and service is not None and len(fields) >= 6:
            addr, port = _address(fields[1])
            out.append({**service, "remote_address": addr, "remote_port": port, "weight": int(fields[3]),
                        "active": int(fields[4]), "inactive": int(fields[5])})
    return out


@register(
    "ipvs", default=True, help="IPVS totals and per-backend connections from /proc/net/ip_vs (node_ipvs_*).",
    config_schema={"type": "object", "properties": {
        "backend-labels": {"type": "string", "default": ",".join(ALL_LABELS),
                           "description": "Comma-separated list of labels of the per-backend series."},
    }, "additionalProperties": False},
)
class IpvsCollector:
    families = (
        Family("node_ipvs_{connections,incoming_packets,outgoing_packets,incoming_bytes,outgoing_bytes}_total",
               "counter"),
        Family("node_ipvs_backend_{connections_active,connections_inactive,weight}", "gauge",
               ALL_LABELS, "backends with the same labels are summed"),
    )

    def __init__(self, ctx: CollectorContext):
        self.stats = os.path.join(ctx.procfs, "net", "ip_vs_stats")
        self.backends = os.path.join(ctx.procfs, "net", "ip_vs")
        raw = ctx.settings.get("backend-labels", ",".join(ALL_LABELS))
        labels = tuple(l.strip() for l in raw.split(",") if l.strip())
        unknown = [l for l in labels if l not in ALL_LABELS]
        if unknown:
            raise ValueError(f"ipvs: backend-labels: unknown label {unknown[0]!r} (known: {', '.join(ALL_LABELS)})")
        self.labels = labels

    def collect(self):
        if not LINUX:
            return
        raw = text(self.stats)
        if raw is None:
            return
        for (name, doc), v in zip(TOTALS, parse_stats(raw)):
            yield family("node_ipvs_" + name, doc, "counter",
                         [Sample(f"node_ipvs_{name}_total", NO_LABELS, float(v), None, None)])
        sums: dict[tuple, list[int]] = {}
        for b in parse_backends(text(self.backends) or ""):
            key = tuple(b[l] for l in self.labels)
            acc = sums.setdefault(key, [0, 0, 0])
            acc[0] += b["active"]
            acc[1] += b["inactive"]
            acc[2] += b["weight"]
        for i, (name, doc) in enumerate(BACKEND):
            yield family("node_ipvs_backend_" + name, doc, "gauge", [
                Sample("node_ipvs_backend_" + name, dict(zip(self.labels, key)), float(acc[i]), None, None)
                for key, acc in sums.items()])
