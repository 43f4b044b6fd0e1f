"""End to end: our exporter → Prometheus with the generated rules → Alertmanager with alerting/alertmanager.yml →
a webhook. A lowered threshold makes HostMemoryPressure fire on this machine; restoring it resolves the alert."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner

from perfadvisor.advisor.cli import cli
from tests.support.procs import free_port, stop, wait_http
from tests.support.prometheus import start_prometheus

from .support import fast, start_alertmanager, start_webhook

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
EXPORTER = REPO / ".venv" / "bin" / "perfadvisor-exporter"
# Every host has more than 0% and less than 101% of its memory available; `for` shrinks to fit a test.
FIRE = ["--set", "host.mem_available_low=1.01", "--set", "host.for_short=2s"]
QUIET = ["--set", "host.for_short=2s"]


def generate(out: Path, *sets: str) -> Path:
    r = CliRunner().invoke(cli, ["alerts", "generate", "--no-builtin", "--pack", str(REPO / "rules" / "host.yaml"),
                                 "--out", str(out), *sets], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out / "host.rules.yaml"


def test_alert_fires_reaches_the_webhook_and_resolves(tmp_path):
    rules = generate(tmp_path / "rules", *FIRE)
    hook = start_webhook()
    am = start_alertmanager(tmp_path / "am", fast(yaml.safe_load((REPO / "alerting" / "alertmanager.yml").read_text()),
                                                  hook.url))
    port = free_port()
    exporter = subprocess.Popen([str(EXPORTER), f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    prom = None
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics", proc=exporter)
        prom = start_prometheus(tmp_path / "prom", {"node": [f"127.0.0.1:{port}"]}, metrics_path="/metrics",
                                rule_files=[str(rules)], alertmanager=am.url.removeprefix("http://"))

        def ours(alerts, status):
            return [a for a in alerts if a["labels"].get("alertname") == "HostMemoryPressure"
                    and a["notification_status"] == status]

        got = ours(hook.wait_for(lambda alerts: ours(alerts, "firing"), timeout=60), "firing")
        a = got[0]
        assert {k: a["labels"][k] for k in ("severity", "category", "dimension", "rule", "alertgroup", "pack",
                                            "instance", "job")} == {
            "severity": "critical", "category": "alert", "dimension": "memory", "rule": "host-memory-pressure",
            "alertgroup": "host-memory-pressure", "pack": "host", "instance": f"127.0.0.1:{port}", "job": "node"}
        assert a["annotations"]["summary"].startswith("Only ")
        assert a["annotations"]["summary"].endswith(f"% of memory available on 127.0.0.1:{port}.")
        assert a["annotations"]["runbook_url"] == "README.md#host-memory-pressure"
        assert "{{" not in a["annotations"]["description"]
        assert [x for x in hook.received if x[0] == "/pager"], "critical alerts page"

        # Back to the default threshold: Prometheus reloads the rules and the alert resolves.
        generate(tmp_path / "rules", *QUIET)
        requests.post(f"{prom.url}/-/reload", timeout=10).raise_for_status()
        hook.wait_for(lambda alerts: ours(alerts, "resolved"), timeout=60)
    finally:
        if prom is not None:
            prom.stop()
        stop(exporter)
        stop(am.proc)
        hook.server.shutdown()
