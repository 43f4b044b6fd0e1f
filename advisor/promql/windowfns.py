"""Range-vector functions that need every sample of a window (variance, regression, smoothing, mad).

Windows with the same sample count are gathered into one 2-D array and processed column by column with the
same IEEE operations, in the same order, as Prometheus applies per sample (Kahan-compensated sums,
Welford-style variance), so results match bit for bit while the loop runs over columns, not windows.
"""
from __future__ import annotations

import numpy as np

from .values import EvalError, Mat

BATCH = 1 << 21  # samples gathered at once


def _groups(m: Mat, min_count: int):
    """Yield (rows, cols, T, W) for windows of equal sample count (batched to bound memory)."""
    lo, hi = m.windows()
    cnt = hi - lo
    for c in np.unique(cnt[cnt >= min_count]):
        rows, cols = np.nonzero(cnt == c)
        per = max(1, BATCH // int(c))
        for a in range(0, len(rows), per):
            r, k = rows[a:a + per], cols[a:a + per]
            idx = lo[r, k][:, None] + np.arange(c)[None, :]
            yield r, k, m.ts[idx], m.vals[idx]


def apply(m: Mat, fn, min_count: int = 1):
    """out[i, j] = fn(T, W, step_cols) for every window with at least ``min_count`` samples."""
    lo, _ = m.windows()
    out = np.full(lo.shape, np.nan)
    mask = np.zeros(lo.shape, dtype=bool)
    with np.errstate(all="ignore"):
        for r, k, t, w in _groups(m, min_count):
            out[r, k] = fn(t, w, k)
            mask[r, k] = True
    return out, mask


def kahan_inc(inc, s, c):
    """Prometheus' kahanSumInc, elementwise."""
    t = s + inc
    big = np.abs(s) >= np.abs(inc)
    c = np.where(np.isinf(t), 0.0, c + np.where(big, (s - t) + inc, (inc - t) + s))
    return t, c


def _variance(t, w, _k):
    count = 0.0
    mean = c_mean = aux = c_aux = np.zeros(w.shape[0])
    for col in range(w.shape[1]):
        x = w[:, col]
        count += 1
        delta = x - (mean + c_mean)
        mean, c_mean = kahan_inc(delta / count, mean, c_mean)
        aux, c_aux = kahan_inc(delta * (x - (mean + c_mean)), aux, c_aux)
    return (aux + c_aux) / count


def stdvar_over_time(m: Mat):
    return apply(m, _variance)


def stddev_over_time(m: Mat):
    out, mask = apply(m, _variance)
    with np.errstate(all="ignore"):
        return np.sqrt(out), mask


def sorted_nan_first(w: np.ndarray) -> np.ndarray:
    """Rows sorted like Go's sort.Float64s (NaN before every number)."""
    w = np.sort(w, axis=1)
    nan = np.isnan(w)
    if nan.any():
        w = np.take_along_axis(w, np.argsort(~nan, axis=1, kind="stable"), axis=1)
    return w


def quantile_rows(w: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Prometheus' quantile of each sorted row (rank q·(n-1), linear interpolation)."""
    n = w.shape[1]
    rank = q * (n - 1)
    lower = np.clip(np.floor(np.nan_to_num(rank)), 0, n - 1).astype(np.int64)
    upper = np.clip(lower + 1, 0, n - 1)
    weight = rank - np.floor(rank)
    r = np.arange(w.shape[0])
    res = w[r, lower] * (1 - weight) + w[r, upper] * weight
    res = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, res))
    return np.where(np.isnan(q), np.nan, res)


def _mad(t, w, _k):
    half = np.full(w.shape[0], 0.5)
    med = quantile_rows(sorted_nan_first(w), half)
    dev = quantile_rows(sorted_nan_first(np.abs(w - med[:, None])), half)
    return np.where(np.isnan(w).any(axis=1), np.nan, dev)


def mad_over_time(m: Mat):
    return apply(m, _mad)


def linear_regression(t: np.ndarray, w: np.ndarray, intercept_ms: np.ndarray):
    """Prometheus' linearRegression for each row: (slope, intercept at intercept_ms)."""
    n = float(w.shape[1])
    z = np.zeros(w.shape[0])
    sx = cx = sy = cy = sxy = cxy = sx2 = cx2 = z
    for col in range(w.shape[1]):
        x = (t[:, col] - intercept_ms) / 1e3
        y = w[:, col]
        sx, cx = kahan_inc(x, sx, cx)
        sy, cy = kahan_inc(y, sy, cy)
        sxy, cxy = kahan_inc(x * y, sxy, cxy)
        sx2, cx2 = kahan_inc(x * x, sx2, cx2)
    sx, sy, sxy, sx2 = sx + cx, sy + cy, sxy + cxy, sx2 + cx2
    slope = (sxy - sx * sy / n) / (sx2 - sx * sx / n)
    icpt = sy / n - slope * sx / n
    y0 = w[:, 0]
    const = (w == y0[:, None]).all(axis=1)
    inf0 = np.isinf(y0)
    slope = np.where(const, np.where(inf0, np.nan, 0.0), slope)
    icpt = np.where(const, np.where(inf0, np.nan, y0), icpt)
    return slope, icpt


def deriv(m: Mat):
    return apply(m, lambda t, w, k: linear_regression(t, w, t[:, 0])[0], 2)


def predict_linear(m: Mat, dur: np.ndarray):
    # The intercept is at the query's step time, even with @ or offset on the selector.
    step_t = m.step_t if m.step_t is not None else m.t_end

    def fn(t, w, k):
        slope, icpt = linear_regression(t, w, step_t[k])
        return slope * dur[k] + icpt
    return apply(m, fn, 2)


def double_exponential_smoothing(m: Mat, sf: np.ndarray, tf: np.ndarray):
    s_f, t_f = float(sf[0]), float(tf[0])
    if not (0 < s_f < 1):
        raise EvalError(f"invalid smoothing factor. Expected: 0 < sf < 1, got: {s_f:g}")
    if not (0 < t_f < 1):
        raise EvalError(f"invalid trend factor. Expected: 0 < tf < 1, got: {t_f:g}")

    def fn(t, w, k):
        s0, s1 = np.zeros(w.shape[0]), w[:, 0]
        b = w[:, 1] - w[:, 0]
        for i in range(1, w.shape[1]):
            if i > 1:
                b = t_f * (s1 - s0) + (1 - t_f) * b
            s0, s1 = s1, s_f * w[:, i] + (1 - s_f) * (s1 + b)
        return s1
    return apply(m, fn, 2)


def ts_of_extreme(m: Mat, is_max: bool):
    """Timestamp of the last sample holding the window's max (min); NaN only where all are NaN."""
    def fn(t, w, k):
        valid = ~np.isnan(w)
        key = np.where(valid, w if is_max else -w, -np.inf)
        best = key.max(axis=1)
        hit = valid & (key == best[:, None])
        last = w.shape[1] - 1 - np.argmax(hit[:, ::-1], axis=1)
        last = np.where(valid.any(axis=1), last, 0)
        return t[np.arange(w.shape[0]), last] / 1000.0
    return apply(m, fn)
