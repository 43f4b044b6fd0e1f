"""A regression verdict per metric — pass, marginal, fail or insufficient data — with the evidence for it.

For a metric where higher is worse (latency, errors, CPU per request), let the relative shift be the
Hodges-Lehmann estimate divided by the baseline's median (for lower-is-worse metrics like throughput the sign
flips, so a positive shift is always worse), and [lo, hi] its confidence interval on the same scale:

- fewer than ``min_samples`` values on either side → **insufficient data** (no verdict is guessed);
- Mann-Whitney p ≥ alpha, or the shift is towards better → **pass** (no significant regression);
- significant and worse, lo > tolerance (the whole interval beyond it) → **fail**;
- significant and worse, estimate > tolerance but the interval reaches into it → **marginal**;
- significant but the estimate within the tolerance → **pass** (a real but tolerated change).

Where the baseline's median is 0 (an error ratio that was zero) the shift is judged in absolute terms against
the metric's ``floor``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

from . import stats

VERDICTS = ("pass", "marginal", "fail", "insufficient data")
RANK = {"insufficient data": -1, "pass": 0, "marginal": 1, "fail": 2}


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str = ""                 # seconds, ratio, per_second, bytes, cores, "" (plain)
    higher_is_worse: bool = True
    floor: float = 0.0             # absolute changes at or below this never count as worse


@dataclass(frozen=True)
class Sample:
    """Per-interval values of one metric, and where they came from."""

    values: tuple[float, ...]
    start: float | None = None     # Unix seconds
    end: float | None = None
    interval: float | None = None  # seconds per value
    source: str = ""

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float | None:
        return median(self.values) if self.values else None


@dataclass(frozen=True)
class Comparison:
    metric: Metric
    baseline: Sample
    current: Sample
    verdict: str
    reason: str
    p_value: float | None = None
    u: float | None = None
    shift: stats.Shift | None = None
    relative: float | None = None          # signed: > 0 is worse
    relative_low: float | None = None
    relative_high: float | None = None
    alpha: float = 0.05
    tolerance: float = 0.05
    min_samples: int = 8

    @property
    def direction(self) -> str:
        """worse, better or same (the sign of the estimated shift, whatever the verdict)."""
        if self.relative is None or self.relative == 0:
            return "same"
        return "worse" if self.relative > 0 else "better"


def compare(metric: Metric, baseline: Sample, current: Sample, *, alpha: float = 0.05, tolerance: float = 0.05,
            min_samples: int = 8) -> Comparison:
    """Judge ``current`` against ``baseline`` for one metric (values that are not finite are left out)."""
    b = Sample(tuple(v for v in baseline.values if math.isfinite(v)), baseline.start, baseline.end,
               baseline.interval, baseline.source)
    c = Sample(tuple(v for v in current.values if math.isfinite(v)), current.start, current.end,
               current.interval, current.source)
    common = dict(metric=metric, baseline=b, current=c, alpha=alpha, tolerance=tolerance, min_samples=min_samples)
    if b.n < min_samples or c.n < min_samples:
        return Comparison(verdict="insufficient data", reason=(
            f"{b.n} baseline and {c.n} current samples; at least {min_samples} on each side are needed for a "
            "verdict"), **common)
    u, p = stats.mann_whitney(b.values, c.values)
    shift = stats.hodges_lehmann(b.values, c.values, 1 - alpha)
    sign = 1.0 if metric.higher_is_worse else -1.0
    base = abs(b.median)
    lo, hi = sorted((sign * shift.low, sign * shift.high))
    est = sign * shift.estimate
    if base > 0:
        rel, rlo, rhi = est / base, lo / base, hi / base
        beyond = lambda v: v > tolerance and v * base > metric.floor   # noqa: E731
    else:                                           # a zero baseline: absolute terms against the floor
        rel, rlo, rhi = est, lo, hi
        beyond = lambda v: v > metric.floor          # noqa: E731
    common.update(p_value=p, u=u, shift=shift, relative=rel, relative_low=rlo, relative_high=rhi)
    tol = f"{tolerance:.0%} tolerance" if base > 0 else f"absolute floor {metric.floor:g}"
    if p >= alpha:
        return Comparison(verdict="pass", reason=f"no significant difference (Mann-Whitney p={p:.3g} ≥ {alpha:g})",
                          **common)
    if est <= 0:
        return Comparison(verdict="pass", reason=f"significantly better (p={p:.3g})", **common)
    if beyond(rlo):
        return Comparison(verdict="fail", reason=f"significantly worse (p={p:.3g}); the whole {1 - alpha:.0%} "
                          f"interval is beyond the {tol}", **common)
    if beyond(rel):
        return Comparison(verdict="marginal", reason=f"significantly worse (p={p:.3g}) beyond the {tol}, but the "
                          f"{1 - alpha:.0%} interval reaches into it", **common)
    if base > 0 and rel > tolerance:               # beyond the relative tolerance, but a change too small to count
        return Comparison(verdict="pass", reason=f"significantly worse (p={p:.3g}) by {rel:.0%}, but the shift "
                          f"({est:.3g} {metric.unit}) is within the absolute floor {metric.floor:g}", **common)
    return Comparison(verdict="pass", reason=f"significantly worse (p={p:.3g}) but within the {tol}", **common)


def overall(comparisons: list[Comparison]) -> str:
    """The worst verdict; "insufficient data" only when no metric had enough data."""
    judged = [c.verdict for c in comparisons if c.verdict != "insufficient data"]
    if not judged:
        return "insufficient data"
    return max(judged, key=RANK.__getitem__)
