"""Every shipped rule has offline tests: `advisor test` passes on rules/tests/*.test.yaml, and each rule id of
every pack in rules/ (built-in or opt-in, now and later) has a firing and a not-firing case there."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from perfadvisor.advisor.cli import cli
from perfadvisor.advisor.packs import BUILTIN, load_pack
from perfadvisor.advisor.ruletest import coverage, parse_file

RULES = Path(__file__).resolve().parents[2] / "rules"
TESTS = RULES / "tests"
FILES = sorted(TESTS.glob("*.test.yaml"))
PACKS = sorted({p.stem for p in RULES.glob("*.yaml")} | set(BUILTIN))


def test_advisor_test_passes_on_every_builtin_test_file():
    assert FILES, "no rule test files in rules/tests"
    result = CliRunner().invoke(cli, ["test", "--coverage", *map(str, FILES)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output and "FAILED" not in result.output
    assert "coverage: every rule has a firing and a not-firing case" in result.output


@pytest.mark.parametrize("pack", PACKS)
def test_every_rule_has_a_firing_and_a_quiet_case(pack):
    cov = coverage([parse_file(f) for f in FILES])
    rules = [r.id for r in load_pack(RULES / f"{pack}.yaml").rules]
    assert rules, f"built-in pack {pack} has no rules"
    missing = [f"{rid}: {', '.join(k for k in ('firing', 'quiet') if not cov.get(rid, {}).get(k))}"
               for rid in rules if not (cov.get(rid, {}).get("firing") and cov.get(rid, {}).get("quiet"))]
    assert not missing, (f"rules of pack {pack} without a firing (expect_findings) and a not-firing "
                         f"(expect_no_findings) case in rules/tests/*.test.yaml:\n  " + "\n  ".join(missing))


def test_test_files_are_package_data_named_after_their_pack():
    for f in FILES:
        tf = parse_file(f)
        assert f.name == f"{tf.packs[0].name}.test.yaml", f"{f.name} tests pack {tf.packs[0].name}"
