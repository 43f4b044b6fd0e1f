"""Lighthouse log-normal scoring, direction-aware, and how dimensions aggregate."""
import pytest

from perfadvisor.advisor.scoring import log_normal_score, to_score, weighted


def test_control_points():
    # good (p10) scores 0.9, median scores 0.5 — Lighthouse's definition of the curve.
    assert log_normal_score(0.6, 0.9, 0.6) == pytest.approx(0.9, abs=1e-9)
    assert log_normal_score(0.6, 0.9, 0.9) == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("value", [1000, 3000, 5000, 12000])
def test_matches_the_log_normal_complementary_cdf(value):
    # Lighthouse LCP (mobile) control points: p10 2500 ms, median 4000 ms. The curve is 1 − CDF of the
    # log-normal with that median whose 10th percentile is p10 (z = 1.28155 at p90).
    from math import log
    from statistics import NormalDist
    sigma = log(4000 / 2500) / NormalDist().inv_cdf(0.9)
    expected = 1 - NormalDist(log(4000), sigma).cdf(log(value))
    assert log_normal_score(2500, 4000, value) == pytest.approx(expected, abs=1e-6)


def test_monotonic_and_bounded():
    values = [0.01, 0.3, 0.6, 0.75, 0.9, 0.95, 0.99, 2.0]
    scores = [log_normal_score(0.6, 0.9, v) for v in values]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    assert log_normal_score(0.6, 0.9, 0) == 1.0


def test_higher_is_better_curve():
    # Free space: 30% left is good (0.9), 10% left is the median (0.5), less is worse.
    assert log_normal_score(0.3, 0.1, 0.3) == pytest.approx(0.9, abs=1e-9)
    assert log_normal_score(0.3, 0.1, 0.1) == pytest.approx(0.5, abs=1e-9)
    assert log_normal_score(0.3, 0.1, 0.02) < 0.1
    assert log_normal_score(0.3, 0.1, 0.9) > 0.99
    assert log_normal_score(0.3, 0.1, 0.0) == 0.0


def test_weighted_dimension_excludes_unevaluated():
    assert weighted([(1.0, 2), (0.5, 2)]) == 0.75
    assert weighted([]) is None
    s = to_score(weighted([(0.5, 3)]), evaluated=1, total=4)
    assert (s.value, s.coverage) == (50, 0.25)
    assert to_score(None, 0, 3).value is None   # nothing evaluated is "—", never 100
