"""deploy/systemd/: the units pass `systemd-analyze verify` and its offline security check, and their ExecStart
lines, with their environment files, start the real programs (a state directory under tmp stands in for
/var/lib/perfadvisor)."""
from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess

import pytest
import requests

from tests.support.procs import free_port, need_binary, stop, wait_http
from tests.support.prometheus import start_prometheus

from .conftest import BIN, DEPLOY, INSTALLED_BIN, env_file, exec_start, setting, unit

SERVICES = ("perfadvisor-exporter.service", "perfadvisor-advisor.service", "perfadvisor-advisor-run.service")
UNITS = (*SERVICES, "perfadvisor-advisor-run.timer")


@pytest.fixture
def units_here(tmp_path):
    """The units with ExecStart pointing at this venv (verify checks that the command exists)."""
    for name in UNITS:
        text = (DEPLOY / "systemd" / name).read_text().replace(INSTALLED_BIN, f"{BIN}/")
        (tmp_path / name).write_text(text)
    return tmp_path


def test_every_file_in_deploy_systemd_is_a_unit_or_its_environment_file():
    names = sorted(p.name for p in (DEPLOY / "systemd").iterdir())
    envs = sorted(f"{n.removesuffix('.service')}.env" for n in SERVICES)
    assert names == sorted([*UNITS, *envs])
    for name in SERVICES:  # each service reads the environment file shipped for it
        installed = setting(unit(name), "Service", "EnvironmentFile").lstrip("-")
        assert installed == f"/etc/default/{name.removesuffix('.service')}"


def test_systemd_analyze_verify_is_clean(units_here):
    sa = need_binary("systemd-analyze")
    r = subprocess.run([sa, "verify", *(str(units_here / n) for n in UNITS)], capture_output=True, text=True,
                       cwd=units_here)
    assert r.returncode == 0 and r.stderr.strip() == "" and r.stdout.strip() == "", r.stderr + r.stdout


def test_verify_would_catch_a_broken_unit(units_here):
    """The check above can fail: a misspelt directive and a missing program are reported."""
    sa = need_binary("systemd-analyze")
    bad = units_here / "perfadvisor-exporter.service"
    bad.write_text(bad.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict")
                   .replace(f"{BIN}/perfadvisor-exporter", "/nonexistent/perfadvisor-exporter"))
    r = subprocess.run([sa, "verify", str(bad)], capture_output=True, text=True, cwd=units_here)
    assert "Unknown key 'ProtectSystm'" in r.stderr or "Unknown key name 'ProtectSystm'" in r.stderr
    assert "/nonexistent/perfadvisor-exporter is not executable" in r.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_services_are_hardened(units_here, name):
    """systemd's own offline exposure score is low ("OK", below 2.0 of 10), and the basics are set."""
    sa = need_binary("systemd-analyze")
    r = subprocess.run([sa, "security", "--offline=yes", "--threshold=20", str(units_here / name)],
                       capture_output=True, text=True, cwd=units_here)
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", r.stdout)
    assert r.returncode == 0 and level and float(level.group(1)) < 2.0 and level.group(2) == "OK", r.stdout[-800:]
    u = unit(name)
    for key, want in (("DynamicUser", "yes"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict")):
        assert setting(u, "Service", key) == want, key
    assert setting(u, "Service", "ProtectHome") in ("yes", "read-only")


def test_timer_starts_the_run_service_periodically():
    timer = unit("perfadvisor-advisor-run.timer")
    assert setting(timer, "Timer", "Unit") is None  # so it starts perfadvisor-advisor-run.service, shipped beside it
    assert setting(timer, "Timer", "OnUnitActiveSec") and setting(timer, "Install", "WantedBy") == "timers.target"
    assert setting(unit("perfadvisor-advisor-run.service"), "Service", "Type") == "oneshot"


def _env(name: str, state, **override) -> dict[str, str]:
    """The unit's environment file, with /var/lib/perfadvisor moved under tmp, plus what systemd sets."""
    env = {k: v.replace("/var/lib/perfadvisor", str(state)) for k, v in env_file(name).items()}
    return {"PATH": "/usr/bin:/bin", "STATE_DIRECTORY": str(state), **env, **override}


def _sample(text: str, name: str, labels: str = "") -> float:
    m = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, flags=re.M)
    assert m, f"{name}{labels} not in the scrape"
    return float(m.group(1))


@pytest.mark.slow
def test_exporter_and_periodic_run_units_work_together(tmp_path):
    """The exporter unit serves the host; the run unit (what the timer starts) evaluates the packs against a
    Prometheus scraping it and writes its results where the exporter's textfile collector reads them."""
    state = tmp_path / "state"
    (state / "textfile").mkdir(parents=True)
    port = free_port()
    env = _env("perfadvisor-exporter.env", state, PERFADVISOR_WEB_LISTEN_ADDRESS=f"127.0.0.1:{port}")
    argv = exec_start(unit("perfadvisor-exporter.service"), env)
    assert argv[0] == f"{BIN}/perfadvisor-exporter"
    log = (tmp_path / "exporter.log").open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/health/ready", proc=proc, timeout=60)
        with start_prometheus(tmp_path / "prom", {"perfadvisor": [f"127.0.0.1:{port}"]}) as prom:
            prom.wait_for_series('node_load1{job="perfadvisor"}')
            run_env = _env("perfadvisor-advisor-run.env", state, PERFADVISOR_PROMETHEUS_URL=prom.url,
                           ADVISOR_ARGS="--rule host-* --timeout 20s")
            run = subprocess.run(exec_start(unit("perfadvisor-advisor-run.service"), run_env), env=run_env,
                                 capture_output=True, text=True, timeout=300)
            assert run.returncode == 0, run.stderr[-2000:]
        report = json.loads((state / "report.json").read_text())
        assert report["summary"]["rules_evaluated"] + len(report["not_evaluated"]) > 0
        assert all(f["rule_id"].startswith("host-") for f in report["findings"])
        scrape = requests.get(f"http://127.0.0.1:{port}/api/metrics", timeout=10).text
        assert _sample(scrape, "perfadvisor_advisor_rules", '{state="evaluated"}') == report["summary"]["rules_evaluated"]
        assert _sample(scrape, "node_textfile_scrape_error") == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0  # systemctl stop sends SIGTERM
    finally:
        stop(proc)
        log.close()


@pytest.mark.slow
def test_advisor_serve_unit_serves_and_stops_cleanly(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    with start_prometheus(tmp_path / "prom") as prom:
        port = free_port()
        env = _env("perfadvisor-advisor.env", state, PERFADVISOR_PROMETHEUS_URL=prom.url,
                   PERFADVISOR_SERVE_WEB_LISTEN_ADDRESS=f"127.0.0.1:{port}")
        argv = exec_start(unit("perfadvisor-advisor.service"), env)
        assert argv[:2] == [f"{BIN}/advisor", "serve"]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/health/ready", proc=proc, timeout=120)
            assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            stop(proc)
    assert (state / "advisor.db").is_file()  # --storage.path=${STATE_DIRECTORY}/advisor.db


def test_units_name_only_programs_the_package_installs():
    for name in SERVICES:
        prog = exec_start(unit(name), {})[0]
        assert shutil.which(prog), prog
