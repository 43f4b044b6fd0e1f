"""``advisor bench --prometheus``: what our exporter saw of nginx and the host during the run, per 1,000 requests."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import requests

import pytest

from perfadvisor.advisor.bench import report as R
from perfadvisor.advisor.bench.result import BenchResult
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


HOST_PACK = str(Path(__file__).parents[3] / "rules" / "host.yaml")


def test_bench_reports_what_saturated_during_the_run(nginx, prometheus):
    # A closed-model run keeps the CPUs busy; with cpu_high lowered to 1% and `for` to 2s the host's CPU rule
    # must fire over the run's window (it needs 15s of history: 13s of load and 3s of settling give 16s), while
    # the rules that need 10 minutes or more cannot judge 16 seconds.
    r = advisor("bench", "--connections", "16", "--duration", "13s", "--prometheus", prometheus.url, "--settle", "3s",
                "--scrape-interval", "1s", "--no-builtin", "--pack", HOST_PACK, "--set", "host.cpu_high=0.01",
                "--set", "host.for_long=2s", "--format", "json", f"http://{nginx.address}/index.html?run=saturate")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    sat = doc["observed"]["saturation"]
    assert sat["window_seconds"] == 16 and sat["adapted_parameters"]["host"]["lookback"] == "16s"
    cpu = [f for f in sat["findings"] if f["rule_id"] == "host-cpu-saturation"]
    assert len(cpu) == 1 and cpu[0]["state"] == "firing" and 0.01 < cpu[0]["value"] <= 1, \
        json.dumps({k: v for k, v in sat.items() if k != "insufficient_data"})
    assert "CPU" in cpu[0]["summary"]
    short = {s["rule_id"]: s["reason"] for s in sat["insufficient_data"]}
    assert short["host-major-page-faults"] == "insufficient data: needs ≥ 10m of history, the run gave 16s"
    assert "host-cpu-saturation" not in short
    table = R.render(BenchResult.from_dict(doc), "table")
    assert re.search(r"saturated during the run\s+host-cpu-saturation \(\w+\) on instance=", table), table
    assert "insufficient data" in table and "host-major-page-faults" in table


def test_a_bench_started_through_serve_reports_what_saturated(tmp_path, nginx, prometheus):
    """POST /api/performance/benchmark with "observe" on a service whose source is a Prometheus: the stored
    result carries what Prometheus saw and the service's packs over the run's window, as the CLI's does."""
    from tests.advisor.serve.launcher import serving
    base = f"http://{nginx.address}"
    with serving(tmp_path / "serve", "--prometheus", prometheus.url, "--interval", "1h", "--storage.path",
                 str(tmp_path / "a.db"), "--no-builtin", "--pack", HOST_PACK, "--set", "host.cpu_high=0.01",
                 "--set", "host.for_long=2s", "--bench.allow", f"{base}/", "--web.post-rate", "600") as served:
        body = {"targets": [{"url": f"{base}/index.html?run=serve-saturate"}], "connections": 16, "duration": "13s",
                "observe": {"settle": "3s", "scrape_interval": "1s"}}
        r = served.post("/api/performance/benchmark", json=body)
        assert r.status_code == 202, r.text
        bench_id = r.json()["id"]
        done = served.wait(lambda: (lambda b: b if b["status"] != "running" else None)(
            served.json(f"/api/performance/benchmark/{bench_id}")), timeout=120, what="the benchmark")
        assert done["status"] == "done", done
        assert any(s.startswith("host-cpu-saturation on instance=") for s in done["summary"]["saturated"]), done
        full = served.json(f"/api/performance/benchmark/{bench_id}?detail=full")["result"]["observed"]
        assert full["values"]["host_cpu_seconds_per_1000_requests"] > 0
        sat = full["saturation"]
        assert sat["window_seconds"] == 16
        assert "host-major-page-faults" in {s["rule_id"] for s in sat["insufficient_data"]}
        # a bad observe option is refused before anything runs
        bad = served.post("/api/performance/benchmark", json={**body, "observe": {"settle": "0s"}})
        assert bad.status_code == 400 and "observe/settle" in bad.json()["error"], bad.text
    # without a Prometheus the service says why it cannot observe
    with serving(tmp_path / "local", "--interval", "1h", "--storage.path", str(tmp_path / "b.db"),
                 "--bench.allow", f"{base}/", "--rule", "host-memory-*") as served:
        r = served.post("/api/performance/benchmark", json={"targets": [{"url": f"{base}/index.html"}],
                                                            "observe": {}})
        assert r.status_code == 400 and "has no Prometheus" in r.json()["error"], r.text
