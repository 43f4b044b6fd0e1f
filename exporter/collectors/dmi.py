"""dmi: hardware identity from /sys/class/dmi/id (node_dmi_info) — on clouds product_name is the instance type."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.procfs import read
from ..registry import CollectorContext, Family, register
from ..families import Sample, family

# sysfs file -> label, node_exporter's set; a file that is absent or unreadable (serials need root) is left out
FIELDS = (
    ("bios_date", "bios_date"), ("bios_release", "bios_release"), ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"), ("board_asset_tag", "board_asset_tag"), ("board_name", "board_name"),
    ("board_serial", "board_serial"), ("board_vendor", "board_vendor"), ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"), ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"), ("chassis_version", "chassis_version"),
    ("product_family", "product_family"), ("product_name", "product_name"), ("product_serial", "product_serial"),
    ("product_sku", "product_sku"), ("product_uuid", "product_uuid"), ("product_version", "product_version"),
    ("sys_vendor", "system_vendor"),
)


@register("dmi", default=True, help="Hardware identity from DMI (node_dmi_info).")
class DmiCollector:
    families = (
        Family("node_dmi_info", "gauge", ("bios_*", "board_*", "chassis_*", "product_*", "system_vendor"),
               "readable fields only"),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "class", "dmi", "id")
        self._labels: dict[str, str] | None = None  # DMI does not change while the machine runs

    def collect(self):
        if not LINUX:
            return
        if self._labels is None:
            labels = {}
            for name, label in FIELDS:
                try:
                    value = read(os.path.join(self.dir, name), keep=False).strip()
                except OSError:
                    continue
                if "\0" not in value:
                    labels[label] = value
            self._labels = labels
        if self._labels:
            yield family("node_dmi_info",
                         "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, "
                         "bios_version, board_asset_tag, board_name, board_serial, board_vendor, board_version, "
                         "chassis_asset_tag, chassis_serial, chassis_vendor, chassis_version, product_family, "
                         "product_name, product_serial, product_sku, product_uuid, product_version, system_vendor "
                         "if provided by DMI.", "gauge", [Sample("node_dmi_info", dict(self._labels), 1.0, None, None)])
