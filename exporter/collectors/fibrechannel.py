"""fibrechannel: Fibre Channel host adapters from /sys/class/fc_host (node_fibrechannel_*)."""
from __future__ import annotations

import os

from ..families import Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._sysread import entries, text

INFO = ("dev_loss_tmo", "fabric_name", "port_id", "port_name", "port_state", "port_type", "speed",
        "supported_classes", "supported_speeds", "symbolic_name")
HEX_INFO = frozenset(("fabric_name", "port_id", "port_name"))
# (statistics/<file>, metric without _total, help)
COUNTERS = (
    ("dumped_frames", "dumped_frames", "Number of dumped frames"),
    ("error_frames", "error_frames", "Number of errors in frames"),
    ("invalid_crc_count", "invalid_crc", "Invalid Cyclic Redundancy Check count"),
    ("rx_frames", "rx_frames", "Number of frames received"),
    ("rx_words", "rx_words", "Number of words received by host port"),
    ("tx_frames", "tx_frames", "Number of frames transmitted by host port"),
    ("tx_words", "tx_words", "Number of words transmitted by host port"),
    ("seconds_since_last_reset", "seconds_since_last_reset", "Number of seconds since last host port reset"),
    ("invalid_tx_word_count", "invalid_tx_words", "Number of invalid words transmitted by host port"),
    ("link_failure_count", "link_failure", "Number of times the host port link has failed"),
    ("loss_of_sync_count", "loss_of_sync", "Number of failures on either bit or transmission word boundaries"),
    ("loss_of_signal_count", "loss_of_signal", "Number of times signal has been lost"),
    ("nos_count", "nos", "Number Not_Operational Primitive Sequence received by host port"),
    ("fcp_packet_aborts", "fcp_packet_aborts", "Number of aborted packets"),
)
_UNAVAILABLE = 0xFFFFFFFFFFFFFFFF  # the kernel's "not supported by this adapter"


def parse_hex_counter(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        v = int(raw, 16)
    except ValueError:
        return None
    return None if v == _UNAVAILABLE else v


@register("fibrechannel", default=True, help="Fibre Channel host adapters from /sys/class/fc_host.")
class FibrechannelCollector:
    families = (
        Family("node_fibrechannel_info", "gauge", ("dev_loss_tmo", "fabric_name", "fc_host", "port_id", "port_name",
                                                   "port_state", "port_type", "speed", "supported_classes",
                                                   "supported_speeds", "symbolic_name"), "value 1"),
        Family("node_fibrechannel_{rx_frames,tx_frames,error_frames,invalid_crc,link_failure,loss_of_sync,...}_total",
               "counter", ("fc_host",)),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "class", "fc_host")

    def collect(self):
        if not LINUX:
            return
        info, counters = [], {metric: [] for _, metric, _ in COUNTERS}
        for host in entries(self.dir):
            base = os.path.join(self.dir, host)
            labels = {"fc_host": host}
            for key in INFO:
                v = text(os.path.join(base, key)) or ""
                labels[key] = v[2:] if key in HEX_INFO and v.startswith("0x") else v
            info.append(Sample("node_fibrechannel_info", labels, 1.0, None, None))
            for attr, metric, _ in COUNTERS:
                v = parse_hex_counter(text(os.path.join(base, "statistics", attr)))
                if v is not None:
                    counters[metric].append(Sample(f"node_fibrechannel_{metric}_total", {"fc_host": host}, float(v),
                                                   None, None))
        if not info:
            return
        yield family("node_fibrechannel_info", "Non-numeric data from /sys/class/fc_host/<host>, value is always 1.",
                     "gauge", info)
        for _, metric, doc in COUNTERS:
            if counters[metric]:
                yield family("node_fibrechannel_" + metric, doc, "counter", counters[metric])
