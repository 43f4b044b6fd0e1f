"""cpufreq: CPU frequency and scaling governor per CPU from /sys/devices/system/cpu/cpu*/cpufreq (node_cpu_*_hertz).

The governor matters for performance advice (powersave on a latency-bound host); a VM without cpufreq exports none.
"""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.sysfs import AttrFiles
from ..registry import CollectorContext, Family, register
from ..families import Sample, family

FREQS = (  # (sysfs attribute, metric, help); sysfs reports kHz
    ("cpuinfo_cur_freq", "node_cpu_frequency_hertz", "Current CPU thread frequency in hertz."),
    ("cpuinfo_min_freq", "node_cpu_frequency_min_hertz", "Minimum CPU thread frequency in hertz."),
    ("cpuinfo_max_freq", "node_cpu_frequency_max_hertz", "Maximum CPU thread frequency in hertz."),
    ("scaling_cur_freq", "node_cpu_scaling_frequency_hertz", "Current scaled CPU thread frequency in hertz."),
    ("scaling_min_freq", "node_cpu_scaling_frequency_min_hertz", "Minimum scaled CPU thread frequency in hertz."),
    ("scaling_max_freq", "node_cpu_scaling_frequency_max_hertz", "Maximum scaled CPU thread frequency in hertz."),
)


@register("cpufreq", default=True, help="CPU frequencies and scaling governor (node_cpu_*frequency*_hertz).")
class CpufreqCollector:
    families = (
        Family("node_cpu_frequency_{,min_,max_}hertz", "gauge", ("cpu",)),
        Family("node_cpu_scaling_frequency_{,min_,max_}hertz", "gauge", ("cpu",)),
        Family("node_cpu_scaling_governor", "gauge", ("cpu", "governor"),
               "1 for the active one of the available governors"),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "devices", "system", "cpu")
        self.attrs = AttrFiles(self.dir, limit=1024)

    def collect(self):
        if not LINUX:
            return
        try:
            cpus = sorted((d for d in os.listdir(self.dir) if d.startswith("cpu") and d[3:].isdigit()),
                          key=lambda d: int(d[3:]))
        except OSError:
            return
        read = self.attrs.read
        freqs: dict[str, list] = {m: [] for _, m, _ in FREQS}
        governors = []
        for cpu in cpus:
            n = cpu[3:]
            for attr, metric, _ in FREQS:
                raw = read(cpu, f"cpufreq/{attr}")
                if raw and raw.isdigit():
                    freqs[metric].append(Sample(metric, {"cpu": n}, int(raw) * 1000.0, None, None))
            gov = read(cpu, "cpufreq/scaling_governor")
            if gov:
                for g in (read(cpu, "cpufreq/scaling_available_governors") or gov).split():
                    governors.append(Sample("node_cpu_scaling_governor", {"cpu": n, "governor": g},
                                            1.0 if g == gov else 0.0, None, None))
        for _, metric, doc in FREQS:
            if freqs[metric]:
                yield family(metric, doc, "gauge", freqs[metric])
        if governors:
            yield family("node_cpu_scaling_governor", "Current enabled CPU frequency governor.", "gauge", governors)
