"""tapestats: SCSI tape drive I/O statistics from /sys/class/scsi_tape/*/stats (node_tape_*)."""
from __future__ import annotations

import os
import re

from ..families import Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._settings import regex
from ._sysread import entries, integer

# (stats file, metric, type, help, scale)
STATS = (
    ("in_flight", "node_tape_io_now", "gauge", "The number of I/Os currently outstanding to this device.", 1),
    ("io_ns", "node_tape_io_time_seconds", "counter",
     "The amount of time spent waiting for all I/O to complete (including read and write). This includes tape "
     "movement commands such as seeking between file or set marks and implicit tape movement such as when rewind on "
     "close tape devices are used.", 1e9),
    ("other_cnt", "node_tape_io_others", "counter",
     "The number of I/Os issued to the tape drive other than read or write commands. The time taken to complete "
     "these commands uses the following calculation io_time_seconds_total-read_time_seconds_total-"
     "write_time_seconds_total", 1),
    ("read_byte_cnt", "node_tape_read_bytes", "counter", "The number of bytes read from the tape drive.", 1),
    ("read_cnt", "node_tape_reads_completed", "counter", "The number of read requests issued to the tape drive.", 1),
    ("read_ns", "node_tape_read_time_seconds", "counter",
     "The amount of time spent waiting for read requests to complete.", 1e9),
    ("resid_cnt", "node_tape_residual", "counter",
     "The number of times during a read or write we found the residual amount to be non-zero. This should mean that "
     "a program is issuing a read larger thean the block size on tape. For write not all data made it to tape.", 1),
    ("write_byte_cnt", "node_tape_written_bytes", "counter", "The number of bytes written to the tape drive.", 1),
    ("write_cnt", "node_tape_writes_completed", "counter",
     "The number of write requests issued to the tape drive.", 1),
    ("write_ns", "node_tape_write_time_seconds", "counter",
     "The amount of time spent waiting for write requests to complete.", 1e9),
)
_DEVICE = re.compile(r"^st[0-9]+$")


@register(
    "tapestats", default=True, help="SCSI tape drive statistics from /sys/class/scsi_tape (node_tape_*).",
    config_schema={"type": "object", "properties": {
        "ignored-devices": {"type": "string", "default": "^$", "description": "Regexp of devices to ignore."},
    }, "additionalProperties": False},
)
class TapestatsCollector:
    families = (
        Family("node_tape_io_now", "gauge", ("device",)),
        Family("node_tape_{io_time_seconds,read_time_seconds,write_time_seconds}_total", "counter", ("device",)),
        Family("node_tape_{io_others,read_bytes,reads_completed,residual,written_bytes,writes_completed}_total",
               "counter", ("device",)),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "class", "scsi_tape")
        self.ignored = regex("tapestats", "ignored-devices", ctx.settings.get("ignored-devices", "^$") or "^$")

    def collect(self):
        if not LINUX:
            return
        out = {metric: [] for _, metric, _, _, _ in STATS}
        for dev in entries(self.dir):
            if not _DEVICE.match(dev) or self.ignored.search(dev):
                continue
            for attr, metric, typ, _, scale in STATS:
                v = integer(os.path.join(self.dir, dev, "stats", attr))
                if v is None:
                    raise OSError(f"tapestats: cannot read {self.dir}/{dev}/stats/{attr}")
                out[metric].append(Sample(metric + ("_total" if typ == "counter" else ""), {"device": dev},
                                          v / scale if scale != 1 else float(v), None, None))
        for _, metric, typ, doc, _ in STATS:
            if out[metric]:
                yield family(metric, doc, typ, out[metric])
