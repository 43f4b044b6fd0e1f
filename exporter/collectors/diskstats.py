"""diskstats: node_disk_* from /proc/diskstats (and node_disk_info from udev), node_exporter's default exclusions."""
from __future__ import annotations

import os

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..linux.procfs import parse_diskstats, parse_udev, read
from ..linux import LINUX
from ._settings import regex
from ..registry import CollectorContext, register

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
    (16, "flush_requests_time_seconds_total", "counter", 0.001, "This is the total number of seconds spent by all flush requests."),
)
INFO_LABELS = ["device", "major", "minor", "model", "path", "revision", "serial", "wwn"]


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
        "device-exclude": {"type": "string", "default": DEFAULT_EXCLUDE, "description": "Regexp of devices to exclude."},
    }, "additionalProperties": False},
)
class DiskstatsCollector:
    # Families this collector exports (documentation; scripts/gen-docs renders them into README.md).
    families = (
        'node_disk_{reads,writes}_completed_total counter {device}',
        'node_disk_{reads,writes}_merged_total counter {device}',
        'node_disk_{read,written}_bytes_total counter {device}',
        'node_disk_{read,write}_time_seconds_total counter {device}',
        'node_disk_io_now gauge {device}',
        'node_disk_io_time_seconds_total counter {device}',
        'node_disk_io_time_weighted_seconds_total counter {device}',
        'node_disk_discard{s_completed,s_merged,ed_sectors,_time_seconds}_total counter {device}',
        'node_disk_flush_requests{,_time_seconds}_total counter {device}',
        'node_disk_info gauge {device,major,minor,model,path,revision,serial,wwn}',
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "diskstats")
        self.udev = os.path.join(ctx.rootfs, "run", "udev", "data")
        self.exclude = regex("diskstats", "device-exclude", ctx.settings.get("device-exclude", DEFAULT_EXCLUDE) or "^$")
        self._info: dict[tuple[str, str, str], list[str]] = {}  # udev properties do not change while a disk exists

    def _info_labels(self, major: str, minor: str, dev: str) -> list[str]:
        key = (major, minor, dev)
        if key not in self._info:
            try:
                p = parse_udev(read(os.path.join(self.udev, f"b{major}:{minor}"), keep=False))
            except OSError:
                p = {}
            self._info[key] = [
                dev, major, minor, p.get("ID_MODEL", ""), p.get("ID_PATH", ""), p.get("ID_REVISION", ""),
                p.get("ID_SERIAL_SHORT", p.get("ID_SERIAL", "")), p.get("ID_WWN", ""),
            ]
        return self._info[key]

    def collect(self):
        fams = []
        for _, name, typ, _, doc in COLUMNS:
            cls = CounterMetricFamily if typ == "counter" else GaugeMetricFamily
            fams.append(cls(f"node_disk_{name}".removesuffix("_total"), doc, labels=["device"]))
        info = GaugeMetricFamily(
            "node_disk_info", "Info of /sys/block/<block_device>.", labels=INFO_LABELS
        )
        for major, minor, dev, stats in (parse_diskstats(read(self.path)) if LINUX else _portable()):
            if self.exclude.match(dev):
                continue
            info.add_metric(self._info_labels(major, minor, dev), 1)
            n = len(stats)
            for (col, _, _, scale, _), fam in zip(COLUMNS, fams):
                if col < n:
                    fam.add_metric([dev], stats[col] * scale)
        yield info
        for fam in fams:
            if fam.samples:
                yield fam
