"""Backfilled scenarios: three days of history per host, judged with the packs' default windows."""
from __future__ import annotations

import pytest

from .harness import judge

pytestmark = pytest.mark.slow

BACKFILL = ("backfill-over-provisioned", "backfill-under-provisioned", "backfill-slow-leak",
            "backfill-daily-memory-cycle", "backfill-right-sized", "backfill-filling-disk", "backfill-multi-worker",
            "backfill-new-saturated-host", "backfill-node-timer-leak", "backfill-node-daily-heap",
            "backfill-go-goroutine-leak", "backfill-jvm-small-heap")


def test_every_backfill_scenario_has_a_test(backfilled):
    assert sorted(backfilled.scenarios) == sorted(BACKFILL)


def test_the_history_is_three_days_at_one_minute(backfilled):
    rules = {r["id"]: r for r in backfilled.report["rules"]}
    # evaluated on the backfill: the 1 h minimum history of the scaling rules is there
    assert rules["scaling-host-cpu-downsize"]["evaluated"], rules["scaling-host-cpu-downsize"]["reason"]
    assert backfilled.samples > 3 * 1440 * 100


@pytest.mark.parametrize("scenario", BACKFILL)
def test_backfill_scenario(backfilled, scenario):
    verdict = judge(backfilled.scenarios[scenario], backfilled.report)
    assert verdict.passed, verdict.explain()


def test_right_sized_host_has_sizing_rows(backfilled):
    """Sizing that is not a material change goes into the report's sizing table, not among the findings."""
    report = backfilled.report
    rows = report.get("sizing_rows", report.get("sizing"))
    assert rows is not None, f"no sizing table in the JSON report (keys: {sorted(report)})"
    mine = [r for r in rows if (r.get("target") or {}).get("instance") == "right-sized:9100"]
    assert {r.get("rule_id") for r in mine} >= {"scaling-process-cpu", "scaling-process-memory"}, mine
