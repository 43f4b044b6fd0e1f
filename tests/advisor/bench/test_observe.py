"""``advisor bench --prometheus``: what our exporter saw of nginx and the host during the run, per 1,000 requests."""
from __future__ import annotations

import json
import time

import requests

import pytest

from tests.support.exporter import exporter_binary, start_exporter
from tests.support.prometheus import start_prometheus

from .conftest import advisor


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, nginx):
    tmp = tmp_path_factory.mktemp("bench-observe")
    with start_exporter(tmp / "exporter", exporter_binary(), "--collector.disable-defaults", "--collector.cpu",
                        "--collector.meminfo", "--collector.processes", "--collector.processes.top-n=10000") as exp:
        with start_prometheus(tmp / "prometheus", {"node": [exp.address]}, interval="1s") as prom:
            # a few scrapes of the nginx group before any load, so its counters have a start inside the window
            deadline = time.monotonic() + 60
            q = 'count_over_time(namedprocess_namegroup_num_procs{groupname="nginx"}[1m])'
            while time.monotonic() < deadline:
                res = requests.get(f"{prom.url}/api/v1/query", params={"query": q}, timeout=10).json()
                if res["data"]["result"] and float(res["data"]["result"][0]["value"][1]) >= 3:
                    break
                time.sleep(0.5)
            yield prom


def test_bench_records_what_the_exporter_saw(nginx, prometheus):
    r = advisor("bench", "--rate", "1000", "--duration", "3s", "--prometheus", prometheus.url, "--groupname",
                "nginx", "--settle", "3s", "--format", "json", f"http://{nginx.address}/index.html?run=observe")
    assert r.exit_code == 0, r.stderr
    obs = json.loads(r.stdout)["observed"]
    v = obs["values"]
    assert obs["groupname"] == "nginx" and obs["window_seconds"] == 6
    # nginx served 3,000 requests: some CPU, well under a second per 1,000; the host's busy CPU is more than it
    assert 0 < v["process_cpu_seconds_per_1000_requests"] < 1
    assert v["host_cpu_seconds_per_1000_requests"] > v["process_cpu_seconds_per_1000_requests"]
    assert v["process_rss_bytes"] > 1e6 and v["host_memory_used_bytes"] > v["process_rss_bytes"]
    r = advisor("bench", "--rate", "100", "--duration", "1s", "--prometheus", prometheus.url, "--groupname",
                "no-such-group", "--settle", "2s", f"http://{nginx.address}/index.html?run=observe2")
    assert r.exit_code == 0, r.stderr
    rows = dict(line.split("  ", 1) for line in r.stdout.splitlines() if "(Prometheus)" in line)
    assert rows["process group CPU (Prometheus)"].strip() == "no data"
    assert rows["host CPU (Prometheus)"].strip().endswith("ms per 1,000 requests")
