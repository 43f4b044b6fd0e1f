"""One answer's reductions computed for all its targets at once equal the per-series ones exactly."""
import math

import numpy as np

from advisor import stats


def same(a: float, b: float) -> bool:
    return (a != a and b != b) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def test_rows_equal_summary_and_robust_sd_for_every_length_and_edge():
    rng = np.random.default_rng(7)
    rows = [rng.normal(size=n) for n in (1, 2, 3, 4, 5, 239, 240, 240)]
    rows += [np.round(rng.normal(size=60), 1) for _ in range(10)]          # ties
    rows += [np.array([-0.0, 0.0, 0.0, -0.0]), np.array([1e308, 1.7e308, -1.7e308, 1.7e308])]
    r = stats.Rows(rows)
    for i, row in enumerate(rows):
        want = stats.summary(row.tolist())
        got = r.summary(i)
        assert list(got) == list(want)
        assert all(same(got[k], want[k]) for k in want), (i, got, want)
        for how in want:
            assert same(r.value(i, how), want[how])
            assert same(stats.reduce(row, how), want[how])
        assert same(float(r.noise[i]), stats.robust_sd(row.tolist()))
    assert math.isnan(r.value(0, "p42"))


def test_theil_sen_and_mann_kendall_take_arrays_or_pairs_alike():
    t = np.arange(60) * 60.0
    v = 0.5 + 0.001 * t + np.sin(t / 300)
    v[7] = np.nan
    pairs = list(zip(t.tolist(), v.tolist()))
    assert stats.theil_sen((t, v)) == stats.theil_sen(pairs)
    assert stats.mann_kendall((t, v)) == stats.mann_kendall(pairs)
    slope, *_ = stats.theil_sen(pairs)
    assert 0.0005 < slope < 0.0015   # the growth, through the wobble
