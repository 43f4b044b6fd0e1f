"""conntrack: connection tracking table use and statistics (node_nf_conntrack_*), when netfilter is loaded."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.procfs import parse_conntrack_stat, read
from ..registry import CollectorContext, Family, register
from ..families import single

STATS = (
    ("found", "Number of searched entries which were successful."),
    ("invalid", "Number of packets seen which can not be tracked."),
    ("ignore", "Number of packets seen which are already connected to a conntrack entry."),
    ("insert", "Number of entries inserted into the list."),
    ("insert_failed", "Number of entries for which list insertion was attempted but failed."),
    ("drop", "Number of packets dropped due to conntrack failure."),
    ("early_drop", "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached."),
    ("search_restart", "Number of conntrack table lookups which had to be restarted due to hashtable resizes."),
)


@register("conntrack", default=True, help="Connection tracking table use and statistics (node_nf_conntrack_*).")
class ConntrackCollector:
    families = (
        Family("node_nf_conntrack_entries", "gauge"),
        Family("node_nf_conntrack_entries_limit", "gauge"),
        Family("node_nf_conntrack_stat_{found,invalid,ignore,insert,insert_failed,drop,early_drop,search_restart}",
               "gauge"),
    )

    def __init__(self, ctx: CollectorContext):
        self.sys = os.path.join(ctx.procfs, "sys", "net", "netfilter")
        self.stat = os.path.join(ctx.procfs, "net", "stat", "nf_conntrack")

    def collect(self):
        if not LINUX:
            return
        try:
            count = int(read(os.path.join(self.sys, "nf_conntrack_count")))
            limit = int(read(os.path.join(self.sys, "nf_conntrack_max")))
        except OSError:
            return  # netfilter conntrack not loaded: no series, as node_exporter
        yield single("node_nf_conntrack_entries",
                     "Number of currently allocated flow entries for connection tracking.", "gauge", count)
        yield single("node_nf_conntrack_entries_limit", "Maximum size of connection tracking table.", "gauge", limit)
        try:
            totals = parse_conntrack_stat(read(self.stat))
        except OSError:
            return
        for key, doc in STATS:
            if key in totals:
                yield single(f"node_nf_conntrack_stat_{key}", doc, "gauge", totals[key])
