"""A failing data source: exit 3 and one clear line naming the URL, never credentials or a traceback."""
import json

import pytest

from tests.support.procs import closed_port, free_port

from .conftest import advisor


def _one_line_exit_3(r, *needles):
    assert r.exit_code == 3, r.output
    assert r.stderr.startswith("advisor: error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.output
    for n in needles:
        assert n in r.stderr, r.stderr


def test_connection_refused():
    with closed_port() as port:
        url = f"http://127.0.0.1:{port}"
        r = advisor("run", "--prometheus", url)
    _one_line_exit_3(r, f"Prometheus at {url}/api/v1/query", "cannot connect (connection refused)")


def test_slow_server_times_out(fake_api):
    api = fake_api("empty", delay=3)
    r = advisor("run", "--prometheus", api.url, "--timeout", "1s", "--concurrency", "2")
    _one_line_exit_3(r, api.url, "timed out after 1s", "(after 2 attempts)")


def test_http_500(fake_api):
    api = fake_api("500")
    r = advisor("run", "--prometheus", api.url)
    _one_line_exit_3(r, f"Prometheus at {api.url}/api/v1/", "HTTP 500: boom")


def test_invalid_json(fake_api):
    api = fake_api("badjson")
    r = advisor("run", "--prometheus", api.url)
    _one_line_exit_3(r, f"invalid response from {api.url}/api/v1/", "body is not JSON")


def test_credentials_never_printed_and_sent_as_configured(fake_api, tmp_path):
    api = fake_api("500")
    url = api.url.replace("http://", "http://admin:hunter2@")
    r = advisor("run", "--prometheus", url, "--header", "X-Scope-OrgID: tenant-7",
                env={"PERFADVISOR_PROMETHEUS_TOKEN": "s3cret-token"})
    _one_line_exit_3(r, api.url)
    assert "hunter2" not in r.output and "s3cret" not in r.output and "admin" not in r.output
    headers = api.requests[0][1]
    assert headers["Authorization"] == "Bearer s3cret-token"
    assert headers["X-Scope-OrgID"] == "tenant-7"


def test_basic_auth_from_url_and_token_file(fake_api, tmp_path):
    api = fake_api("500")
    r = advisor("run", "--prometheus", api.url.replace("http://", "http://admin:hunter2@"))
    assert r.exit_code == 3
    assert api.requests[0][1]["Authorization"] == "Basic YWRtaW46aHVudGVyMg=="
    token = tmp_path / "token"
    token.write_text("from-file\n")
    cfg = tmp_path / "advisor.yaml"
    cfg.write_text(f"prometheus:\n  url: {api.url}\n  bearer_token_file: {token}\n  retries: 0\n")
    r = advisor("run", "--config", str(cfg))
    assert r.exit_code == 3 and api.requests[-1][1]["Authorization"] == "Bearer from-file"
    assert "from-file" not in r.output


def test_warnings_surface_and_missing_metrics_are_not_healthy(fake_api):
    api = fake_api("empty")
    r = advisor("run", "--prometheus", api.url, "--format", "json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    from importlib import resources

    import jsonschema
    schema = json.loads(resources.files("perfadvisor.advisor.reports").joinpath("report.schema.json").read_text())
    jsonschema.validate(report, schema)
    assert report["warnings"] == ["partial response: store gateway down"]
    assert report["summary"]["rules_evaluated"] == 0
    assert report["summary"]["score"] is None          # nothing evaluated is never a perfect score
    reasons = {x["rule_id"]: x["reason"] for x in report["not_evaluated"]}
    assert reasons["host-cpu-saturation"] == "no data: metric node_cpu_seconds_total"
    assert reasons["host-memory-pressure"] == "no data: metric node_memory_MemAvailable_bytes, node_memory_MemTotal_bytes"
    assert report["findings"] == []


def test_debug_shows_the_exception():
    from perfadvisor.advisor.errors import SourceError
    with pytest.raises(SourceError, match="cannot connect"):
        advisor("run", "--debug", "--prometheus", f"http://127.0.0.1:{free_port()}")


def test_tls_verification(fake_api, tmp_path):
    from tests.support.services import self_signed_cert
    cert, key = self_signed_cert(tmp_path)
    api = fake_api("empty", tls=(cert, key))
    r = advisor("run", "--prometheus", api.url)
    _one_line_exit_3(r, f"TLS error talking to {api.url}/api/v1/", "certificate verify failed")
    r = advisor("run", "--prometheus", api.url, "--ca-file", str(cert), "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["source"] == {"type": "prometheus", "url": api.url}
    r = advisor("run", "--prometheus", api.url, "--insecure", "--format", "json")
    assert r.exit_code == 0, r.output


def test_client_certificate_from_config(fake_api, tmp_path):
    from tests.support.services import self_signed_cert
    server_dir, client_dir = tmp_path / "server", tmp_path / "client"
    server_dir.mkdir()
    client_dir.mkdir()
    cert, key = self_signed_cert(server_dir)
    client_cert, client_key = self_signed_cert(client_dir)
    api = fake_api("empty", tls=(cert, key, client_cert))
    r = advisor("run", "--prometheus", api.url, "--ca-file", str(cert))
    assert r.exit_code == 3 and ("TLS error" in r.stderr or "cannot connect" in r.stderr), r.output
    cfg = tmp_path / "advisor.yaml"
    cfg.write_text(f"prometheus:\n  url: {api.url}\n  tls: {{ca_file: {cert}, cert_file: {client_cert}, "
                   f"key_file: {client_key}}}\n")
    r = advisor("run", "--config", str(cfg), "--format", "json")
    assert r.exit_code == 0, r.output
