"""The generated Prometheus rules: current with the packs, accepted by promtool, and each alert unit-tested."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from perfadvisor.advisor.alerts import alert_name, translate
from perfadvisor.advisor.cli import cli
from perfadvisor.advisor.packs import load_builtin, load_path
from tests.support.procs import need_binary

REPO = Path(__file__).resolve().parents[2]
ALERTING = REPO / "alerting"
# Every pack the repository ships, whether or not the advisor loads it by default.
PACKS = ["--pack", str(REPO / "rules")]
RULE_FILES = sorted(ALERTING.glob("*.rules.yaml"))
TEST_FILES = sorted((ALERTING / "tests").glob("*.test.yaml"))


def generate(*args: str):
    return CliRunner().invoke(cli, ["alerts", "generate", *PACKS, *args], catch_exceptions=False)


def _alerts(path: Path) -> dict[str, dict]:
    return {r["alert"]: r for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"] if "alert" in r}


def test_committed_rules_match_the_packs():
    r = generate("--check", "--prune", "--out", str(ALERTING))
    assert r.exit_code == 0, r.output


def test_check_names_the_drifted_file_and_generate_repairs_it(tmp_path):
    assert generate("--out", str(tmp_path)).exit_code == 0
    host = tmp_path / "host.rules.yaml"
    host.write_text(host.read_text().replace("severity: critical", "severity: page"))
    (tmp_path / "mine.rules.yaml").write_text("groups: []\n")  # a user's own file: never touched
    r = generate("--check", "--out", str(tmp_path))
    assert r.exit_code == 1
    assert f"{host}: differs from the packs" in r.output and "process.rules.yaml" not in r.output
    r = generate("--out", str(tmp_path))
    assert r.exit_code == 0 and f"wrote {host}" in r.output
    assert generate("--check", "--prune", "--out", str(tmp_path)).exit_code == 0
    assert (tmp_path / "mine.rules.yaml").exists()


def test_prune_removes_files_of_packs_no_longer_loaded(tmp_path):
    assert generate("--out", str(tmp_path)).exit_code == 0
    gone = tmp_path / "retired.rules.yaml"
    gone.write_text((tmp_path / "host.rules.yaml").read_text())
    assert generate("--check", "--out", str(tmp_path)).exit_code == 0, "without --prune other files are left alone"
    r = generate("--check", "--prune", "--out", str(tmp_path))
    assert r.exit_code == 1 and f"{gone}: no pack with alert rules generates it" in r.output
    assert f"removed {gone}" in generate("--prune", "--out", str(tmp_path)).output
    assert not gone.exists()


def test_set_bakes_a_parameter_into_the_expression(tmp_path):
    r = generate("--out", str(tmp_path), "--set", "host.cpu_high=0.75", "--set", "host.for_long=20m")
    assert r.exit_code == 0, r.output
    cpu = _alerts(tmp_path / "host.rules.yaml")["HostCpuSaturation"]
    assert cpu["expr"].endswith("> 0.75") and cpu["for"] == "20m"


def test_unknown_parameter_is_one_line_and_exit_2(tmp_path):
    r = CliRunner().invoke(cli, ["alerts", "generate", "--out", str(tmp_path), "--set", "host.nope=1"])
    assert r.exit_code == 2
    assert "nope" in r.output and "Traceback" not in r.output


def test_every_alert_rule_of_the_packs_is_generated_with_labels_and_annotations():
    generated = {name: rule for f in RULE_FILES for name, rule in _alerts(f).items()}
    for pack in load_path(REPO / "rules"):
        for rule in pack.rules:
            if rule.category != "alert" or not rule.enabled or rule.condition is None:
                continue
            a = generated.pop(alert_name(rule.id))
            assert a["labels"] | {"rule": rule.id} == {
                "severity": rule.severity, "category": "alert", "dimension": rule.dimension, "rule": rule.id,
                "alertgroup": a["labels"]["alertgroup"], "pack": pack.name}
            assert a["annotations"]["summary"] and a["annotations"]["description"]
            assert a["annotations"]["runbook_url"] == f"docs/rules.md#{rule.id}"
    assert not generated, f"alerts without a pack rule: {sorted(generated)}"


def test_templates_become_prometheus_templates():
    rr = next(r for p in load_builtin() for r in p.resolved() if r.rule.id == "host-cpu-saturation")
    got = translate("{{ labels.instance }} at {{ value | pct }} over {{ params.lookback }}, "
                    "limit {{ threshold | pct }}, {{ value | num(0) }}, {{ value | bytes }}", rr)
    assert got == ('{{ $labels.instance }} at {{ $value | humanizePercentage }} over 1h, limit 90%, '
                   '{{ printf "%.0f" $value }}, {{ $value | humanize1024 }}B')


def test_promtool_check_rules_is_clean():
    assert RULE_FILES
    r = subprocess.run([need_binary("promtool"), "check", "rules", *map(str, RULE_FILES)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("SUCCESS") == len(RULE_FILES)


def test_promtool_unit_tests_pass():
    assert TEST_FILES
    r = subprocess.run([need_binary("promtool"), "test", "rules", *map(str, TEST_FILES)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def _cases() -> dict[str, list[tuple[float, bool]]]:
    """alertname → [(eval seconds, fires?)] over every promtool test file."""
    from perfadvisor.advisor.durations import parse_duration
    out: dict[str, list[tuple[float, bool]]] = {}
    for f in TEST_FILES:
        for t in yaml.safe_load(f.read_text())["tests"]:
            for c in t.get("alert_rule_test", []):
                out.setdefault(c["alertname"], []).append((parse_duration(c["eval_time"]), bool(c.get("exp_alerts"))))
    return out


@pytest.mark.parametrize("rules_file", RULE_FILES, ids=lambda p: p.name)
def test_every_alert_has_firing_and_quiet_cases_and_waits_out_for(rules_file):
    from perfadvisor.advisor.durations import parse_duration
    cases = _cases()
    missing = []
    for name, rule in _alerts(rules_file).items():
        got = cases.get(name, [])
        firing = [t for t, fires in got if fires]
        quiet = [t for t, fires in got if not fires]
        if not firing or not quiet:
            missing.append(f"{name}: needs a firing and a not-firing case (has {got})")
        elif "for" in rule and not any(min(firing) - parse_duration(rule["for"]) <= t < min(firing) for t in quiet):
            missing.append(f"{name}: needs a not-firing case while pending (within `for: {rule['for']}`)")
    assert not missing, "\n".join(missing)
