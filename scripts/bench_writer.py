#!/usr/bin/env python3
"""The exporter's text and OpenMetrics writers against prometheus_client's, in µs per series, on one machine.

Usage: .venv/bin/python scripts/bench_writer.py
Runs both writers on the families of one real collection (the default collectors) and on a synthetic ~1000-series
scrape with awkward label values, and prints the ratios. The whole-exporter comparison with node_exporter (CPU per
scrape, RSS) is scripts/bench_exporter.py.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def synthetic_families(groups: int = 320) -> list:
    """~1000 series shaped like a node/process scrape: counters, gauges, a histogram, a few awkward labels."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

    out = []
    cpu = CounterMetricFamily("node_cpu_seconds", "Seconds the CPUs spent in each mode.", labels=["cpu", "mode"])
    for c in range(16):
        for m in ("idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"):
            cpu.add_metric([str(c), m], 12345.67 + c)
    out.append(cpu)
    out += [GaugeMetricFamily(f"node_memory_F{i}_bytes", "Memory information field.", value=8e9 + i) for i in range(60)]
    for name in ("receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets"):
        f = CounterMetricFamily(f"node_network_{name}", "Network device statistic.", labels=["device"])
        for d in range(20):
            f.add_metric([f"eth{d}"], 1e9 * d)
        out.append(f)
    fs = GaugeMetricFamily("node_filesystem_avail_bytes", "Filesystem space available.",
                           labels=["device", "fstype", "mountpoint"])
    for i in range(40):
        fs.add_metric([f"/dev/sd{i}", "ext4", f'/mnt/with "quotes" \\ {i}' if i % 10 == 0 else f"/mnt/{i}"], 1e10 + i)
    out.append(fs)
    mem = GaugeMetricFamily("namedprocess_namegroup_memory_bytes", "Memory.", labels=["groupname", "memtype"])
    for i in range(groups):
        for t in ("resident", "virtual"):
            mem.add_metric([f"proc{i}", t], 1e6 * i)
    out.append(mem)
    h = HistogramMetricFamily("t_latency_seconds", "A histogram.", labels=["a"])
    for i in range(10):
        h.add_metric([str(i)], [(str(b), float(j)) for j, b in enumerate((0.1, 0.5, 1, 5, float("inf")))], 5.0)
    out.append(h)
    return out


def writer_bench() -> None:
    sys.path.insert(0, str(ROOT))
    from prometheus_client.exposition import generate_latest

    from perfadvisor.exporter.config import build_config
    from perfadvisor.exporter.exposition import _One, generate_openmetrics, generate_text
    from perfadvisor.exporter.registry import all_collectors
    from perfadvisor.exporter.scrape import Scraper, build_collectors
    from prometheus_client.openmetrics.exposition import generate_latest as om_latest

    specs = all_collectors()
    scraper = Scraper(build_collectors(specs, build_config(specs)))
    real = list(scraper.collect().families)
    scraper.close()
    for label, families in (("the default collectors", real), ("a synthetic scrape", synthetic_families())):
        _writer_ratios(label, families, generate_text, generate_latest, generate_openmetrics, om_latest, _One)


def _writer_ratios(label, families, generate_text, generate_latest, generate_openmetrics, om_latest, _One) -> None:
    n = sum(len(f.samples) for f in families)

    def best(fn, reps=50):
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times) / n * 1e6

    ours, theirs = best(lambda: generate_text(families)), best(lambda: generate_latest(_One(families)))
    om_ours, om_theirs = best(lambda: generate_openmetrics(families)), best(lambda: om_latest(_One(families)))
    print(f"writer on {n} series from {label}:")
    print(f"  text 0.0.4   : ours {ours:.2f} us/series, generate_latest {theirs:.2f} us/series, ratio {theirs / ours:.1f}x")
    print(f"  OpenMetrics  : ours {om_ours:.2f} us/series, prometheus_client {om_theirs:.2f} us/series, "
          f"ratio {om_theirs / om_ours:.1f}x")


def main() -> None:
    writer_bench()


if __name__ == "__main__":
    main()
