"""mdadm: Linux software RAID state from /proc/mdstat (node_md_*), when md arrays exist."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.procfs import parse_mdstat, read
from ..registry import CollectorContext, Family, register
from ..families import Sample, family

STATES = ("active", "inactive", "recovering", "resync", "check")


@register("mdadm", default=True, help="Software RAID arrays from /proc/mdstat (node_md_*).")
class MdadmCollector:
    families = (
        Family("node_md_state", "gauge", ("device", "state"), "active, inactive, recovering, resync, check"),
        Family("node_md_disks", "gauge", ("device", "state"), "active, failed, spare"),
        Family("node_md_disks_required", "gauge", ("device",)),
        Family("node_md_blocks", "gauge", ("device",)),
        Family("node_md_blocks_synced", "gauge", ("device",)),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "mdstat")

    def collect(self):
        if not LINUX:
            return
        try:
            arrays = parse_mdstat(read(self.path))
        except FileNotFoundError:
            return  # no md driver loaded
        state, disks, required, blocks, synced = [], [], [], [], []
        for a in arrays:
            dev = a["name"]
            for s in STATES:
                state.append(Sample("node_md_state", {"device": dev, "state": s}, float(a["state"] == s), None, None))
            for s in ("active", "failed", "spare"):
                disks.append(Sample("node_md_disks", {"device": dev, "state": s}, float(a[s]), None, None))
            required.append(Sample("node_md_disks_required", {"device": dev}, float(a["total"]), None, None))
            blocks.append(Sample("node_md_blocks", {"device": dev}, float(a["blocks"]), None, None))
            synced.append(Sample("node_md_blocks_synced", {"device": dev}, float(a["synced"]), None, None))
        if not arrays:
            return
        yield family("node_md_state", "Indicates the state of md-device.", "gauge", state)
        yield family("node_md_disks", "Number of active/failed/spare disks of device.", "gauge", disks)
        yield family("node_md_disks_required", "Total number of disks of device.", "gauge", required)
        yield family("node_md_blocks", "Total number of blocks on device.", "gauge", blocks)
        yield family("node_md_blocks_synced", "Number of blocks synced on device.", "gauge", synced)
