"""netstat: node_netstat_<Proto>_<Field> from /proc/net/{netstat,snmp,snmp6}, node_exporter's default field set."""
from __future__ import annotations

import os
import re

from prometheus_client.core import UnknownMetricFamily

from ..linux.procfs import parse_netstat, parse_snmp6, read
from ..registry import CollectorContext, register

DEFAULT_FIELDS = (
    r"^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)"
    r"|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)"
    r"|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)"
    r"|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$"
)


@register(
    "netstat", default=True, help="Network statistics from /proc/net/netstat, snmp and snmp6 (node_netstat_*).",
    config_schema={"type": "object", "properties": {
        "fields": {"type": "string", "default": DEFAULT_FIELDS, "description": "Regexp of fields to return."},
    }, "additionalProperties": False},
)
class NetstatCollector:
    def __init__(self, ctx: CollectorContext):
        self.net = os.path.join(ctx.procfs, "net")
        self.fields = re.compile(ctx.settings.get("fields") or DEFAULT_FIELDS)
        self._match: dict[str, bool] = {}

    def collect(self):
        values = parse_netstat(read(os.path.join(self.net, "netstat")))
        values.update(parse_netstat(read(os.path.join(self.net, "snmp"))))
        try:
            values.update(parse_snmp6(read(os.path.join(self.net, "snmp6"))))
        except OSError:  # IPv6 disabled
            pass
        match = self._match
        for key, value in values.items():
            ok = match.get(key)
            if ok is None:
                ok = match[key] = bool(self.fields.match(key))
            if ok:
                proto, _, field = key.partition("_")
                yield UnknownMetricFamily(f"node_netstat_{key}", f"Statistic {proto}{field}.", value=float(value))
