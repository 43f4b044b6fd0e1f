"""Rule texts under the bounded sandbox: bombs fail validation in bounded time and memory, a text that fails
on one series marks that finding and the run goes on, and reaching for internals is refused."""
import re
import textwrap

import pytest

from perfadvisor.advisor.packs import load_builtin
from tests.advisor.conftest import advisor
from tests.advisor.packs.test_loader import GOOD
from tests.advisor.packs.test_yaml_limits import one_error_line, run_measured


def pack_with(tmp_path, recommendation: str):
    pack = tmp_path / "mine.yaml"
    pack.write_text(GOOD.replace('"{{ labels.instance }} is {{ value }}"', recommendation))
    return pack


@pytest.mark.parametrize("template, reason", [
    ("'{{ 7**99999999 }}'", "7 ** 99999999 is larger than 4096 bits"),
    ("'{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}'",
     "range of 100000 items is longer than 1000"),
    ("'{{ \"x\"*1500000000 }}'", "a repeated string or list larger than 65536 characters"),
    ("'{{ range(10**9)|length }}'", "range of 1000000000 items is longer than 1000"),
    ("'{% for i in range(1000) %}{% for j in range(1000) %}.{% endfor %}{% endfor %}'",
     "more than 10000 loop iterations in one render"),
    ("'{% set s %}{% for i in range(1000) %}{{ \"y\"*60000 }}{% endfor %}{% endset %}{{ s|length }}'",
     "more than 65536 characters of text in one render"),
    ("'{% macro f(n) %}{% if n < 40 %}{{ f(n+1) }}{{ f(n+1) }}{% endif %}{% endmacro %}{{ f(0) }}'",
     "(more than 100000 operations in one render|rendering took longer than 1 s)"),
    ("'{% if value > 100 %}{{ 9**99999999 }}{% endif %}'", "9 ** 99999999 is larger than 4096 bits"),
])
def test_template_bombs_fail_validation_bounded(tmp_path, template, reason):
    pack = pack_with(tmp_path, template)
    r = run_measured("packs", "validate", str(pack), timeout=30)
    assert r["code"] == 2, r
    # a regex: an operation count or the wall clock, whichever a busy machine reaches first
    assert re.fullmatch(re.escape(f"advisor: error: {pack}:14: rules[0].recommendation: rule mine-up: "
                                  "over a template limit: ") + (reason if reason.startswith("(") else re.escape(reason)),
                        one_error_line(r["stderr"])), r["stderr"]
    assert r["peak_mib"] < 150, r


@pytest.mark.parametrize("template", [
    "\"{{ labels|attr('__class__')|attr('__mro__') }}\"",
    "\"{{ labels|attr('__class__')|attr('__name__') }}\"",
    "\"{{ (1).to_bytes(10**9, 'big') }}\"",
    "\"{% if value > 100 %}{{ labels.__class__ }}{% endif %}\"",
])
def test_reaching_for_internals_is_refused_at_validation(tmp_path, template):
    pack = pack_with(tmp_path, template)
    r = advisor("packs", "validate", str(pack))
    assert r.exit_code == 2
    err = one_error_line(r.stderr)
    assert err.startswith(f"advisor: error: {pack}:14: rules[0].recommendation: rule mine-up: not allowed "
                          "in the sandbox: "), err


def test_ordinary_templates_still_render(tmp_path):
    pack = pack_with(tmp_path, textwrap.dedent("""\
        >-
              {% for k, v in labels|dictsort %}{{ k }}={{ v }}{{ "," if not loop.last }}{% endfor %}
              {{ value|num(1) }} {{ '%.1f' % value }} {{ '{:.2f}'.format(value) }} {{ 2**10 }}
              {{ labels.instance|upper|center(12) }} {{ ['a', 'b']|join('-') }}"""))
    assert advisor("packs", "validate", str(pack)).exit_code == 0


PACK = """\
apiVersion: perfadvisor.dev/v1
kind: RulePack
metadata: {name: t, description: test pack}
rules:
  - id: t-items
    title: Items
    category: alert
    dimension: availability
    severity: warning
    query: items
    condition: {op: ">", threshold: 0}
    summary: "{{ labels.instance }} holds {{ value }}"
    recommendation: "{{ labels.instance }} has {{ range(labels.n|int)|list|length }} items"
"""

TESTS = """\
rule_files: [t.yaml]
tests:
  - name: one odd series
    interval: 1m
    input_series:
      - {series: 'items{instance="a", n="5"}', values: '1x5'}
      - {series: 'items{instance="b", n="5000"}', values: '2x5'}
    eval_time: 5m
    expect_findings:
      - {rule: t-items, labels: {instance: a}, text_contains: ["a has 5 items"]}
      - rule: t-items
        labels: {instance: b}
        text_contains:
          - "b holds 2.0"
          - "(template failed: rule t-items, recommendation: over a template limit: range of 5000 items is longer
            than 1000) value 2.0, threshold 0.0, labels {__name__=items, instance=b, n=5000}"
"""


def test_a_text_failing_on_one_series_marks_that_finding_and_the_run_goes_on(tmp_path):
    (tmp_path / "t.yaml").write_text(PACK)
    (tmp_path / "t.test.yaml").write_text(TESTS)
    r = advisor("test", str(tmp_path / "t.test.yaml"))
    assert r.exit_code == 0, r.output
    assert "1 passed, 0 failed" in r.output


def test_builtin_text_with_a_missing_label_renders():
    from perfadvisor.advisor.render import render_text
    db = next(p for p in load_builtin() if p.name == "database")
    rule = db.rule("db-pg-long-transaction")
    ctx = {"labels": {"server": "pg1", "datname": "shop"}, "value": 900.0, "threshold": 300.0,
           "params": db.defaults(), "stats": {}}
    text = render_text(rule.id, rule.recommendation, ctx)
    assert "template failed" not in text and "pg1" in text and "shop" in text
    assert render_text(rule.id, rule.summary, ctx, "summary") == \
        "A transaction in shop has been open for 15m ()."
