"""deploy/prometheus/prometheus.yml: `promtool check config` passes with the generated rule files laid out as the
file says, and a real Prometheus started with it scrapes the exporter on /api/metrics, loads every pack's rules
and sends to the configured Alertmanager."""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import requests
import yaml

from tests.support.alertmanager import start_alertmanager
from tests.support.exporter import exporter_binary, start_exporter
from tests.support.procs import free_port, need_binary, stop, wait_http
from tests.support.prometheus import PrometheusServer

from .conftest import DEPLOY, REPO

CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
RULE_FILES = sorted((REPO / "alerting").glob("*.rules.yaml"))


def _layout(tmp, config: dict | None = None):
    """/etc/prometheus as prometheus.yml describes it: the config, and perfadvisor/*.rules.yaml beside it."""
    (tmp / "perfadvisor").mkdir(parents=True)
    for f in RULE_FILES:
        shutil.copy(f, tmp / "perfadvisor" / f.name)
    path = tmp / "prometheus.yml"
    path.write_text(CONFIG.read_text() if config is None else yaml.safe_dump(config))
    return path


def test_deploy_prometheus_holds_only_checked_files():
    assert sorted(p.name for p in (DEPLOY / "prometheus").iterdir()) == ["prometheus.yml"]


def test_promtool_check_config_passes_and_checks_every_rule_file(tmp_path):
    promtool = need_binary("promtool")
    r = subprocess.run([promtool, "check", "config", str(_layout(tmp_path))], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in r.stdout
    for f in RULE_FILES:
        assert f"perfadvisor/{f.name}" in r.stdout


def test_promtool_would_fail_a_broken_copy(tmp_path):
    promtool = need_binary("promtool")
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["scrape_configs"][0]["metric_path"] = cfg["scrape_configs"][0].pop("metrics_path")
    r = subprocess.run([promtool, "check", "config", str(_layout(tmp_path / "a", cfg))], capture_output=True, text=True)
    assert r.returncode != 0 and "field metric_path not found" in r.stdout + r.stderr
    path = _layout(tmp_path / "b")  # the rule files are checked too
    rules = path.parent / "perfadvisor" / RULE_FILES[0].name
    rules.write_text(rules.read_text().replace("expr: ", "expr: sum by (", 1))
    r = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True)
    assert r.returncode != 0 and RULE_FILES[0].name in r.stdout + r.stderr


def _jobs(cfg: dict) -> dict[str, dict]:
    return {j["job_name"]: j for j in cfg["scrape_configs"]}


@pytest.mark.slow
def test_prometheus_runs_with_the_config(tmp_path):
    """Only the addresses change (free loopback ports); jobs, paths, rule files and alerting are the file's."""
    binary = need_binary("prometheus")
    am_config = yaml.safe_load((REPO / "alerting" / "alertmanager.yml").read_text())
    with start_exporter(tmp_path / "exporter", exporter_binary(), "--no-collector.textfile",
                        metrics_path="/api/metrics") as exp, \
            start_alertmanager(tmp_path / "am", am_config) as am:
        cfg = yaml.safe_load(CONFIG.read_text())
        cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
        _jobs(cfg)["perfadvisor"]["static_configs"][0]["targets"] = [exp.address]
        cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [am.url.removeprefix("http://")]
        path = _layout(tmp_path / "etc", cfg)
        port = free_port()
        proc = subprocess.Popen([binary, f"--config.file={path}", f"--storage.tsdb.path={tmp_path / 'data'}",
                                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        prom = PrometheusServer(f"http://127.0.0.1:{port}", proc, path)
        try:
            wait_http(f"{prom.url}/-/ready", proc=proc)
            prom.wait_for_series('up{job="perfadvisor"} == 1')
            targets = requests.get(f"{prom.url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
            (t,) = [t for t in targets if t["labels"]["job"] == "perfadvisor"]
            assert t["scrapeUrl"] == f"http://{exp.address}/api/metrics" and t["health"] == "up"
            assert prom.query('node_load1{job="perfadvisor"}')["result"]
            groups = requests.get(f"{prom.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
            want = sorted(g["name"] for f in RULE_FILES for g in yaml.safe_load(f.read_text())["groups"])
            assert sorted(g["name"] for g in groups) == want
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                ams = requests.get(f"{prom.url}/api/v1/alertmanagers", timeout=10).json()["data"]
                if ams["activeAlertmanagers"]:
                    break
                time.sleep(0.5)
            assert [a["url"] for a in ams["activeAlertmanagers"]] == [f"{am.url}/api/v2/alerts"]
        finally:
            stop(proc)
