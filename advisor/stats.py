"""Reductions over a series' points and the least-squares fit that trend rules (and predict_linear) use."""
from __future__ import annotations

import math

import numpy as np

QUANTILES = {"p99": 0.99, "p95": 0.95, "p90": 0.90, "p50": 0.50}


def reduce(values: list[float], how: str) -> float:
    """p99/p95/p90/p50 (linear interpolation, like quantile_over_time), max, min, mean or last."""
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return float("nan")
    if how in QUANTILES:
        return float(np.quantile(np.asarray(vals), QUANTILES[how]))
    return {"max": max, "min": min, "mean": lambda v: sum(v) / len(v), "last": lambda v: v[-1]}[how](vals)


def summary(values: list[float]) -> dict[str, float]:
    """The usual statistics of a series, shown with findings."""
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return {}
    return {k: reduce(vals, k) for k in ("min", "mean", "p50", "p95", "max", "last")}


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(slope per second, intercept, R²) of a least-squares line through the points."""
    pts = [(t, v) for t, v in points if math.isfinite(v)]
    if len(pts) < 2:
        return 0.0, pts[0][1] if pts else float("nan"), 0.0
    t = np.asarray([p[0] for p in pts]) - pts[0][0]
    v = np.asarray([p[1] for p in pts])
    slope, intercept = np.polyfit(t, v, 1)
    residual = float(np.sum((v - (slope * t + intercept)) ** 2))
    total = float(np.sum((v - v.mean()) ** 2))
    r2 = 1.0 - residual / total if total > 0 else (1.0 if slope == 0 else 0.0)
    return float(slope), float(intercept - slope * pts[0][0]), max(0.0, r2)
