"""Right-sizing, HPA replica formula with tolerance, and cost arithmetic."""
import pytest

from perfadvisor.advisor import sizing as S


def test_hpa_formula():
    r = S.replicas(4, observed=0.9, target=0.6)
    assert r.desired == 6                       # ceil(4 × 0.9 / 0.6)
    assert S.replicas(3, observed=0.2, target=0.6).desired == 1
    assert S.replicas(10, observed=0.35, target=0.6).desired == 6


@pytest.mark.parametrize("observed, desired", [(0.65, 10), (0.55, 10), (0.67, 12), (0.53, 9)])
def test_hpa_tolerance(observed, desired):
    # Within ±10% of the target nothing changes (ratio 1.1 / 0.9 exactly), outside it scales.
    assert S.replicas(10, observed=observed, target=0.6, tolerance=0.1).desired == desired


def test_hpa_bounds():
    assert S.replicas(2, observed=5.0, target=0.5, maximum=8).desired == 8
    assert S.replicas(2, observed=0.0, target=0.5, minimum=1).desired == 1


def test_right_size_cpu_down_with_savings():
    r = S.right_size("cpu", usage=1.2, peak=1.5, current=8, headroom=0.3, floor=1, round_to=1, price=0.05)
    assert r.recommended == 2                   # ceil(1.2 × 1.3) = ceil(1.56)
    assert r.monthly_cost_change == pytest.approx((2 - 8) * 0.05 * 730)
    assert r.monthly_cost_change < 0
    assert r.performance_risk == 1              # peak 1.5 of 2 cores = 75%: low risk


def test_performance_risk_levels():
    assert [S.performance_risk(p, 10) for p in (5, 7, 8.5, 10, 12)] == [0, 1, 2, 3, 4]


def test_right_size_floor_and_memory_price_per_gb():
    gib = 1024 ** 3
    r = S.right_size("memory", usage=0.2 * gib, peak=0.2 * gib, current=16 * gib, headroom=0.2, floor=gib,
                     round_to=gib, price=0.004)
    assert r.recommended == gib
    assert r.monthly_cost_change == pytest.approx(-(15 * gib / 1e9) * 0.004 * 730)


def test_decommission_saves_everything():
    r = S.decommission("cpu", usage=0.01, peak=0.02, current=4, price=0.03, extra_amount=8e9, extra_price=0.004)
    assert r.recommended == 0
    assert r.monthly_cost_change == pytest.approx(-(4 * 0.03 + 8 * 0.004) * 730)


def test_round_up():
    assert S.round_up(1.01, 0.05) == pytest.approx(1.05)
    assert S.round_up(2.0, 1) == 2
