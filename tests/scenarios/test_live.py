"""Live scenarios: each induced problem is reported for its target, and the healthy ones stay quiet."""
from __future__ import annotations

import pytest

from .harness import judge

pytestmark = pytest.mark.slow

LIVE = ("live-cpu-hog", "live-memory-leak", "live-fd-leak", "live-thread-leak", "live-filling-disk",
        "live-full-disk-first-run", "live-redis-negative-lookups", "live-postgres-seq-scan", "live-nginx-no-gzip",
        "live-haproxy-balance-first", "live-steady-service", "live-one-dropped-connection")


def test_every_live_scenario_has_a_test(live):
    assert sorted(live.scenarios) == sorted(LIVE)


@pytest.mark.parametrize("scenario", LIVE)
def test_live_scenario(live, scenario):
    case = live.scenarios[scenario]
    if case.skipped:
        pytest.skip(case.skipped)
    verdict = judge(case, live.report)
    assert verdict.passed, verdict.explain()
