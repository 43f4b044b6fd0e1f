"""End to end: a real Prometheus scrapes our exporter while a child leaks memory; `advisor serve` opens the
leak finding and shows it in the JSON API, /metrics (scraped back by the same Prometheus), SSE, WebSocket and
the dashboard in headless Chromium; the leak stops, the finding resolves, and a restart keeps the history."""
from __future__ import annotations

import contextlib
import html
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.advisor.conftest import SHORT, advisor
from tests.support.exporter import exporter_binary, start_exporter
from tests.support.leak import leak_group, leaking_process
from tests.support.procs import free_port
from tests.support.prometheus import PrometheusServer, start_prometheus

from .launcher import Served, SSEReader, WSReader, of_type, serving

pytestmark = pytest.mark.slow

GROUP = leak_group("s")
RULE = "process-memory-leak"
ARGS = ["--interval", "2s", "--rule", "process-*", *SHORT, "--set", "process.lookback=20s",
        "--set", "process.step=1s"]


@dataclass
class Stage:
    tmp: Path
    prometheus: PrometheusServer
    serve: Served
    port: int
    store: Path
    sse: SSEReader
    ws: WSReader
    leak: subprocess.Popen
    opened: dict


def _mine(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["rule_id"] == RULE and f["target"].get("groupname") == GROUP]


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-e2e")
    port = free_port()
    store = tmp / "advisor.db"
    with contextlib.ExitStack() as stack:
        exp = stack.enter_context(start_exporter(tmp / "exporter", exporter_binary(),
                                                 "--collector.processes.top-n=1000", "--no-collector.textfile",
                                                 "--log.level=warn", metrics_path="/api/metrics"))
        prom = stack.enter_context(start_prometheus(
            tmp / "prometheus", {"perfadvisor": [exp.address]}, metrics_path="/api/metrics",
            extra_scrape_configs=[{"job_name": "advisor", "metrics_path": "/metrics",
                                   "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]))
        served = stack.enter_context(serving(tmp, "--prometheus", prom.url, "--storage.path", str(store), *ARGS,
                                             port=port))
        # Subscribe before the leak starts, so the opening is seen live.
        sse = SSEReader(served.url)
        stack.callback(sse.close)
        ws = WSReader(served.url)
        stack.callback(ws.close)
        leak = stack.enter_context(leaking_process(GROUP))
        found = served.wait(lambda: _mine(served.json("/api/performance/optimize?category=alert")["findings"]),
                            timeout=90, what=f"the leak finding for {GROUP}", step=1.0)
        yield Stage(tmp, prom, served, port, store, sse, ws, leak, found[0])


def test_the_leak_opens_and_shows_in_the_api_metrics_sse_and_websocket(stage):
    f = stage.opened
    assert f'Resident memory of process group "{GROUP}"' in f["recommendation"]
    assert 1.0e6 < f["projection"]["slope"] < 3.5e6 and f["first_seen"] is not None
    assert "series" not in f and "evidence" not in f   # the list answer is compact; detail=full has the chart data
    full = _mine(stage.serve.json("/api/performance/optimize?category=alert&detail=full")["findings"])
    assert len(full[0]["series"]) >= 10 and full[0]["evidence"][0]["title"].startswith("Process count")
    leaks = stage.serve.json("/api/performance/memory/leaks")["leaks"]
    mine = [x for x in leaks if x["target"].get("groupname") == GROUP]
    assert mine and mine[0]["resource"] == "resident memory" and mine[0]["growth_per_hour"] > 3.6e9
    assert mine[0]["time_to_exhaustion_seconds"] > 0
    filtered = stage.serve.json(f'/api/performance/optimize?target=groupname%3D%22{GROUP}%22')
    assert {x["rule_id"] for x in filtered["findings"]} >= {RULE}
    assert all(x["target"].get("groupname") == GROUP for x in filtered["findings"])

    metrics = stage.serve.get("/metrics").text
    assert any(line.startswith("perfadvisor_advisor_finding_info{") and f"groupname={GROUP}" in line
               and f'rule="{RULE}"' in line for line in metrics.splitlines())
    assert f'perfadvisor_advisor_finding_value{{rule="{RULE}",severity="warning",category="alert",' \
           f'dimension="process",instance="{f["target"]["instance"]}",groupname="{GROUP}"}}' in metrics
    assert "perfadvisor_advisor_serve_source_up 1.0" in metrics
    # Prometheus scrapes it under the same names the textfile output uses.
    stage.prometheus.wait_for_series(f'perfadvisor_advisor_finding_value{{groupname="{GROUP}"}}', timeout=30)
    stage.prometheus.wait_for_series('perfadvisor_advisor_score{dimension="overall"}', timeout=30)

    def opened(events):
        return [e for e in of_type(events, "finding_opened")
                if e["data"]["rule_id"] == RULE and e["data"]["target"].get("groupname") == GROUP]
    assert stage.serve.wait(lambda: opened(stage.sse.events), timeout=10, what="the SSE finding_opened event")
    assert stage.serve.wait(lambda: opened(stage.ws.events), timeout=10, what="the WebSocket finding_opened event")
    assert of_type(stage.sse.events, "run_finished") and of_type(stage.ws.events, "run_finished")


def test_the_dashboard_in_chromium_shows_the_finding_score_and_chart(stage):
    from tests.advisor.reports.test_html_browser import _chromium, _run
    browser = _chromium()
    dom = _run(browser, "--dump-dom", stage.serve.url + "/")
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = html.unescape(dom.stdout)
    assert f'Resident memory of process group "{GROUP}"' in page
    assert f"groupname={GROUP}" in page
    assert 'id="score-overall"' in page and '<svg class="chart"' in page
    assert f'aria-label="{RULE} — instance=' in page
    shot = stage.tmp / "dashboard.png"
    r = _run(browser, f"--screenshot={shot}", "--window-size=1200,2400", "--hide-scrollbars", stage.serve.url + "/")
    assert r.returncode == 0, r.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"dashboard screenshot: {shot}")


def test_the_leak_resolves_and_a_restart_keeps_the_history(stage):
    fp = stage.opened["fingerprint"]
    stage.leak.terminate()
    stage.leak.wait(10)

    def resolved(events):
        return [e for e in of_type(events, "finding_resolved") if e["data"]["fingerprint"] == fp]
    stage.serve.wait(lambda: resolved(stage.sse.events), timeout=90, what="the leak resolving", step=1.0)
    assert stage.serve.wait(lambda: resolved(stage.ws.events), timeout=10, what="the WebSocket finding_resolved")
    assert not _mine(stage.serve.json("/api/performance/optimize")["findings"])
    runs = stage.serve.json("/api/performance/runs?limit=1000")["runs"]
    assert stage.serve.stop() == 0          # SIGTERM: a clean exit

    r = advisor("history", "--storage.path", str(stage.store), "--limit", "1000", "--format", "json")
    assert r.exit_code == 0, r.output
    assert {x["id"] for x in runs} <= {x["id"] for x in json.loads(r.stdout)["runs"]}   # and a few after
    with serving(stage.tmp, "--prometheus", stage.prometheus.url, "--storage.path", str(stage.store),
                 *ARGS) as again:
        newer = again.wait(lambda: [x for x in again.json("/api/performance/runs")["runs"]
                                    if x["id"] > runs[0]["id"]], what="a run after the restart")
        assert newer and again.json(f"/api/performance/runs/{runs[-1]['id']}")["id"] == runs[-1]["id"]
        analytics = again.json("/api/performance/analytics")
        assert analytics["last_24h"]["resolved"] >= 1 and analytics["time_to_resolve_seconds"]["count"] >= 1
        opened_in = [e["data"]["run_id"] for e in of_type(stage.sse.events, "finding_opened")
                     if e["data"]["fingerprint"] == fp][0]
        diff = again.json(f"/api/performance/runs/{opened_in}/diff/{newer[0]['id']}")
        assert fp in [x["fingerprint"] for x in diff["resolved"]]
        assert fp not in [x["fingerprint"] for x in diff["new"] + diff["changed"]]
