"""End to end: our exporter → Prometheus with the generated rules → Alertmanager with alerting/alertmanager.yml →
a webhook. The exporter's memory figures come from a textfile (meminfo collector off), so the test sets memory
pressure, sees HostMemoryPressure (default threshold) arrive with its labels and annotations, and lifts it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from perfadvisor.advisor.cli import cli
from tests.support.alertmanager import fast, start_alertmanager, start_webhook
from tests.support.exporter import exporter_binary, scraped_exporter

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
# The default threshold (10% available) with `for` shrunk to fit a test.
SETS = ["--set", "host.for_short=2s"]


def set_memory(textfile_dir: Path, total: float, available: float) -> None:
    """What meminfo would report, through the textfile collector (renamed into place: never read half-written)."""
    tmp = textfile_dir / "meminfo.prom.tmp"
    tmp.write_text(f"node_memory_MemTotal_bytes {total:.0f}\nnode_memory_MemAvailable_bytes {available:.0f}\n")
    os.replace(tmp, textfile_dir / "meminfo.prom")


def generate(out: Path, *sets: str) -> Path:
    r = CliRunner().invoke(cli, ["alerts", "generate", "--no-builtin", "--pack", str(REPO / "rules" / "host.yaml"),
                                 "--out", str(out), *sets], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out / "host.rules.yaml"


def test_alert_fires_reaches_the_webhook_and_resolves(tmp_path):
    rules = generate(tmp_path / "rules", *SETS)
    textfile_dir = tmp_path / "textfile"
    textfile_dir.mkdir()
    set_memory(textfile_dir, 8e9, 0.4e9)  # 5% available
    am_config = yaml.safe_load((REPO / "alerting" / "alertmanager.yml").read_text())
    with start_webhook() as hook, start_alertmanager(tmp_path / "am", fast(am_config, hook.url)) as am, \
            scraped_exporter(tmp_path / "scrape", exporter_binary(), "--log.level=warn", "--no-collector.meminfo",
                             f"--collector.textfile.directory={textfile_dir}", job="node",
                             rule_files=[str(rules)], alertmanager=am.url.removeprefix("http://")) as scraped:
        instance = scraped.exporter.address

        def ours(alerts, status):
            return [a for a in alerts if a["labels"].get("alertname") == "HostMemoryPressure"
                    and a["notification_status"] == status]

        got = ours(hook.wait_for(lambda alerts: ours(alerts, "firing"), timeout=60), "firing")
        a = got[0]
        assert {k: a["labels"][k] for k in ("severity", "category", "dimension", "rule", "alertgroup", "pack",
                                            "instance", "job")} == {
            "severity": "critical", "category": "alert", "dimension": "memory", "rule": "host-memory-pressure",
            "alertgroup": "host-memory-pressure", "pack": "host", "instance": instance, "job": "node"}
        assert a["annotations"]["summary"] == f"Only 5% of memory available on {instance}."
        assert a["annotations"]["runbook_url"] == "docs/rules.md#host-memory-pressure"
        assert "{{" not in a["annotations"]["description"]
        assert [x for x in hook.received if x[0] == "/pager"], "critical alerts page"

        # Memory is freed: the alert resolves and the pager hears so.
        set_memory(textfile_dir, 8e9, 4e9)
        hook.wait_for(lambda alerts: ours(alerts, "resolved"), timeout=60)
        assert ours(hook.alerts("/pager"), "resolved")
