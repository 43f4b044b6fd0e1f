"""``advisor run``: usage errors exit 2 with one line naming the culprit; rule filters."""
import pytest

from tests.advisor.conftest import advisor


@pytest.mark.parametrize("args, message", [
    (["--set", "no_such_param=1"], "unknown parameter 'no_such_param' (not defined by any loaded pack)"),
    (["--set", "host.nope=1"], "unknown parameter 'nope' (not defined by pack host)"),
    (["--set", "ghost.cpu_high=1"], "unknown pack 'ghost'"),
    (["--set", "cpu_high=high"], "parameter cpu_high: expected a number, got 'high'"),
    (["--set", "lookback=5 minutes"], "parameter lookback: not a Prometheus duration"),
    (["--set", "novalue"], "expected NAME=VALUE or PACK.NAME=VALUE"),
])
def test_bad_parameters_exit_2_naming_them(args, message):
    r = advisor("run", "--prometheus", "http://127.0.0.1:9", *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and r.stderr.count("\n") == 1


def test_bad_pack_path_exits_2(tmp_path):
    r = advisor("run", "--prometheus", "http://127.0.0.1:9", "--pack", str(tmp_path / "missing.yaml"))
    assert r.exit_code == 2 and "missing.yaml: no such file or directory" in r.stderr


def test_rule_filter(fake_api):
    import json
    api = fake_api("empty")
    r = advisor("run", "--prometheus", api.url, "--rule", "host-cpu-*", "--rule", "process-memory-leak",
                "--format", "json")
    assert r.exit_code == 0, r.output
    assert [x["id"] for x in json.loads(r.stdout)["rules"]] == ["host-cpu-saturation", "host-cpu-steal",
                                                                "process-memory-leak"]
    r = advisor("run", "--prometheus", api.url, "--rule", "nope-*")
    assert r.exit_code == 2 and "--rule nope-* matches no enabled rule" in r.stderr


@pytest.mark.parametrize("args, env, origin", [
    (["--prometheus", "not-a-url"], {}, "--prometheus"),
    ([], {"PERFADVISOR_PROMETHEUS_URL": "ftp://prom:9090"}, "PERFADVISOR_PROMETHEUS_URL"),
])
def test_a_malformed_prometheus_url_is_a_usage_error(args, env, origin):
    r = advisor("run", *args, env=env)
    assert r.exit_code == 2
    assert r.stderr.strip() == f"advisor: error: {origin}: expected an http:// or https:// URL, got " + (
        "not-a-url" if args else "ftp://prom:9090")


def test_a_malformed_prometheus_url_in_the_config_file_names_the_field(tmp_path):
    cfg = tmp_path / "advisor.yml"
    cfg.write_text("prometheus:\n  url: [1, 2]\n")
    r = advisor("run", "--config", str(cfg))
    assert r.exit_code == 2
    assert f"{cfg}:2: prometheus.url: expected an http:// or https:// URL" in r.stderr
