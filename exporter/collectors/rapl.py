"""rapl: Intel/AMD RAPL energy counters from /sys/class/powercap (node_rapl_<zone>_joules_total)."""
from __future__ import annotations

import os
import re

from ..families import Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._sysread import entries, text

_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def index_and_name(seen: dict[str, int], name: str) -> tuple[int, str]:
    """'package-1' -> (1, 'package'); a name without an index gets how often it was seen before."""
    parts = name.split("-")
    if len(parts) == 2 and re.fullmatch(r"[+-]?[0-9]+", parts[1]):
        return int(parts[1]), parts[0]
    return seen.get(name, 0), name


@register(
    "rapl", default=True, help="RAPL energy counters from /sys/class/powercap (node_rapl_*_joules_total).",
    config_schema={"type": "object", "properties": {
        "enable-zone-label": {"type": "boolean", "default": False,
                              "description": "One family node_rapl_joules_total with the zone as label rapl_zone."},
    }, "additionalProperties": False},
)
class RaplCollector:
    families = (Family("node_rapl_<zone>_joules_total", "counter", ("index", "path"),
                       "zone: package, core, uncore, dram, psys; path is the zone's sysfs directory"),
                Family("node_rapl_joules_total", "counter", ("index", "path", "rapl_zone"), "with enable-zone-label"))

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "class", "powercap")
        self.zone_label = bool(ctx.settings.get("enable-zone-label", False))

    def collect(self):
        if not LINUX or not os.path.isdir(self.dir):
            return
        seen: dict[str, int] = {}
        out: dict[str, tuple[str, list]] = {}
        for zone in entries(self.dir):
            path = os.path.join(self.dir, zone)
            raw = text(os.path.join(path, "name"))
            if raw is None:
                continue
            index, name = index_and_name(seen, raw)
            if text(os.path.join(path, "max_energy_range_uj")) is None:
                raise OSError(f"rapl: cannot read {path}/max_energy_range_uj")
            seen[name] = index + 1
            energy = text(os.path.join(path, "energy_uj"))
            if energy is None or not energy.isdigit():
                raise OSError(f"rapl: cannot read {path}/energy_uj (it is readable by root only on recent kernels)")
            labels = {"index": str(index), "path": path}
            if self.zone_label:
                metric, doc = "node_rapl_joules", "Current RAPL value in joules"
                labels["rapl_zone"] = name
            else:
                metric, doc = f"node_rapl_{_INVALID.sub('_', name)}_joules", f"Current RAPL {name} value in joules"
            out.setdefault(metric, (doc, []))[1].append(
                Sample(metric + "_total", labels, int(energy) / 1000000.0, None, None))
        for metric, (doc, samples) in sorted(out.items()):
            yield family(metric, doc, "counter", samples)
