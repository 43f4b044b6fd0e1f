"""powersupplyclass: batteries and power adapters from /sys/class/power_supply (node_power_supply_*)."""
from __future__ import annotations

import os

from ..families import Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._settings import regex
from ._sysread import entries, text

# metric suffix -> (sysfs file, divisor): the kernel reports µA, µV, µW, µWh, µAh and tenths of a °C.
NUMERIC = {
    "authentic": ("authentic", 1), "calibrate": ("calibrate", 1), "capacity": ("capacity", 1),
    "capacity_alert_max": ("capacity_alert_max", 1), "capacity_alert_min": ("capacity_alert_min", 1),
    "cyclecount": ("cycle_count", 1), "online": ("online", 1), "present": ("present", 1),
    "time_to_empty_seconds": ("time_to_empty_now", 1), "time_to_full_seconds": ("time_to_full_now", 1),
    **{name: (attr, 1e6) for name, attr in (
        ("current_boot", "current_boot"), ("current_max", "current_max"), ("current_ampere", "current_now"),
        ("energy_empty", "energy_empty"), ("energy_empty_design", "energy_empty_design"),
        ("energy_full", "energy_full"), ("energy_full_design", "energy_full_design"),
        ("energy_watthour", "energy_now"), ("voltage_boot", "voltage_boot"), ("voltage_max", "voltage_max"),
        ("voltage_max_design", "voltage_max_design"), ("voltage_min", "voltage_min"),
        ("voltage_min_design", "voltage_min_design"), ("voltage_volt", "voltage_now"), ("voltage_ocv", "voltage_ocv"),
        ("charge_control_limit", "charge_control_limit"), ("charge_control_limit_max", "charge_control_limit_max"),
        ("charge_counter", "charge_counter"), ("charge_empty", "charge_empty"),
        ("charge_empty_design", "charge_empty_design"), ("charge_full", "charge_full"),
        ("charge_full_design", "charge_full_design"), ("charge_ampere", "charge_now"),
        ("charge_term_current", "charge_term_current"), ("constant_charge_current", "constant_charge_current"),
        ("constant_charge_current_max", "constant_charge_current_max"),
        ("constant_charge_voltage", "constant_charge_voltage"),
        ("constant_charge_voltage_max", "constant_charge_voltage_max"), ("precharge_current", "precharge_current"),
        ("input_current_limit", "input_current_limit"), ("power_watt", "power_now"))},
    **{name: (attr, 10.0) for name, attr in (
        ("temp_celsius", "temp"), ("temp_alert_max_celsius", "temp_alert_max"),
        ("temp_alert_min_celsius", "temp_alert_min"), ("temp_ambient_celsius", "temp_ambient"),
        ("temp_ambient_max_celsius", "temp_ambient_max"), ("temp_ambient_min_celsius", "temp_ambient_min"),
        ("temp_max_celsius", "temp_max"), ("temp_min_celsius", "temp_min"))},
}
INFO = ("capacity_level", "charge_type", "health", "manufacturer", "model_name", "serial_number", "status",
        "technology", "type", "usb_type", "scope")


@register(
    "powersupplyclass", default=True, help="Batteries and power adapters from /sys/class/power_supply.",
    config_schema={"type": "object", "properties": {
        "ignored-supplies": {"type": "string", "default": "^$", "description": "Regexp of power supplies to ignore."},
    }, "additionalProperties": False},
)
class PowerSupplyClassCollector:
    families = (
        Family("node_power_supply_info", "gauge", ("power_supply", "type", "status", "capacity_level", "..."),
               "value 1; a label for each non-empty attribute"),
        Family("node_power_supply_{online,present,capacity,cyclecount,energy_watthour,power_watt,voltage_volt,...}",
               "gauge", ("power_supply",), "base units: amperes, volts, watts, watt-hours, °C"),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "class", "power_supply")
        self.ignored = regex("powersupplyclass", "ignored-supplies",
                             ctx.settings.get("ignored-supplies", "^$") or "^$")

    def collect(self):
        if not LINUX:
            return
        out: dict[str, list] = {}
        for supply in entries(self.dir):
            if self.ignored.search(supply):
                continue
            base = os.path.join(self.dir, supply)
            for name, (attr, div) in NUMERIC.items():
                raw = text(os.path.join(base, attr))
                if raw is None:
                    continue
                try:
                    v = int(raw)
                except ValueError:
                    continue
                out.setdefault(name, []).append(Sample("node_power_supply_" + name, {"power_supply": supply},
                                                       v / div if div != 1 else float(v), None, None))
            labels = {"power_supply": supply}
            for key in INFO:
                v = text(os.path.join(base, key))
                if v:
                    labels[key] = v
            out.setdefault("info", []).append(Sample("node_power_supply_info", labels, 1.0, None, None))
        for name, samples in sorted(out.items()):
            doc = ("info of /sys/class/power_supply/<power_supply>." if name == "info"
                   else f"{name} value of /sys/class/power_supply/<power_supply>.")
            yield family("node_power_supply_" + name, doc, "gauge", samples)
