"""hwmon: hardware sensors from /sys/class/hwmon, as lm-sensors sees them (node_hwmon_*).

Chip and sensor naming follow node_exporter 1.5: the chip label is built from the device path
(``platform_coretemp_0``), else the ``name`` file, else ``hwmonN``; the sensor label is the sysfs sensor id
(``temp1``); human names come as ``node_hwmon_chip_names`` and ``node_hwmon_sensor_label``.
"""
from __future__ import annotations

import os
import re

from ..families import Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._sysread import entries, go_float, text

SENSOR_TYPES = frozenset(("vrm", "beep_enable", "update_interval", "in", "cpu", "fan", "pwm", "temp", "curr",
                          "power", "energy", "humidity", "intrusion"))
_FILENAME = re.compile(r"^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$", re.S)
_INVALID = re.compile(r"[^a-z0-9:_]")


def clean(name: str) -> str:
    return _INVALID.sub("_", name.lower()).strip("_")


def explode(filename: str) -> tuple[str, int, str] | None:
    """'temp1_crit_alarm' -> ('temp', 1, 'crit_alarm'); None for names that are not sensor files."""
    m = _FILENAME.match(filename)
    if m is None or m.end() != len(filename):
        return None
    num = int(m.group("id")) if m.group("id") else 0
    return m.group("type"), num, m.group("property") or ""


def _sensor_data(directory: str, data: dict[str, dict[str, str]]) -> None:
    for name in entries(directory):
        parts = explode(name)
        if parts is None or parts[0] not in SENSOR_TYPES:
            continue
        value = text(os.path.join(directory, name), strip="\n")
        if value is None:
            continue
        data.setdefault(f"{parts[0]}{parts[1]}", {})[parts[2]] = value


def chip_name(directory: str) -> str | None:
    """The chip label: from the device path (stable), else the name file, else the hwmonN directory."""
    device = os.path.join(directory, "device")
    if os.path.exists(device):
        real = os.path.realpath(device)
        prefix, dev = os.path.split(real)
        dev_type = os.path.basename(prefix)
        dev, dev_type = clean(dev), clean(dev_type)
        if dev and dev_type:
            return f"{dev_type}_{dev}"
        if dev:
            return dev
    raw = text(os.path.join(directory, "name"), strip="")
    if raw:
        name = clean(raw)
        if name:
            return name
    name = clean(os.path.basename(os.path.realpath(directory)))
    return name or None


def _describe(stype: str, element: str, name: str) -> tuple[str, str, str, float | None]:
    """(metric name, help, type, multiplier); multiplier None means divide by 1e6."""
    if element in ("fault", "alarm"):
        return name, f"Hardware sensor {element} status ({stype})", "gauge", 1.0
    if element == "beep":
        return name + "_enabled", "Hardware monitor sensor has beeping enabled", "gauge", 1.0
    if stype in ("in", "cpu"):
        return name + "_volts", f"Hardware monitor for voltage ({element})", "gauge", 0.001
    if stype == "temp" and element != "type":
        return name + "_celsius", f"Hardware monitor for temperature ({element})", "gauge", 0.001
    if stype == "curr":
        return name + "_amps", f"Hardware monitor for current ({element})", "gauge", 0.001
    if stype == "energy":
        return name + "_joule_total", f"Hardware monitor for joules used so far ({element})", "counter", None
    if stype == "power" and element == "accuracy":
        return name, "Hardware monitor power meter accuracy, as a ratio", "gauge", None
    if stype == "power" and element in ("average_interval", "average_interval_min", "average_interval_max"):
        return name + "_seconds", f"Hardware monitor power usage update interval ({element})", "gauge", 0.001
    if stype == "power":
        return name + "_watt", f"Hardware monitor for power usage in watts ({element})", "gauge", None
    if stype == "humidity":
        return (name, "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a "
                f"percentage) ({element})", "gauge", None)
    if stype == "fan" and element in ("input", "min", "max", "target"):
        return name + "_rpm", f"Hardware monitor for fan revolutions per minute ({element})", "gauge", 1.0
    return name, f"Hardware monitor {stype} element {element}", "gauge", 1.0


@register("hwmon", default=True, help="Hardware sensors from /sys/class/hwmon (node_hwmon_*).")
class HwmonCollector:
    families = (
        Family("node_hwmon_chip_names", "gauge", ("chip", "chip_name"), "value 1"),
        Family("node_hwmon_sensor_label", "gauge", ("chip", "label", "sensor"), "value 1"),
        Family("node_hwmon_temp_{celsius,crit_celsius,max_celsius,crit_alarm_celsius,...}", "gauge",
               ("chip", "sensor"), "°C"),
        Family("node_hwmon_fan_{rpm,min_rpm,max_rpm,target_rpm,alarm,...}", "gauge", ("chip", "sensor")),
        Family("node_hwmon_in_{volts,min_volts,max_volts,...}", "gauge", ("chip", "sensor"), "volts"),
        Family("node_hwmon_curr_{amps,...}", "gauge", ("chip", "sensor"), "amperes"),
        Family("node_hwmon_power_{watt,average_interval_seconds,...}", "gauge", ("chip", "sensor")),
        Family("node_hwmon_energy_joule_total", "counter", ("chip", "sensor")),
        Family("node_hwmon_{pwm,humidity,intrusion_alarm,beep_enabled,update_interval_seconds,...}", "gauge",
               ("chip", "sensor")),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "class", "hwmon")

    def collect(self):
        if not LINUX:
            return
        out: dict[str, tuple[str, str, list]] = {}

        def add(name: str, doc: str, typ: str, labels: dict, value: float) -> None:
            sample_name = name + "_total" if typ == "counter" and not name.endswith("_total") else name
            fam = out.setdefault(name[:-6] if typ == "counter" and name.endswith("_total") else name,
                                 (doc, typ, []))
            fam[2].append(Sample(sample_name, labels, value, None, None))

        for entry in entries(self.dir):
            directory = os.path.join(self.dir, entry)
            if not os.path.isdir(directory):
                continue
            chip = chip_name(directory)
            if chip is None:
                continue
            human = text(os.path.join(directory, "name"), strip="")
            if human and clean(human):
                add("node_hwmon_chip_names", "Annotation metric for human-readable chip names", "gauge",
                    {"chip": chip, "chip_name": clean(human)}, 1.0)
            data: dict[str, dict[str, str]] = {}
            _sensor_data(directory, data)
            if os.path.exists(os.path.join(directory, "device")):
                _sensor_data(os.path.join(directory, "device"), data)
            for sensor, values in data.items():
                stype = explode(sensor)[0]
                labels = {"chip": chip, "sensor": sensor}
                if "label" in values:
                    add("node_hwmon_sensor_label", "Label for given chip and sensor", "gauge",
                        {**labels, "label": values["label"]}, 1.0)
                if stype == "beep_enable":
                    add("node_hwmon_beep_enabled", "Hardware beep enabled", "gauge", labels,
                        1.0 if values.get("") == "1" else 0.0)
                    continue
                if stype in ("vrm", "update_interval"):
                    v = go_float(values.get("", ""))
                    if v is not None:
                        if stype == "vrm":
                            add("node_hwmon_voltage_regulator_version", "Hardware voltage regulator", "gauge",
                                labels, v)
                        else:
                            add("node_hwmon_update_interval_seconds", "Hardware monitor update interval", "gauge",
                                labels, v * 0.001)
                    continue
                prefix = "node_hwmon_" + stype
                for element, raw in values.items():
                    if element == "label":
                        continue
                    name = prefix
                    if element == "input":
                        if "" in values:
                            name += "_input"
                    elif element:
                        name += "_" + clean(element)
                    v = go_float(raw)
                    if v is None:
                        continue
                    name, doc, typ, scale = _describe(stype, element, name)
                    add(name, doc, typ, labels, v / 1000000.0 if scale is None else v * scale)
        for name, (doc, typ, samples) in sorted(out.items()):
            yield family(name, doc, typ, samples)
