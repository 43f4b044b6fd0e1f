"""uname: node_uname_info{domainname,machine,nodename,release,sysname,version}."""
from __future__ import annotations

import os

from ..families import Sample, family
from ..linux.procfs import read
from ..registry import CollectorContext, Family, register


@register("uname", default=True, help="System information from uname(2) (node_uname_info).")
class UnameCollector:
    families = (
        Family("node_uname_info", "gauge", ("domainname", "machine", "nodename", "release", "sysname", "version")),
    )

    def __init__(self, ctx: CollectorContext):
        self.domain = os.path.join(ctx.procfs, "sys", "kernel", "domainname")

    def collect(self):
        u = os.uname()
        try:
            domain = read(self.domain).strip()
        except OSError:
            domain = "(none)"
        labels = {"domainname": domain, "machine": u.machine, "nodename": u.nodename, "release": u.release,
                  "sysname": u.sysname, "version": u.version}
        yield family("node_uname_info", "Labeled system information as provided by the uname system call.", "gauge",
                     [Sample("node_uname_info", labels, 1, None, None)])
