"""Growth judged over several windows, robust to noise and to daily cycles (leak detection).

A least-squares R² over one window is fragile: a slow leak in noise scores R² 0.5 over an hour and 1.0 over a
day, while a service's normal daily rise looks like a leak over six hours. Here:

- every window the history covers (the rule's ``windows`` and its lookback) gets a Theil-Sen slope with its
  95 % interval and a Mann-Kendall test (rank-based: noise and outliers do not break it);
- with ≥ 2 days of history the verdict rests on the daily baselines (each day's 5th percentile): a daily
  cycle lifts and drops the level within a day, a leak lifts every day's low point. Growth counts when the
  baselines rise from day to day and the whole window trends upward;
- with 1–2 days it rests on the last day (one whole cycle), with less on the longest window covered, and the
  confidence is capped below "high" (a daily cycle cannot be ruled out).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from . import stats
from .durations import format_duration

DAY = 86400.0
SIGNIFICANCE = 0.01          # largest Mann-Kendall p-value at which growth counts as a trend
CAP_PARTIAL_DAY = 0.6        # confidence cap: less than a day of history
CAP_ONE_DAY = 0.7            # confidence cap: one daily cycle


@dataclass(frozen=True)
class WindowFit:
    window: float
    slope: float
    lower: float
    upper: float
    p: float
    samples: int


@dataclass(frozen=True)
class Verdict:
    slope: float                 # per second, the growth the verdict rests on
    intercept: float
    lower: float                 # 95 % interval of the slope
    upper: float
    p: float                     # Mann-Kendall p-value of an upward trend over the verdict window
    r2: float                    # goodness of the verdict line over the window's samples
    window: float                # seconds of data the verdict rests on
    start: float
    basis: str                   # "samples" | "daily baselines"
    significant: bool            # an upward trend (p ≤ SIGNIFICANCE, interval above 0)
    cap: float                   # confidence cap
    fits: tuple[WindowFit, ...]  # every window judged
    points: tuple[tuple[float, float], ...]  # the verdict window's samples (downsampled)
    noise: float                 # robust sd of the residuals around the verdict line

    @property
    def text(self) -> str:
        """Which window the verdict rests on, e.g. "daily baselines of 3d" or "the last 6h"."""
        w = format_duration(round(self.window))
        return f"daily baselines of {w}" if self.basis == "daily baselines" else f"the last {w}"

    @property
    def slope_sd(self) -> float:
        """The slope's standard error, from the width of its 95 % interval."""
        if math.isfinite(self.lower) and math.isfinite(self.upper):
            return (self.upper - self.lower) / (2 * 1.96)
        return float("nan")


def _fit(points, window: float) -> tuple[WindowFit, list]:
    pts = stats.downsample(points)
    arrays = stats._finite_arrays(pts)   # converted once for both tests
    slope, _, lo, hi = stats._theil_sen(*arrays)
    _, p = stats._mann_kendall(*arrays)
    return WindowFit(window, slope, lo, hi, p, len(points)), pts


def _fit_arrays(t, v, window: float) -> tuple[WindowFit, tuple]:
    """_fit of finite (timestamps, values) arrays; the downsampled points as arrays too."""
    if len(t) > 240:
        ds = stats.downsample(list(zip(t.tolist(), v.tolist())))
        dt, dv = stats._finite_arrays(ds)
    else:
        dt, dv = t, v
    slope, _, lo, hi = stats._theil_sen(dt, dv)
    _, p = stats._mann_kendall(dt, dv)
    return WindowFit(window, slope, lo, hi, p, len(t)), (dt, dv)


def _pairs(t, v) -> list[tuple[float, float]]:
    return list(zip(t.tolist(), v.tolist()))


def _covered(t, windows: tuple[float, ...], lookback: float, step: float) -> tuple[float, list[float]]:
    """The series' span and the windows it covers (each judged)."""
    span = float(t[-1] - t[0]) if len(t) else 0.0
    candidates = sorted({w for w in (*windows, lookback) if w and w <= lookback})
    return span, [w for w in candidates if w <= span + step] or [max(span, step)]


def _window_arrays(t, v, now: float, w: float) -> tuple[int, np.ndarray, np.ndarray]:
    """The points a window's fit rests on: how many there are, and (downsampled to 240) their arrays."""
    keep = t >= now - w - 1e-6
    t, v = t[keep], v[keep]
    if len(t) > 240:
        return len(t), *stats._finite_arrays(stats.downsample(list(zip(t.tolist(), v.tolist()))))
    return len(t), t, v


def judge_many(series: list, now: float, windows: tuple[float, ...], lookback: float,
               step: float) -> Iterator[Verdict]:
    """judge() of many series (a rule's targets), in order: the windows' Theil-Sen and Mann-Kendall tests run
    on all the series at once (stats.trend_tests), the rest per series as the caller takes each verdict (a
    verdict holds its window's points: 10,000 of them are not kept at once). Equal to judging each alone."""
    arrays = [stats._finite_arrays(points) for points in series]
    todo, inputs = [], []
    for k, (t, v) in enumerate(arrays):
        for w in _covered(t, windows, lookback, step)[1]:
            n, dt, dv = _window_arrays(t, v, now, w)
            todo.append((k, w, n))
            inputs.append((dt, dv))
    tested = stats.trend_tests(inputs)
    fitted: list[dict] = [{} for _ in arrays]
    for (k, w, n), (dt, dv), ((slope, _, lo, hi), (_, p)) in zip(todo, inputs, tested):
        fitted[k][w] = (WindowFit(w, slope, lo, hi, p, n), (dt, dv))
    del inputs, tested
    for k in range(len(arrays)):
        yield judge(arrays[k], now, windows, lookback, step, fitted=fitted[k])
        arrays[k] = fitted[k] = None


def judge(points, now: float, windows: tuple[float, ...], lookback: float, step: float,
          fitted: dict | None = None) -> Verdict:
    """The growth verdict for one series' points over [now − lookback, now]: (t, v) pairs, or a (timestamps,
    values) pair of arrays. `fitted`: the covered windows' fits when made already (judge_many)."""
    t, v = stats._finite_arrays(points)
    span, covered = _covered(t, windows, lookback, step)
    fits = []
    by_window = {}
    for w in covered:
        if fitted is not None and w in fitted:
            fit, ds = fitted[w]
        else:
            keep = t >= now - w - 1e-6
            fit, ds = _fit_arrays(t[keep], v[keep], w)
        fits.append(fit)
        by_window[w] = (fit, ds)
    longest = covered[-1]
    fit, ds = by_window[longest]
    days = int((min(span, lookback) + step) // DAY)
    if days >= 2:
        pts = _pairs(t, v)
        base = stats.daily_baselines(pts, now, days)
        if len(base) >= 2:
            slope, intercept, lo, hi = stats.theil_sen(base)
            rising = all(b[1] > a[1] for a, b in zip(base, base[1:]))
            sel = [p for p in pts if p[0] > now - days * DAY]
            wfit, wds = _fit(sel, days * DAY)
            r2 = stats.r_squared(wds, slope, _intercept(wds, slope))
            noise = stats.robust_sd([v - (_intercept(wds, slope) + slope * t) for t, v in wds])
            return Verdict(slope, intercept, min(lo, slope), max(hi, slope), wfit.p, r2, days * DAY,
                           now - days * DAY, "daily baselines", rising and slope > 0 and wfit.p <= SIGNIFICANCE,
                           1.0, tuple(fits), tuple(wds), noise)
    if span + step >= DAY:
        cap = CAP_ONE_DAY
        w = max((x for x in covered if x <= DAY + step), default=longest)
        if w in by_window:
            fit, ds = by_window[w]
        else:
            keep = t >= now - DAY
            fit, ds = _fit_arrays(t[keep], v[keep], DAY)
        window = w
    else:
        cap, window = CAP_PARTIAL_DAY, longest
    dt, dv = ds
    with np.errstate(all="ignore"):
        resid = dv - fit.slope * dt
    intercept = float(np.sort(resid, kind="stable")[len(resid) // 2]) if len(resid) else float("nan")
    r2 = stats.r_squared(ds, fit.slope, intercept)
    with np.errstate(all="ignore"):
        noise = stats.robust_sd((dv - (intercept + fit.slope * dt)).tolist())
    significant = fit.p <= SIGNIFICANCE and fit.lower > 0
    if significant:
        keep = t >= now - window - 1e-6
        significant = not sawtooth(_pairs(t[keep], v[keep]), fit.slope)
    return Verdict(fit.slope, intercept, fit.lower, fit.upper, fit.p, r2, min(window, span) if span else window,
                   now - window, "samples", significant, cap, tuple(fits), tuple(_pairs(dt, dv)), noise)


def sawtooth(points, slope: float) -> bool:
    """Whether the series drops back by more than its noise explains: a cache filling and being freed, a GC
    cycle. A leak's level only dips by noise (≤ 6σ of the step-to-step changes) or by less than half of
    what it gained over the window."""
    if len(points) < 4:
        return False
    diffs = [b[1] - a[1] for a, b in zip(points, points[1:])]
    noise = stats.robust_sd(diffs) / math.sqrt(2)
    noise = noise if math.isfinite(noise) else 0.0
    peak, drop = points[0][1], 0.0
    for _, v in points:
        peak = max(peak, v)
        drop = max(drop, peak - v)
    rise = max(0.0, slope * (points[-1][0] - points[0][0]))
    return drop > max(6 * noise, 0.5 * rise)


def _intercept(points, slope: float) -> float:
    vals = sorted(v - slope * t for t, v in points)
    return vals[len(vals) // 2] if vals else float("nan")
