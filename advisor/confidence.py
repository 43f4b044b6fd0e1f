"""How much to trust a finding: one score from the history used, sample coverage, gaps, fit and margin.

    score = history × coverage × margin_factor [× fit_factor]   (each 0..1, then capped by `cap`)

- history = √(min(1, used / preferred)): saturating, so a quarter of the preferred history still gives 0.5;
  `preferred` is the rule's ``history.preferred`` but never more than the window it looks at (lookback, or
  `for` for instant rules): an hour-long p95 is fully supported by an hour of data.
- coverage = samples / expected samples over the span present, × (1 − 0.05 per gap), floored at half:
  holes in the data lower it, a short history does not (the history factor covers that).
- margin_factor = 0.5 + 0.5 × min(1, margin / 3): the value's distance from the threshold in units of the
  series' noise (robust sd); a value on the threshold scores half, 3σ beyond it full. Unknown → 1.
- fit_factor (trend rules) = (1 − p) × (0.5 + 0.5 × R²): p is the Mann-Kendall p-value of the growth and R²
  the line's goodness of fit over the window the verdict rests on; steady growth scores near 1.
- cap: trend verdicts that cannot rule out a daily cycle (less than a day of history) stay below "high".

Levels: high ≥ 0.75, medium ≥ 0.4, low below. With a full window of gap-free data and a value 3σ past its
threshold every factor is 1, so "high" is reachable with default settings.
"""
from __future__ import annotations

import math

from .findings import Confidence


def score(*, samples: int, expected: int, history: float | None, preferred: float | None, min_met: bool,
          gaps: int = 0, margin: float | None = None, fit_r2: float | None = None, trend_p: float | None = None,
          cap: float = 1.0) -> Confidence:
    """The Confidence of one finding from its inputs."""
    if history is None or not preferred:
        h = 1.0
    else:
        h = math.sqrt(max(0.0, min(1.0, history / preferred)))
    cov = min(1.0, samples / expected) if expected else 1.0
    cov *= max(0.5, 1.0 - 0.05 * gaps)
    m = 1.0 if margin is None or math.isnan(margin) else 0.5 + 0.5 * max(0.0, min(1.0, margin / 3.0))
    f = 1.0
    if trend_p is not None:
        f *= max(0.0, 1.0 - trend_p)
    if fit_r2 is not None:
        f *= 0.5 + 0.5 * fit_r2
    value = round(min(cap, h * cov * m * f), 3)
    met = history is None or not preferred or history + 1e-9 >= preferred
    return Confidence(samples, expected, history, min_met, met, value, gaps=gaps, fit_r2=fit_r2,
                      margin=None if margin is None or math.isnan(margin) else round(margin, 2),
                      preferred_seconds=preferred, trend_p=trend_p)


def gaps(points, step: float) -> int:
    """Runs of missing samples longer than 2 steps."""
    ts = [t for t, v in points]
    return sum(1 for a, b in zip(ts, ts[1:]) if b - a > 2 * step + 1e-6)


def gaps_of(ts, step: float) -> int:
    """gaps() of a timestamp array."""
    import numpy as np
    return int(np.count_nonzero(np.diff(ts) > 2 * step + 1e-6)) if len(ts) > 1 else 0


def margin(value: float, threshold: float | None, op: str | None, noise: float) -> float | None:
    """(value − threshold) / noise, signed so positive means past the threshold in the condition's direction."""
    if threshold is None or op is None or not math.isfinite(value):
        return None
    d = value - threshold if op in (">", ">=") else threshold - value
    if not math.isfinite(noise) or noise <= 0:
        return 99.0 if d > 0 else (0.0 if d == 0 else -99.0)
    return d / noise
