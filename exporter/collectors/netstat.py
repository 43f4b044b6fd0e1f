"""netstat: node_netstat_<Proto>_<Field> from /proc/net/{netstat,snmp,snmp6}, node_exporter's default field set."""
from __future__ import annotations

import os

from ..linux.procfs import parse_snmp6, read
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._settings import regex
from ..families import single

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
    families = (
        Family("node_netstat_<Proto>_<Field>", "untyped",
               note="fields matching `fields`, e.g. Tcp_RetransSegs, Tcp_CurrEstab, TcpExt_ListenOverflows,"
                    " TcpExt_ListenDrops, Udp_InErrors"),
    )

    def __init__(self, ctx: CollectorContext):
        self.net = os.path.join(ctx.procfs, "net")
        self.fields = regex("netstat", "fields", ctx.settings.get("fields") or DEFAULT_FIELDS)
        # The header lines and snmp6 keys are the same every scrape: decide once which columns are wanted.
        self._headers: dict[str, list[tuple[int, str]]] = {}
        self._snmp6: dict[str, str | None] = {}

    def _wanted_columns(self, header: str) -> list[tuple[int, str]]:
        cols = self._headers.get(header)
        if cols is None:
            proto, _, rest = header.partition(":")
            cols = self._headers[header] = [
                (i, f"{proto}_{k}") for i, k in enumerate(rest.split()) if self.fields.match(f"{proto}_{k}")
            ]
        return cols

    def _values(self):
        for name in ("netstat", "snmp"):
            lines = read(os.path.join(self.net, name)).split("\n")
            for header, values in zip(lines[::2], lines[1::2]):
                cols = self._wanted_columns(header)
                if cols:
                    vals = values.split()[1:]
                    for i, key in cols:
                        if i < len(vals):
                            yield key, vals[i]
        try:
            text = read(os.path.join(self.net, "snmp6"))
        except OSError:  # IPv6 disabled
            return
        known = self._snmp6
        for line in text.split("\n"):
            raw, _, value = line.partition(" ")
            if raw not in known:
                parsed = parse_snmp6(f"{raw} 0")
                key = next(iter(parsed), None)
                known[raw] = key if key and self.fields.match(key) else None
            key = known[raw]
            if key:
                yield key, value.strip()

    def collect(self):
        if not LINUX:
            return  # a Linux /proc source only
        for key, value in self._values():
            proto, _, field = key.partition("_")
            yield single(f"node_netstat_{key}", f"Statistic {proto}{field}.", "unknown", float(value))
