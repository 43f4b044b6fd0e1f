"""histogram_quantile and histogram_fraction over classic ``le`` bucket series."""
from __future__ import annotations

import math

import numpy as np

from .loaders import parse_float
from .values import Vec, label_key, merge_rows

SMALL_DELTA = 1e-12


def _groups(v: Vec):
    """Bucket series grouped by their labels without ``le`` and ``__name__``: {key: (labels, [(le, row)])}."""
    groups: dict[tuple, tuple[dict, list]] = {}
    for i, lb in enumerate(v.labels):
        if "le" not in lb:
            continue
        try:
            le = parse_float(lb["le"])
        except ValueError:
            continue
        # Grouped with the metric name, which is dropped afterwards: two histograms that differ only
        # by name collide in the output, as in Prometheus.
        key = label_key({k: val for k, val in lb.items() if k != "le"})
        out = {k: val for k, val in lb.items() if k not in ("le", "__name__")}
        groups.setdefault(key, (out, []))[1].append((le, i))
    return groups


def _almost_equal(a: float, b: float, eps: float) -> bool:
    if a == b:
        return True
    diff = abs(a - b)
    if a == 0 or b == 0 or diff < 2.2250738585072014e-308:
        return diff < eps * 2.2250738585072014e-308
    return diff / min(abs(a) + abs(b), 1.7976931348623157e308) < eps


def _buckets(pairs: list[tuple[float, float]]) -> list[list[float]] | None:
    pairs.sort(key=lambda p: p[0])
    if not pairs or not math.isinf(pairs[-1][0]) or pairs[-1][0] < 0:
        return None
    out: list[list[float]] = []
    for le, c in pairs:  # coalesce equal bounds
        if out and out[-1][0] == le:
            out[-1][1] += c
        else:
            out.append([le, c])
    prev = out[0][1]
    for b in out[1:]:
        cur = b[1]
        if cur == prev:
            continue
        if _almost_equal(prev, cur, SMALL_DELTA):
            b[1] = prev
            continue
        if cur < prev:
            b[1] = prev
            continue
        prev = cur
    return out


def bucket_quantile(q: float, pairs: list[tuple[float, float]]) -> float:
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    b = _buckets(pairs)
    if b is None or len(b) < 2:
        return math.nan
    obs = b[-1][1]
    if obs == 0 or math.isnan(obs):
        return math.nan
    rank = q * obs
    i = 0
    while i < len(b) - 1 and not b[i][1] >= rank:
        i += 1
    if i == len(b) - 1:
        return b[-2][0]
    if i == 0 and b[0][0] <= 0:
        return b[0][0]
    start, end, count = 0.0, b[i][0], b[i][1]
    if i > 0:
        start = b[i - 1][0]
        count -= b[i - 1][1]
        rank -= b[i - 1][1]
    if count <= 0 or math.isnan(count):
        return math.nan
    return start + (end - start) * (rank / count)


def bucket_fraction(lower: float, upper: float, pairs: list[tuple[float, float]]) -> float:
    b = _buckets(pairs)
    if b is None:
        return math.nan
    count = b[-1][1]
    if count == 0 or math.isnan(lower) or math.isnan(upper):
        return math.nan
    if lower >= upper:
        return 0.0
    rank = lower_rank = upper_rank = 0.0
    lower_set = upper_set = False
    for i, (ub, c) in enumerate(b):
        lb = b[i - 1][0] if i > 0 else (0.0 if ub > 0 else -math.inf)

        def interp(x, lb=lb, ub=ub, c=c):
            if lb == -math.inf:
                return c
            return rank + (c - rank) * (x - lb) / (ub - lb)

        if not lower_set and lb >= lower:
            lower_rank, lower_set = rank, True
        if not upper_set and lb >= upper:
            upper_rank, upper_set = rank, True
        if lower_set and upper_set:
            break
        if not lower_set and lb < lower < ub:
            lower_rank, lower_set = interp(lower), True
        if not upper_set and lb < upper < ub:
            upper_rank, upper_set = interp(upper), True
        if lower_set and upper_set:
            break
        rank = c
    if not lower_set or lower_rank > count:
        lower_rank = count
    if not upper_set or upper_rank > count:
        upper_rank = count
    return (upper_rank - lower_rank) / count


def format_q(q: float) -> str:
    """Quantile label values as Prometheus prints them (``0.0``, ``0.25``, ``1.0``)."""
    if math.isnan(q):
        return "NaN"
    if math.isinf(q):
        return "+Inf" if q > 0 else "-Inf"
    return repr(float(q))


def _apply(v: Vec, fn, block=None) -> Vec:
    """Per group of buckets: ``block`` computes all steps where every bucket is present at once (when
    given); other steps go through ``fn(step, [(le, count), ...])``."""
    k = v.vals.shape[1]
    labels, vals, mask = [], [], []
    for lb, members in _groups(v).values():
        rows = np.array([r for _, r in members])
        les = np.array([le for le, _ in members])
        out = np.full(k, np.nan)
        m = v.mask[rows].any(axis=0)
        rest = m
        if block is not None:
            full = v.mask[rows].all(axis=0)
            if full.any():
                order = np.argsort(les, kind="stable")
                sles, counts = les[order], v.vals[rows][order][:, full]
                if len(np.unique(sles)) != len(sles):  # coalesce equal bounds
                    uniq, inv = np.unique(sles, return_inverse=True)
                    summed = np.zeros((len(uniq), counts.shape[1]))
                    np.add.at(summed, inv, counts)
                    sles, counts = uniq, summed
                with np.errstate(all="ignore"):
                    out[full] = block(sles, counts, np.nonzero(full)[0])
                rest = m & ~full
        for j in np.nonzero(rest)[0]:
            pairs = [(float(les[n]), float(v.vals[r, j])) for n, r in enumerate(rows) if v.mask[r, j]]
            out[j] = fn(j, pairs)
        labels.append(lb); vals.append(out); mask.append(m)
    return merge_rows(Vec(labels, np.array(vals).reshape(-1, k), np.array(mask, dtype=bool).reshape(-1, k)))


def _almost_equal_v(a: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    diff = np.abs(a - b)
    tiny = (a == 0) | (b == 0) | (diff < 2.2250738585072014e-308)
    rel = diff / np.minimum(np.abs(a) + np.abs(b), 1.7976931348623157e308)
    return (a == b) | np.where(tiny, diff < eps * 2.2250738585072014e-308, rel < eps)


def _quantile_block(q: np.ndarray):
    """bucket_quantile for sorted bounds ``les`` and counts (buckets × steps), all steps at once."""
    def block(les: np.ndarray, counts: np.ndarray, cols: np.ndarray) -> np.ndarray:
        qs = q[cols]
        nb, n = counts.shape
        if nb < 2 or not (math.isinf(les[-1]) and les[-1] > 0):
            res = np.full(n, np.nan)
        else:
            b = counts.copy()
            prev = b[0].copy()
            for i in range(1, nb):
                cur = b[i]
                fix = ~(cur == prev) & (_almost_equal_v(prev, cur, SMALL_DELTA) | (cur < prev))
                b[i] = np.where(fix, prev, cur)
                prev = b[i].copy()
            obs = b[-1]
            rank = qs * obs
            ge = b[:-1] >= rank[None, :]
            idx = np.where(ge.any(axis=0), np.argmax(ge, axis=0), nb - 1)
            cols_n = np.arange(n)
            end = les[np.minimum(idx, nb - 1)]
            start = np.where(idx > 0, les[np.maximum(idx - 1, 0)], 0.0)
            below = np.where(idx > 0, b[np.maximum(idx - 1, 0), cols_n], 0.0)
            count = b[idx, cols_n] - below
            res = start + (end - start) * ((rank - below) / count)
            res = np.where((count <= 0) | np.isnan(count), np.nan, res)
            res = np.where((idx == 0) & (les[0] <= 0), les[0], res)
            res = np.where(idx == nb - 1, les[-2], res)
            res = np.where((obs == 0) | np.isnan(obs), np.nan, res)
        res = np.where(qs < 0, -np.inf, np.where(qs > 1, np.inf, res))
        return np.where(np.isnan(qs), np.nan, res)
    return block


def quantile(q: np.ndarray, v: Vec) -> Vec:
    return _apply(v, lambda j, pairs: bucket_quantile(float(q[j]), pairs), _quantile_block(q))


def fraction(lo: np.ndarray, hi: np.ndarray, v: Vec) -> Vec:
    return _apply(v, lambda j, pairs: bucket_fraction(float(lo[j]), float(hi[j]), pairs))
