"""``advisor compare`` end to end: real bench results (a server made slower between them) and two windows of a
real Prometheus (backfilled history in which one process group's CPU doubled)."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from tests.advisor.bench.conftest import advisor, stall_server
from tests.support.backfill import History, backfill, node_host, process_group, prometheus_on
from tests.support.procs import closed_port


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Bench results: base (2 ms server), slow (20 ms server), tiny (2 s)."""
    tmp = tmp_path_factory.mktemp("compare")
    out = {}
    for name, delay, duration in (("base", 0.002, "8s"), ("slow", 0.02, "8s"), ("tiny", 0.002, "2s")):
        with stall_server(delay=delay) as url:
            path = tmp / f"{name}.json"
            r = advisor("bench", "--rate", "100", "--duration", duration, "--processes", "1", "-o", str(path), url)
            assert r.exit_code == 0, r.stderr
            out[name] = str(path)
    return out


def _metrics(stdout: str) -> dict:
    return {m["name"]: m for m in json.loads(stdout)["metrics"]}


def test_same_result_twice_passes(results):
    r = advisor("compare", results["base"], results["base"], "--fail-on", "marginal", "--format", "json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "pass"
    assert {m["verdict"] for m in doc["metrics"]} == {"pass"}
    assert {m["name"] for m in doc["metrics"]} == {"latency_p50", "latency_p99", "service_time_p99", "throughput",
                                                   "error_ratio"}


def test_slower_server_fails_with_direction_and_evidence(results):
    r = advisor("compare", results["base"], results["slow"], "--fail-on", "fail", "--format", "json")
    assert r.exit_code == 1
    m = _metrics(r.stdout)["latency_p50"]
    assert (m["verdict"], m["direction"]) == ("fail", "worse")
    assert m["baseline"]["n"] == 8 and m["current"]["n"] == 8
    assert m["baseline"]["median"] < 0.01 < 0.02 <= m["current"]["median"]
    assert m["shift"]["low"] > 0 and m["p_value"] < 0.05
    assert "latency_p50 (higher is worse): median" in m["summary"]
    assert _metrics(r.stdout)["throughput"]["verdict"] == "pass"     # the same fixed rate on both sides


def test_without_fail_on_the_verdict_is_shown_and_exit_is_0(results):
    r = advisor("compare", results["base"], results["slow"])
    assert r.exit_code == 0
    assert r.stdout.startswith("verdict: fail  (alpha 0.05, tolerance 5%, at least 8 samples per side)")
    assert f"baseline: {results['base']}: 8 samples, every 1s, " in r.stdout


def test_tiny_result_gives_insufficient_data_not_a_verdict(results):
    r = advisor("compare", results["base"], results["tiny"], "--fail-on", "marginal", "--format", "markdown")
    assert r.exit_code == 0
    assert "verdict: insufficient data" in r.stdout
    assert "8 baseline and 2 current samples; at least 8 on each side are needed for a verdict" in r.stdout


def test_bad_inputs_are_one_line(tmp_path, results):
    r = advisor("compare", str(tmp_path / "missing.json"), results["base"])
    assert r.exit_code == 2 and r.stderr.startswith(f"advisor: error: {tmp_path / 'missing.json'}: cannot read")
    r = advisor("compare", results["base"])
    assert r.exit_code == 2 and "give two bench results" in r.stderr
    with closed_port() as port:
        r = advisor("compare", "--prometheus", f"http://127.0.0.1:{port}", "--baseline", "-2h..-1h",
                    "--current", "-1h..now", "--timeout", "2s")
    assert r.exit_code == 3 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1


@pytest.fixture(scope="module")
def history_prometheus(tmp_path_factory):
    """4 hours of one host and process group 'api': CPU 0.2 cores, then 0.4 for the last 2 hours; RSS flat."""
    tmp = tmp_path_factory.mktemp("compare-prom")
    end = (time.time() // 60) * 60 - 3600
    h = History(end, 4 * 3600, step=60)
    cores = np.where(h.t < 2 * 3600, 0.2, 0.4) * (1 + h.noise(0.02))
    process_group(h, "host-1:9100", "api", cores=cores, rss=2e8 * (1 + h.noise(0.001)))
    node_host(h, "host-1:9100", cores=2, busy=0.3 + h.noise(0.01), mem_total=8e9, mem_used=3e9 * (1 + h.noise(0.001)))
    h.write(tmp / "history.om")
    backfill(tmp / "history.om", tmp / "data")
    with prometheus_on(tmp / "data", tmp / "prom") as prom:
        yield prom, end


def test_prometheus_windows_with_built_in_metrics(history_prometheus):
    prom, end = history_prometheus
    r = advisor("compare", "--prometheus", prom.url, "--baseline", f"{end - 4 * 3600 + 300:.0f}..{end - 2 * 3600:.0f}",
                "--current", f"{end - 2 * 3600 + 300:.0f}..{end:.0f}", "--step", "5m", "--groupname", "api",
                "--fail-on", "fail", "--format", "json")
    assert r.exit_code == 1, r.stderr
    m = _metrics(r.stdout)
    assert (m["process_cpu_cores"]["verdict"], m["process_cpu_cores"]["direction"]) == ("fail", "worse")
    assert 0.8 < m["process_cpu_cores"]["relative"]["estimate"] < 1.2            # doubled
    assert m["process_rss_bytes"]["verdict"] == "pass"
    assert m["host_memory_used_bytes"]["verdict"] == "pass"
    assert m["process_cpu_cores"]["baseline"]["n"] >= 20


def test_prometheus_windows_with_a_query_and_a_group_that_does_not_exist(history_prometheus):
    prom, end = history_prometheus
    win = ["--baseline", f"{end - 4 * 3600 + 300:.0f}..{end - 2 * 3600:.0f}",
           "--current", f"{end - 2 * 3600 + 300:.0f}..{end:.0f}", "--step", "5m"]
    r = advisor("compare", "--prometheus", prom.url, *win, "--query",
                'rss=sum(namedprocess_namegroup_memory_bytes{memtype="resident"})', "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert [(m["name"], m["verdict"]) for m in json.loads(r.stdout)["metrics"]] == [("rss", "pass")]
    r = advisor("compare", "--prometheus", prom.url, *win, "--groupname", "nothing-like-this", "--metric",
                "process_cpu_cores", "--format", "json")
    assert r.exit_code == 0
    m = _metrics(r.stdout)["process_cpu_cores"]
    assert m["verdict"] == "insufficient data" and m["baseline"]["n"] == 0


def test_html_escapes_what_the_user_named(results, tmp_path):
    hostile = tmp_path / "<b>base.json"
    hostile.write_bytes(open(results["base"], "rb").read())
    r = advisor("compare", str(hostile), results["slow"], "--format", "html")
    assert r.exit_code == 0
    assert "&lt;b&gt;base.json" in r.stdout and "<b>base" not in r.stdout
    assert "<h1>Compare: <span" in r.stdout and ">fail</span>" in r.stdout
