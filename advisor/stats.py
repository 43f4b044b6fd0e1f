"""Reductions over a series' points and the least-squares fit that trend rules (and predict_linear) use."""
from __future__ import annotations

import functools
import math

import numpy as np

QUANTILES = {"p99": 0.99, "p95": 0.95, "p90": 0.90, "p50": 0.50}


def _quantile(ordered, q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, and quantile_over_time's).

    Weighted as lo·(1−w) + hi·w, so neighbours near ±1.8e308 do not overflow their difference, and an
    infinite neighbour gives that infinity (or the other one, by the nearer rank) instead of NaN."""
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    a, b, w = float(ordered[lo]), float(ordered[hi]), pos - lo
    if w == 0 or a == b:
        return a
    if not (math.isfinite(a) and math.isfinite(b)):
        return a if w < 0.5 else b
    return a * (1 - w) + b * w


def mean(values) -> float:
    """The mean without overflow for values near the float limit (±Inf when infinities are in it, NaN for
    +Inf and −Inf together): never an exception."""
    arr = np.asarray(values, dtype=float)
    if not len(arr):
        return float("nan")
    with np.errstate(all="ignore"):
        m = float(np.mean(arr))
        if not math.isfinite(m) and np.isfinite(arr).all():   # the sum overflowed, the mean does not
            m = float(np.mean(arr / len(arr)) * len(arr))
    return m


def summary(values) -> dict[str, float]:
    """min, mean, p50, p90, p95, p99, max and last of the non-NaN values ({} when there are none)."""
    vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
    vals = [v for v in vals if v == v]
    if not vals:
        return {}
    ordered = sorted(vals)
    try:
        m = math.fsum(vals) / len(vals)
    except (OverflowError, ValueError):   # values near the float limit, or +Inf and -Inf together
        m = mean(vals)
    out = {"min": ordered[0], "mean": m}
    out.update({k: _quantile(ordered, q) for k, q in QUANTILES.items()})
    out.update(max=ordered[-1], last=vals[-1])
    return out


_KEYS = ("min", *QUANTILES, "max", "last")


@np.errstate(all="ignore")
def _quantile_rows(ordered: np.ndarray, q: float) -> np.ndarray:
    """_quantile of every row of a row-sorted 2-D array of finite values, with the same arithmetic."""
    n = ordered.shape[1]
    pos = (n - 1) * q
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    a, b, w = ordered[:, lo], ordered[:, hi], pos - lo
    if w == 0:
        return a.copy()
    return np.where(a == b, a, a * (1 - w) + b * w)


class Rows:
    """``summary()`` and ``robust_sd()`` of many series' finite values at once (one answer's targets): rows of
    equal length are stacked and sorted as one array, so a fleet costs a few numpy calls per distinct length
    instead of a Python sort per target. Values equal summary()'s and robust_sd()'s exactly (stable sort, the
    same interpolation); a row's dict, with its exact mean, is built only when asked for."""

    def __init__(self, rows: list[np.ndarray]):
        self.rows = rows
        k = len(rows)
        self.cols = {key: np.full(k, np.nan) for key in _KEYS}
        self.noise = np.full(k, np.nan)
        by_len: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            by_len.setdefault(len(r), []).append(i)
        for n, idx in by_len.items():
            if not n:
                continue
            ix = np.asarray(idx)
            m = np.stack([rows[i] for i in idx])
            self.cols["last"][ix] = m[:, -1]
            m.sort(axis=1, kind="stable")
            self.cols["min"][ix], self.cols["max"][ix] = m[:, 0], m[:, -1]
            for key, q in QUANTILES.items():
                self.cols[key][ix] = _quantile_rows(m, q)
            if n >= 3:
                with np.errstate(all="ignore"):
                    dev = np.abs(m - self.cols["p50"][ix][:, None])
                dev.sort(axis=1)
                self.noise[ix] = 1.4826 * _quantile_rows(dev, 0.5)
        self._cols = {key: col.tolist() for key, col in self.cols.items()}

    def value(self, i: int, how: str) -> float:
        """summary(row i)[how] (NaN for an unknown reduction)."""
        if how == "mean":
            return self.summary(i)["mean"]
        col = self._cols.get(how)
        return col[i] if col is not None else float("nan")

    def summary(self, i: int) -> dict[str, float]:
        vals = self.rows[i].tolist()
        if not vals:
            return {}
        try:
            m = math.fsum(vals) / len(vals)
        except (OverflowError, ValueError):
            m = mean(vals)
        c = self._cols
        return {"min": c["min"][i], "mean": m, "p99": c["p99"][i], "p95": c["p95"][i], "p90": c["p90"][i],
                "p50": c["p50"][i], "max": c["max"][i], "last": c["last"][i]}


def reduce(values: list[float], how: str) -> float:
    """p99/p95/p90/p50, max, min, mean or last of the values (NaN when there are none)."""
    if isinstance(values, np.ndarray) and how in _KEYS:   # summary()'s value without the rest of it
        vals = values[~np.isnan(values)] if np.isnan(values).any() else values
        if not len(vals):
            return float("nan")
        if how == "last":
            return float(vals[-1])
        ordered = np.sort(vals, kind="stable")
        return float(ordered[0]) if how == "min" else float(ordered[-1]) if how == "max" else \
            _quantile(ordered, QUANTILES[how])
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


# --- robust trend statistics (leak detection) ---------------------------------------------------------------

_Z95 = 1.959963984540054


def robust_sd(values) -> float:
    """Noise of a series: 1.4826 × the median absolute deviation (the sd for normal data, robust to spikes)."""
    vals = sorted(v for v in values if math.isfinite(v))
    if len(vals) < 3:
        return float("nan")
    med = _quantile(vals, 0.5)
    return 1.4826 * _quantile(sorted(abs(v - med) for v in vals), 0.5)


def downsample(points, limit: int = 240):
    """At most `limit` points: the median value of equal-count buckets, at the bucket's middle timestamp."""
    pts = [(t, v) for t, v in points if math.isfinite(v)]
    if len(pts) <= limit:
        return pts
    out = []
    for i in range(limit):
        chunk = pts[i * len(pts) // limit:(i + 1) * len(pts) // limit]
        if chunk:
            vals = sorted(v for _, v in chunk)
            out.append((chunk[len(chunk) // 2][0], _quantile(vals, 0.5)))
    return out


@functools.lru_cache(maxsize=32)
def _triu(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of n points, made once per length (a run judges thousands of equal-length series)."""
    i, j = np.triu_indices(n, k=1)
    i.flags.writeable = j.flags.writeable = False
    return i, j


def _finite_arrays(points) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps and values of the points with a finite value, as float arrays."""
    if isinstance(points, tuple) and len(points) == 2 and isinstance(points[0], np.ndarray):
        t, v = points
    else:
        pts = list(points)
        t = np.fromiter((p[0] for p in pts), dtype=float, count=len(pts))
        v = np.fromiter((p[1] for p in pts), dtype=float, count=len(pts))
    keep = np.isfinite(v)
    return (t, v) if keep.all() else (t[keep], v[keep])


@np.errstate(all="ignore")   # differences of values near the float limit overflow to ±Inf, which still rank
def mann_kendall(points) -> tuple[float, float]:
    """(z, one-sided p-value of an upward trend) of the Mann-Kendall test, with the variance corrected for ties.

    Rank-based: robust to noise and outliers, and to growth that is steady but not linear. `points` are
    (t, v) pairs or a (t array, v array) tuple."""
    return _mann_kendall(*_finite_arrays(points))


@np.errstate(all="ignore")
def _mann_kendall(t: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    n = len(v)
    if n < 4:
        return 0.0, 1.0
    i, j = _triu(n)
    s = float(np.sign(v[j] - v[i]).sum())
    _, counts = np.unique(v, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float((counts * (counts - 1) * (2 * counts + 5)).sum())) / 18.0
    if var <= 0:
        return 0.0, 1.0
    z = (s - 1) / math.sqrt(var) if s > 0 else (s + 1) / math.sqrt(var) if s < 0 else 0.0
    return z, 0.5 * math.erfc(z / math.sqrt(2))


@np.errstate(all="ignore")
def theil_sen(points) -> tuple[float, float, float, float]:
    """(slope per second, intercept, lower, upper) — Theil-Sen's median of pairwise slopes with Sen's 95 %
    confidence interval. Half the points can be outliers before the slope moves (least squares: one).
    `points` are (t, v) pairs or a (t array, v array) tuple."""
    return _theil_sen(*_finite_arrays(points))


@np.errstate(all="ignore")
def _theil_sen(t: np.ndarray, v: np.ndarray) -> tuple[float, float, float, float]:
    n = len(v)
    if n < 2:
        v0 = float(v[0]) if n else float("nan")
        return 0.0, v0, float("-inf"), float("inf")
    i, j = _triu(n)
    dt = t[j] - t[i]
    keep = dt > 0
    slopes = (v[j] - v[i]) / dt if keep.all() else (v[j] - v[i])[keep] / dt[keep]
    slopes.sort()
    m = len(slopes)
    if m == 0:
        return 0.0, float(np.median(v)), float("-inf"), float("inf")
    if slopes[-1] != slopes[-1]:   # a NaN (∞ − ∞): numpy's median says so
        slope = float(np.median(slopes))
    else:   # sorted already: the middle one(s), as np.median computes them
        slope = float(slopes[m // 2]) if m % 2 else float(np.mean(slopes[m // 2 - 1:m // 2 + 1]))
    intercept = float(np.median(v - slope * t))
    c = _Z95 * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lo_i, hi_i = int(math.floor((m - c) / 2)), int(math.ceil((m + c) / 2))
    lower = float(slopes[lo_i]) if 0 <= lo_i < m else float("-inf")
    upper = float(slopes[hi_i]) if 0 <= hi_i < m else float("inf")
    return slope, intercept, lower, upper


_BATCH_PAIRS = 50_000      # pairwise slopes per batch (400 KB: the batch's arrays stay in the CPU's cache)


def trend_tests(rows: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[tuple, tuple]]:
    """(_theil_sen, _mann_kendall) of many series' finite (timestamps, values) arrays, equal to calling them on
    each: series of equal length are stacked and their pairwise slopes sorted as one array (a fleet's leak rule
    tests 10,000 series of the same length)."""
    out: list = [None] * len(rows)
    by_len: dict[int, list[int]] = {}
    for k, (t, v) in enumerate(rows):
        by_len.setdefault(len(v), []).append(k)
    for n, idx in by_len.items():
        if n < 4:
            for k in idx:
                out[k] = (_theil_sen(*rows[k]), _mann_kendall(*rows[k]))
            continue
        per = max(1, _BATCH_PAIRS // (n * (n - 1) // 2))
        for at in range(0, len(idx), per):
            part = idx[at:at + per]
            T = np.stack([rows[k][0] for k in part])
            V = np.stack([rows[k][1] for k in part])
            for k, got in zip(part, _trend_rows(T, V)):
                out[k] = got if got is not None else (_theil_sen(*rows[k]), _mann_kendall(*rows[k]))
    return out


@np.errstate(all="ignore")
def _trend_rows(T: np.ndarray, V: np.ndarray) -> list:
    """_theil_sen and _mann_kendall of each row (n ≥ 4); None for a row the batch cannot do exactly the same
    (timestamps not increasing, a NaN slope): the caller tests it alone."""
    k, n = V.shape
    i, j = _triu(n)
    dt = T[:1, j] - T[:1, i] if (T == T[:1]).all() else T[:, j] - T[:, i]   # a fleet's series share timestamps
    dv = V[:, j] - V[:, i]
    ok = np.broadcast_to((dt > 0).all(axis=1), (k,)).copy()
    slopes = dv / dt
    ok &= ~np.isnan(slopes).any(axis=1)
    sgn = np.sign(dv).sum(axis=1)
    del dt, dv
    m = slopes.shape[1]
    c = _Z95 * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lo_i, hi_i = int(math.floor((m - c) / 2)), int(math.ceil((m + c) / 2))
    kth = {m // 2} | ({m // 2 - 1} if m % 2 == 0 else set()) | {x for x in (lo_i, hi_i) if 0 <= x < m}
    slopes.partition(sorted(kth), axis=1)
    if m % 2:
        slope = slopes[:, m // 2].copy()
    else:
        slope = (slopes[:, m // 2 - 1] + slopes[:, m // 2]) / 2
    lower = slopes[:, lo_i] if 0 <= lo_i < m else np.full(k, -np.inf)
    upper = slopes[:, hi_i] if 0 <= hi_i < m else np.full(k, np.inf)
    intercept = np.median(V - slope[:, None] * T, axis=1)
    # Mann-Kendall's tie correction: Σ c(c−1)(2c+5) over each row's groups of equal values.
    Vs = np.sort(V, axis=1)
    start = np.ones((k, n), dtype=bool)
    start[:, 1:] = Vs[:, 1:] != Vs[:, :-1]
    first = np.flatnonzero(start.ravel())
    counts = np.diff(np.append(first, k * n))
    ties = np.bincount(first // n, weights=counts * (counts - 1) * (2 * counts + 5), minlength=k)
    base = n * (n - 1) * (2 * n + 5)
    out = []
    for r in range(k):
        if not ok[r]:
            out.append(None)
            continue
        ts = (float(slope[r]), float(intercept[r]), float(lower[r]), float(upper[r]))
        var = (base - float(ties[r])) / 18.0
        s = float(sgn[r])
        if var <= 0:
            mk = (0.0, 1.0)
        else:
            z = (s - 1) / math.sqrt(var) if s > 0 else (s + 1) / math.sqrt(var) if s < 0 else 0.0
            mk = (z, 0.5 * math.erfc(z / math.sqrt(2)))
        out.append((ts, mk))
    return out


def r_squared(points, slope: float, intercept: float) -> float:
    """Share of the variance a line explains (1 − SSres/SStot, clamped to 0..1)."""
    t, v = _finite_arrays(points)
    if len(t) < 2:
        return 0.0
    with np.errstate(all="ignore"):   # values near the float limit overflow the squares: no fit, not a crash
        mv = mean(v)
        sst = float(((v - mv) ** 2).sum())
        if sst == 0:
            return 1.0 if slope == 0 else 0.0
        ssr = float(((v - (intercept + slope * t)) ** 2).sum())
    if not (math.isfinite(sst) and math.isfinite(ssr)):
        return 0.0
    return max(0.0, min(1.0, 1 - ssr / sst))


def daily_baselines(points, end: float, days: int, q: float = 0.05) -> list[tuple[float, float]]:
    """(middle of the day, low quantile) of each of the last `days` whole 24 h periods ending at `end`.

    A daily cycle rises and falls within a day; a leak lifts every day's low point. The 5th percentile, not
    the minimum, so one dip (a restart) does not hide the day's baseline."""
    out = []
    for d in range(days, 0, -1):
        lo, hi = end - d * 86400.0, end - (d - 1) * 86400.0
        vals = sorted(v for t, v in points if lo < t <= hi and math.isfinite(v))
        if len(vals) >= 3:
            out.append(((lo + hi) / 2, _quantile(vals, q)))
    return out
