"""`advisor test`: promtool-style rule tests on the embedded engine — results, diffs and file errors."""
from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from perfadvisor.advisor.cli import cli

MEM = """\
    input_series:
      - series: 'node_memory_MemAvailable_bytes{instance="a"}'
        values: '5x30'
      - series: 'node_memory_MemTotal_bytes{instance="a"}'
        values: '100x30'
    eval_time: 30m
"""


def run_test(tmp_path, body: str, *args: str, name: str = "t.test.yaml"):
    f = tmp_path / name
    f.write_text(textwrap.dedent(body).replace("@MEM@\n", MEM))
    return f, CliRunner().invoke(cli, ["test", str(f), *args], catch_exceptions=False)


def test_passing_file_reports_success_and_exits_0(tmp_path):
    f, r = run_test(tmp_path, """\
        rule_files: [host]
        tests:
          - name: low memory
        @MEM@
            expect_findings:
              - rule: host-memory-pressure
                labels: {instance: a}
                severity: critical
                value: 0.05
                text_contains: ["Only 5% of memory available on a"]
        """)
    assert r.exit_code == 0, r.output
    assert f"Unit Testing: {f}" in r.output
    assert "test 1 (low memory): SUCCESS" in r.output
    assert "1 passed, 0 failed" in r.output


def test_failing_expectations_exit_1_with_expected_and_got(tmp_path):
    _, r = run_test(tmp_path, """\
        rule_files: [host]
        tests:
          - name: wrong expectations
        @MEM@
            expect_findings:
              - rule: host-memory-pressure
                labels: {instance: b}
                severity: warning
            expect_no_findings: [host-memory-pressure]
            expect_not_evaluated: [host-memory-pressure]
        """)
    assert r.exit_code == 1, r.output
    out = r.output
    assert "test 1 (wrong expectations): FAILED (line 3):" in out
    assert "rule: host-memory-pressure, eval_time: 30m, expected findings:" in out
    assert "exp: [{labels: {instance: b}, severity: warning}]" in out
    assert ("got: [{labels: {instance: a}, severity: critical, value: 0.05, "
            "summary: Only 5% of memory available on a.}]") in out
    assert "expected no findings:" in out and "exp: evaluated, 0 findings" in out
    assert "expected not evaluated:" in out and "got: evaluated, 1 finding(s)" in out
    assert "0 passed, 1 failed" in out


def test_an_unexpected_extra_finding_fails(tmp_path):
    _, r = run_test(tmp_path, """\
        rule_files: [host]
        tests:
          - input_series:
              - {series: 'node_filefd_allocated{instance="a"}', values: '90x10'}
              - {series: 'node_filefd_maximum{instance="a"}', values: '100x10'}
              - {series: 'node_filefd_allocated{instance="b"}', values: '95x10'}
              - {series: 'node_filefd_maximum{instance="b"}', values: '100x10'}
            eval_time: 10m
            expect_findings:
              - {rule: host-fd-exhaustion, labels: {instance: a}}
        """)
    assert r.exit_code == 1
    assert "instance: b" in r.output.split("got:")[1]


def test_set_overrides_a_parameter_and_rule_files_may_be_paths(tmp_path):
    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "tiny.yaml").write_text(textwrap.dedent("""\
        apiVersion: perfadvisor.dev/v1
        kind: RulePack
        metadata: {name: tiny, description: A test pack.}
        parameters:
          high: {type: number, default: 10, description: Threshold.}
        rules:
          - id: tiny-high
            title: Value high
            category: alert
            dimension: cpu
            severity: warning
            query: my_value
            condition: {op: ">", threshold: $high}
            summary: "value {{ value | num }} on {{ labels.instance }}"
            recommendation: Lower it.
        """))
    _, r = run_test(tmp_path, """\
        rule_files: [packs/tiny.yaml]
        evaluation_interval: 30s
        tests:
          - name: default threshold
            input_series: [{series: 'my_value{instance="x"}', values: '5 5 5'}]
            eval_time: 1m
            expect_no_findings: [tiny-high]
          - name: lowered threshold
            input_series: [{series: 'my_value{instance="x"}', values: '5 5 5'}]
            eval_time: 1m
            set: {tiny.high: 4}
            expect_findings: [{rule: tiny-high, labels: {instance: x}, text_contains: ["value 5 on x"]}]
        """)
    assert r.exit_code == 0, r.output
    assert "2 passed, 0 failed" in r.output


def test_run_selects_tests_by_name(tmp_path):
    _, r = run_test(tmp_path, """\
        rule_files: [host]
        tests:
          - name: memory
        @MEM@
            expect_findings: [{rule: host-memory-pressure}]
          - name: broken on purpose
        @MEM@
            expect_no_findings: [host-memory-pressure]
        """, "--run", "^mem")
    assert r.exit_code == 0, r.output
    assert "1 passed, 0 failed" in r.output and "broken" not in r.output


def test_not_enough_history_is_an_expectation(tmp_path):
    _, r = run_test(tmp_path, """\
        rule_files: [host]
        tests:
          - input_series: [{series: 'node_cpu_seconds_total{instance="a",cpu="0",mode="steal"}', values: '0+3x5'}]
            eval_time: 5m
            expect_not_evaluated: [{rule: host-cpu-steal, reason_contains: "needs ≥ 15m"}]
        """)
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("body,where", [
    ("rule_files: [host]\ntests:\n  - eval_time: 1m\n    input_series: [}\n", ":4: invalid YAML"),
    ("rule_files: [host]\ntests:\n  - eval_time: 1m\n    input_series: []\n    expect_findngs: []\n",
     ":3: tests[0]: unknown field(s) ('expect_findngs' was unexpected)"),
    ("rule_files: [host]\ntests:\n  - eval_time: 1m\n    input_series: []\n    expect_no_findings:\n"
     "      - host-cpu-saturation\n      - host-no-such-rule\n",
     ":7: tests[0].expect_no_findings[1]: unknown rule 'host-no-such-rule' (not in host)"),
    ("rule_files: [host]\ntests:\n  - eval_time: 1m\n    input_series:\n"
     "      - series: 'up{a=\"b\"}'\n        values: '1 2 frog'\n",
     ":6: tests[0].input_series[0].values: invalid series value 'frog'"),
    ("rule_files: [hots]\ntests:\n  - {eval_time: 1m, input_series: []}\n",
     ":1: rule_files[0]: unknown pack 'hots'"),
    ("rule_files: [host]\ntests:\n  - eval_time: soon\n    input_series: []\n",
     ":3: tests[0].eval_time: 'soon' does not match"),
    ("rule_files: [host]\ntests:\n  - eval_time: 1m\n    input_series: []\n    set: {host.cpu_hgh: 1}\n",
     ":5: tests[0].set: host.cpu_hgh: unknown parameter 'cpu_hgh' (not defined by pack host)"),
    ("rule_files: [host]\ntests:\n  - eval_time: 1m\n    input_series: []\n    set:\n      cpu_high: 0.5\n"
     "      host.mem_available_low: lots\n",
     ":7: tests[0].set: parameter mem_available_low: expected a number, got 'lots'"),
    ("rule_files: [packs/missing.yaml]\ntests:\n  - {eval_time: 1m, input_series: []}\n",
     ":1: rule_files[0]: no such file"),
])
def test_malformed_file_exits_2_naming_file_line_and_field(tmp_path, body, where):
    f, r = run_test(tmp_path, body, name="bad.test.yaml")
    assert r.exit_code == 2, r.output
    assert f"advisor: error: {f}{where}" in r.stderr
    assert "Traceback" not in r.output


def test_a_bad_file_does_not_hide_the_results_of_good_ones(tmp_path):
    good = tmp_path / "good.test.yaml"
    good.write_text(f"rule_files: [host]\ntests:\n  - name: ok\n{MEM}"
                    "    expect_findings: [{rule: host-memory-pressure}]\n")
    bad = tmp_path / "bad.test.yaml"
    bad.write_text("rule_files: host\ntests: []\n")
    r = CliRunner().invoke(cli, ["test", str(bad), str(good)], catch_exceptions=False)
    assert r.exit_code == 2
    assert "test 1 (ok): SUCCESS" in r.output
    assert f"{bad}:1: rule_files: 'host' is not of type 'array'" in r.stderr


def test_coverage_fails_when_a_rule_lacks_a_firing_or_a_quiet_case(tmp_path):
    f, r = run_test(tmp_path, """\
        rule_files: [host]
        tests:
          - name: low memory
        @MEM@
            expect_findings: [{rule: host-memory-pressure}]
        """, "--coverage")
    assert r.exit_code == 1, r.output
    assert "1 passed, 0 failed" in r.output
    assert "untested: host-memory-pressure (host): no not-firing case" in r.output
    assert "untested: host-cpu-saturation (host): no firing and no not-firing case" in r.output
    assert "coverage: 14 rule(s) lack a case" in r.output
