"""The service packs load, validate and render: every rule names what it is about and what to do."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from perfadvisor.advisor.cli import cli
from perfadvisor.advisor.packs import load_pack
from perfadvisor.advisor.render import render

from .conftest import RULES, SERVICE_PACKS

PACKS = {name: load_pack(RULES / f"{name}.yaml") for name in SERVICE_PACKS}
RULES_ALL = [(p, r) for p in PACKS.values() for r in p.rules]
# Labels some rules' texts branch on, beyond the rule's target labels.
EXTRA_LABELS = {"covered_by": "orders_a_idx", "query": "SELECT 1", "state": "idle in transaction", "cmd": "keys"}


def test_packs_validate_with_the_cli():
    result = CliRunner().invoke(cli, ["packs", "validate", *(str(RULES / f"{n}.yaml") for n in SERVICE_PACKS)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 4 and all(line.startswith("ok  ") for line in lines)
    assert "pack database, 11 rules" in result.output


@pytest.mark.parametrize("pack", SERVICE_PACKS)
def test_pack_lists_with_its_rules(pack):
    result = CliRunner().invoke(cli, ["packs", "show", pack, "--pack", str(RULES / f"{pack}.yaml")])
    assert result.exit_code == 0, result.output
    for rule in PACKS[pack].rules:
        assert rule.id in result.output


def test_rule_ids_are_prefixed_and_unique():
    prefixes = {"cache": "cache-", "database": "db-pg-", "network": "network-", "loadbalancer": "lb-"}
    ids = [r.id for _, r in RULES_ALL]
    assert len(ids) == len(set(ids))
    for p, r in RULES_ALL:
        assert r.id.startswith(prefixes[p.name]), r.id


@pytest.mark.parametrize("pack,rule", RULES_ALL, ids=[r.id for _, r in RULES_ALL])
def test_thresholds_are_parameters(pack, rule):
    """Tunable thresholds live in parameters; only 'any at all' conditions use a literal 0."""
    th = rule.condition.threshold
    assert (isinstance(th, str) and th.startswith("$")) or th == 0, th


@pytest.mark.parametrize("pack,rule", RULES_ALL, ids=[r.id for _, r in RULES_ALL])
def test_texts_render_strictly_and_name_the_target(pack, rule):
    rr = next(x for x in pack.resolved() if x.rule.id == rule.id)
    labels = {k: f"<{k}>" for k in rule.target} | EXTRA_LABELS
    ctx = {"labels": labels, "value": 0.42, "threshold": rr.threshold, "params": dict(rr.params),
           "target": "t", "stats": {}, "unit": rule.unit, "projection": None, "sizing": None, "replicas": None,
           "rule": {"id": rule.id, "title": rule.title}}
    summary = render(rule.id, rule.summary, ctx, "summary")
    text = render(rule.id, rule.recommendation, ctx)
    # The most specific target label (table, index, server, URL, command …) appears in the advice.
    specific = ([k for k in rule.target if k != "instance"] or ["instance"])[-1]
    assert labels[specific].lower() in text.lower(), (rule.id, specific)
    assert summary and "{{" not in text and "{%" not in text
    assert not re.search(r"\bNone\b", text)


def test_slow_statement_names_query_text_only_when_published():
    pack = PACKS["database"]
    rule = next(r for r in pack.rules if r.id == "db-pg-slow-statement")
    base = {"value": 0.25, "threshold": 0.1, "params": {"rate_window": "5m"}, "target": "t", "stats": {},
            "unit": "seconds", "projection": None, "sizing": None, "replicas": None, "rule": {}}
    labels = {"server": "db:5432", "datname": "shop", "queryid": "-42"}
    without = render(rule.id, rule.recommendation, {**base, "labels": labels})
    with_text = render(rule.id, rule.recommendation, {**base, "labels": {**labels, "query": "SELECT pg_sleep($1)"}})
    assert "queryid = -42" in without and "pg_sleep" not in without
    assert "`SELECT pg_sleep($1)`" in with_text and "250" in with_text


def test_edge_case_unit_tests_pass():
    """tests/rules/service_packs.test.yaml: DOWN servers and missing miss series (advisor test, embedded engine)."""
    path = str(RULES.parent / "tests" / "rules" / "service_packs.test.yaml")
    result = CliRunner().invoke(cli, ["test", path])
    assert result.exit_code == 0, result.output
    assert "4 passed, 0 failed" in result.output
