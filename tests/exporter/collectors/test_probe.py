"""The probe machinery (collectors/_probe.py): config through the exporter's config file and scraper, durations,
redaction, and the probe parsers on plain strings."""
from __future__ import annotations

import pytest

from perfadvisor.exporter.collectors.haproxy import parse_csv, server_state
from perfadvisor.exporter.collectors.nginx import parse_stub_status
from perfadvisor.exporter.config import build_config
from perfadvisor.exporter.collectors.postgres.sql import setting_value
from perfadvisor.exporter.collectors._probe import parse_duration, redact_dsn, redact_url
from perfadvisor.exporter.registry import all_collectors
from perfadvisor.exporter.scrape import Scraper, build_collectors
from perfadvisor.exporter.yamlfile import FileError


def test_config_file_drives_a_probe_scrape(redis_server, tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_PASSWORD", redis_server.extra["password"])
    cfg = tmp_path / "exporter.yml"
    cfg.write_text(f"""collectors:
  redis: true
collectors_config:
  redis:
    targets:
      - address: "{redis_server.address}"
        password_env: REDIS_PASSWORD
        timeout: 2s
""")
    specs = all_collectors()
    config = build_config(specs, config_file=str(cfg))
    assert "redis" in config.collectors and "http_probe" not in config.collectors  # probes are off by default
    only = {"redis": build_collectors(specs, config)["redis"]}
    collection = Scraper(only, timeout=5).collect()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in collection.families for s in f.samples}
    assert samples[("redis_up", (("addr", redis_server.address),))] == 1
    assert samples[("node_scrape_collector_success", (("collector", "redis"),))] == 1


def test_bad_target_field_is_one_line_with_the_file_line(tmp_path):
    cfg = tmp_path / "exporter.yml"
    cfg.write_text("collectors_config:\n  http_probe:\n    targets:\n      - url: http://127.0.0.1/\n"
                   "        timeout: soon\n")
    with pytest.raises(FileError) as e:
        build_config(all_collectors(), config_file=str(cfg))
    msg = str(e.value)
    assert msg.startswith(f"{cfg}:5:") and "timeout" in msg and "\n" not in msg


def test_enabled_probe_without_targets_yields_nothing():
    for name in ("http_probe", "redis", "postgres", "haproxy", "nginx"):
        spec = all_collectors()[name]
        assert spec.default_enabled is False
        from perfadvisor.exporter.registry import CollectorContext
        assert list(spec.factory(CollectorContext(settings={})).collect()) == []


def test_stub_status_parsing():
    page = ("Active connections: 291 \nserver accepts handled requests\n 16630948 16630947 31070465 \n"
            "Reading: 6 Writing: 179 Waiting: 106 \n")
    assert parse_stub_status(page) == {"active": 291, "accepted": 16630948, "handled": 16630947,
                                       "requests": 31070465, "reading": 6, "writing": 179, "waiting": 106}
    with pytest.raises(ValueError):
        parse_stub_status("<html>hello</html>")


def test_haproxy_csv_and_states():
    rows = parse_csv("# pxname,svname,scur,status,type\nbe,web1,3,UP 1/3,2\nbe,BACKEND,3,UP,1\n\n")
    assert rows[0]["svname"] == "web1" and rows[1]["type"] == "1"
    with pytest.raises(ValueError):
        parse_csv("<html>")
    assert [server_state(s) for s in ("UP", "UP 1/3", "DOWN 1/2", "MAINT (via be/x)", "MAINT(resolution)",
                                       "DRAIN", "NOLB", "no check", "OPEN")] == \
        ["UP", "UP", "DOWN", "MAINT", "MAINT", "DRAIN", "NOLB", "UP", "UP"]


def test_redaction():
    assert redact_url("http://u:p@h:8080/x?password=s&a=1") == "http://h:8080/x?a=1"
    assert redact_url("https://h/stats;csv") == "https://h/stats;csv"
    assert redact_dsn("host=db port=5432 password='a b' user=x") == "host=db port=5432 password=<redacted> user=x"
    assert redact_dsn("postgresql://app:pw@db:5432/app") == "postgresql://db:5432/app"


def test_durations_and_settings():
    assert [parse_duration(v) for v in (5, "5s", "500ms", "1m", None)] == [5.0, 5.0, 0.5, 60.0, 5.0]
    assert setting_value("shared_buffers", "16384", "8kB", "integer") == ("shared_buffers_bytes", 134217728.0)
    assert setting_value("checkpoint_timeout", "300", "s", "integer") == ("checkpoint_timeout_seconds", 300.0)
    assert setting_value("autovacuum", "on", "", "bool") == ("autovacuum", 1.0)
    assert setting_value("max_connections", "100", "", "integer") == ("max_connections", 100.0)


def test_secrets_are_scrubbed_from_log_lines(monkeypatch):
    from perfadvisor.exporter.collectors._probe import scrub, target_secrets

    monkeypatch.setenv("PA_TEST_SECRET", "env-secret")
    t = {"dsn": "host=db password='dsn secret' user=x", "password_env": "PA_TEST_SECRET"}
    assert scrub("failed: env-secret / dsn secret", target_secrets(t)) == "failed: <redacted> / <redacted>"
    u = {"url": "http://user:url-secret@h/"}
    assert scrub("GET http://user:url-secret@h/ failed", target_secrets(u)) == "GET http://user:<redacted>@h/ failed"


def test_probe_collectors_run_under_their_registered_name():
    from perfadvisor.exporter.collectors._probe import ProbeCollector

    probes = {name: spec.factory for name, spec in all_collectors().items() if issubclass(spec.factory, ProbeCollector)}
    assert sorted(probes) == ["haproxy", "http_probe", "nginx", "postgres", "redis"]
    assert all(factory.name == name for name, factory in probes.items())
