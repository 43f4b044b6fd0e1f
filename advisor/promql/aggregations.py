"""Aggregation operators (sum, avg, topk, quantile, count_values, …) grouped by/without labels."""
from __future__ import annotations

import math

import numpy as np

from .parse import Agg
from .rangefns import prom_avg, prom_sum
from .values import EvalError, Scal, StrV, Vec, label_key, merge_rows



def group_labels(lb: dict[str, str], node: Agg) -> dict[str, str]:
    if node.without is None:
        return {}
    if node.without:
        drop = set(node.labels) | {"__name__"}
        return {k: v for k, v in lb.items() if k not in drop}
    keep = set(node.labels)
    return {k: v for k, v in lb.items() if k in keep}


def _group_index(v: Vec, node: Agg):
    index: dict[tuple, int] = {}
    labels: list[dict] = []
    g = np.empty(v.n, dtype=np.int64)
    cache: dict[tuple, tuple] = {}
    for i, lb in enumerate(v.labels):
        gl = group_labels(lb, node)
        key = label_key(gl)
        idx = index.get(key)
        if idx is None:
            idx = index[key] = len(labels)
            labels.append(gl)
        g[i] = idx
    del cache
    return g, labels


def _param_scalar(ev, node: Agg, what: str) -> np.ndarray:
    p = ev.eval(node.param)
    if not isinstance(p, Scal):
        raise EvalError(f"expected scalar {what}")
    return p.vals


def aggregate(ev, node: Agg):
    v = ev.eval(node.expr)
    if not isinstance(v, Vec):
        raise EvalError(f"expected instant vector in aggregation {node.op}")
    op = node.op
    if op in ("topk", "bottomk"):
        return _topk(ev, node, v, _param_scalar(ev, node, "k"))
    if op == "quantile":
        return _quantile(node, v, _param_scalar(ev, node, "quantile"))
    if op == "count_values":
        p = ev.eval(node.param)
        if not isinstance(p, StrV):
            raise EvalError("expected string parameter for count_values")
        return _count_values(node, v, p.val)
    if op in ("limitk", "limit_ratio"):
        raise EvalError(f"{op} is not supported by the embedded engine")
    k = v.vals.shape[1]
    g, labels = _group_index(v, node)
    ng = len(labels)
    m = v.mask
    x = np.where(m, v.vals, 0.0)
    cnt = np.zeros((ng, k))
    np.add.at(cnt, g, m.astype(np.float64))
    present = cnt > 0
    with np.errstate(all="ignore"):
        if op == "sum":
            out = group_sum(x, g, ng, m)
        elif op == "count":
            out = cnt
        elif op == "group":
            out = np.ones((ng, k))
        elif op == "avg":
            s = group_sum(x, g, ng, m)
            out = s / cnt
            _fix_avg(out, s, v, g, present)
        elif op in ("min", "max"):
            out = np.full((ng, k), np.nan)
            xm = np.where(m, v.vals, np.nan)
            (np.fmax if op == "max" else np.fmin).at(out, g, xm)
        elif op in ("stddev", "stdvar"):
            out = _welford(v, g, ng)
            if op == "stddev":
                out = np.sqrt(out)
        else:
            raise EvalError(f"unsupported aggregation {op}")
    return Vec(labels, out, present)


def group_sum(x: np.ndarray, g: np.ndarray, ng: int, m: np.ndarray) -> np.ndarray:
    """Per-group sums; groups where plain addition may have cancelled are redone exactly."""
    k = x.shape[1]
    out = np.zeros((ng, k))
    np.add.at(out, g, x)
    mag = np.zeros((ng, k))
    np.add.at(mag, g, np.abs(x))
    cnt = np.bincount(g, minlength=ng)[:, None]
    risky = np.isfinite(mag) & (cnt * 2.3e-16 * mag > 1e-9 * np.abs(out))
    for gi, j in zip(*np.nonzero(risky)):
        rows = (g == gi) & m[:, j]
        out[gi, j] = prom_sum(x[rows, j].tolist())
    return out


def _welford(v: Vec, g: np.ndarray, ng: int) -> np.ndarray:
    k = v.vals.shape[1]
    out = np.zeros((ng, k))
    for gi in range(ng):
        cnt = np.zeros(k)
        mean = np.zeros(k)
        m2 = np.zeros(k)
        for r in np.nonzero(g == gi)[0]:
            pm = v.mask[r]
            x = v.vals[r]
            c2 = cnt + pm
            delta = np.where(pm, x - mean, 0.0)
            mean = np.where(pm, mean + delta / np.maximum(c2, 1), mean)
            m2 = np.where(pm, m2 + delta * (x - mean), m2)
            cnt = c2
        out[gi] = m2 / cnt
    return out


def _fix_avg(out, s, v: Vec, g, present) -> None:
    x = np.where(v.mask, np.abs(v.vals), 0.0)
    mag = np.zeros(out.shape)
    np.add.at(mag, g, x)
    cnt = np.bincount(g, minlength=out.shape[0])[:, None]
    bad = present & (~np.isfinite(out) | (cnt * 2.3e-16 * mag > 1e-9 * np.abs(s)))
    for gi, j in zip(*np.nonzero(bad)):
        rows = np.nonzero((g == gi) & v.mask[:, j])[0]
        out[gi, j] = prom_avg(v.vals[rows, j].tolist())


def _topk(ev, node: Agg, v: Vec, kparam: np.ndarray) -> Vec:
    if np.isnan(kparam).any():
        raise EvalError("Parameter value is NaN")
    g, labels = _group_index(v, node)
    steps = v.vals.shape[1]
    sel = np.zeros(v.mask.shape, dtype=bool)
    rank = np.full(v.mask.shape, np.inf)
    is_top = node.op == "topk"
    for j in range(steps):
        kk = kparam[j]
        if kk < 1:
            continue
        rows = np.nonzero(v.mask[:, j])[0]
        if len(rows) == 0:
            continue
        key = -v.vals[rows, j] if is_top else v.vals[rows, j].copy()
        key = np.where(np.isnan(key), np.inf, key)  # NaN ranks last for topk and bottomk
        order = np.lexsort((np.arange(len(rows)), key, g[rows]))
        grp = g[rows][order]
        start = np.concatenate(([0], np.nonzero(grp[1:] != grp[:-1])[0] + 1))
        first = np.repeat(start, np.diff(np.append(start, len(grp))))
        within = np.arange(len(grp)) - first
        take = within < min(kk, 2**62)
        chosen = rows[order[take]]
        sel[chosen, j] = True
        rank[chosen, j] = within[take]
    keep = np.nonzero(sel.any(axis=1))[0]
    if steps == 1 and len(keep):
        keep = sorted(keep, key=lambda r: (g[r], rank[r, 0]))
        ev.ordered = True
    keep = np.asarray(keep, dtype=np.int64)
    return Vec([v.labels[i] for i in keep], v.vals[keep], sel[keep])


def _quantile(node: Agg, v: Vec, q: np.ndarray) -> Vec:
    g, labels = _group_index(v, node)
    k = v.vals.shape[1]
    out = np.full((len(labels), k), np.nan)
    present = np.zeros((len(labels), k), dtype=bool)
    for j in range(k):
        rows = np.nonzero(v.mask[:, j])[0]
        if len(rows) == 0:
            continue
        x = v.vals[rows, j]
        order = np.lexsort((x, ~np.isnan(x), g[rows]))  # by group, NaN first, then value (Go's sort)
        sv, grp = x[order], g[rows][order]
        start = np.concatenate(([0], np.nonzero(grp[1:] != grp[:-1])[0] + 1))
        count = np.diff(np.append(start, len(grp)))
        qj = float(q[j])
        with np.errstate(all="ignore"):
            rank = qj * (count - 1)
            lower = np.clip(np.floor(rank if qj == qj else 0), 0, count - 1).astype(np.int64)
            upper = np.minimum(lower + 1, count - 1)
            weight = rank - np.floor(rank)
            res = sv[start + lower] * (1 - weight) + sv[start + upper] * weight
        if qj != qj:
            res = np.full(len(start), np.nan)
        elif qj < 0:
            res = np.full(len(start), -np.inf)
        elif qj > 1:
            res = np.full(len(start), np.inf)
        out[grp[start], j] = res
        present[grp[start], j] = True
    return Vec(labels, out, present)


def format_value(f: float) -> str:
    """Go's strconv.FormatFloat(f, 'f', -1, 64)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return np.format_float_positional(f, unique=True, trim="-")


def _count_values(node: Agg, v: Vec, name: str) -> Vec:
    if not name or not (name[0].isalpha() or name[0] == "_") or not all(c.isalnum() or c == "_" for c in name):
        raise EvalError(f"invalid label name {name!r}")
    k = v.vals.shape[1]
    acc: dict[tuple, tuple[dict, np.ndarray]] = {}
    for i, lb in enumerate(v.labels):
        gl = group_labels(lb, node)
        for j in np.nonzero(v.mask[i])[0]:
            out = dict(gl)
            out[name] = format_value(float(v.vals[i, j]))
            key = label_key(out)
            if key not in acc:
                acc[key] = (out, np.zeros(k))
            acc[key][1][j] += 1
    labels = [a for a, _ in acc.values()]
    vals = np.array([c for _, c in acc.values()]).reshape(-1, k)
    return merge_rows(Vec(labels, vals, vals > 0))
