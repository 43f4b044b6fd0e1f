"""Reductions over a series' points and the least-squares fit that trend rules (and predict_linear) use."""
from __future__ import annotations

import math

QUANTILES = {"p99": 0.99, "p95": 0.95, "p90": 0.90, "p50": 0.50}


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, and quantile_over_time's)."""
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary(values: list[float]) -> dict[str, float]:
    """min, mean, p50, p90, p95, p99, max and last of the non-NaN values ({} when there are none)."""
    vals = [v for v in values if v == v]
    if not vals:
        return {}
    ordered = sorted(vals)
    out = {"min": ordered[0], "mean": math.fsum(vals) / len(vals)}
    out.update({k: _quantile(ordered, q) for k, q in QUANTILES.items()})
    out.update(max=ordered[-1], last=vals[-1])
    return out


def reduce(values: list[float], how: str) -> float:
    """p99/p95/p90/p50, max, min, mean or last of the values (NaN when there are none)."""
    return summary(values).get(how, float("nan"))


def linear_fit(points) -> tuple[float, float, float]:
    """(slope per second, intercept, R²) of a least-squares line through the points (closed form)."""
    pts = [(t, v) for t, v in points if math.isfinite(v)]
    n = len(pts)
    if n < 2:
        return 0.0, pts[0][1] if pts else float("nan"), 0.0
    t0 = pts[0][0]
    ts = [t - t0 for t, _ in pts]      # shifted for numerical stability, as Prometheus' predict_linear does
    vs = [v for _, v in pts]
    mt, mv = sum(ts) / n, sum(vs) / n
    dt = [t - mt for t in ts]
    dv = [v - mv for v in vs]
    stt = sum(d * d for d in dt)
    svv = sum(d * d for d in dv)
    stv = sum(a * b for a, b in zip(dt, dv))
    slope = stv / stt if stt else 0.0
    intercept = mv - slope * mt - slope * t0
    r2 = (stv * stv) / (stt * svv) if stt and svv else (1.0 if slope == 0 else 0.0)
    return slope, intercept, max(0.0, min(1.0, r2))
