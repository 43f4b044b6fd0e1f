"""`advisor serve`'s settings from the config file's `serve:` section, PERFADVISOR_SERVE_* variables and flags:
errors name FILE:LINE (exit 2), precedence is flag > variable > file > default, and per-pack intervals show in
the history the API serves."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.procs import free_port, stop, wait_http

from .launcher import advisor_binary, serving


def _run(tmp: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PERFADVISOR_")}
    return subprocess.run([advisor_binary(), "serve", "--storage.path", str(tmp / "never.db"), *args],
                          capture_output=True, text=True, timeout=60, env={**clean, **(env or {})}, cwd=tmp)


@pytest.mark.parametrize("text, expected", [
    ("concurrency: 2\nserve:\n  web:\n    max_body: 10\n",
     "cfg.yml:4: serve.web.max_body: 10 is less than the minimum of 256"),
    ("serve:\n  web:\n    listen_adress: ':3019'\n", "cfg.yml:3: serve.web.listen_adress: unknown field"),
    ("serve:\n  interval: 5x\n",
     "cfg.yml:2: serve.interval: not a Prometheus duration (like 30s, 5m, 1h30m): '5x'"),
    ("serve:\n  interval: 300\n", "cfg.yml:2: serve.interval: 300 is not of type 'string'"),
    ("serve:\n  web: {cors_origins: ['grafana.example']}\n",
     "cfg.yml:2: serve.web.cors_origins[0]: 'grafana.example' does not match"),
    ("serve:\n  log: {level: loud}\n", "cfg.yml:2: serve.log.level: 'loud' is not one of"),
    ("serve:\n  intervals:\n    host: 1m\n    databse: 15m\n",
     "cfg.yml:4: serve.intervals.databse: unknown pack 'databse' (loaded: host, "),
    ("serve:\n  web: {listen_address: 'nowhere'}\n",
     "cfg.yml:2: serve.web.listen_address: 'nowhere': expected HOST:PORT or :PORT"),
])
def test_a_bad_serve_section_is_one_line_naming_file_line_and_field(tmp_path, text, expected):
    (tmp_path / "cfg.yml").write_text(text)
    r = _run(tmp_path, "--config", "cfg.yml")
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]          # one line, no traceback
    assert f"advisor: error: {expected}" in r.stderr
    assert not (tmp_path / "never.db").exists()


def test_flag_and_variable_errors_name_the_flag_or_variable(tmp_path):
    r = _run(tmp_path, env={"PERFADVISOR_SERVE_INTERVAL": "0"})
    assert r.returncode == 2 and "PERFADVISOR_SERVE_INTERVAL: must be longer than 0s, got '0'" in r.stderr
    r = _run(tmp_path, "--web.max-body", "100")
    assert r.returncode == 2 and "--web.max-body: 100 is less than the minimum of 256" in r.stderr
    r = _run(tmp_path, "--interval.pack", "host")
    assert r.returncode == 2 and "--interval.pack: 'host': expected PACK=DURATION" in r.stderr
    r = _run(tmp_path, "--interval.pack", "nosuch=1m")
    assert r.returncode == 2 and "--interval.pack nosuch: unknown pack 'nosuch'" in r.stderr


def test_precedence_flag_over_variable_over_file_over_default(tmp_path):
    file_port, flag_port = free_port(), free_port()
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "advisor.yml").write_text(
        "serve:\n"
        f"  web: {{listen_address: '127.0.0.1:{file_port}', post_burst: 7}}\n"
        "  interval: 7m\n"
        "  sample_interval: 1s\n"
        "  storage: {path: history.db}\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PERFADVISOR_")}
    env = {**clean, "PERFADVISOR_CONFIG": str(conf / "advisor.yml"), "PERFADVISOR_SERVE_INTERVAL": "9m"}
    log = (tmp_path / "a.log").open("wb")
    # File only for the listen address: it listens there; the variable beats the file's interval.
    proc = subprocess.Popen([advisor_binary(), "serve"], stdout=log, stderr=log, env=env, cwd=tmp_path)
    try:
        wait_http(f"http://127.0.0.1:{file_port}/health/live", proc=proc, timeout=60)
        detailed = requests.get(f"http://127.0.0.1:{file_port}/health/detailed", timeout=30).json()
        assert detailed["interval_seconds"] == 540
        assert detailed["local"]["interval_seconds"] == 1
        # storage.path in the file is relative to the file, not to the working directory
        assert (conf / "history.db").exists() and not (tmp_path / "history.db").exists()
    finally:
        stop(proc)
    # The flags beat both.
    with serving(tmp_path, "--interval", "11m", port=flag_port, env={k: v for k, v in env.items()
                                                                      if k.startswith("PERFADVISOR_")}) as s:
        assert s.url.endswith(f":{flag_port}")
        assert s.json("/health/detailed")["interval_seconds"] == 660
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{file_port}/health/live", timeout=5)


def test_per_pack_intervals_show_in_the_history_and_scores_cover_every_pack(tmp_path):
    (tmp_path / "cfg.yml").write_text("serve:\n  interval: 1h\n  intervals: {host: 1s}\n  sample_interval: 500ms\n")
    with serving(tmp_path, "--config", "cfg.yml", "--storage.path", str(tmp_path / "h.db"),
                 "--category", "alert") as s:
        runs = s.wait(lambda: (r := s.json("/api/performance/runs?limit=100")["runs"]) and len(r) >= 3 and r,
                      timeout=60, what="three scheduled runs")
        runs = sorted(runs, key=lambda r: r["id"])
        full, partial = runs[0], runs[1:]
        assert full["scope"] == "all"
        # Only the host pack is due every second; the others wait for their hour.
        assert {r["scope"] for r in partial} == {"packs:host"}
        assert all(r["rules_total"] < full["rules_total"] for r in partial)
        # A partial run's scores are over every pack: the host pack's latest, the others' from the full run.
        assert all(set(r["dimensions"]) == set(full["dimensions"]) for r in partial)
        assert s.json("/api/performance/analytics")["overall"]["now"] is not None
        schedule = s.json("/health/detailed")["schedule"]
        assert schedule["host"]["interval_seconds"] == 1 and schedule["process"]["interval_seconds"] == 3600
        assert schedule["process"]["next_run_at"] > time.time() + 3000
