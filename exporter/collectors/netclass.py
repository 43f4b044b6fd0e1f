"""netclass: network device properties from /sys/class/net (node_network_up, _info, _mtu_bytes, _speed_bytes, ...)."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.sysfs import AttrFiles
from ..registry import CollectorContext, Family, register
from ._settings import regex
from ..families import LabelCache, Sample, family

# (sysfs attribute, metric suffix, type, parse base) in node_exporter 1.5's set; an attribute that cannot be read
# (EINVAL while the link is down, absent on virtual devices) is left out, as node_exporter does.
PROPS = (
    ("addr_assign_type", "address_assign_type", "gauge", 10),
    ("carrier", "carrier", "gauge", 10),
    ("carrier_changes", "carrier_changes", "counter", 10),
    ("carrier_up_count", "carrier_up_changes", "counter", 10),
    ("carrier_down_count", "carrier_down_changes", "counter", 10),
    ("dev_id", "device_id", "gauge", 16),
    ("dormant", "dormant", "gauge", 10),
    ("flags", "flags", "gauge", 16),
    ("ifindex", "iface_id", "gauge", 10),
    ("iflink", "iface_link", "gauge", 10),
    ("link_mode", "iface_link_mode", "gauge", 10),
    ("mtu", "mtu_bytes", "gauge", 10),
    ("name_assign_type", "name_assign_type", "gauge", 10),
    ("netdev_group", "net_dev_group", "gauge", 10),
    ("speed", "speed_bytes", "gauge", 10),
    ("tx_queue_len", "transmit_queue_length", "gauge", 10),
    ("type", "protocol_type", "gauge", 10),
)
INFO = ("address", "broadcast", "duplex", "ifalias", "operstate")
ATTRS = (*INFO, *(p[0] for p in PROPS))  # read per device, in this order
N_INFO, OPERSTATE = len(INFO), INFO.index("operstate")
# per property: (attribute, parse base, sample name, Mbit/s to convert)
_PROPS = tuple((a, b, f"node_network_{suffix}" + ("_total" if typ == "counter" else ""), a == "speed")
               for a, suffix, typ, b in PROPS)


@register(
    "netclass", default=True,
    help="Network device properties from /sys/class/net (node_network_up, node_network_info, ...).",
    config_schema={"type": "object", "properties": {
        "ignored-devices": {"type": "string", "default": "^$", "description": "Regexp of net devices to ignore."},
    }, "additionalProperties": False},
)
class NetclassCollector:
    families = (
        Family("node_network_up", "gauge", ("device",)),
        Family("node_network_info", "gauge", ("address", "broadcast", "device", "duplex", "ifalias", "operstate")),
        Family("node_network_{mtu_bytes,speed_bytes,transmit_queue_length,flags,carrier,dormant,...}", "gauge",
               ("device",)),
        Family("node_network_carrier_{,up_,down_}changes_total", "counter", ("device",)),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "class", "net")
        self.ignored = regex("netclass", "ignored-devices", ctx.settings.get("ignored-devices", "^$") or "^$")
        self.attrs = AttrFiles(self.dir)
        self._device = LabelCache("device")
        self._info = LabelCache(*INFO, "device")

    def collect(self):
        if not LINUX:
            return
        try:
            devices = sorted(os.listdir(self.dir))
        except OSError:
            return
        read_many = self.attrs.read_many
        self.attrs.keep_only(set(devices))
        up, info = [], []
        props: list[list] = [[] for _ in PROPS]
        for dev in devices:
            if self.ignored.match(dev) or dev == "bonding_masters":  # a file, not a device
                continue
            raw = read_many(dev, ATTRS)
            op = raw[OPERSTATE] or ""
            device = self._device(dev)
            up.append(Sample("node_network_up", device, 1.0 if op == "up" else 0.0, None, None))
            info.append(Sample("node_network_info", self._info(*(v or "" for v in raw[:N_INFO]), dev), 1.0, None,
                               None))
            for i, (_, base, name, speed) in enumerate(_PROPS):
                text = raw[N_INFO + i]
                if not text:
                    continue
                try:
                    v = int(text, base)
                except ValueError:
                    continue
                if speed:
                    v = v * 1000 * 1000 // 8  # Mbit/s → bytes/s
                props[i].append(Sample(name, device, float(v), None, None))
        yield family("node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.", "gauge", up)
        yield family("node_network_info", "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
                     "gauge", info)
        for (_, suffix, typ, _), samples in zip(PROPS, props):
            if samples:
                name = f"node_network_{suffix}"
                yield family(name, f"Network device property: {suffix}" + ("_total" if typ == "counter" else ""),
                             typ, samples)
