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


def _apply(v: Vec, fn) -> Vec:
    k = v.vals.shape[1]
    labels, vals, mask = [], [], []
    for lb, members in _groups(v).values():
        rows = np.array([r for _, r in members])
        les = [le for le, _ in members]
        out = np.full(k, np.nan)
        m = np.zeros(k, dtype=bool)
        for j in np.nonzero(v.mask[rows].any(axis=0))[0]:
            pairs = [(les[n], float(v.vals[r, j])) for n, r in enumerate(rows) if v.mask[r, j]]
            out[j] = fn(j, pairs)
            m[j] = True
        labels.append(lb); vals.append(out); mask.append(m)
    return merge_rows(Vec(labels, np.array(vals).reshape(-1, k), np.array(mask, dtype=bool).reshape(-1, k)))


def quantile(q: np.ndarray, v: Vec) -> Vec:
    return _apply(v, lambda j, pairs: bucket_quantile(float(q[j]), pairs))


def fraction(lo: np.ndarray, hi: np.ndarray, v: Vec) -> Vec:
    return _apply(v, lambda j, pairs: bucket_fraction(float(lo[j]), float(hi[j]), pairs))
