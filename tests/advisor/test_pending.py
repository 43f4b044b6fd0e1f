"""`for` and pending: a condition that holds now but not yet for its whole `for` window is pending, on range
rules as on instant rules; a first run reports a full filesystem as pending instead of "not evaluated"."""
import json

import pytest

from perfadvisor.advisor.evaluate import Evaluator
from perfadvisor.advisor.packs import load_builtin

from .conftest import advisor


def load(tmp_path, text: str) -> str:
    f = tmp_path / "data.txt"
    f.write_text(text)
    return str(f)


def run_json(*args) -> dict:
    r = advisor("run", "--format", "json", *args)
    assert r.exit_code in (0, 1), r.output
    return json.loads(r.stdout)


CPU_BUSY = """load 15s
  node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="idle"} 0+0x10
  node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="user"} 0+15x10
"""


def test_range_rule_with_two_and_a_half_minutes_of_data_is_pending_not_firing(tmp_path):
    """host-cpu-saturation is "for 15m": 150 s of a 100 % busy CPU is pending, held 2–3 minutes."""
    rep = run_json("--load", load(tmp_path, CPU_BUSY), "--time", "150", "--rule", "host-cpu-saturation")
    assert not [f for f in rep["findings"] if f["rule_id"] == "host-cpu-saturation"]
    (p,) = [f for f in rep["pending"] if f["rule_id"] == "host-cpu-saturation"]
    assert p["state"] == "pending" and p["for_seconds"] == 900
    assert 60 <= p["active_for"] <= 150


def test_range_rule_fires_once_the_condition_held_at_every_step_of_for(tmp_path):
    data = """load 1m
  node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="idle"} 0+0x40
  node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="user"} 0+60x40
"""
    rep = run_json("--load", load(tmp_path, data), "--time", "2400", "--rule", "host-cpu-saturation")
    (f,) = [f for f in rep["findings"] if f["rule_id"] == "host-cpu-saturation"]
    assert f["state"] == "firing" and f["active_for"] >= 900


def test_range_rule_for_is_checked_on_the_rolling_reduction(tmp_path):
    """Busy for the last 10 minutes only: the p95 over 1h is above 90 % now, but re-evaluated at each step
    of the `for` window (as the generated alert is) it has been so for only a few minutes: pending."""
    data = """load 1m
  node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="idle"} 0+60x50 3000+0x10
  node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="user"} 0+0x50 0+60x10
"""
    rep = run_json("--load", load(tmp_path, data), "--time", "3600", "--rule", "host-cpu-saturation",
                   "--set", "host.rate_window=2m")
    assert not [f for f in rep["findings"] if f["rule_id"] == "host-cpu-saturation"]
    (p,) = [f for f in rep["pending"] if f["rule_id"] == "host-cpu-saturation"]
    assert p["active_for"] < 900


FULL_FS = """load 5s
  node_filesystem_avail_bytes{job="node",instance="a",device="/dev/sda1",fstype="ext4",mountpoint="/"} 100x4
  node_filesystem_size_bytes{job="node",instance="a",device="/dev/sda1",fstype="ext4",mountpoint="/"} 100000x4
"""


def test_first_run_reports_a_full_filesystem_as_pending_with_its_history(tmp_path):
    """20 s of a 99.9 % full filesystem: pending (held 20 s of 5m), not "not evaluated: needs ≥ 5m (have 0s)"."""
    rep = run_json("--load", load(tmp_path, FULL_FS), "--time", "20", "--rule", "host-filesystem-almost-full")
    rule = next(r for r in rep["rules"] if r["id"] == "host-filesystem-almost-full")
    assert rule["evaluated"] and rule["pending"] == 1 and rule["findings"] == 0
    (p,) = rep["pending"]
    assert p["state"] == "pending" and p["active_for"] == pytest.approx(20, abs=1) and p["for_seconds"] == 300
    assert rep["summary"]["pending"] == 1


def test_pending_findings_do_not_trigger_fail_on(tmp_path):
    r = advisor("run", "--load", load(tmp_path, FULL_FS), "--time", "20", "--rule", "host-filesystem-almost-full",
                "--fail-on", "warning", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["pending"]


def test_instant_rule_quiet_when_the_condition_does_not_hold_on_short_history(tmp_path):
    data = FULL_FS.replace(" 100x4", " 90000x4")
    rep = run_json("--load", load(tmp_path, data), "--time", "20", "--rule", "host-filesystem-almost-full")
    rule = next(r for r in rep["rules"] if r["id"] == "host-filesystem-almost-full")
    assert rule["evaluated"] and not rep["findings"] and not rep["pending"]


def test_not_enough_history_reports_the_history_present(tmp_path):
    """20 s of samples on a rule needing 30 m: "have 20s", not "have 0s" (the range points are a step apart)."""
    data = """load 5s
  node_filesystem_avail_bytes{job="node",instance="a",device="/dev/sda1",fstype="ext4",mountpoint="/"} 1000-1x4
  node_filesystem_size_bytes{job="node",instance="a",device="/dev/sda1",fstype="ext4",mountpoint="/"} 100000x4
"""
    rep = run_json("--load", load(tmp_path, data), "--time", "20", "--rule", "host-filesystem-fill-up")
    (r,) = rep["not_evaluated"]
    assert r["reason"] == "not enough history: needs ≥ 30m (have 20s)"


def test_time_evaluates_as_of_a_past_instant(tmp_path):
    """The same data judged at t=20 s (pending) and at t=10 m (firing: held 5 m)."""
    data = FULL_FS.replace("load 5s", "load 1m").replace("100x4", "100x10").replace("100000x4", "100000x10")
    f = load(tmp_path, data)
    early = run_json("--load", f, "--time", "60", "--rule", "host-filesystem-almost-full")
    late = run_json("--load", f, "--time", "600", "--rule", "host-filesystem-almost-full")
    assert early["pending"] and not early["findings"]
    assert late["findings"] and late["findings"][0]["state"] == "firing"
    assert early["evaluated_at"] == "1970-01-01T00:01:00Z" and late["evaluated_at"] == "1970-01-01T00:10:00Z"


def test_explain_time_shows_the_verdict(tmp_path):
    r = advisor("explain", "host-filesystem-almost-full", "--load", load(tmp_path, FULL_FS), "--time", "20")
    assert r.exit_code == 0, r.output
    assert "Verdict at 1970-01-01T00:00:20Z:" in r.stdout
    assert "pending (held 20s of 5m)" in r.stdout


def test_time_in_local_mode_is_refused():
    r = advisor("run", "--time", "0", "--duration", "0s")
    assert r.exit_code == 2 and "--time needs a data source with history" in r.output
