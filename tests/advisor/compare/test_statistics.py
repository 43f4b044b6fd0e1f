"""Mann-Whitney U and the Hodges-Lehmann shift against values known by hand or from the literature, and the
verdict rules on samples built to land on each side of them."""
from __future__ import annotations

import math

import numpy as np
import pytest

from perfadvisor.advisor.compare import stats
from perfadvisor.advisor.compare.verdict import Metric, Sample, compare, overall

LATENCY = Metric("latency_p99", "seconds", higher_is_worse=True)
THROUGHPUT = Metric("throughput", "per_second", higher_is_worse=False)


def test_mann_whitney_known_values():
    # Conover's example (as in SciPy's documentation): U = 17, exact two-sided p = 1/9.
    u, p = stats.mann_whitney([20, 11, 17, 12], [19, 22, 16, 29, 24])
    assert (u, round(p, 6)) == (17.0, round(1 / 9, 6))
    # Complete separation of 10 and 10 (beyond the exact method's sizes): U = 100 and the normal approximation
    # with continuity correction, z = (100 − 50 − 0.5) / √(10·10·21/12).
    u, p = stats.mann_whitney(range(1, 11), range(11, 21))
    z = (100 - 50 - 0.5) / math.sqrt(10 * 10 * 21 / 12)
    assert u == 100.0 and math.isclose(p, math.erfc(z / math.sqrt(2)), rel_tol=1e-9)


def test_hodges_lehmann_by_hand():
    # Pairwise differences of [4,5,6] − [1,2,3]: 1,2,2,3,3,3,4,4,5 → median 3; with m = n = 3 the 95 % interval
    # is the whole range (k = floor(4.5 − 1.96·√(63/12)) = 0).
    s = stats.hodges_lehmann([1, 2, 3], [4, 5, 6])
    assert (s.estimate, s.low, s.high) == (3.0, 1.0, 5.0)


def test_hodges_lehmann_interval_covers_a_known_shift():
    rng = np.random.default_rng(7)
    base, cur = rng.normal(10, 1, 300), rng.normal(10.5, 1, 300)
    s = stats.hodges_lehmann(base, cur)
    assert s.low < 0.5 < s.high and s.low > 0 and abs(s.estimate - 0.5) < 0.2


def _sample(values):
    return Sample(tuple(float(v) for v in values), 0.0, float(len(values)), 1.0, "test")


def test_identical_distributions_pass():
    rng = np.random.default_rng(1)
    v = rng.lognormal(-4, 0.3, 60)
    c = compare(LATENCY, _sample(v), _sample(rng.permutation(v)))
    assert c.verdict == "pass" and c.p_value > 0.9 and "no significant difference" in c.reason


def test_a_latency_rise_fails_as_worse():
    rng = np.random.default_rng(2)
    c = compare(LATENCY, _sample(rng.normal(0.010, 0.001, 40)), _sample(rng.normal(0.015, 0.001, 40)))
    assert (c.verdict, c.direction) == ("fail", "worse")
    assert 0.4 < c.relative < 0.6 and c.relative_low > 0.05
    assert "whole 95% interval is beyond the 5% tolerance" in c.reason


def test_a_throughput_drop_fails_as_worse_and_a_rise_passes_as_better():
    rng = np.random.default_rng(3)
    base = _sample(rng.normal(1000, 10, 30))
    drop = compare(THROUGHPUT, base, _sample(rng.normal(800, 10, 30)))
    rise = compare(THROUGHPUT, base, _sample(rng.normal(1200, 10, 30)))
    assert (drop.verdict, drop.direction) == ("fail", "worse")
    assert (rise.verdict, rise.direction) == ("pass", "better") and "better" in rise.reason


def test_a_significant_change_within_the_tolerance_passes():
    rng = np.random.default_rng(4)
    c = compare(LATENCY, _sample(rng.normal(0.0100, 0.0001, 50)), _sample(rng.normal(0.0102, 0.0001, 50)))
    assert c.verdict == "pass" and c.p_value < 0.05 and "within the 5% tolerance" in c.reason


def test_a_shift_beyond_the_tolerance_with_a_wide_interval_is_marginal():
    base = _sample([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21])
    cur = _sample([v + 2.5 for v in base.values])
    c = compare(Metric("x"), base, cur, alpha=0.2, tolerance=0.1)
    assert c.verdict == "marginal"
    assert c.relative_low <= 0.1 < c.relative
    assert "reaches into it" in c.reason


def test_tiny_samples_give_insufficient_data_never_a_verdict():
    c = compare(LATENCY, _sample([0.01, 0.011, 0.012]), _sample([0.5, 0.6, 0.7]))
    assert c.verdict == "insufficient data" and c.p_value is None
    assert "3 baseline and 3 current samples; at least 8" in c.reason
    assert overall([c]) == "insufficient data"


def test_a_zero_baseline_is_judged_against_the_absolute_floor():
    errors = Metric("error_ratio", "ratio", floor=0.001)
    fail = compare(errors, _sample([0.0] * 20), _sample([0.02] * 10 + [0.03] * 10))
    ok = compare(errors, _sample([0.0] * 20), _sample([0.0] * 20))
    assert fail.verdict == "fail" and ok.verdict == "pass"


def test_a_sub_millisecond_latency_shift_is_within_the_bench_floor():
    """A 0.67 → 0.77 ms p50 is significant and +15 %, but below the generator's 1 ms timer resolution: pass, and said so."""
    from perfadvisor.advisor.compare.samples import BENCH_METRICS
    p50 = next(m for m in BENCH_METRICS if m.name == "latency_p50")
    rng = np.random.default_rng(5)
    c = compare(p50, _sample(rng.normal(0.00067, 0.00003, 30)), _sample(rng.normal(0.00077, 0.00003, 30)))
    assert c.verdict == "pass" and c.p_value < 0.001
    assert "within the absolute floor 0.001" in c.reason
    worse = compare(p50, _sample(rng.normal(0.00067, 0.00003, 30)), _sample(rng.normal(0.0030, 0.0001, 30)))
    assert worse.verdict == "fail"


@pytest.mark.parametrize("verdicts, expected", [
    (["pass", "fail", "marginal"], "fail"), (["pass", "insufficient data"], "pass"),
    (["marginal", "pass"], "marginal"),
])
def test_overall_is_the_worst_judged_verdict(verdicts, expected):
    class C:
        def __init__(self, v):
            self.verdict = v
    assert overall([C(v) for v in verdicts]) == expected
