"""The runtime pack on real runtimes: Node.js services with prom-client, Python services with prometheus_client and
Go services with client_golang, each a leaking one and a healthy twin, scraped every second by a real Prometheus
beside a process-exporter watching the leaking processes; `advisor run --format json` must name exactly the
leaking targets, and link each runtime finding to its process group's leak.

Short windows through pack parameters (30 s of leak history, 5 s post-GC window), as the other leak tests do.
The scrape jobs give every target the host as `instance` and its process group as `groupname`, the labelling
under which runtime and process findings on one process are linked (docs/packs.md#runtime-pack).
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from perfadvisor.advisor.cli import cli
from tests.grafana.test_queries import check_dashboard
from tests.support.exporter import start_exporter
from tests.support.leak import leak_group
from tests.support.procs import need_binary
from tests.support.prometheus import start_prometheus
from tests.support.runtimes import go_service, node_service, python_service

pytestmark = pytest.mark.slow

HOST = "apphost"
HISTORY = 36   # seconds of scrapes: the 30 s leak windows below, and a few rate windows
SETS = ("runtime.leak_lookback=30s", "runtime.step=1s", "runtime.gc_window=5s", "runtime.rate_window=5s",
        "runtime.lookback=20s", "process.leak_lookback=30s", "process.step=1s", "process.rss_growth_min=100000",
        # The leaking services keep ≥ 1.5 MB/s. A just-started healthy Node.js service whose event loop is busy
        # (`busy`) collects late on a loaded host and its heap floor still rose ~0.1 MB/s over its first 30 s:
        # 300 kB/s keeps that warm-up apart from a leak with these short windows.
        "runtime.heap_growth_min=300000",
        # This machine is shared with other test runs (load 14 on 2 cores seen): the busy loop may get a third of
        # a core, the blocked one uses almost none. ≥ 0.15 core counts as saturated here.
        "runtime.cpu_saturated_cores=0.15")
NAMES = {kind: leak_group(kind) for kind in ("nl", "nh", "nb", "nw", "pl", "ph", "gl", "gh")}


def _job(name: str, address: str) -> dict:
    return {"job_name": name, "metrics_path": "/metrics",
            "static_configs": [{"targets": [address], "labels": {"instance": HOST, "groupname": name}}]}


@dataclass(frozen=True)
class Run:
    report: dict
    prometheus_url: str


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    tmp = tmp_path_factory.mktemp("runtime-e2e")
    with contextlib.ExitStack() as stack:
        services = [
            stack.enter_context(node_service(tmp / "node", NAMES["nl"], "leak")),
            stack.enter_context(node_service(tmp / "node", NAMES["nh"], "healthy")),
            stack.enter_context(node_service(tmp / "node", NAMES["nb"], "busy")),
            stack.enter_context(node_service(tmp / "node", NAMES["nw"], "blocking")),
            stack.enter_context(python_service(tmp / "python", NAMES["pl"], "leak")),
            stack.enter_context(python_service(tmp / "python", NAMES["ph"], "healthy")),
            stack.enter_context(go_service(tmp / "go", NAMES["gl"], "leak")),
            stack.enter_context(go_service(tmp / "go", NAMES["gh"], "healthy")),
        ]
        pe = stack.enter_context(start_exporter(
            tmp / "process-exporter", need_binary("prometheus-process-exporter"),
            "-procnames", ",".join((NAMES["nl"], NAMES["pl"])), "-gather-smaps=false", "-threads=false",
            listen_flag="-web.listen-address"))
        process_job = {"job_name": "process", "metrics_path": "/metrics",
                       "static_configs": [{"targets": [pe.address], "labels": {"instance": HOST}}]}
        prom = stack.enter_context(start_prometheus(
            tmp / "prometheus", extra_scrape_configs=[_job(s.name, s.address) for s in services] + [process_job]))
        prom.wait_for_series("go_goroutines", min_results=2, timeout=60)
        prom.wait_for_series("namedprocess_namegroup_memory_bytes", min_results=2, timeout=60)
        time.sleep(HISTORY)
        args = ["run", "--prometheus", prom.url, "--format", "json", "--rule", "runtime-*",
                "--rule", "process-memory-leak"]
        for s in SETS:
            args += ["--set", s]
        result = CliRunner().invoke(cli, args, catch_exceptions=False,
                                    env={"PERFADVISOR_PROMETHEUS_URL": None, "PERFADVISOR_CONFIG": None})
        assert result.exit_code in (0, 1), result.output
        yield Run(json.loads(result.stdout), prom.url)


@pytest.fixture(scope="module")
def report(run) -> dict:
    return run.report


def _findings(report: dict, rule: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule_id"] == rule]


def _jobs(report: dict, rule: str) -> list[str]:
    return sorted(f["target"]["job"] for f in _findings(report, rule))


def test_every_runtime_rule_found_its_metrics(report):
    rules = {r["id"]: r for r in report["rules"]}
    for rid in ("runtime-heap-leak", "runtime-handle-leak", "runtime-goroutine-leak", "runtime-gc-pressure",
                "runtime-go-gc-frequent", "runtime-python-gc-churn", "runtime-eventloop-lag"):
        assert rules[rid]["evaluated"], (rid, rules[rid].get("reason"))
    # no JVM here: its rule says so instead of calling the JVM healthy
    assert not rules["runtime-jvm-thread-leak"]["evaluated"]
    assert "jvm_threads_current" in rules["runtime-jvm-thread-leak"]["reason"]


def test_node_timer_leak_fires_on_the_leaking_service_only(report):
    found = _findings(report, "runtime-handle-leak")
    assert [(f["target"]["job"], f["target"]["type"]) for f in found] == [(NAMES["nl"], "Timeout")], found
    # ten timers a second are never cleared
    assert 5 < found[0]["projection"]["slope"] < 15, found[0]["projection"]
    assert "(timer leak)" in found[0]["summary"]
    assert "Timers are started and never cleared" in found[0]["recommendation"]


def test_node_heap_leak_fires_with_the_timer_leak_as_its_cause(report):
    node = [f for f in _findings(report, "runtime-heap-leak") if f["labels"].get("runtime") == "nodejs"]
    assert [f["target"]["job"] for f in node] == [NAMES["nl"]], node
    f = node[0]
    # each timer holds ~160 KB of heap, ten a second
    assert 0.5e6 < f["projection"]["slope"] < 3e6, f["projection"]
    assert "runtime-handle-leak" in f["cause"]
    assert "The growth follows handles that are never closed" in f["recommendation"]


def test_python_object_leak_fires_heap_and_gc_rules_linked_to_the_process_leak(report):
    py = [f for f in _findings(report, "runtime-heap-leak") if f["labels"].get("runtime") == "python"]
    assert [f["target"]["job"] for f in py] == [NAMES["pl"]], py
    assert "process-memory-leak" in py[0]["cause"]
    assert "This is the same leak as the resident-memory growth of its process group" in py[0]["recommendation"]
    churn = _findings(report, "runtime-python-gc-churn")
    assert [f["target"]["job"] for f in churn] == [NAMES["pl"]], churn
    assert churn[0]["value"] > 5
    assert "Almost nothing is freed" in churn[0]["recommendation"]
    assert "runtime-heap-leak" in churn[0]["cause"]
    # the process pack sees the same process grow, on the same host and group
    assert {(f["target"]["instance"], f["target"]["groupname"]) for f in _findings(report, "process-memory-leak")} \
        >= {(HOST, NAMES["pl"])}


def test_go_goroutine_leak_fires_on_the_leaking_service_only(report):
    found = _findings(report, "runtime-goroutine-leak")
    assert _jobs(report, "runtime-goroutine-leak") == [NAMES["gl"]], found
    assert 20 < found[0]["projection"]["slope"] < 80, found[0]["projection"]   # one every 20 ms
    assert "goroutine profile" in found[0]["recommendation"]


def test_event_loop_lag_is_told_apart_by_the_process_cpu(report):
    found = {f["target"]["job"]: f for f in _findings(report, "runtime-eventloop-lag")}
    assert sorted(found) == sorted([NAMES["nb"], NAMES["nw"]]), sorted(found)
    busy, blocked = found[NAMES["nb"]], found[NAMES["nw"]]
    assert busy["value"] > 0.1 and blocked["value"] > 0.1, (busy["value"], blocked["value"])
    assert "Its one JavaScript thread is saturated" in busy["recommendation"], busy["recommendation"]
    assert "The CPU is not saturated" in blocked["recommendation"], blocked["recommendation"]
    assert "fs.*Sync" in blocked["recommendation"]


def test_healthy_twins_stay_quiet(report):
    healthy = {NAMES["nh"], NAMES["ph"], NAMES["gh"]}
    noisy = [(f["rule_id"], f["target"]["job"]) for f in report["findings"]
             if f["rule_id"].startswith("runtime-") and f["target"].get("job") in healthy]
    assert not noisy, noisy


def test_runtime_dashboard_queries_return_data_from_real_runtimes(run):
    """Every panel of grafana/dashboards/runtime.json parses and shows data for these services (the JVM shares
    its panels with the other runtimes)."""
    problems = check_dashboard(run.prometheus_url, "runtime")
    assert not problems, "\n".join(problems)
