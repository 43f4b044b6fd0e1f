"""diskstats: node_disk_* from /proc/diskstats (and node_disk_info from udev), node_exporter's default exclusions."""
from __future__ import annotations

import os


from ..linux.procfs import parse_diskstats, parse_udev, read
from ..linux import LINUX
from ._settings import regex
from ..families import LabelCache, Sample, family
from ..registry import CollectorContext, Family, register

DEFAULT_EXCLUDE = r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"
SECTOR = 512.0

# (column in /proc/diskstats after the device name, metric, type, scale, help) — node_exporter 1.5's set.
COLUMNS = (
    (0, "reads_completed_total", "counter", 1, "The total number of reads completed successfully."),
    (1, "reads_merged_total", "counter", 1, "The total number of reads merged."),
    (2, "read_bytes_total", "counter", SECTOR, "The total number of bytes read successfully."),
    (3, "read_time_seconds_total", "counter", 0.001, "The total number of seconds spent by all reads."),
    (4, "writes_completed_total", "counter", 1, "The total number of writes completed successfully."),
    (5, "writes_merged_total", "counter", 1, "The number of writes merged."),
    (6, "written_bytes_total", "counter", SECTOR, "The total number of bytes written successfully."),
    (7, "write_time_seconds_total", "counter", 0.001, "This is the total number of seconds spent by all writes."),
    (8, "io_now", "gauge", 1, "The number of I/Os currently in progress."),
    (9, "io_time_seconds_total", "counter", 0.001, "Total seconds spent doing I/Os."),
    (10, "io_time_weighted_seconds_total", "counter", 0.001, "The weighted # of seconds spent doing I/Os."),
    (11, "discards_completed_total", "counter", 1, "The total number of discards completed successfully."),
    (12, "discards_merged_total", "counter", 1, "The total number of discards merged."),
    (13, "discarded_sectors_total", "counter", 1, "The total number of sectors discarded successfully."),
    (14, "discard_time_seconds_total", "counter", 0.001, "This is the total number of seconds spent by all discards."),
    (15, "flush_requests_total", "counter", 1, "The total number of flush requests completed successfully"),
    (16, "flush_requests_time_seconds_total", "counter", 0.001,
     "This is the total number of seconds spent by all flush requests."),
)
INFO_LABELS = ["device", "major", "minor", "model", "path", "revision", "serial", "wwn"]
ATA = (  # udev property, metric, help — published for ATA disks only
    ("ID_ATA_WRITE_CACHE", "node_disk_ata_write_cache", "ATA disk has a write cache."),
    ("ID_ATA_WRITE_CACHE_ENABLED", "node_disk_ata_write_cache_enabled", "ATA disk has its write cache enabled."),
    ("ID_ATA_ROTATION_RATE_RPM", "node_disk_ata_rotation_rate_rpm", "ATA disk rotation rate in RPMs (0 for SSDs)."),
)


def _portable() -> list[tuple[str, str, str, list[int]]]:
    """psutil's per-disk counters in /proc/diskstats column order (sectors from bytes; what it lacks is 0)."""
    import psutil

    out = []
    for dev, c in (psutil.disk_io_counters(perdisk=True) or {}).items():
        stats = [c.read_count, getattr(c, "read_merged_count", 0), c.read_bytes // 512, c.read_time,
                 c.write_count, getattr(c, "write_merged_count", 0), c.write_bytes // 512, c.write_time,
                 0, getattr(c, "busy_time", 0), 0]
        out.append(("0", "0", dev, stats))
    return out


@register(
    "diskstats", default=True, help="Disk I/O statistics from /proc/diskstats (node_disk_*).",
    config_schema={"type": "object", "properties": {
        "device-exclude": {"type": "string", "default": DEFAULT_EXCLUDE,
                           "description": "Regexp of devices to exclude."},
    }, "additionalProperties": False},
)
class DiskstatsCollector:
    families = (
        Family("node_disk_{reads,writes}_completed_total", "counter", ("device",)),
        Family("node_disk_{reads,writes}_merged_total", "counter", ("device",)),
        Family("node_disk_{read,written}_bytes_total", "counter", ("device",)),
        Family("node_disk_{read,write}_time_seconds_total", "counter", ("device",)),
        Family("node_disk_io_now", "gauge", ("device",)),
        Family("node_disk_io_time_seconds_total", "counter", ("device",)),
        Family("node_disk_io_time_weighted_seconds_total", "counter", ("device",)),
        Family("node_disk_discard{s_completed,s_merged,ed_sectors,_time_seconds}_total", "counter", ("device",)),
        Family("node_disk_flush_requests{,_time_seconds}_total", "counter", ("device",)),
        Family("node_disk_info", "gauge", ("device", "major", "minor", "model", "path", "revision", "serial", "wwn")),
        Family("node_disk_filesystem_info", "gauge", ("device", "type", "usage", "uuid", "version"), "from udev"),
        Family("node_disk_device_mapper_info", "gauge", ("device", "name", "uuid", "vg_name", "lv_name", "lv_layer"),
               "from udev"),
        Family("node_disk_ata_{write_cache,write_cache_enabled,rotation_rate_rpm}", "gauge", ("device",), "ATA disks"),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "diskstats")
        self.udev = os.path.join(ctx.rootfs, "run", "udev", "data")
        self.exclude = regex("diskstats", "device-exclude", ctx.settings.get("device-exclude", DEFAULT_EXCLUDE) or "^$")
        self._udev: dict[str, tuple[float, dict[str, str]]] = {}  # udev data file -> (mtime, properties)
        self._labels, self._info_labels = LabelCache("device"), LabelCache(*INFO_LABELS)

    def _udev_props(self, major: str, minor: str) -> dict[str, str]:
        """The device's udev properties, re-parsed only when udev rewrites its data file."""
        path = os.path.join(self.udev, f"b{major}:{minor}")
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            self._udev.pop(path, None)
            return {}
        cached = self._udev.get(path)
        if cached is None or cached[0] != mtime:
            try:
                cached = self._udev[path] = (mtime, parse_udev(read(path, keep=False)))
            except OSError:
                return {}
        return cached[1]

    def collect(self):
        fams = [family(f"node_disk_{name}".removesuffix("_total"), doc, typ, []) for _, name, typ, _, doc in COLUMNS]
        info = family("node_disk_info", "Info of /sys/block/<block_device>.", "gauge", [])
        fsinfo = family("node_disk_filesystem_info", "Info about disk filesystem.", "gauge", [])
        dminfo = family("node_disk_device_mapper_info", "Info about disk device mapper.", "gauge", [])
        ata = {key: family(name, doc, "gauge", []) for key, name, doc in ATA}
        for major, minor, dev, stats in (parse_diskstats(read(self.path)) if LINUX else _portable()):
            if self.exclude.match(dev):
                continue
            p = self._udev_props(major, minor) if LINUX else {}
            # node_exporter's serial: the label serial, else the short one, else ID_SERIAL (virtio)
            serial = p.get("SCSI_IDENT_SERIAL") or p.get("ID_SERIAL_SHORT") or p.get("ID_SERIAL", "")
            info.samples.append(Sample("node_disk_info", self._info_labels(
                dev, major, minor, p.get("ID_MODEL", ""), p.get("ID_PATH", ""), p.get("ID_REVISION", ""), serial,
                p.get("ID_WWN", "")), 1, None, None))
            n = len(stats)
            device = self._labels(dev)
            for (col, name, _, scale, _), fam in zip(COLUMNS, fams):
                if col < n:
                    fam.samples.append(Sample(f"node_disk_{name}", device, stats[col] * scale, None, None))
            if p.get("ID_FS_TYPE"):
                fsinfo.samples.append(Sample("node_disk_filesystem_info", {
                    "device": dev, "type": p["ID_FS_TYPE"], "usage": p.get("ID_FS_USAGE", ""),
                    "uuid": p.get("ID_FS_UUID", ""), "version": p.get("ID_FS_VERSION", "")}, 1, None, None))
            if p.get("DM_NAME"):
                dminfo.samples.append(Sample("node_disk_device_mapper_info", {
                    "device": dev, "name": p["DM_NAME"], "uuid": p.get("DM_UUID", ""),
                    "vg_name": p.get("DM_VG_NAME", ""), "lv_name": p.get("DM_LV_NAME", ""),
                    "lv_layer": p.get("DM_LV_LAYER", "")}, 1, None, None))
            if p.get("ID_ATA"):
                for key, fam in ata.items():
                    try:
                        fam.samples.append(Sample(fam.name, device, float(p[key]), None, None))
                    except (KeyError, ValueError):
                        pass
        yield info
        for fam in (*fams, fsinfo, dminfo, *ata.values()):
            if fam.samples:
                yield fam
