"""btrfs: Btrfs filesystem allocation and devices from /sys/fs/btrfs (node_btrfs_*)."""
from __future__ import annotations

import os

from ..families import Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._sysread import entries, text

if LINUX:
    from . import _btrfs_ioctl

SECTOR = 512  # sysfs block sizes are in 512-byte sectors whatever the device's block size
GROUPS = ("data", "metadata", "system")


def _uint(raw: str | None) -> int:
    """Unreadable or non-numeric values count 0, as upstream reads them."""
    try:
        return int(raw) if raw else 0
    except ValueError:
        return 0


def layout_ratio(mode: str, devices: int) -> float:
    """How many bytes of disk one byte of data takes in this layout."""
    if mode in ("single", "raid0"):
        return 1.0
    if mode in ("dup", "raid1", "raid10"):
        return 2.0
    if mode == "raid5" and devices > 1:
        return devices / (devices - 1)
    if mode == "raid6" and devices > 2:
        return devices / (devices - 2)
    return 0.0


@register("btrfs", default=True, help="Btrfs allocation and device sizes from /sys/fs/btrfs (node_btrfs_*).")
class BtrfsCollector:
    families = (
        Family("node_btrfs_info", "gauge", ("label", "uuid"), "value 1"),
        Family("node_btrfs_global_rsv_size_bytes", "gauge", ("uuid",)),
        Family("node_btrfs_device_size_bytes", "gauge", ("[btrfs_dev_uuid]", "device", "uuid"),
               "btrfs_dev_uuid when the filesystem is mounted (read with an ioctl), else from sysfs"),
        Family("node_btrfs_device_unused_bytes", "gauge", ("btrfs_dev_uuid", "device", "uuid"), "mounted only"),
        Family("node_btrfs_device_errors_total", "counter", ("btrfs_dev_uuid", "device", "type", "uuid"),
               "type: write, read, flush, corruption, generation; mounted only"),
        Family("node_btrfs_reserved_bytes", "gauge", ("block_group_type", "uuid"), "data, metadata, system"),
        Family("node_btrfs_{size_bytes,used_bytes,allocation_ratio}", "gauge", ("block_group_type", "mode", "uuid"),
               "mode: single, dup, raid0, raid1, raid10, raid5, raid6"),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "fs", "btrfs")
        self.procfs, self.rootfs = ctx.procfs, ctx.rootfs

    def collect(self):
        if not LINUX or not os.path.isdir(self.dir):  # one stat where the filesystem is not in use
            return
        paths = [os.path.join(self.dir, d) for d in entries(self.dir) if "-" in d]  # filesystem UUIDs
        if not paths:
            return
        out: dict[str, tuple[str, str, list]] = {}

        def add(metric, doc, labels, value, typ="gauge"):
            name = "node_btrfs_" + metric
            sample = name + "_total" if typ == "counter" else name
            out.setdefault(name, (doc, typ, []))[2].append(Sample(sample, labels, float(value), None, None))

        mounted = _btrfs_ioctl.all_filesystems(self.procfs, self.rootfs)
        for path in paths:
            uuid = text(os.path.join(path, "metadata_uuid")) or os.path.basename(path)
            devices = entries(os.path.join(path, "devices"))
            add("info", "Filesystem information", {"label": text(os.path.join(path, "label")) or "", "uuid": uuid}, 1)
            add("global_rsv_size_bytes", "Size of global reserve.", {"uuid": uuid},
                _uint(text(os.path.join(path, "allocation", "global_rsv_size"))))
            if uuid.replace("-", "") in mounted:
                for dev in mounted[uuid.replace("-", "")]:
                    labels = {"btrfs_dev_uuid": dev.uuid, "device": dev.name, "uuid": uuid}
                    add("device_size_bytes", "Size of a device that is part of the filesystem.", labels,
                        dev.total_bytes)
                    add("device_unused_bytes", "Unused bytes unused on a device that is part of the filesystem.",
                        labels, dev.total_bytes - dev.used_bytes)
                    for kind, n in zip(_btrfs_ioctl.ERROR_TYPES, dev.errors):
                        add("device_errors", "Errors reported for the device", {**labels, "type": kind}, n, "counter")
            else:
                for dev in devices:
                    add("device_size_bytes", "Size of a device that is part of the filesystem.",
                        {"device": dev, "uuid": uuid},
                        SECTOR * _uint(text(os.path.join(path, "devices", dev, "size"))))
            for group in GROUPS:
                gdir = os.path.join(path, "allocation", group)
                if not os.path.isdir(gdir):
                    continue
                add("reserved_bytes", "Amount of space reserved for a data type",
                    {"block_group_type": group, "uuid": uuid}, _uint(text(os.path.join(gdir, "bytes_reserved"))))
                for mode in entries(gdir):
                    if not os.path.isdir(os.path.join(gdir, mode)):
                        continue
                    labels = {"block_group_type": group, "mode": mode, "uuid": uuid}
                    add("used_bytes", "Amount of used space by a layout/data type", labels,
                        _uint(text(os.path.join(gdir, mode, "used_bytes"))))
                    add("size_bytes", "Amount of space allocated for a layout/data type", labels,
                        _uint(text(os.path.join(gdir, mode, "total_bytes"))))
                    add("allocation_ratio", "Data allocation ratio for a layout/data type", labels,
                        layout_ratio(mode, len(devices)))
        for name, (doc, typ, samples) in sorted(out.items()):
            yield family(name, doc, typ, samples)
