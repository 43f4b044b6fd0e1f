"""edac: memory controller error counts from /sys/devices/system/edac (node_edac_*), on hosts with EDAC."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.sysfs import AttrFiles
from ..registry import CollectorContext, Family, register
from ..families import Sample, family


@register("edac", default=True, help="Correctable and uncorrectable memory errors (node_edac_*).")
class EdacCollector:
    families = (
        Family("node_edac_correctable_errors_total", "counter", ("controller",)),
        Family("node_edac_uncorrectable_errors_total", "counter", ("controller",)),
        Family("node_edac_csrow_correctable_errors_total", "counter", ("controller", "csrow"),
               "csrow unknown: errors without a row"),
        Family("node_edac_csrow_uncorrectable_errors_total", "counter", ("controller", "csrow")),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "devices", "system", "edac", "mc")
        self.attrs = AttrFiles(self.dir, limit=1024)

    def _count(self, path: str, attr: str) -> float | None:
        raw = self.attrs.read(path, attr)
        return float(raw) if raw and raw.isdigit() else None

    def collect(self):
        if not LINUX:
            return
        try:
            mcs = sorted(d for d in os.listdir(self.dir) if d.startswith("mc") and d[2:].isdigit())
        except OSError:
            return
        ce, ue, row_ce, row_ue = [], [], [], []

        def add(out, name, labels, value):
            if value is not None:
                out.append(Sample(name, labels, value, None, None))

        for mc in mcs:
            ctl = {"controller": mc[2:]}
            add(ce, "node_edac_correctable_errors_total", ctl, self._count(mc, "ce_count"))
            add(ue, "node_edac_uncorrectable_errors_total", ctl, self._count(mc, "ue_count"))
            unknown = {**ctl, "csrow": "unknown"}
            add(row_ce, "node_edac_csrow_correctable_errors_total", unknown, self._count(mc, "ce_noinfo_count"))
            add(row_ue, "node_edac_csrow_uncorrectable_errors_total", unknown, self._count(mc, "ue_noinfo_count"))
            try:
                rows = sorted(d for d in os.listdir(os.path.join(self.dir, mc))
                              if d.startswith("csrow") and d[5:].isdigit())
            except OSError:
                rows = []
            for row in rows:
                labels = {**ctl, "csrow": row[5:]}
                add(row_ce, "node_edac_csrow_correctable_errors_total", labels, self._count(mc, f"{row}/ce_count"))
                add(row_ue, "node_edac_csrow_uncorrectable_errors_total", labels, self._count(mc, f"{row}/ue_count"))
        for name, doc, samples in (
            ("node_edac_correctable_errors", "Total correctable memory errors.", ce),
            ("node_edac_uncorrectable_errors", "Total uncorrectable memory errors.", ue),
            ("node_edac_csrow_correctable_errors", "Total correctable memory errors for this csrow.", row_ce),
            ("node_edac_csrow_uncorrectable_errors", "Total uncorrectable memory errors for this csrow.", row_ue),
        ):
            if samples:
                yield family(name, doc, "counter", samples)
