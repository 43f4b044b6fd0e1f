"""infiniband: InfiniBand port counters and state from /sys/class/infiniband (node_infiniband_*)."""
from __future__ import annotations

import os
import re

from ..families import Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._sysread import entries, text

# (counters/<file>, metric without _total, help, multiplier): data counters count 4-octet words.
COUNTERS = (
    ("excessive_buffer_overrun_errors", "excessive_buffer_overrun_errors",
     "Number of times that OverrunErrors consecutive flow control update periods occurred, each having at least one "
     "overrun error.", 1),
    ("link_downed", "link_downed", "Number of times the link failed to recover from an error state and went down", 1),
    ("link_error_recovery", "link_error_recovery",
     "Number of times the link successfully recovered from an error state", 1),
    ("local_link_integrity_errors", "local_link_integrity_errors",
     "Number of times that the count of local physical errors exceeded the threshold specified by LocalPhyErrors.", 1),
    ("multicast_rcv_packets", "multicast_packets_received", "Number of multicast packets received (including errors)",
     1),
    ("multicast_xmit_packets", "multicast_packets_transmitted",
     "Number of multicast packets transmitted (including errors)", 1),
    ("port_rcv_constraint_errors", "port_constraint_errors_received",
     "Number of packets received on the switch physical port that are discarded", 1),
    ("port_xmit_constraint_errors", "port_constraint_errors_transmitted",
     "Number of packets not transmitted from the switch physical port", 1),
    ("port_rcv_data", "port_data_received_bytes", "Number of data octets received on all links", 4),
    ("port_xmit_data", "port_data_transmitted_bytes", "Number of data octets transmitted on all links", 4),
    ("port_xmit_discards", "port_discards_transmitted",
     "Number of outbound packets discarded by the port because the port is down or congested", 1),
    ("port_rcv_errors", "port_errors_received",
     "Number of packets containing an error that were received on this port", 1),
    ("port_rcv_packets", "port_packets_received",
     "Number of packets received on all VLs by this port (including errors)", 1),
    ("port_xmit_packets", "port_packets_transmitted",
     "Number of packets transmitted on all VLs from this port (including errors)", 1),
    ("port_rcv_remote_physical_errors", "port_receive_remote_physical_errors",
     "Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port.", 1),
    ("port_rcv_switch_relay_errors", "port_receive_switch_relay_errors",
     "Number of packets that could not be forwarded by the switch.", 1),
    ("port_xmit_wait", "port_transmit_wait",
     "Number of ticks during which the port had data to transmit but no data was sent during the entire tick", 1),
    ("symbol_error", "symbol_error", "Number of minor link errors detected on one or more physical lanes.", 1),
    ("unicast_rcv_packets", "unicast_packets_received", "Number of unicast packets received (including errors)", 1),
    ("unicast_xmit_packets", "unicast_packets_transmitted",
     "Number of unicast packets transmitted (including errors)", 1),
    ("VL15_dropped", "vl15_dropped", "Number of incoming VL15 packets dropped due to resource limitations.", 1),
)
STATE_HELP = "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)"
PHYS_HELP = ("Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, "
             "5: link up, 6: link error recover, 7: phytest)")
_RATE = re.compile(r"^([0-9.]+) Gb/sec")


def parse_rate(raw: str) -> float | None:
    """'40 Gb/sec (4X QDR)' -> 5e9 bytes per second."""
    m = _RATE.match(raw)
    return float(m.group(1)) * 1e9 / 8 if m else None


def parse_state(raw: str) -> int | None:
    """'4: ACTIVE' -> 4."""
    head = raw.split(":", 1)[0].strip()
    return int(head) if head.isdigit() else None


@register("infiniband", default=True, help="InfiniBand port counters from /sys/class/infiniband.")
class InfinibandCollector:
    families = (
        Family("node_infiniband_info", "gauge", ("board_id", "device", "firmware_version", "hca_type"), "value 1"),
        Family("node_infiniband_{state_id,physical_state_id,rate_bytes_per_second}", "gauge", ("device", "port")),
        Family("node_infiniband_{port_data_received_bytes,port_packets_received,symbol_error,...}_total", "counter",
               ("device", "port")),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "class", "infiniband")

    def collect(self):
        if not LINUX:
            return
        info, gauges = [], {"state_id": [], "physical_state_id": [], "rate_bytes_per_second": []}
        counters = {metric: [] for _, metric, _, _ in COUNTERS}
        for dev in entries(self.dir):
            base = os.path.join(self.dir, dev)
            info.append(Sample("node_infiniband_info", {
                "board_id": text(os.path.join(base, "board_id")) or "", "device": dev,
                "firmware_version": text(os.path.join(base, "fw_ver")) or "",
                "hca_type": text(os.path.join(base, "hca_type")) or ""}, 1.0, None, None))
            for port in entries(os.path.join(base, "ports")):
                pdir = os.path.join(base, "ports", port)
                labels = {"device": dev, "port": port}
                for key, attr, parse in (("state_id", "state", parse_state),
                                         ("physical_state_id", "phys_state", parse_state),
                                         ("rate_bytes_per_second", "rate", parse_rate)):
                    raw = text(os.path.join(pdir, attr))
                    v = parse(raw) if raw is not None else None
                    if v is not None:
                        gauges[key].append(Sample("node_infiniband_" + key, labels, float(v), None, None))
                for attr, metric, _, mult in COUNTERS:
                    raw = text(os.path.join(pdir, "counters", attr))
                    if raw is not None and raw.isdigit():
                        counters[metric].append(Sample(f"node_infiniband_{metric}_total", labels,
                                                       float(int(raw) * mult), None, None))
        if not info:
            return
        yield family("node_infiniband_info", "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
                     "gauge", info)
        for key, doc in (("state_id", STATE_HELP), ("physical_state_id", PHYS_HELP),
                         ("rate_bytes_per_second", "Maximum signal transfer rate")):
            if gauges[key]:
                yield family("node_infiniband_" + key, doc, "gauge", gauges[key])
        for _, metric, doc, _ in COUNTERS:
            if counters[metric]:
                yield family("node_infiniband_" + metric, doc, "counter", counters[metric])
