"""The perfadvisor-exporter command line: help, version, exit codes, one-line errors, precedence, signals."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from perfadvisor.exporter.cli import build_command, main
from perfadvisor.exporter.registry import all_collectors
from tests.support.procs import free_port, stop, wait_http

from .core_support import make_specs

EXE = str(Path(sys.executable).with_name("perfadvisor-exporter"))


def run(*args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def start(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})})


def test_help_lists_generated_collector_flags():
    result = CliRunner().invoke(build_command(make_specs()), ["--help"], catch_exceptions=False, terminal_width=200)
    assert result.exit_code == 0
    out = result.output
    for flag in ("--collector.static / --no-collector.static", "--collector.static.label",
                 "--collector.static.strict / --no-collector.static.strict", "--collector.static.limit",
                 "--collector.counting.delay", "--collector.disable-defaults", "--web.listen-address",
                 "--web.telemetry-path", "--web.config.file", "--web.max-requests", "--path.procfs", "--path.sysfs",
                 "--path.rootfs", "--config", "--log.level", "--debug", "--version", "-h, --help",
                 "PERFADVISOR_COLLECTOR_STATIC_LABEL", "PERFADVISOR_WEB_LISTEN_ADDRESS"):
        assert flag in out, flag
    assert "enabled-paths" not in out  # lists are set in the config file
    assert "Example:" in out


def test_console_script_help_lists_every_registered_collector():
    result = run("-h")
    assert result.returncode == 0
    for name in all_collectors():
        assert f"--collector.{name} / --no-collector.{name}" in result.stdout.replace("\n", " ") or \
            f"--collector.{name}" in result.stdout


def test_version_both_entry_points():
    assert run("--version").stdout.startswith("perfadvisor-exporter, version ")
    out = subprocess.run([sys.executable, "-m", "perfadvisor.exporter", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("perfadvisor-exporter, version ")


def test_bad_config_file_exits_2_with_one_line(tmp_path):
    cfg = tmp_path / "exporter.yml"
    cfg.write_text("web:\n  listen_address: 127.0.0.1:0\n  max_requests: -1\n")
    result = run("--config", str(cfg))
    assert result.returncode == 2
    assert result.stderr == f"{cfg}:3: web.max_requests: -1 is less than the minimum of 0\n"


def test_unknown_collector_in_config_exits_2_naming_it(tmp_path):
    cfg = tmp_path / "exporter.yml"
    cfg.write_text("collectors:\n  gpu_temperature: true\n")
    result = run("--config", str(cfg))
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"{cfg}:2: collectors.gpu_temperature: unknown collector 'gpu_temperature' (known: ")


def test_unknown_collector_flag_exits_2_listing_known(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--collector.gpu"], specs=make_specs())
    assert e.value.code == 2
    assert capsys.readouterr().err == ("--collector.gpu: unknown collector 'gpu' "
                                       "(known: static, counting, failing, gate, host)\n")
    with pytest.raises(SystemExit) as e:
        main(["--no-collector.static.colour"], specs=make_specs())
    assert e.value.code == 2
    assert "collector 'static' has no setting 'colour' (settings: label, enabled-paths, strict, limit)" in \
        capsys.readouterr().err


def test_bad_flag_value_exits_2_with_one_line():
    result = run("--web.max-requests=-1")
    assert result.returncode == 2 and result.stderr == "--web.max-requests: -1 is less than the minimum of 0\n"
    result = run("--web.listen-address=nowhere")
    assert result.returncode == 2 and result.stderr == "--web.listen-address: 'nowhere' is not HOST:PORT\n"


def test_flag_beats_env_beats_file(tmp_path):
    port = free_port()
    cfg = tmp_path / "exporter.yml"
    cfg.write_text(f"web:\n  listen_address: 127.0.0.1:{port}\n  telemetry_path: /from-file\n"
                   "disable_default_collectors: true\n")
    base = f"http://127.0.0.1:{port}"
    proc = start("--config", str(cfg), env={"PERFADVISOR_WEB_TELEMETRY_PATH": "/from-env"})
    try:
        wait_http(base + "/health/live", proc=proc)
        assert requests.get(base + "/from-env").status_code == 200
        assert requests.get(base + "/from-file").status_code == 404
    finally:
        stop(proc)
    proc = start("--config", str(cfg), "--web.telemetry-path=/from-flag",
                 env={"PERFADVISOR_WEB_TELEMETRY_PATH": "/from-env"})
    try:
        wait_http(base + "/health/live", proc=proc)
        assert requests.get(base + "/from-flag").status_code == 200
        assert requests.get(base + "/from-env").status_code == 404
    finally:
        stop(proc)


def test_collectors_enabled_and_disabled_from_the_environment(tmp_path):
    names = list(all_collectors())
    if len(names) < 2:
        pytest.skip("needs two registered collectors")
    port = free_port()
    cfg = tmp_path / "exporter.yml"
    cfg.write_text(f"collectors:\n  {names[1]}: true\n")
    env = {"PERFADVISOR_COLLECTOR_DISABLE_DEFAULTS": "true", "PERFADVISOR_WEB_LISTEN_ADDRESS": f"127.0.0.1:{port}",
           f"PERFADVISOR_COLLECTOR_{names[0].upper()}": "true", f"PERFADVISOR_COLLECTOR_{names[1].upper()}": "false"}
    proc = start("--config", str(cfg), env=env)
    try:
        health = wait_http(f"http://127.0.0.1:{port}/health", proc=proc).json()
        assert health["collectors"] == [names[0]]  # env beats the file for names[1]
    finally:
        stop(proc)


def test_sigterm_is_a_clean_exit_and_address_in_use_is_exit_1():
    port = free_port()
    proc = start(f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults", "--log.level=debug")
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        wait_http(f"http://127.0.0.1:{port}/health/ready", proc=proc)
        second = run(f"--web.listen-address=127.0.0.1:{free_port()}", f"--web.listen-address=127.0.0.1:{port}",
                     "--collector.disable-defaults")
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert "msg=\"cannot listen\"" in second.stderr and f"127.0.0.1:{port}: Address already in use" in second.stderr
        idle.request("GET", "/metrics")  # Prometheus keeps its connection open between scrapes
        assert idle.getresponse().read()
        with socket.create_connection(("127.0.0.1", port)) as raw:  # a malformed request line with a secret
            raw.sendall(b"GET /metrics?password=hunter2 HTTP/1.1 extra\r\n\r\n")
            assert raw.recv(200).startswith(b"HTTP/1.1 400 Bad Request\r\n")
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=15)[0].decode()  # does not wait for the idle connection
    finally:
        idle.close()
        stop(proc)
    assert proc.returncode == 0
    assert "msg=listening" in out and "msg=stopped" in out and "Traceback" not in out
    assert "hunter2" not in out and "code 400" in out


def test_json_log_format():
    port = free_port()
    proc = start(f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults", "--log.format=json")
    try:
        wait_http(f"http://127.0.0.1:{port}/health/live", proc=proc)
    finally:
        stop(proc)
    first = json.loads(proc.stdout.read().decode().splitlines()[0])
    assert first["level"] == "info" and first["msg"] == "listening" and first["address"].startswith("http://127.0.0.1:")


def test_every_base_flag_has_help_and_is_in_the_configuration_reference(repo_root):
    from perfadvisor.exporter.config import BASE_SETTINGS

    doc = (repo_root / "docs" / "configuration.md").read_text()
    section = doc[doc.index("## Exporter"):doc.index("## Advisor")]
    for s in BASE_SETTINGS:
        assert s.help, s.flag
        assert s.flag in section, f"{s.flag} is not documented in docs/configuration.md's Exporter section"


@pytest.mark.parametrize("value", ["inf", "1e309", "nan", "-inf", "0", "-1", "7200"])
def test_scrape_timeout_must_be_finite_and_positive(value):
    result = run(f"--scrape.timeout={value}", "--web.listen-address=127.0.0.1:0")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("--scrape.timeout: ")


def test_non_finite_values_from_env_and_file_name_their_source(tmp_path):
    result = run("--web.listen-address=127.0.0.1:0", env={"PERFADVISOR_SCRAPE_TIMEOUT": "nan"})
    assert result.returncode == 2 and result.stderr == "PERFADVISOR_SCRAPE_TIMEOUT: nan is not a finite number\n"
    result = run("--web.listen-address=127.0.0.1:0", env={"PERFADVISOR_WEB_MAX_REQUESTS": "-1"})
    assert result.returncode == 2 and result.stderr.startswith("PERFADVISOR_WEB_MAX_REQUESTS: -1 ")
    cfg = tmp_path / "exporter.yml"
    for text, line, field in (("scrape:\n  timeout_seconds: .inf\n", 2, "scrape.timeout_seconds"),
                              ("scrape:\n  timeout_seconds: .nan\n", 2, "scrape.timeout_seconds"),
                              ("collectors_config:\n  filesystem:\n    mount-timeout: -.inf\n", 3,
                               "collectors_config.filesystem.mount-timeout")):
        cfg.write_text(text)
        result = run("--config", str(cfg), "--web.listen-address=127.0.0.1:0")
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith(f"{cfg}:{line}: {field}: ") and "finite" in result.stderr
    result = run("--collector.filesystem.mount-timeout=inf", "--web.listen-address=127.0.0.1:0")
    assert result.returncode == 2 and result.stderr == "--collector.filesystem.mount-timeout: inf is not a finite number\n"


def test_the_file_schema_rejects_unbounded_durations():
    import jsonschema

    from perfadvisor.exporter.config import file_schema

    schema = file_schema(all_collectors())
    for bad in (float("inf"), 1e10, 0, -1):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"scrape": {"timeout_seconds": bad}}, schema)
    jsonschema.validate({"scrape": {"timeout_seconds": 30}}, schema)
