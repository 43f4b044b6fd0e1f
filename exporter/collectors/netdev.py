"""netdev: node_network_{receive,transmit}_*_total{device} from /proc/net/dev (loopback excluded by default)."""
from __future__ import annotations

import os

from ..families import LabelCache, Sample, family
from ..linux import LINUX
from ..linux.procfs import NETDEV_RX, NETDEV_TX, parse_net_dev, read
from ..linux.sysfs import AttrFiles
from ._settings import regex
from ..registry import CollectorContext, Family, register

DEFAULT_EXCLUDE = r"^lo$"
NAMES = [f"receive_{k}" for k in NETDEV_RX] + [f"transmit_{k}" for k in NETDEV_TX]


def _portable() -> dict[str, list[int]]:
    import psutil

    out = {}
    for dev, c in psutil.net_io_counters(pernic=True).items():
        out[dev] = [c.bytes_recv, c.packets_recv, c.errin, c.dropin, 0, 0, 0, 0,
                    c.bytes_sent, c.packets_sent, c.errout, c.dropout, 0, 0, 0, 0]
    return out


@register(
    "netdev", default=True, help="Network device statistics (node_network_*_total).",
    config_schema={"type": "object", "properties": {
        "device-exclude": {"type": "string", "default": DEFAULT_EXCLUDE,
                           "description": "Regexp of net devices to exclude."},
        "device-include": {"type": "string", "description": "Regexp of net devices to include (instead of exclude)."},
    }, "additionalProperties": False},
)
class NetdevCollector:
    families = (
        Family("node_network_receive_{bytes,packets,errs,drop,fifo,frame,compressed,multicast,nohandler}_total",
               "counter", ("device",)),
        Family("node_network_transmit_{bytes,packets,errs,drop,fifo,colls,carrier,compressed}_total", "counter",
               ("device",)),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "net", "dev")
        self.sysnet = os.path.join(ctx.sysfs, "class", "net")
        self.attrs = AttrFiles(self.sysnet, limit=512)
        self._labels = LabelCache("device")
        inc = ctx.settings.get("device-include")
        self.include = regex("netdev", "device-include", inc) if inc else None
        self.exclude = regex("netdev", "device-exclude", ctx.settings.get("device-exclude", DEFAULT_EXCLUDE) or "^$")

    def _wanted(self, dev: str) -> bool:
        return bool(self.include.match(dev)) if self.include else not self.exclude.match(dev)

    def _nohandler(self, dev: str) -> int | None:
        # node_exporter reads link stats over netlink, which adds rx_nohandler; sysfs has the same counter.
        raw = self.attrs.read(dev, "statistics/rx_nohandler")
        try:
            return int(raw) if raw else None
        except ValueError:
            return None

    def collect(self):
        stats = parse_net_dev(read(self.path)) if LINUX else _portable()
        fams = {n: family(f"node_network_{n}", f"Network device statistic {n}.", "counter", []) for n in NAMES}
        nohandler = family("node_network_receive_nohandler", "Network device statistic receive_nohandler.", "counter",
                           [])
        if LINUX:
            self.attrs.keep_only(stats)
        for dev, vals in stats.items():
            if not self._wanted(dev):
                continue
            device = self._labels(dev)
            for n, v in zip(NAMES, vals):
                fams[n].samples.append(Sample(f"node_network_{n}_total", device, v, None, None))
            nh = self._nohandler(dev) if LINUX else None
            if nh is not None:
                nohandler.samples.append(Sample("node_network_receive_nohandler_total", device, nh, None, None))
        yield from fams.values()
        if nohandler.samples:
            yield nohandler
