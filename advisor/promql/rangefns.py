"""Functions over range vectors (rate family, *_over_time, changes, resets), vectorized over series × steps."""
from __future__ import annotations

import math

import numpy as np

from .values import Mat
from .windowfns import quantile_rows, sorted_nan_first



def _gather(m: Mat, idx: np.ndarray) -> np.ndarray:
    if len(m.vals) == 0:
        return np.zeros(idx.shape)
    return np.take(m.vals, idx, mode="clip")


def _gather_ts(m: Mat, idx: np.ndarray) -> np.ndarray:
    if len(m.ts) == 0:
        return np.zeros(idx.shape, dtype=np.int64)
    return np.take(m.ts, idx, mode="clip")


def _reduce(ufunc, m: Mat, lo: np.ndarray, hi: np.ndarray, empty: float) -> np.ndarray:
    """ufunc.reduce over every window vals[lo:hi] without a Python loop."""
    n = lo.size
    if n == 0 or len(m.vals) == 0:
        return np.full(lo.shape, empty)
    padded = np.append(m.vals, empty)
    idx = np.empty(2 * n, dtype=np.int64)
    idx[0::2] = lo.ravel()
    idx[1::2] = hi.ravel()
    idx = np.minimum(idx, len(m.vals))
    res = ufunc.reduceat(padded, idx)[0::2]
    res = np.where((hi > lo).ravel(), res, empty)
    return res.reshape(lo.shape)


def extrapolated(m: Mat, is_counter: bool, is_rate: bool):
    lo, hi = m.windows()
    cnt = hi - lo
    mask = cnt >= 2
    first, last = _gather(m, lo), _gather(m, hi - 1)
    t1, t2 = _gather_ts(m, lo), _gather_ts(m, hi - 1)
    with np.errstate(all="ignore"):
        result = last - first
        if is_counter:
            result += _counter_correction(m, lo, hi, mask)
        to_start = (t1 - (m.t_end - m.range_ms)[None, :]) / 1000.0
        to_end = (m.t_end[None, :] - t2) / 1000.0
        sampled = (t2 - t1) / 1000.0
        avg = sampled / np.maximum(cnt - 1, 1)
        thresh = avg * 1.1
        half = avg * 0.5
        np.copyto(to_start, half, where=to_start >= thresh)
        if is_counter:
            to_zero = sampled * (first / result)
            np.copyto(to_start, to_zero, where=(result > 0) & (first >= 0) & (to_zero < to_start))
        np.copyto(to_end, half, where=to_end >= thresh)
        factor = sampled + to_start
        factor += to_end
        factor /= sampled
        if is_rate:
            factor /= m.range_ms / 1000.0
        result *= factor
    return result, mask


def _cumulative(m: Mat, kind: str) -> np.ndarray:
    """cum[i] = number of resets (or changes) among samples 1..i-1 of the flat array; window counts are
    differences. Windows never span two series, so comparisons across a series boundary never count."""
    cum = m.cache.get(kind)
    if cum is None:
        v = m.vals
        ind = np.zeros(len(v), dtype=np.int64)
        if len(v) > 1:
            a, b = v[:-1], v[1:]
            ind[1:] = (b < a) if kind == "resets" else ~((a == b) | (np.isnan(a) & np.isnan(b)))
        cum = m.cache[kind] = np.concatenate(([0], np.cumsum(ind)))
    return cum


def _counter_correction(m: Mat, lo, hi, mask) -> np.ndarray:
    v = m.vals
    if len(v) < 2:
        return np.zeros(lo.shape)
    cum = _cumulative(m, "resets")
    # resets at positions lo+1 .. hi-1
    n_resets = cum[np.maximum(hi, 1)] - cum[np.minimum(lo + 1, len(v))]
    corr = np.zeros(lo.shape)
    for i, j in zip(*np.nonzero(mask & (n_resets > 0))):
        a, b = lo[i, j], hi[i, j]
        w = v[a:b]
        prev = w[:-1]
        corr[i, j] = prev[w[1:] < prev].sum()
    return corr


def instant_delta(m: Mat, is_rate: bool):
    lo, hi = m.windows()
    mask = (hi - lo) >= 2
    last, prev = _gather(m, hi - 1), _gather(m, hi - 2)
    t2, t1 = _gather_ts(m, hi - 1), _gather_ts(m, hi - 2)
    with np.errstate(all="ignore"):
        if is_rate:
            res = np.where(last < prev, last, last - prev)
            res = res / ((t2 - t1) / 1000.0)
        else:
            res = last - prev
    return res, mask


def kahan_inc(inc: float, s: float, c: float) -> tuple[float, float]:
    """Prometheus' Kahan-Neumaier step."""
    t = s + inc
    if math.isinf(t):
        c = 0.0
    elif abs(s) >= abs(inc):
        c += (s - t) + inc
    else:
        c += (inc - t) + s
    return t, c


def prom_sum(values) -> float:
    s = c = 0.0
    for x in values:
        s, c = kahan_inc(x, s, c)
    return s if math.isinf(s) else s + c


def prom_avg(values) -> float:
    """Prometheus' mean: Kahan-compensated direct mean, incremental once the sum would overflow."""
    values = list(values)
    s, count, mean, c = values[0], 1.0, 0.0, 0.0
    incremental = False
    for i, x in enumerate(values[1:]):
        count = float(i + 2)
        if not incremental:
            ns, nc = kahan_inc(x, s, c)
            if not math.isinf(ns):
                s, c = ns, nc
                continue
            incremental = True
            mean = s / (count - 1)
            c /= count - 1
        q = (count - 1) / count
        mean, c = kahan_inc(x / count, q * mean, q * c)
    if incremental:
        return mean + c
    return s / count + c / count


def window_sum(m: Mat, lo, hi) -> np.ndarray:
    """Window sums; windows where plain addition may have cancelled are redone exactly."""
    with np.errstate(all="ignore"):
        res = _reduce(np.add, m, lo, hi, 0.0)
        if len(m.vals) == 0:
            return res
        absm = Mat(m.labels, m.base, m.keys, m.ts, np.abs(m.vals), m.range_ms, m.t_end, m._win)
        mag = _reduce(np.add, absm, lo, hi, 0.0)
        risky = np.isfinite(mag) & ((hi - lo) * 2.3e-16 * mag > 1e-9 * np.abs(res))
    for i, j in zip(*np.nonzero(risky)):
        res[i, j] = prom_sum(m.vals[lo[i, j]:hi[i, j]].tolist())
    return res


def sum_over_time(m: Mat):
    lo, hi = m.windows()
    return window_sum(m, lo, hi), hi > lo


def avg_over_time(m: Mat):
    lo, hi = m.windows()
    cnt = hi - lo
    with np.errstate(all="ignore"):
        s = window_sum(m, lo, hi)
        res = s / np.maximum(cnt, 1)
        with np.errstate(all="ignore"):
            absm = Mat(m.labels, m.base, m.keys, m.ts, np.abs(m.vals), m.range_ms, m.t_end, m._win)
            mag = _reduce(np.add, absm, lo, hi, 0.0) if len(m.vals) else np.zeros(lo.shape)
        bad = (cnt > 0) & (~np.isfinite(res) | (cnt * 2.3e-16 * mag > 1e-9 * np.abs(s)))
    for i, j in zip(*np.nonzero(bad)):
        with np.errstate(all="ignore"):
            res[i, j] = prom_avg(m.vals[lo[i, j]:hi[i, j]].tolist())
    return res, cnt > 0


def minmax_over_time(m: Mat, is_max: bool):
    lo, hi = m.windows()
    with np.errstate(all="ignore"):
        res = _reduce(np.fmax if is_max else np.fmin, m, lo, hi, np.nan)
    return res, hi > lo


def count_over_time(m: Mat):
    lo, hi = m.windows()
    return (hi - lo).astype(np.float64), hi > lo


def last_over_time(m: Mat):
    lo, hi = m.windows()
    return _gather(m, hi - 1), hi > lo


def first_over_time(m: Mat):
    lo, hi = m.windows()
    return _gather(m, lo), hi > lo


def ts_of_last(m: Mat):
    lo, hi = m.windows()
    return _gather_ts(m, hi - 1) / 1000.0, hi > lo


def ts_of_first(m: Mat):
    lo, hi = m.windows()
    return _gather_ts(m, lo) / 1000.0, hi > lo


def present_over_time(m: Mat):
    lo, hi = m.windows()
    return np.ones(lo.shape), hi > lo


def quantile_over_time(m: Mat, q: np.ndarray):
    lo, hi = m.windows()
    cnt = hi - lo
    mask = cnt > 0
    out = np.full(lo.shape, np.nan)
    with np.errstate(all="ignore"):
        for c in np.unique(cnt[mask]):
            sel = cnt == c
            rows, cols = np.nonzero(sel)
            w = sorted_nan_first(m.vals[lo[sel][:, None] + np.arange(c)[None, :]])
            out[rows, cols] = quantile_rows(w, q[cols])
    return out, mask


def quantile_list(values: np.ndarray, q: float) -> float:
    v = sorted_nan_first(np.asarray(values, dtype=np.float64)[None, :])
    return float(quantile_rows(v, np.array([q]))[0])


def changes(m: Mat, resets: bool):
    lo, hi = m.windows()
    v = m.vals
    cum = _cumulative(m, "resets" if resets else "changes")
    cnt = hi - lo
    res = cum[np.clip(hi, 0, len(v))] - cum[np.clip(lo + 1, 0, len(v))]
    return np.where(cnt > 0, res, 0).astype(np.float64), cnt > 0


