"""The hardware and filesystem collectors on fixture trees, against the real node_exporter on the same trees.

Both exporters run with --path.sysfs/--path.procfs pointing at tests/exporter/fixtures (small sysfs/procfs
subsets written for these tests) and only these collectors enabled; every family each collector publishes must
have the same name, TYPE, HELP, series and values on both sides.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from tests.support.procs import free_port, need_binary, stop, wait_http

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")
# collector -> the name prefix of the families it publishes
COLLECTORS = {
    "hwmon": "node_hwmon_", "nvme": "node_nvme_", "rapl": "node_rapl_", "powersupplyclass": "node_power_supply_",
    "infiniband": "node_infiniband_", "fibrechannel": "node_fibrechannel_", "tapestats": "node_tape_",
    "bcache": "node_bcache_", "nfs": "node_nfs_", "nfsd": "node_nfsd_", "xfs": "node_xfs_", "btrfs": "node_btrfs_",
    "zfs": "node_zfs_", "ipvs": "node_ipvs_",
}


def _scrape(url: str) -> dict[str, tuple[str, str, dict]]:
    text = requests.get(url, timeout=30).text
    return {f.name: (f.type, f.documentation, {(s.name, tuple(sorted(s.labels.items()))): s.value for s in f.samples})
            for f in text_string_to_metric_families(text)}


def _pair(*flags: str) -> list[dict]:
    """One scrape of node_exporter and one of ours, both reading the fixture trees with these flags."""
    node_exporter = need_binary("prometheus-node-exporter")
    ours = os.path.join(os.path.dirname(sys.executable), "perfadvisor-exporter")
    scrapes = []
    for binary in (node_exporter, ours):
        port = free_port()
        proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}", f"--path.sysfs={FIXTURES}/sys",
                                 f"--path.procfs={FIXTURES}/proc", "--collector.disable-defaults", *flags],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/metrics", proc=proc)
            scrapes.append(_scrape(f"http://127.0.0.1:{port}/metrics"))
        finally:
            stop(proc)
    return scrapes


@pytest.fixture(scope="module")
def both():
    """One scrape of node_exporter and one of ours, both reading the fixture trees (and ours in OpenMetrics)."""
    node_exporter = need_binary("prometheus-node-exporter")
    ours = os.path.join(os.path.dirname(sys.executable), "perfadvisor-exporter")
    paths = [f"--path.sysfs={FIXTURES}/sys", f"--path.procfs={FIXTURES}/proc", f"--path.rootfs={FIXTURES}",
             "--collector.disable-defaults"] + [f"--collector.{c}" for c in COLLECTORS]
    procs, urls = [], []
    try:
        for binary in (node_exporter, ours):
            port = free_port()
            procs.append(subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}", *paths],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}/metrics")
            wait_http(urls[-1], proc=procs[-1])
        openmetrics = requests.get(urls[1], headers={"Accept": "application/openmetrics-text"}, timeout=30).text
        yield _scrape(urls[0]), _scrape(urls[1]), openmetrics
    finally:
        for p in procs:
            stop(p)


@pytest.mark.parametrize("collector", sorted(COLLECTORS))
def test_collector_matches_node_exporter_on_fixture(both, collector):
    ne, ours, _ = both
    prefix = COLLECTORS[collector]
    theirs = {n: f for n, f in ne.items() if n.startswith(prefix)}
    mine = {n: f for n, f in ours.items() if n.startswith(prefix)}
    assert theirs, f"node_exporter publishes nothing for {collector} on the fixture"
    assert sorted(mine) == sorted(theirs)
    for name, (typ, doc, series) in theirs.items():
        assert (mine[name][0], mine[name][1]) == (typ, doc), name
        assert mine[name][2] == series, name
    success = ("node_scrape_collector_success", (("collector", collector),))
    assert ours["node_scrape_collector_success"][2][success] == ne["node_scrape_collector_success"][2][success] == 1


def test_openmetrics_output_parses(both):
    """Prometheus negotiates OpenMetrics: zfs's untyped families must be written as unknown there."""
    families = {f.name: f.type for f in openmetrics_families(both[2])}
    assert families["node_zfs_arc_hits"] == "unknown"
    assert families["node_hwmon_temp_celsius"] == "gauge"


def test_optional_rapl_zone_label_and_bcache_priority_stats_match_node_exporter():
    ne, ours = _pair("--collector.rapl", "--collector.rapl.enable-zone-label", "--collector.bcache",
                     "--collector.bcache.priorityStats")
    for prefix in ("node_rapl_", "node_bcache_"):
        theirs = {n: f for n, f in ne.items() if n.startswith(prefix)}
        assert {n: f for n, f in ours.items() if n.startswith(prefix)} == theirs
    assert "node_rapl_joules" in ne and "node_bcache_priority_stats_metadata_percent" in ne
