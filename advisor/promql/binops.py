"""Binary operators: arithmetic, comparisons (with ``bool``), set operators and vector matching."""
from __future__ import annotations

import json

import numpy as np

from .parse import Binary
from .values import EvalError, Scal, Vec, merge_rows, without_name

COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}


def arith(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return np.true_divide(a, b)
        if op == "%":
            return np.fmod(a, b)
        if op == "^":
            return np.power(a, b)
        if op == "atan2":
            return np.arctan2(a, b)
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == ">":
            return a > b
        if op == "<":
            return a < b
        if op == ">=":
            return a >= b
        if op == "<=":
            return a <= b
    raise EvalError(f"unsupported operator {op}")


def format_labels(lb: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(lb.items())) + "}"


def binary(ev, node: Binary):
    lhs, rhs = ev.eval(node.lhs), ev.eval(node.rhs)
    op = node.op
    cmp = op in COMPARISONS
    if isinstance(lhs, Scal) and isinstance(rhs, Scal):
        res = arith(op, lhs.vals, rhs.vals)
        return Scal(res.astype(np.float64))
    if isinstance(lhs, Vec) and isinstance(rhs, Scal):
        return _vec_scalar(op, lhs, rhs.vals, node.return_bool, swap=False)
    if isinstance(lhs, Scal) and isinstance(rhs, Vec):
        return _vec_scalar(op, rhs, lhs.vals, node.return_bool, swap=True)
    if not (isinstance(lhs, Vec) and isinstance(rhs, Vec)):
        raise EvalError("binary expression must contain only scalar and instant vector types")
    if op in ("and", "or", "unless"):
        return _set_op(node, lhs, rhs)
    return _vec_vec(node, lhs, rhs, cmp)


def _vec_scalar(op: str, v: Vec, s: np.ndarray, return_bool: bool, swap: bool) -> Vec:
    a, b = (s[None, :], v.vals) if swap else (v.vals, s[None, :])
    res = arith(op, a, b)
    if op in COMPARISONS:
        if return_bool:
            out = Vec([without_name(lb) for lb in v.labels], res.astype(np.float64), v.mask.copy())
            return merge_rows(out)
        return Vec(v.labels, v.vals, v.mask & res, v.ts)
    return merge_rows(Vec([without_name(lb) for lb in v.labels], res, v.mask))


def _signature(node: Binary):
    if node.on:
        names = tuple(node.match_labels)
        return lambda lb: tuple(lb.get(n, "") for n in names)
    drop = set(node.match_labels) | {"__name__"}
    return lambda lb: tuple(sorted((k, v) for k, v in lb.items() if k not in drop))


def _sig_labels(node: Binary, lb: dict) -> dict:
    if node.on:
        return {n: lb[n] for n in node.match_labels if lb.get(n)}
    drop = set(node.match_labels) | {"__name__"}
    return {k: v for k, v in lb.items() if k not in drop}


def _presence(v: Vec, sig, keys=None) -> dict:
    out: dict = {}
    for i, lb in enumerate(v.labels):
        s = sig(lb)
        out[s] = out[s] | v.mask[i] if s in out else v.mask[i]
    return out


def _set_op(node: Binary, lhs: Vec, rhs: Vec) -> Vec:
    sig = _signature(node)
    k = lhs.vals.shape[1]
    none = np.zeros(k, dtype=bool)
    if node.op in ("and", "unless"):
        pres = _presence(rhs, sig)
        hit = np.array([pres.get(sig(lb), none) for lb in lhs.labels], dtype=bool).reshape(-1, k)
        mask = lhs.mask & (hit if node.op == "and" else ~hit)
        return Vec(lhs.labels, lhs.vals, mask, lhs.ts)
    pres = _presence(lhs, sig)
    hit = np.array([pres.get(sig(lb), none) for lb in rhs.labels], dtype=bool).reshape(-1, k)
    rmask = rhs.mask & ~hit
    out = Vec(lhs.labels + rhs.labels, np.concatenate([lhs.vals, rhs.vals]),
              np.concatenate([lhs.mask, rmask]))
    return merge_rows(out)


def _vec_vec(node: Binary, lhs: Vec, rhs: Vec, cmp: bool) -> Vec:
    sig = _signature(node)
    swapped = node.card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    k = lhs.vals.shape[1]
    groups: dict = {}
    for i, lb in enumerate(one.labels):
        groups.setdefault(sig(lb), []).append(i)
    gindex = {s: n for n, s in enumerate(groups)}
    ov = np.zeros((len(groups), k))
    om = np.zeros((len(groups), k), dtype=bool)
    orow = np.zeros((len(groups), k), dtype=np.int64)
    side = "left" if swapped else "right"
    for n, rows in enumerate(groups.values()):
        if len(rows) == 1:
            ov[n], om[n], orow[n] = one.vals[rows[0]], one.mask[rows[0]], rows[0]
            continue
        m = one.mask[rows]
        if (m.sum(axis=0) > 1).any():
            j = int(np.nonzero(m.sum(axis=0) > 1)[0][0])
            dup = sorted((one.labels[r] for r in rows if one.mask[r, j]), key=format_labels)[:2]
            raise EvalError(
                f"found duplicate series for the match group {format_labels(_sig_labels(node, one.labels[rows[0]]))}"
                f" on the {side} hand-side of the operation: [{format_labels(dup[0])}, {format_labels(dup[1])}];"
                "many-to-many matching not allowed: matching labels must be unique on one side")
        pick = np.argmax(m, axis=0)
        cols = np.arange(k)
        ov[n] = one.vals[rows][pick, cols]
        om[n] = m.any(axis=0)
        orow[n] = np.asarray(rows)[pick]
    multi = np.array([len(rows) > 1 for rows in groups.values()], dtype=bool)
    msig = [sig(lb) for lb in many.labels]
    gi = np.array([gindex.get(s, -1) for s in msig], dtype=np.int64)
    rows = np.nonzero(gi >= 0)[0]
    gsel = gi[rows]
    mv = many.vals[rows]
    mask = many.mask[rows] & om[gsel]
    a, b = (ov[gsel], mv) if swapped else (mv, ov[gsel])
    res = arith(node.op, a, b)
    if node.card == "one-to-one":
        _check_many_unique(msig, rows, mask)
    if cmp:
        if node.return_bool:
            vals = res.astype(np.float64)
        else:
            mask = mask & res
            vals = a
    else:
        vals = res
    drop_name = not cmp or node.return_bool
    labels, out_rows, out_masks = [], [], []
    for n, r in enumerate(rows):
        lb = many.labels[r]
        if drop_name:
            lb = without_name(lb)
        if node.card == "one-to-one":
            if node.on:
                keep = set(node.match_labels)
                lb = {key: val for key, val in lb.items() if key in keep}
            elif node.match_labels:
                drop = set(node.match_labels)
                lb = {key: val for key, val in lb.items() if key not in drop}
        elif node.include:
            # Included labels come from the "one" series matched at each step; when that series changes
            # over time the result is one series per "one" series.
            matched = orow[gsel[n]]
            if not multi[gsel[n]]:
                choices = matched[:1]
            else:
                choices = np.unique(matched[mask[n]]) if mask[n].any() else matched[:1]
            for o in choices:
                olb = one.labels[o]
                out = dict(lb)
                for name in node.include:
                    if olb.get(name):
                        out[name] = olb[name]
                    else:
                        out.pop(name, None)
                labels.append(out)
                out_rows.append(n)
                out_masks.append(mask[n] & (matched == o))
            continue
        labels.append(lb)
        out_rows.append(n)
        out_masks.append(mask[n])
    k = mask.shape[1]
    vals = vals[np.asarray(out_rows, dtype=np.int64)] if out_rows else np.zeros((0, k))
    mask = np.array(out_masks, dtype=bool).reshape(-1, k)
    msg = ("multiple matches for labels: grouping labels must ensure unique matches" if node.card != "one-to-one"
           else "vector cannot contain metrics with the same labelset")
    return merge_rows(Vec(labels, vals, mask), msg)


def _check_many_unique(msig: list, rows: np.ndarray, mask: np.ndarray) -> None:
    seen: dict = {}
    for n, r in enumerate(rows):
        seen.setdefault(msig[r], []).append(n)
    for members in seen.values():
        if len(members) > 1 and (mask[members].sum(axis=0) > 1).any():
            raise EvalError("multiple matches for labels: many-to-one matching must be explicit "
                            "(group_left/group_right)")
