"""Pack loading: built-ins are valid and complete; broken packs fail naming file, line and field."""
import textwrap

import pytest

from perfadvisor.advisor.errors import PackError
from perfadvisor.advisor.packs import load_builtin, load_pack, load_text

from tests.advisor.conftest import advisor

GOOD = """\
apiVersion: perfadvisor.dev/v1
kind: RulePack
metadata: {name: mine, description: test pack}
parameters:
  limit: {type: number, default: 5, description: a limit}
rules:
  - id: mine-up
    title: Targets up
    category: alert
    dimension: availability
    severity: warning
    query: up
    condition: {op: "<", threshold: $limit}
    recommendation: "{{ labels.instance }} is {{ value }}"
"""


def test_builtin_packs_load_and_carry_what_alert_generators_need():
    packs = {p.name: p for p in load_builtin()}
    assert set(packs) == {"host", "process", "scaling", "cache", "database", "network", "loadbalancer", "runtime"}
    for p in packs.values():
        for rr in p.resolved():
            r = rr.rule
            assert r.recommendation and r.summary, r.id
            assert r.category in ("alert", "optimization", "scaling")
            if r.category == "alert":
                assert rr.alert_expr.endswith(f"{r.condition.op} {rr.alert_expr.split()[-1]}")
                assert "$" not in rr.alert_expr, r.id
    host = packs["host"]
    ids = {r.id for r in host.rules}
    assert {"host-cpu-saturation", "host-filesystem-fill-up", "host-oom-kills", "host-cpu-steal",
            "host-tcp-retransmits", "host-fd-exhaustion", "host-swap-activity"} <= ids
    mem = packs["process"].rule("process-memory-leak").resolve(packs["process"].params, {"leak_lookback": "2h"})
    assert "namedprocess_namegroup_memory_bytes" in mem.query and mem.lookback == 7200


def test_overridden_parameter_reaches_the_query():
    host = next(p for p in load_builtin() if p.name == "host")
    rr = host.rule("host-cpu-saturation").resolve(host.params, {"job": 'node"x', "cpu_high": 0.8})
    assert 'job=~"node\\"x"' in rr.query and rr.threshold == 0.8


def _pack_error(text: str, tmp_path) -> PackError:
    path = tmp_path / "mine.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(PackError) as e:
        load_pack(path)
    return e.value


@pytest.mark.parametrize("edit, line, field, reason", [
    (("severity: warning", "severity: urgent"), 11, "rules[0].severity", "'urgent' is not one of"),
    (("op: \"<\"", "op: \"!=\""), 13, "rules[0].condition.op", "is not one of"),
    (("query: up", "query: rate(up[5m]"), 12, "rules[0].query", "invalid PromQL"),
    (("threshold: $limit", "threshold: $nolimit"), 7, "rules[0]", "unknown parameter $nolimit"),
    (("    title: Targets up\n", ""), 7, "rules[0]", "'title' is a required property"),
    (("dimension: availability", "dimension: availability\n    colour: red"), 7, "rules[0]", "unknown field(s)"),
    (("default: 5", "default: 5x"), 5, "parameters.limit.default", "expected a number"),
])
def test_broken_pack_names_file_line_field(tmp_path, edit, line, field, reason):
    err = _pack_error(GOOD.replace(*edit), tmp_path)
    assert str(err).startswith(f"{tmp_path / 'mine.yaml'}:{line}: {field}: "), str(err)
    assert reason in str(err)


def test_yaml_syntax_error_has_line(tmp_path):
    err = _pack_error(GOOD + "  - id: [unclosed\n", tmp_path)
    assert err.line == 16 and "invalid YAML" in str(err)


def test_duplicate_rule_id(tmp_path):
    rule = GOOD[GOOD.index("  - id"):]
    err = _pack_error(GOOD + rule, tmp_path)
    assert "duplicate rule id 'mine-up' (first at line 7)" in str(err) and err.line == 15


def test_template_reaching_for_internals_is_refused_at_load(tmp_path):
    text = GOOD.replace('"{{ labels.instance }} is {{ value }}"', '"{{ labels.__class__.__mro__[1].__subclasses__() }}"')
    err = _pack_error(text, tmp_path)
    assert "rules[0].recommendation: rule mine-up: not allowed in the sandbox" in str(err)


def test_validate_command(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    r = advisor("packs", "validate", str(tmp_path / "good.yaml"))
    assert r.exit_code == 0 and "ok" in r.stdout and "pack mine, 1 rules" in r.stdout
    (tmp_path / "bad.yaml").write_text(GOOD.replace("severity: warning", "severity: urgent"))
    r = advisor("packs", "validate", str(tmp_path))
    assert r.exit_code == 2
    assert r.stderr.strip() == (f"advisor: error: {tmp_path / 'bad.yaml'}:11: rules[0].severity: "
                                "'urgent' is not one of info, warning, critical")


def test_builtin_files_validate_via_cli(repo_root):
    r = advisor("packs", "validate", str(repo_root / "rules"))
    assert r.exit_code == 0, r.output
    assert r.stdout.count("ok  ") == len(list((repo_root / "rules").glob("*.yaml"))) >= 3


def test_load_text_roundtrip():
    p = load_text(GOOD, "inline.yaml")
    assert p.rules[0].source == "inline.yaml:7"
    assert p.defaults() == {"limit": 5.0}


def test_run_with_a_malformed_pack_exits_2_before_querying(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("category: alert", "category: alerts"))
    r = advisor("run", "--prometheus", "http://127.0.0.1:9", "--pack", str(bad))
    assert r.exit_code == 2
    assert r.stderr == f"advisor: error: {bad}:9: rules[0].category: 'alerts' is not one of optimization, scaling, alert\n"


def test_run_with_a_sandbox_escape_exits_2_naming_the_rule(tmp_path):
    bad = tmp_path / "evil.yaml"
    bad.write_text(GOOD.replace('"{{ labels.instance }} is {{ value }}"', '"{{ cycler.__init__.__globals__ }}"'))
    r = advisor("run", "--prometheus", "http://127.0.0.1:9", "--pack", str(bad))
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"{bad}:14: rules[0].recommendation: rule mine-up: not allowed in the sandbox" in r.stderr
