"""Instant and range evaluation of PromQL over a Storage, Prometheus 3 semantics for float samples."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import aggregations, binops, functions
from .parse import Agg, Binary, Call, MatrixSel, Neg, Num, ParseError, Selector, Str, Subquery, parse
from .storage import TS_BITS, TS_MAX, TS_OFF, Storage, encode
from .values import EvalError, Mat, Scal, StrV, Vec, drop_names, mat_from_vec, merge_rows, sort_key

LOOKBACK_MS = 5 * 60_000
DEFAULT_SUBQUERY_STEP_MS = 60_000
MAX_POINTS = 11_000  # Prometheus' limit of points per series in a range query


class Points(Sequence):
    """A series' (t_ms, value) points, kept as arrays and turned into tuples only when read."""

    __slots__ = ("_t", "_v")

    def __init__(self, t: np.ndarray, v: np.ndarray):
        self._t, self._v = t, v

    def __len__(self) -> int:
        return len(self._t)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(zip(self._t[i].tolist(), self._v[i].tolist()))
        return (int(self._t[i]), float(self._v[i]))

    def __iter__(self):
        return zip(self._t.tolist(), self._v.tolist())

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def __repr__(self) -> str:
        return repr(list(self))


@dataclass(frozen=True)
class Result:
    """``kind`` is vector, matrix, scalar or string; series are (labels, [(t_ms, value), ...])."""

    kind: str
    series: list
    ordered: bool = False


class Evaluator:
    """Evaluates one expression tree for every step in ``t`` (ms) at once."""

    def __init__(self, storage: Storage, t: np.ndarray, start: int, end: int, lookback: int = LOOKBACK_MS,
                 step: int = 0):
        self.storage = storage
        self.t = np.asarray(t, dtype=np.int64)
        self.start, self.end, self.lookback = start, end, lookback
        self.ordered = False
        self.step = step

    @property
    def k(self) -> int:
        return len(self.t)

    def at_times(self, at, offset_ms: int) -> np.ndarray:
        if at is None:
            base = self.t
        else:
            when = self.start if at == "start" else self.end if at == "end" else int(at)
            base = np.full(self.k, when, dtype=np.int64)
        return base - offset_ms

    def eval(self, node):
        if isinstance(node, Num):
            return Scal(np.full(self.k, node.val))
        if isinstance(node, Str):
            return StrV(node.val)
        if isinstance(node, Selector):
            return self.selector(node)
        if isinstance(node, MatrixSel):
            return self.matrix(node)
        if isinstance(node, Subquery):
            return self.subquery(node)
        if isinstance(node, Neg):
            v = self.eval(node.expr)
            if isinstance(v, Scal):
                return Scal(-v.vals)
            return drop_names(Vec(v.labels, -v.vals, v.mask))
        if isinstance(node, Call):
            return functions.call(self, node)
        if isinstance(node, Agg):
            return aggregations.aggregate(self, node)
        if isinstance(node, Binary):
            return binops.binary(self, node)
        raise EvalError(f"unsupported node {type(node).__name__}")

    def _sids(self, sel: Selector) -> np.ndarray:
        ms = list(sel.matchers)
        if sel.name and not any(m[0] == "__name__" for m in ms):
            ms.append(("__name__", "=", sel.name))
        return np.asarray(self.storage.select(ms, sel.or_matchers), dtype=np.int64)

    def selector(self, sel: Selector) -> Vec:
        sids = self._sids(sel)
        k = self.k
        if len(sids) == 0:
            return Vec([], np.zeros((0, k)), np.zeros((0, k), dtype=bool), np.zeros((0, k), dtype=np.int64))
        f = self.storage.flat()
        te = self.at_times(sel.at, sel.offset_ms)
        base = sids << TS_BITS
        idx = np.searchsorted(f.keys, base[:, None] + encode(te)[None, :], "right") - 1
        safe = np.clip(idx, 0, max(len(f.keys) - 1, 0))
        if len(f.keys) == 0:
            mask = np.zeros(idx.shape, dtype=bool)
            vals = np.zeros(idx.shape)
            ts = np.zeros(idx.shape, dtype=np.int64)
        else:
            keys = f.keys[safe]
            ts = (keys & TS_MAX) - TS_OFF
            mask = (idx >= 0) & ((keys >> TS_BITS) == sids[:, None]) & (ts > te[None, :] - self.lookback) \
                & (ts <= te[None, :]) & ~f.stale[safe]
            vals = f.vals[safe]
        labels = [self.storage.labels[s] for s in sids]
        return Vec(labels, vals, mask, ts)

    def matrix(self, node: MatrixSel) -> Mat:
        sids = self._sids(node.sel)
        f = self.storage.flat()
        te = self.at_times(node.sel.at, node.sel.offset_ms)
        return Mat([self.storage.labels[s] for s in sids], sids << TS_BITS, f.nkeys, f.nts, f.nvals,
                   node.range_ms, te, cache=f.cache)

    def subquery(self, node: Subquery) -> Mat:
        te = self.at_times(node.at, node.offset_ms)
        step = node.step_ms or DEFAULT_SUBQUERY_STEP_MS
        lo_bound = int(te.min()) - node.range_ms
        first = (lo_bound // step + 1) * step
        last = int(te.max())
        inner_t = np.arange(first, last + 1, step, dtype=np.int64) if last >= first else np.zeros(0, np.int64)
        sub = Evaluator(self.storage, inner_t, self.start, self.end, self.lookback, self.step)
        v = sub.eval(node.expr)
        if isinstance(v, Scal):
            v = Vec([{}], v.vals[None, :], np.ones((1, len(inner_t)), dtype=bool))
        if not isinstance(v, Vec):
            raise EvalError("subquery is only allowed on instant vector or scalar expressions")
        return mat_from_vec(v, inner_t, node.range_ms, te)


def _finish_vec(v: Vec) -> Vec:
    v = merge_rows(Vec(v.labels, v.vals, v.mask, unique=v.unique))
    keep = v.mask.any(axis=1)
    return v.take(np.nonzero(keep)[0]) if not keep.all() else v


def instant(storage: Storage, query: str, t_ms: int, lookback: int = LOOKBACK_MS) -> Result:
    """Evaluate ``query`` at ``t_ms``."""
    node = parse(query)
    ev = Evaluator(storage, np.array([t_ms]), t_ms, t_ms, lookback)
    v = ev.eval(node)
    if isinstance(v, Scal):
        return Result("scalar", [({}, [(t_ms, float(v.vals[0]))])])
    if isinstance(v, StrV):
        return Result("string", [({}, [(t_ms, v.val)])])
    if isinstance(v, Mat):
        lo, hi = v.windows()
        out = []
        for i, lb in enumerate(v.labels):
            a, b = int(lo[i, 0]), int(hi[i, 0])
            if b > a:
                out.append((lb, list(zip(v.ts[a:b].tolist(), v.vals[a:b].tolist()))))
        keys = [tuple(sorted(lb.items())) for lb, _ in out]
        if len(set(keys)) != len(keys):
            raise EvalError("vector cannot contain metrics with the same labelset")
        return Result("matrix", out)
    v = _finish_vec(v)
    series = [(lb, [(t_ms, float(v.vals[i, 0]))]) for i, lb in enumerate(v.labels)]
    return Result("vector", series, ev.ordered)


def range_query(storage: Storage, query: str, start_ms: int, end_ms: int, step_ms: int,
                lookback: int = LOOKBACK_MS) -> Result:
    """Evaluate ``query`` at every step from ``start_ms`` to ``end_ms``; the result is a matrix."""
    if step_ms <= 0:
        raise EvalError("zero or negative query resolution step widths are not accepted")
    if end_ms < start_ms:
        raise EvalError("end timestamp must not be before start time")
    if (end_ms - start_ms) // step_ms >= MAX_POINTS:
        raise EvalError("exceeded maximum resolution of 11,000 points per timeseries. "
                        "Try decreasing the query resolution (?step=XX)")
    node = parse(query)
    t = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
    ev = Evaluator(storage, t, start_ms, end_ms, lookback, step_ms)
    v = ev.eval(node)
    if isinstance(v, Scal):
        return Result("matrix", [({}, list(zip(t.tolist(), v.vals.tolist())))])
    if not isinstance(v, Vec):
        raise EvalError(f"invalid expression type {'range vector' if isinstance(v, Mat) else 'string'} "
                        "for range query, must be Scalar or instant Vector")
    v = _finish_vec(v)
    order = sorted(range(v.n), key=lambda i: sort_key(v.labels[i]))
    full = v.mask.all(axis=1)
    out = []
    for i in order:
        if full[i]:
            out.append((v.labels[i], Points(t, v.vals[i])))
        else:
            m = v.mask[i]
            out.append((v.labels[i], Points(t[m], v.vals[i][m])))
    return Result("matrix", out)


__all__ = ["Evaluator", "Result", "instant", "range_query", "EvalError", "ParseError", "LOOKBACK_MS"]
