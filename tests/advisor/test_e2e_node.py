"""End to end: a real Prometheus scraping a real prometheus-node-exporter, the advisor's reports on it."""
import json
import os
from importlib import resources

import jsonschema
import pytest

from .conftest import SHORT, XSS, advisor

pytestmark = pytest.mark.slow
SCHEMA = json.loads(resources.files("perfadvisor.advisor.reports").joinpath("report.schema.json").read_text())
FIRE = ["--set", "host.fs_available_low=0.999", "--set", "host.cpu_high=0", "--set", "host.job=node"]


def run_json(prom, *args):
    r = advisor("run", "--prometheus", prom.url, "--format", "json", *SHORT, *args)
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    jsonschema.validate(report, SCHEMA)
    return report


def by_rule(report, rule_id):
    return [f for f in report["findings"] if f["rule_id"] == rule_id]


def test_host_rules_fire_with_recommendations(node_prometheus):
    report = run_json(node_prometheus, *FIRE)
    root = [f for f in by_rule(report, "host-filesystem-almost-full") if f["target"]["mountpoint"] == "/"]
    assert root, report["findings"]
    f = root[0]
    assert f["severity"] == "critical" and f["category"] == "alert" and f["dimension"] == "disk"
    assert 0 < f["value"] < 0.999 and f["threshold"] == 0.999 and f["operator"] == "<"
    assert f["recommendation"].startswith("/ (")
    assert "Delete or rotate what grows there" in f["recommendation"]
    cpu = by_rule(report, "host-cpu-saturation")
    assert [c["target"] for c in cpu] == [{"instance": c["labels"]["instance"]} for c in cpu] and cpu
    c = cpu[0]
    assert c["confidence"]["samples"] >= 15 and c["confidence"]["level"] in ("high", "medium", "low")
    assert c["stats"]["max"] >= c["value"] >= c["stats"]["min"]
    assert any(e["title"] == "Busiest CPU modes" and e["series"] for e in c["evidence"])


def test_missing_metrics_are_not_evaluated_and_coverage_shown(node_prometheus):
    report = run_json(node_prometheus)
    reasons = {x["rule_id"]: x["reason"] for x in report["not_evaluated"]}
    # node_exporter has no process groups: those rules are "no data", never healthy.
    assert reasons["process-memory-leak"] == "no data: metric namedprocess_namegroup_memory_bytes"
    assert report["summary"]["rules_evaluated"] < report["summary"]["rules_total"]
    proc = report["scores"]["dimensions"]["process"]
    assert proc["evaluated"] < proc["total"]
    assert 0 <= report["summary"]["score"] <= 100


def test_default_windows_need_more_history(node_prometheus):
    r = advisor("run", "--prometheus", node_prometheus.url, "--format", "json")
    report = json.loads(r.stdout)
    reasons = {x["rule_id"]: x["reason"] for x in report["not_evaluated"]}
    assert reasons["host-cpu-steal"].startswith("not enough history: needs ≥ 15m (have ")
    assert "host-cpu-saturation" not in reasons   # current saturation needs only seconds of history
    assert reasons["scaling-host-cpu-downsize"].startswith("not enough history: needs ≥ 1h (have ")


def test_scaling_right_sizing_and_replicas(node_prometheus):
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs a host with at least 2 CPUs to recommend fewer")
    # Negative headroom makes the recommendation fall to the 1-core floor whatever the load on this machine; a
    # threshold above 1 holds even when every core is busy (p95 busy ratio 1.0 on a saturated host).
    report = run_json(node_prometheus, "--category", "scaling", "--set", "scaling.cpu_low=1.5",
                      "--set", "scaling.cpu_headroom=-0.99", "--set", "scaling.target_utilization=0.0001",
                      "--set", "scaling.job=node")
    down = by_rule(report, "scaling-host-cpu-downsize")
    assert len(down) == 1
    s = down[0]["sizing"]
    assert s["resource"] == "cpu" and s["current"] == os.cpu_count() and s["recommended"] == 1
    assert s["monthly_cost_change"] == pytest.approx((1 - os.cpu_count()) * 0.0316 * 730)
    assert f"saves {-s['monthly_cost_change']:.2f}/month" in down[0]["recommendation"]
    assert 0 <= s["performance_risk"] <= 4
    assert not by_rule(report, "scaling-host-cpu-upsize")   # never both directions for one host
    rep = by_rule(report, "scaling-replicas")
    assert len(rep) == 1 and rep[0]["target"] == {"job": "node"}
    r = rep[0]["replicas"]
    assert r["current"] == 1 and r["desired"] > 1 and "replicas" in rep[0]["summary"]
    assert {f["category"] for f in report["findings"]} == {"scaling"}


def test_fail_on_and_min_severity(node_prometheus):
    r = advisor("run", "--prometheus", node_prometheus.url, *SHORT, *FIRE, "--fail-on", "critical")
    assert r.exit_code == 1
    assert "host-filesystem-almost-full" in r.stdout
    r = advisor("run", "--prometheus", node_prometheus.url, *SHORT, "--min-severity", "critical",
                "--format", "json", "--fail-on", "warning")
    report = json.loads(r.stdout)
    assert {x["severity"] for x in report["rules"]} == {"critical"}
    assert r.exit_code == (1 if report["findings"] else 0)


def test_html_is_self_contained_and_escapes_labels(node_prometheus, tmp_path):
    out = tmp_path / "report.html"
    r = advisor("run", "--prometheus", node_prometheus.url, *SHORT, "--set", "host.fs_available_low=0.999",
                "--output", str(out))
    assert r.exit_code == 0 and f"wrote html report to {out}" in r.stderr
    html = out.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html   # the hostile instance label, escaped
    assert XSS not in html
    assert "<script" not in html and "<link" not in html and "src=" not in html and "@import" not in html
    assert "Filesystem almost full" in html and "Not evaluated" in html


def test_markdown_and_table(node_prometheus, tmp_path):
    r = advisor("run", "--prometheus", node_prometheus.url, *SHORT, *FIRE, "--format", "markdown")
    assert r.exit_code == 0
    assert r.stdout.startswith("# perfadvisor report\n\n**Score: ")
    assert "## Alert (" in r.stdout and "`host-filesystem-almost-full`" in r.stdout
    assert XSS not in r.stdout and "\\<script\\>" in r.stdout
    r = advisor("run", "--prometheus", node_prometheus.url, *SHORT, *FIRE)
    assert r.exit_code == 0
    assert r.stdout.startswith("Score ") and "host-filesystem-almost-full" in r.stdout, r.stdout
    assert "not evaluated" in r.stdout and "no data: metric namedprocess_namegroup_memory_bytes" in r.stdout


def test_a_pack_with_no_data_is_one_line_in_human_reports(node_prometheus):
    # node_exporter only: the cache, database and load-balancer packs have nothing to look at. The terminal and
    # Markdown reports name each such pack once; the JSON report keeps every rule's own reason.
    r = advisor("run", "--prometheus", node_prometheus.url, *SHORT)
    assert r.exit_code == 0
    assert "no data for packs: process (7 rules), cache (9 rules), database (11 rules), loadbalancer (8 rules)" in r.stdout, r.stdout
    assert "cache-redis-hit-ratio-low" not in r.stdout
    r = advisor("run", "--prometheus", node_prometheus.url, *SHORT, "--format", "markdown")
    assert "No data for packs: `process` (7 rules), `cache` (9 rules), `database` (11 rules), `loadbalancer` (8 rules)" in r.stdout
    report = run_json(node_prometheus, *SHORT)
    reasons = {n["rule_id"]: n["reason"] for n in report["not_evaluated"]}
    assert reasons["cache-redis-hit-ratio-low"].startswith("no data: metric redis_keyspace_hits_total")
