"""Scores 0–100 per dimension and overall, Lighthouse-style.

Each scored rule maps a target's value through a log-normal curve fixed by two control points: the
``good`` value scores 0.9 (Lighthouse's p10) and the ``median`` value scores 0.5 (Lighthouse's
``getLogNormalScore``). The curve is direction-aware: when ``good < median`` lower values are better
(CPU busy), otherwise higher ones are (free space), scored on reciprocals. A rule without a curve scores
1 when nothing fires and by its worst finding's severity otherwise (info 0.9, warning 0.5, critical 0).
A rule's score is its worst target's.

Dimension score = weighted mean of its rules' scores; overall = weighted mean of all scored rules. Weights:
explicit ``weight:``, else critical 3, warning 2, info 1; scaling rules weigh 0 (they size, not judge).
Rules that were not evaluated are EXCLUDED from the means (never counted as perfect) and the report shows
coverage (evaluated / total) beside every score.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

INVERSE_ERFC_ONE_FIFTH = 0.9061938024368232
SEVERITY_SCORE = {"info": 0.9, "warning": 0.5, "critical": 0.0}


def log_normal_score(good: float, median: float, value: float) -> float:
    """Lighthouse's getLogNormalScore, extended to 'higher is better' curves (good > median)."""
    if good > median:
        if value <= 0:
            return 0.0
        return log_normal_score(1 / good, 1 / median, 1 / value)
    if median <= 0 or good <= 0 or good >= median:
        raise ValueError("need 0 < good < median")
    if value <= 0:
        return 1.0
    x_log_ratio = math.log(max(value / median, 5e-324))
    p10_log_ratio = -math.log(good / median)
    standardized_x = x_log_ratio * INVERSE_ERFC_ONE_FIFTH / p10_log_ratio
    score = (1 - math.erf(standardized_x)) / 2
    # Lighthouse clamps each side of the control points so rounding never crosses a band.
    if value <= good:
        return max(0.9, min(1.0, score))
    if value <= median:
        return max(0.5, min(0.8999999999999999, score))
    return max(0.0, min(0.49999999999999994, score))


@dataclass(frozen=True)
class Score:
    value: int | None          # 0–100, None when nothing in it was evaluated
    evaluated: int
    total: int

    @property
    def coverage(self) -> float:
        return self.evaluated / self.total if self.total else 0.0


def weighted(items: list[tuple[float, float]]) -> float | None:
    """Weighted mean of (score 0..1, weight) pairs; None when the total weight is zero."""
    total = sum(w for _, w in items)
    if total <= 0:
        return None
    return sum(s * w for s, w in items) / total


def to_score(mean: float | None, evaluated: int, total: int) -> Score:
    return Score(None if mean is None else int(round(mean * 100)), evaluated, total)
