"""time: node_time_seconds, the local time zone offset, and the kernel clock sources."""
from __future__ import annotations

import os
import time

from ..families import Sample, family, single
from ..linux.procfs import read
from ..registry import CollectorContext, Family, register


@register("time", default=True, help="System time (node_time_seconds, node_time_zone_offset_seconds).")
class TimeCollector:
    families = (
        Family("node_time_seconds", "gauge"),
        Family("node_time_zone_offset_seconds", "gauge", ("time_zone",)),
        Family("node_time_clocksource_{available,current}_info", "gauge", ("clocksource", "device")),
    )

    def __init__(self, ctx: CollectorContext):
        self.clocksource = os.path.join(ctx.sysfs, "devices", "system", "clocksource")

    def _clocksources(self):
        avail = family("node_time_clocksource_available_info",
                       "Available clocksources read from '/sys/devices/system/clocksource'.", "gauge", [])
        current = family("node_time_clocksource_current_info",
                         "Current clocksource read from '/sys/devices/system/clocksource'.", "gauge", [])
        try:
            devices = sorted(d for d in os.listdir(self.clocksource) if d.startswith("clocksource"))
        except OSError:
            return
        for d in devices:
            dev = d[len("clocksource"):]
            base = os.path.join(self.clocksource, d)
            try:
                for src in read(os.path.join(base, "available_clocksource")).split():
                    avail.samples.append(Sample(avail.name, {"clocksource": src, "device": dev}, 1, None, None))
                src = read(os.path.join(base, "current_clocksource")).strip()
                current.samples.append(Sample(current.name, {"clocksource": src, "device": dev}, 1, None, None))
            except OSError:
                continue
        yield avail
        yield current

    def collect(self):
        now = time.time()
        yield single("node_time_seconds", "System time in seconds since epoch (1970).", "gauge", now)
        lt = time.localtime(now)
        yield family("node_time_zone_offset_seconds", "System time zone offset in seconds.", "gauge",
                     [Sample("node_time_zone_offset_seconds", {"time_zone": lt.tm_zone}, lt.tm_gmtoff, None, None)])
        yield from self._clocksources()
