"""The two-sample statistics behind a verdict: Mann-Whitney U and the Hodges-Lehmann shift with its interval.

Mann-Whitney U (scipy: exact distribution for small samples without ties, normal approximation with tie and
continuity correction otherwise) answers "do the two samples come from the same distribution?". The
Hodges-Lehmann estimator — the median of all pairwise differences current − baseline — says by how much, and
its distribution-free confidence interval (Moses) comes from the same U statistic, so the two agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_PAIRS = 4_000_000       # pairwise differences held at once (32 MB); larger samples are thinned evenly


@dataclass(frozen=True)
class Shift:
    estimate: float           # Hodges-Lehmann: median of (current - baseline) over all pairs
    low: float                # confidence interval
    high: float
    confidence: float


def mann_whitney(baseline, current) -> tuple[float, float]:
    """(U of the current sample, two-sided p-value)."""
    from scipy import stats as _st      # imported when used: scipy costs every `advisor` command ~0.3 s
    res = _st.mannwhitneyu(np.asarray(current, float), np.asarray(baseline, float), alternative="two-sided",
                           method="auto")
    return float(res.statistic), float(res.pvalue)


def _thin(a: np.ndarray, n: int) -> np.ndarray:
    """n values spread evenly over the sorted sample (its quantiles), for samples too large to pair fully."""
    if len(a) <= n:
        return a
    s = np.sort(a)
    return s[np.linspace(0, len(s) - 1, n).round().astype(int)]


def hodges_lehmann(baseline, current, confidence: float = 0.95) -> Shift:
    """The shift of current relative to baseline with a distribution-free confidence interval.

    The interval's ends are the k-th smallest and k-th largest pairwise differences, with k from the normal
    approximation of U's null distribution: k = floor(mn/2 − z·sqrt(mn(m+n+1)/12)) (Hollander & Wolfe).
    """
    x = np.asarray(baseline, float)
    y = np.asarray(current, float)
    limit = int(math.sqrt(MAX_PAIRS))
    if len(x) * len(y) > MAX_PAIRS:
        x, y = _thin(x, limit), _thin(y, limit)
    m, n = len(x), len(y)
    diffs = np.sort((y[:, None] - x[None, :]).ravel())
    mn = m * n
    from scipy import stats as _st
    z = float(_st.norm.ppf(0.5 + confidence / 2))
    k = int(math.floor(mn / 2 - z * math.sqrt(mn * (m + n + 1) / 12)))
    k = max(k, 0)
    return Shift(estimate=float(np.median(diffs)), low=float(diffs[k]), high=float(diffs[mn - 1 - k]),
                 confidence=confidence)
