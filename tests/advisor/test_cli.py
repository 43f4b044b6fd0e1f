"""The command line: help everywhere, usage errors exit 2 with one line, pack/param commands."""
import click
import pytest

from perfadvisor.advisor.cli import cli

from .conftest import advisor


def _commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


COMMANDS = list(_commands(cli))


def test_expected_commands():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"run", "packs", "packs list", "packs show", "packs validate", "explain"} <= names


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example(path, cmd):
    r = advisor(*path, "--help")
    assert r.exit_code == 0
    assert "Example:" in r.stdout and (cmd.help or "").strip()
    assert f"advisor {path[0]}" in r.stdout or path[0] == "packs"


def test_the_data_source_is_chosen_in_one_place():
    from perfadvisor.advisor import config as C
    from perfadvisor.advisor.errors import ConfigError
    from perfadvisor.advisor.sources import SOURCES, choose
    src = choose(C.build(prometheus_url="http://127.0.0.1:9/prom", env={}))
    assert src.name == "prometheus" and src.base == "http://127.0.0.1:9/prom"
    src = choose(C.build(env={"PERFADVISOR_PROMETHEUS_URL": "https://u:pw@prom.example:9090"}))
    assert src.base == "https://prom.example:9090"           # credentials kept out of the displayed URL
    with pytest.raises(ConfigError, match="PERFADVISOR_PROMETHEUS_URL"):
        choose(C.build(env={}))                               # local mode needs samples; the CLI collects them
    assert {"prometheus", "embedded"} <= set(SOURCES)


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


def test_packs_list_and_show():
    r = advisor("packs", "list")
    assert r.exit_code == 0
    assert [ln.split()[0] for ln in r.stdout.splitlines()] == ["host", "process", "scaling", "cache", "database", "network", "loadbalancer"]
    r = advisor("packs", "show", "host", "--set", "cpu_high=0.75")
    assert r.exit_code == 0
    assert "cpu_high (number) = 0.75  (overridden)" in r.stdout
    assert "host-filesystem-fill-up" in r.stdout
    r = advisor("packs", "show", "nosuch")
    assert r.exit_code == 2 and "unknown pack 'nosuch'" in r.stderr


def test_explain_shows_substituted_query_and_alert_expr():
    r = advisor("explain", "host-cpu-saturation", "--set", "host.lookback=6h", "--set", "job=node")
    assert r.exit_code == 0
    assert 'node_cpu_seconds_total{mode="idle", job=~"node"' in r.stdout
    assert "p95 over the last 6h" in r.stdout
    assert "quantile_over_time(0.95" in r.stdout and "> 0.9" in r.stdout
    r = advisor("explain", "host-cpu-saturatoin")
    assert r.exit_code == 2 and "unknown rule 'host-cpu-saturatoin' (did you mean: host-" in r.stderr


def test_config_file_parameters_and_errors(tmp_path):
    cfg = tmp_path / "advisor.yaml"
    cfg.write_text("parameters:\n  cpu_high: 0.7\n  host:\n    lookback: 2h\n")
    r = advisor("packs", "show", "host", "--config", str(cfg))
    assert "cpu_high (number) = 0.7  (overridden)" in r.stdout and "lookback (duration) = 2h" in r.stdout
    cfg.write_text("parameters:\n  host:\n    bogus: 1\n")
    r = advisor("packs", "show", "host", "--config", str(cfg))
    assert r.exit_code == 2 and f"{cfg}: parameters.host: unknown parameter 'bogus'" in r.stderr
    cfg.write_text("prometheus: {url: x\n")
    r = advisor("run", "--config", str(cfg))
    assert r.exit_code == 2 and f"{cfg}:" in r.stderr and "invalid YAML" in r.stderr


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
    assert "prometheus.url in the config file: expected an http:// or https:// URL" in r.stderr
