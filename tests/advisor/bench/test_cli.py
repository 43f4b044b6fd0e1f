"""The bench command as a user meets it: thresholds and exit codes, caps, scenario files (good and bad), the
result file's JSON round trip and schema, the HTML report."""
from __future__ import annotations

import json

import jsonschema
import pytest

from perfadvisor.advisor.bench.result import SCHEMA, BenchResult
from tests.support.procs import closed_port

from .conftest import advisor


def test_thresholds_are_all_reported_and_a_failed_one_exits_4(nginx):
    url = f"http://{nginx.address}/index.html?run=thresholds"
    r = advisor("bench", "--rate", "200", "--duration", "1s", "--threshold", "error_rate<1%",
                "--threshold", "p99<1us", "--threshold", "rps>=150", url)
    assert r.exit_code == 4
    lines = r.stdout.splitlines()
    assert any(l.split()[:2] == ["ok", "error_rate<1%"] for l in lines)
    assert any(l.split()[:2] == ["FAIL", "p99<1us"] for l in lines)
    assert any(l.split()[:2] == ["ok", "rps>=150"] and "measured 200" in l for l in lines)
    assert "advisor: threshold failed: p99<1us (measured " in r.stderr


def test_passing_thresholds_exit_0(nginx):
    r = advisor("bench", "--rate", "100", "--duration", "1s", "--threshold", "p99<5s", "--threshold", "errors<=0",
                f"http://{nginx.address}/index.html?run=pass")
    assert r.exit_code == 0, r.stderr
    assert "ok    p99<5s" in r.stdout


def test_unreachable_target_exits_3():
    with closed_port() as port:
        r = advisor("bench", "--rate", "50", "--duration", "1s", "--timeout", "1s", f"http://127.0.0.1:{port}/")
    assert r.exit_code == 3
    assert r.stderr.splitlines()[-1].startswith("advisor: error: no answer from the target (connect ")


@pytest.mark.parametrize("args, message", [
    (["--rate", "1000000"], "--rate 1e+06/s is outside 0 < rate <= 100000/s (the tool's cap)"),
    (["--rate", "10", "--duration", "2h"], "duration 7200s is outside 0 < duration <= 3600s (the tool's cap)"),
    (["--connections", "20000"], "--connections 20000 is outside 1..10000 (the tool's cap)"),
    (["--threshold", "p99 < fast"], "threshold 'p99 < fast': expected METRIC OP VALUE"),
    (["--threshold", "p42<1s"], "threshold 'p42<1s': unknown metric 'p42'"),
    (["--stages", "30s"], "--stages '30s': expected DURATION:RATE"),
])
def test_refusals_are_one_line_and_exit_2(args, message):
    r = advisor("bench", *args, "http://127.0.0.1:9/")
    assert r.exit_code == 2
    assert r.stderr.startswith(f"advisor: error: {message}") and "Traceback" not in r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_no_target_is_implied():
    r = advisor("bench", "--rate", "10")
    assert r.exit_code == 2 and "no target" in r.stderr


BAD_SCENARIOS = [
    ("targets:\n  - url: http://127.0.0.1:9/\n    colour: red\n", 3, "targets[0].colour: unknown field (known: body, body_file, headers, method, name, url, weight)"),
    ("targets:\n  - url: ftp://127.0.0.1/x\n", 2, "targets[0].url: 'ftp://127.0.0.1/x' is not an http:// or https:// URL"),
    ("targets:\n  - url: http://127.0.0.1:9/\nrate: 10\nduration: 5 minutes\n", 4, "duration: not a Prometheus duration"),
    ("targets:\n  - url: http://127.0.0.1:9/\n    weight: -1\n", 3, "targets[0].weight: -1 is less than or equal to"),
    ("targets:\n  - url: http://127.0.0.1:9/\n   method: GET\n", 3, "invalid YAML"),
    ("targets: []\n", 1, "targets: [] should be non-empty"),
]


@pytest.mark.parametrize("text, line, message", BAD_SCENARIOS)
def test_bad_scenario_names_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    r = advisor("bench", "--scenario", str(path), "--rate", "10")
    assert r.exit_code == 2
    assert r.stderr.startswith(f"advisor: error: {path}:{line}: ")
    assert message in r.stderr and "Traceback" not in r.stderr


def test_scenario_weights_split_the_load(nginx, tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(f"""\
targets:
  - name: home
    url: http://{nginx.address}/index.html?run=home
    weight: 3
  - name: status
    url: http://{nginx.address}/status
    headers: {{X-Bench: "yes"}}
rate: 400
duration: 1s
thresholds: ["error_rate<0.01"]
""")
    r = advisor("bench", "--scenario", str(path), "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    counts = {t["label"]: t["requests"] for t in doc["targets"]}
    assert counts["home"] + counts["status"] == 400
    assert 2.5 < counts["home"] / counts["status"] < 3.5
    assert [t["expr"] for t in doc["thresholds"]] == ["error_rate<0.01"]


def test_result_round_trips_through_json_and_matches_its_schema(nginx, tmp_path):
    out = tmp_path / "result.json"
    r = advisor("bench", "--rate", "300", "--duration", "2s", "-o", str(out), "--format", "markdown",
                f"http://{nginx.address}/index.html?run=roundtrip")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("# Bench result")
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, SCHEMA)
    again = BenchResult.from_dict(json.loads(json.dumps(doc))).to_dict()
    assert again == doc
    assert doc["summary"]["requests"] == 600 and len(doc["intervals"]) == 2


def test_a_file_that_is_not_a_result_is_refused(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"schema": "something else"}')
    r = advisor("compare", str(bad), str(bad))
    assert r.exit_code == 2
    assert r.stderr.startswith(f"advisor: error: {bad}: not a bench result")


def test_html_report_is_self_contained_and_escapes_names(nginx, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f'targets:\n  - name: "<script>alert(1)</script>"\n    url: http://{nginx.address}/index.html?run=html\n')
    r = advisor("bench", "--scenario", str(path), "--rate", "100", "--duration", "2s", "--format", "html")
    assert r.exit_code == 0, r.stderr
    page = r.stdout
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<svg") == 3 and "latency by percentile" in page
    assert "http://" not in page.replace(f"http://{nginx.address}", "").replace("http://www.w3.org/2000/svg", "")
