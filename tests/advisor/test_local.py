"""Local mode: `advisor run` with no Prometheus samples this machine and evaluates on the embedded engine."""
from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from perfadvisor.advisor.cli import cli
from perfadvisor.advisor.local.adapt import History, local_values
from perfadvisor.advisor.local.store import Batch, SampleStore
from perfadvisor.advisor.packs import load_builtin
from perfadvisor.advisor.durations import parse_duration
from tests.support.procs import free_port, stop, wait_http

REPO = Path(__file__).resolve().parents[2]
ENV = {"PERFADVISOR_PROMETHEUS_URL": None, "PERFADVISOR_CONFIG": None, "PERFADVISOR_STORE": None}


def advisor(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=ENV)


def local_json(tmp_path, *args: str, name: str = "report.json") -> dict:
    out = tmp_path / name
    r = advisor("run", "--format", "json", "-o", str(out), *args)
    assert r.exit_code == 0, r.output
    return json.loads(out.read_text())


def rules(report: dict) -> dict[str, dict]:
    return {r["id"]: r for r in report["rules"]}


def test_a_short_local_run_gives_verdicts_from_host_and_process_rules(tmp_path):
    report = local_json(tmp_path, "--duration", "5s", "--interval", "1s")
    jsonschema.validate(report, json.loads((REPO / "advisor" / "reports" / "report.schema.json").read_text()))
    src = report["source"]
    assert src["type"] == "embedded"
    assert src["local"]["sampler"] == "in-process collectors"
    assert src["local"]["samples"] == 6 and src["local"]["history"] == "5s"
    by_id = rules(report)
    # Current-state rules are judged on the samples there are...
    for rid in ("host-memory-pressure", "host-filesystem-almost-full", "host-fd-exhaustion", "host-oom-kills",
                "process-fd-limit", "process-group-gone"):
        assert by_id[rid]["evaluated"], (rid, by_id[rid]["reason"])
        assert by_id[rid]["targets"] >= 1, rid
    # ...rules that need more history than a run has say so instead of guessing.
    assert by_id["host-cpu-saturation"]["evaluated"] is False
    assert by_id["host-cpu-saturation"]["reason"].startswith("not enough history: needs ≥ 15s (have ")
    assert by_id["scaling-host-cpu-downsize"]["reason"].startswith("not enough history: needs ≥ 1h")
    summary = report["summary"]
    assert 0 < summary["rules_evaluated"] < summary["rules_total"]
    assert summary["coverage"] == round(summary["rules_evaluated"] / summary["rules_total"], 4)
    assert report["scores"]["overall"]["score"] is not None
    # The windows were fitted to the 5 s of history, and the report says so.
    assert src["local"]["adapted_parameters"]["host"]["lookback"] == "5s"
    assert any(w.startswith("local mode: 5s of history at 1s intervals") for w in report["warnings"])
    assert any(w.endswith("need more history than the 5s sampled; sample longer (--duration) or keep samples "
                          "between runs (--store PATH) to evaluate them") for w in report["warnings"])


def test_table_report_shows_coverage_and_why_rules_were_not_evaluated():
    r = advisor("run", "--duration", "2s", "--interval", "1s")
    assert r.exit_code == 0, r.output
    assert "source embedded" in r.output
    assert "rules evaluated" in r.output and "coverage" in r.output
    assert "host-cpu-saturation" in r.output and "needs ≥ 15s" in r.output


def test_store_accumulates_history_across_runs(tmp_path):
    store = tmp_path / "state" / "samples.db"
    first = local_json(tmp_path, "--duration", "2s", "--store", str(store), name="1.json")
    second = local_json(tmp_path, "--duration", "2s", "--store", str(store), name="2.json")
    assert first["source"]["local"]["samples"] == 3
    assert second["source"]["local"]["samples"] == 6
    assert second["source"]["local"]["store"] == str(store)
    h1, h2 = (parse_duration(r["source"]["local"]["history"]) for r in (first, second))
    assert h2 >= h1 + 2


def test_store_keeps_seven_days_by_default_and_drops_older_samples(tmp_path):
    day = 86400_000
    with SampleStore(tmp_path / "s.db") as s:
        s.append([Batch(0, (({"__name__": "up", "instance": "a"}, 1.0),))])
        s.append([Batch(6 * day, (({"__name__": "up", "instance": "a"}, 1.0),))])
        assert s.span() == (0, 6 * day)
        s.append([Batch(8 * day, (({"__name__": "up", "instance": "a"}, 0.0),))])
        assert s.span() == (6 * day, 8 * day)
        assert [(lb["__name__"], ts, v) for lb, ts, v in s.series()] == [("up", [6 * day, 8 * day], [1.0, 0.0])]


def test_a_file_that_is_not_a_store_is_a_one_line_error(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("this is not sqlite\n" * 100)
    r = advisor("run", "--duration", "0s", "--store", str(bad))
    assert r.exit_code == 2
    assert r.stderr.startswith(f"advisor: error: --store {bad}: not a usable sample store")
    assert "Traceback" not in r.output


@pytest.mark.parametrize("args,message", [
    (["--interval", "0s"], "--interval must be longer than 0s"),
    (["--duration", "a minute"], "--duration: not a Prometheus duration"),
    (["--exporter", "ftp://x"], "--exporter 'ftp://x': expected an http(s) URL"),
    (["--prometheus", "http://127.0.0.1:9", "--store", "x.db"], "--exporter and --store are for local mode"),
    (["--set", "no_such_param=1"], "unknown parameter 'no_such_param'"),   # before any sampling
])
def test_bad_local_options_exit_2_with_one_line(args, message):
    r = advisor("run", *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_an_unreachable_exporter_exits_3():
    r = advisor("run", "--exporter", f"http://127.0.0.1:{free_port()}", "--duration", "0s")
    assert r.exit_code == 3
    assert "advisor: error: cannot scrape exporter http://127.0.0.1:" in r.stderr


@pytest.fixture
def exporter():
    exe = REPO / ".venv" / "bin" / "perfadvisor-exporter"
    if not exe.exists():
        pytest.skip("perfadvisor-exporter is not installed (scripts/bootstrap)")
    port = free_port()
    proc = subprocess.Popen([str(exe), f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/metrics", proc=proc, timeout=60)
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)


def test_local_mode_can_scrape_a_running_exporter(tmp_path, exporter):
    report = local_json(tmp_path, "--exporter", f"http://{exporter}", "--duration", "3s")
    assert report["source"]["local"]["sampler"] == f"exporter http://{exporter}/api/metrics"
    by_id = rules(report)
    assert by_id["host-memory-pressure"]["evaluated"], by_id["host-memory-pressure"]["reason"]
    assert by_id["process-group-gone"]["evaluated"], by_id["process-group-gone"]["reason"]
    db = tmp_path / "x.db"
    local_json(tmp_path, "--exporter", f"http://{exporter}", "--duration", "1s", "--store", str(db))
    instances = {json.loads(lb).get("instance") for (lb,) in sqlite3.connect(db).execute("SELECT labels FROM series")}
    assert instances == {exporter}


def test_windows_follow_the_history_and_never_override_explicit_values():
    host = next(p for p in load_builtin() if p.name == "host")
    minute = local_values(host, {}, History(span=60, interval=1))
    assert minute["lookback"] == "1m" and minute["step"] == "1s"
    assert minute["rate_window"] == "15s"            # a quarter of the history, ≥ 4 samples
    assert "for_short" not in minute and "for_long" not in minute   # `for` is kept: young conditions are pending
    assert "fs_fill_horizon" not in minute           # a projection horizon is not a window
    assert local_values(host, {"rate_window": "1m"}, History(60, 1)).get("rate_window") is None
    week = local_values(host, {}, History(span=7 * 86400, interval=1))
    assert week == {}                                 # enough history: the pack's own values


def test_an_old_run_in_the_store_does_not_stretch_the_windows(tmp_path):
    """History with a gap: the old run counts as history, and current-state rules still judge."""
    import time
    db = tmp_path / "gap.db"
    old = int((time.time() - 4 * 3600) * 1000)
    with SampleStore(db) as s:
        s.append([Batch(old + k * 1000, (({"__name__": "up", "job": "old", "instance": "x"}, 1.0),)) for k in range(3)])
    report = local_json(tmp_path, "--duration", "3s", "--store", str(db))
    local = report["source"]["local"]
    assert parse_duration(local["history"]) >= 4 * 3600 and local["recent_history"] == "3s"
    assert "for_short" not in local["adapted_parameters"].get("host", {})   # never shortened: pending instead
    by_id = rules(report)
    assert by_id["host-memory-pressure"]["evaluated"], by_id["host-memory-pressure"]["reason"]
    # CPU saturation needs only seconds of history (its window is the hour the store spans, one sample a minute)
    assert by_id["host-cpu-saturation"]["evaluated"], by_id["host-cpu-saturation"]["reason"]
    assert by_id["host-cpu-steal"]["reason"].startswith("not enough history: needs ≥ 15m")


def test_a_series_that_vanishes_from_a_scrape_goes_stale_at_once_also_through_the_store(tmp_path):
    import math
    from perfadvisor.advisor.local.runner import with_staleness
    from perfadvisor.advisor.promql.storage import Storage, is_stale
    from perfadvisor.advisor.sources.embedded import EmbeddedSource
    a, b = {"__name__": "up", "instance": "a"}, {"__name__": "up", "instance": "b"}
    seen: dict = {}
    batches = [with_staleness(Batch(t * 1000, samples), seen) for t, samples in
               [(0, ((a, 1.0), (b, float("nan")))), (1, ((a, 1.0), (b, 1.0))), (2, ((a, 1.0),))]]
    with SampleStore(tmp_path / "s.db") as s:
        s.append(batches)
        stored = {lb["instance"]: vals for lb, _, vals in s.series()}
    assert math.isnan(stored["b"][0]) and not is_stale([stored["b"][0]])[0]
    assert is_stale([stored["b"][2]])[0]
    storage = Storage()
    for lb, ts, vals in SampleStore(tmp_path / "s.db").series():
        storage.add_many(lb, ts, vals)
    src = EmbeddedSource(storage)
    assert [x.labels["instance"] for x in src.instant("up", 2.0).series] == ["a"]
    assert sorted(x.labels["instance"] for x in src.instant("up", 1.0).series) == ["a", "b"]


def test_store_thins_samples_older_than_an_hour_to_one_per_minute(tmp_path):
    up = {"__name__": "up", "instance": "a"}
    with SampleStore(tmp_path / "s.db") as s:
        s.append([Batch(t * 1000, ((up, float(t)),)) for t in range(0, 180)])         # 3 min at 1 s
        s.append([Batch(2 * 3600_000, ((up, 1.0),))])                                 # two hours later
        (labels, ts, vals), = s.series()
    assert ts == [59_000, 119_000, 179_000, 2 * 3600_000]      # the last sample of each old minute
    assert vals[:3] == [59.0, 119.0, 179.0]


@pytest.mark.parametrize("pack_file", sorted((REPO / "rules").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_pack_fits_a_one_minute_local_run(pack_file):
    """For every pack (new ones too): after local adaptation to 60 s of history, the range selectors of the rules
    that can run fit in that minute, so instant rules give verdicts on a first run; `for` windows stay the pack's
    own (a condition younger than its `for` is reported pending, never fired early)."""
    import re
    from perfadvisor.advisor.local.adapt import adapt_rules
    from perfadvisor.advisor.packs import load_pack
    pack = load_pack(pack_file)
    own = {rr.rule.id: rr.for_seconds for rr in pack.resolved()}
    rules, _ = adapt_rules([pack], {}, pack.resolved(), History(span=60, interval=1))
    for rr in rules:
        too_long = rr.min_history and rr.rule.evaluate.mode != "instant" and rr.min_history > 60
        if too_long:
            continue   # reported as "needs ≥ …", not run on a minute
        assert rr.for_seconds == own[rr.rule.id], (rr.rule.id, rr.for_seconds)
        assert (rr.lookback or 0) <= 60, (rr.rule.id, rr.lookback)
        for window in re.findall(r"\[((?:\d+(?:ms|[smhdwy]))+)(?::[0-9a-z]*)?\]", rr.query):
            assert parse_duration(window) <= 60, (rr.rule.id, window)


@pytest.mark.parametrize("ext", ["html", "md"])
def test_local_reports_render_in_every_format(tmp_path, ext):
    out = tmp_path / f"report.{ext}"
    r = advisor("run", "--duration", "1s", "-o", str(out))
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert "embedded" in text and "not enough history: needs ≥ 15s" in text


def test_ctrl_c_during_sampling_keeps_what_was_sampled(capsys):
    from perfadvisor.advisor.local.options import LocalOptions
    from perfadvisor.advisor.local.runner import sample

    class Interrupted:   # the real sampler, interrupted by the user at the third sample
        def __init__(self):
            self.real, self.calls = _small_sampler(), 0

        def sample(self):
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return self.real.sample()

    got: list = []
    sampler = Interrupted()
    try:
        assert sample(sampler, LocalOptions(interval=0.2, duration=5), got.append) == 2
    finally:
        sampler.real.close()
    assert len(got) == 2 and got[1].ts_ms > got[0].ts_ms
    assert "advisor: sampling stopped after 2 sample(s); evaluating them" in capsys.readouterr().err


def _small_sampler():
    from perfadvisor.advisor.local.sampler import InProcessSampler
    return InProcessSampler(("meminfo", "loadavg"))


def test_an_explicit_short_window_runs_on_little_history_with_low_confidence(tmp_path):
    """--set wins over local mode, and a rule run on less than its preferred history says so."""
    report = local_json(tmp_path, "--duration", "4s", "--set", "process.lookback=3s",
                        "--set", "process.cpu_hog_cores=-1")
    assert "lookback" not in report["source"]["local"]["adapted_parameters"]["process"]
    hogs = [f for f in report["findings"] if f["rule_id"] == "process-cpu-hog"]
    assert hogs, rules(report)["process-cpu-hog"]
    for f in hogs:
        assert f["confidence"]["level"] == "low"
        assert f["confidence"]["preferred_history_met"] is False
        assert f["confidence"]["history_seconds"] <= 4


def test_local_mode_plans_the_run_once(monkeypatch):
    from perfadvisor.advisor import run as R
    calls = []
    real = R.plan
    monkeypatch.setattr(R, "plan", lambda cfg: calls.append(cfg) or real(cfg))
    r = advisor("run", "--duration", "0s", "--rule", "host-cpu-*")
    assert r.exit_code == 0, r.output
    assert len(calls) == 1


def test_plans_for_alternating_scopes_are_each_kept(monkeypatch):
    """serve's per-pack runs alternate between scopes: each scope's plan is loaded once, not on every switch."""
    from dataclasses import replace

    from perfadvisor.advisor import config as C
    from perfadvisor.advisor import run as R
    loads = []
    real = R._plan
    monkeypatch.setattr(R, "_plan", lambda cfg: loads.append(cfg.rule_patterns) or real(cfg))
    monkeypatch.setattr(R, "_PLANS", {})
    base = C.build(env={})
    host, proc = replace(base, rule_patterns=("host-*",)), replace(base, rule_patterns=("process-*",))
    for _ in range(3):
        assert {rr.rule.id.split("-")[0] for rr in R.plan(host)[2]} == {"host"}
        assert {rr.rule.id.split("-")[0] for rr in R.plan(proc)[2]} == {"process"}
    assert loads == [("host-*",), ("process-*",)]
