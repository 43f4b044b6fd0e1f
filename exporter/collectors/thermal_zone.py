"""thermal_zone: temperatures of /sys/class/thermal zones and cooling device states (node_thermal_zone_temp, ...)."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.sysfs import AttrFiles
from ..registry import CollectorContext, Family, register
from ..families import Sample, family


@register("thermal_zone", default=True, help="Thermal zone temperatures and cooling device states.")
class ThermalZoneCollector:
    families = (
        Family("node_thermal_zone_temp", "gauge", ("type", "zone"), "°C"),
        Family("node_cooling_device_cur_state", "gauge", ("name", "type")),
        Family("node_cooling_device_max_state", "gauge", ("name", "type")),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "class", "thermal")
        self.attrs = AttrFiles(self.dir, limit=512)

    def collect(self):
        if not LINUX:
            return
        try:
            entries = sorted(os.listdir(self.dir))
        except OSError:
            return
        read = self.attrs.read
        temps, cur, mx = [], [], []
        for e in entries:
            if e.startswith("thermal_zone"):
                typ, temp = read(e, "type"), read(e, "temp")
                if typ is not None and temp and temp.lstrip("-").isdigit():
                    temps.append(Sample("node_thermal_zone_temp", {"type": typ, "zone": e[len("thermal_zone"):]},
                                        int(temp) / 1000.0, None, None))
            elif e.startswith("cooling_device"):
                typ, c, m = read(e, "type"), read(e, "cur_state"), read(e, "max_state")
                labels = {"name": e[len("cooling_device"):], "type": typ or ""}
                if c and c.isdigit():
                    cur.append(Sample("node_cooling_device_cur_state", labels, float(c), None, None))
                if m and m.isdigit():
                    mx.append(Sample("node_cooling_device_max_state", labels, float(m), None, None))
        if temps:
            yield family("node_thermal_zone_temp", "Zone temperature in Celsius", "gauge", temps)
        if cur:
            yield family("node_cooling_device_cur_state", "Current throttle state of the cooling device", "gauge", cur)
        if mx:
            yield family("node_cooling_device_max_state", "Maximum throttle state of the cooling device", "gauge", mx)
