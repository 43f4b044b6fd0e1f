"""alerting/alertmanager.yml: amtool accepts it, routes by severity and category, and a real Alertmanager
delivers to the webhook with warnings inhibited while the critical alert of the same family and target fires."""
from __future__ import annotations

import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from tests.support.alertmanager import fast, start_alertmanager, start_webhook
from tests.support.procs import need_binary

CONFIG = Path(__file__).resolve().parents[2] / "alerting" / "alertmanager.yml"


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([need_binary("amtool"), *args], capture_output=True, text=True)


def test_amtool_check_config_is_clean():
    r = amtool("check-config", str(CONFIG))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


@pytest.mark.parametrize("labels, receiver", [
    (["severity=critical", "category=alert"], "pager"),
    (["severity=critical", "category=scaling"], "pager"),
    (["severity=warning", "category=alert"], "team"),
    (["severity=warning", "category=scaling"], "tickets"),
    (["severity=info", "category=optimization"], "tickets"),
    (["severity=info", "category=alert"], "null"),
    (["alertname=Unlabelled"], "team"),
])
def test_routing(labels, receiver):
    r = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == receiver


def _alert(name: str, severity: str, instance: str, *, ends: datetime | None = None) -> dict:
    now = datetime.now(timezone.utc)
    a = {"labels": {"alertname": name, "severity": severity, "category": "alert", "dimension": "memory",
                    "rule": f"host-memory-pressure-{severity}", "alertgroup": "host-memory-pressure", "instance": instance, "job": "node"},
         "annotations": {"summary": f"{severity} memory pressure on {instance}"},
         "startsAt": (now - timedelta(minutes=1)).isoformat()}
    a["endsAt"] = (ends or now + timedelta(hours=1)).isoformat()
    return a


@pytest.mark.slow
def test_critical_pages_and_inhibits_the_warning_of_the_same_family_and_target(tmp_path):
    with start_webhook() as hook, \
            start_alertmanager(tmp_path, fast(yaml.safe_load(CONFIG.read_text()), hook.url)) as am:
        crit = _alert("MemoryPressureCritical", "critical", "web-1:3018")
        warn = _alert("MemoryPressureWarning", "warning", "web-1:3018")
        other = _alert("MemoryPressureWarning", "warning", "web-2:3018")
        # The critical is known first, as it would be in life: Alertmanager's inhibitor learns of alerts
        # asynchronously, so a warning posted in the same request could be grouped before it sees the critical.
        am.post(crit)
        deadline = time.monotonic() + 30
        while not any(a["labels"]["alertname"] == "MemoryPressureCritical" for a in am.alerts()):
            assert time.monotonic() < deadline, "Alertmanager never listed the critical alert"
            time.sleep(0.1)
        am.post(warn, other)
        hook.wait_for(lambda got: {a["labels"]["instance"] for a in got} >= {"web-1:3018", "web-2:3018"})

        paged = hook.alerts("/pager")
        assert [(a["labels"]["alertname"], a["labels"]["instance"]) for a in paged] == \
            [("MemoryPressureCritical", "web-1:3018")]
        assert paged[0]["annotations"]["summary"] == "critical memory pressure on web-1:3018"
        team = hook.alerts("/team")
        assert {(a["labels"]["alertname"], a["labels"]["instance"]) for a in team} == \
            {("MemoryPressureWarning", "web-2:3018")}, "the warning on web-1 should be inhibited"
        states = {(a["labels"]["alertname"], a["labels"]["instance"]): a["status"] for a in am.alerts()}
        assert states[("MemoryPressureWarning", "web-1:3018")]["inhibitedBy"]
        assert not states[("MemoryPressureWarning", "web-2:3018")]["inhibitedBy"]

        # The critical alert resolves: the pager hears so, and the warning it was hiding is delivered.
        am.post(_alert("MemoryPressureCritical", "critical", "web-1:3018", ends=datetime.now(timezone.utc)))
        hook.wait_for(lambda got: any(a["notification_status"] == "resolved" for a in got)
                      and any(a["labels"]["instance"] == "web-1:3018" and a["labels"]["severity"] == "warning"
                              for a in got))
        assert [a["status"] for a in hook.alerts("/pager")][-1] == "resolved"
