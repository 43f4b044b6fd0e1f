"""When open-model requests are due: constant rates and k6-style linear ramps, values worked out by hand."""
from __future__ import annotations

import math

import pytest

from perfadvisor.advisor.bench.schedule import Schedule


def test_constant_rate():
    s = Schedule.constant(1000, 5)
    assert s.total == 5000 and s.time_of(0) == 0.0 and s.time_of(4999) == pytest.approx(4.999)
    assert s.time_of(5000) is None


def test_ramp_then_hold():
    # 0 → 100/s over 1 s (50 requests), 100 → 300/s over 1 s (200), then 300/s for 2 s (600): 850 in all.
    s = Schedule(0, [(1.0, 100.0), (1.0, 300.0), (2.0, 300.0)])
    assert s.total == 850
    assert s.time_of(10) == pytest.approx(math.sqrt(10 / 50))          # 50·t² = 10
    assert s.time_of(50) == pytest.approx(1.0) and s.time_of(250) == pytest.approx(2.0)
    assert s.time_of(849) == pytest.approx(2 + 599 / 300) and s.time_of(850) is None
    times = [s.time_of(k) for k in range(850)]
    assert all(b > a for a, b in zip(times, times[1:]))
    assert s.time_of(10) == pytest.approx(math.sqrt(0.2))              # asked again after later ones
    assert s.count_between(0, 1) == pytest.approx(50) and s.rate_at(1.5) == pytest.approx(200)
