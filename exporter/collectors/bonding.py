"""bonding: configured and active slaves of bonding interfaces (node_bonding_slaves, node_bonding_active)."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.procfs import read
from ..registry import CollectorContext, Family, register
from ..families import Sample, family


@register("bonding", default=True, help="Bonding interfaces: configured and active slaves (node_bonding_*).")
class BondingCollector:
    families = (
        Family("node_bonding_slaves", "gauge", ("master",)),
        Family("node_bonding_active", "gauge", ("master",), "slaves with MII up"),
    )

    def __init__(self, ctx: CollectorContext):
        self.net = os.path.join(ctx.sysfs, "class", "net")

    def _mii(self, master: str, slave: str) -> str:
        for prefix in ("lower_", "slave_"):  # older kernels name the link slave_<dev>
            try:
                return read(os.path.join(self.net, master, prefix + slave, "bonding_slave", "mii_status"),
                            keep=False).strip()
            except OSError:
                continue
        return ""

    def collect(self):
        if not LINUX:
            return
        try:
            masters = read(os.path.join(self.net, "bonding_masters"), keep=False).split()
        except OSError:
            return  # bonding driver not loaded
        slaves, active = [], []
        for master in masters:
            try:
                names = read(os.path.join(self.net, master, "bonding", "slaves"), keep=False).split()
            except OSError:
                continue
            up = sum(1 for s in names if self._mii(master, s) == "up")
            slaves.append(Sample("node_bonding_slaves", {"master": master}, float(len(names)), None, None))
            active.append(Sample("node_bonding_active", {"master": master}, float(up), None, None))
        yield family("node_bonding_slaves", "Number of configured slaves per bonding interface.", "gauge", slaves)
        yield family("node_bonding_active", "Number of active slaves per bonding interface.", "gauge", active)
