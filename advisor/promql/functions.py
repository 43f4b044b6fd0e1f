"""PromQL function calls: a registry from name to implementation over evaluated arguments."""
from __future__ import annotations

import math

import numpy as np

from . import histograms, labelfns, rangefns, windowfns  # noqa: F401  (labelfns registers its functions on import)
from .args import matrix_arg as _mat, scalar_arg as _scalar, string_arg as _string, vector_arg as _vec
from .parse import Call, MatrixSel, Selector, Subquery
from .values import EvalError, Scal, Vec, drop_names, merge_rows
from .registry import FUNCS, register



def call(ev, node: Call):
    fn = FUNCS.get(node.name)
    if fn is None:
        raise EvalError(f"function {node.name!r} is not supported by the embedded engine")
    return fn(ev, node)


def _map(v: Vec, f, keep_name: bool = False) -> Vec:
    with np.errstate(all="ignore"):
        out = Vec(v.labels, f(v.vals), v.mask)
    return out if keep_name else drop_names(out)


_MATH = {
    "abs": np.abs, "ceil": np.ceil, "floor": np.floor, "exp": np.exp, "ln": np.log, "log2": np.log2,
    "log10": np.log10, "sqrt": np.sqrt, "sgn": np.sign, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
    "tanh": np.tanh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "deg": np.degrees,
    "rad": np.radians,
}


def _math_fn(name):
    f = _MATH[name]
    return lambda ev, node: _map(_vec(ev, node.args[0]), f)


for _name in _MATH:
    FUNCS[_name] = _math_fn(_name)


@register("pi")
def _pi(ev, node):
    return Scal(np.full(ev.k, math.pi))


@register("time")
def _time(ev, node):
    return Scal(ev.t / 1000.0)


@register("step")
def _step(ev, node):
    return Scal(np.full(ev.k, ev.step / 1000.0))


@register("range")
def _range(ev, node):
    return Scal(np.full(ev.k, (ev.end - ev.start) / 1000.0))


@register("min_of")
def _min_of(ev, node):
    return Scal(np.minimum(_scalar(ev, node.args[0]), _scalar(ev, node.args[1])))


@register("max_of")
def _max_of(ev, node):
    return Scal(np.maximum(_scalar(ev, node.args[0]), _scalar(ev, node.args[1])))


@register("start")
def _start(ev, node):
    return Scal(np.full(ev.k, ev.start / 1000.0))


@register("end")
def _end(ev, node):
    return Scal(np.full(ev.k, ev.end / 1000.0))


@register("vector")
def _vector(ev, node):
    s = _scalar(ev, node.args[0])
    return Vec([{}], s[None, :].copy(), np.ones((1, ev.k), dtype=bool))


@register("scalar")
def _to_scalar(ev, node):
    v = _vec(ev, node.args[0])
    cnt = v.mask.sum(axis=0)
    vals = np.where(v.mask, v.vals, 0).sum(axis=0) if v.n else np.zeros(ev.k)
    return Scal(np.where(cnt == 1, vals, np.nan))


@register("round")
def _round(ev, node):
    v = _vec(ev, node.args[0])
    to = _scalar(ev, node.args[1]) if len(node.args) > 1 else np.ones(ev.k)
    inv = 1.0 / to
    return _map(v, lambda x: np.floor(x * inv[None, :] + 0.5) / inv[None, :])


@register("clamp")
def _clamp(ev, node):
    v = _vec(ev, node.args[0])
    lo, hi = _scalar(ev, node.args[1]), _scalar(ev, node.args[2])
    out = _map(v, lambda x: np.maximum(lo[None, :], np.minimum(hi[None, :], x)))
    out.mask = out.mask & ~(hi < lo)[None, :]
    return out


@register("clamp_min")
def _clamp_min(ev, node):
    lo = _scalar(ev, node.args[1])
    return _map(_vec(ev, node.args[0]), lambda x: np.maximum(lo[None, :], x))


@register("clamp_max")
def _clamp_max(ev, node):
    hi = _scalar(ev, node.args[1])
    return _map(_vec(ev, node.args[0]), lambda x: np.minimum(hi[None, :], x))


@register("timestamp")
def _timestamp(ev, node):
    v = _vec(ev, node.args[0])
    if v.ts is not None and isinstance(node.args[0], Selector):
        return drop_names(Vec(v.labels, v.ts / 1000.0, v.mask))
    return drop_names(Vec(v.labels, np.broadcast_to(ev.t / 1000.0, v.vals.shape).copy(), v.mask))


def _date_fn(kind):
    def fn(ev, node):
        if node.args:
            v = _vec(ev, node.args[0])
        else:
            v = Vec([{}], (ev.t / 1000.0)[None, :], np.ones((1, ev.k), dtype=bool))
        return _map(v, lambda x: _date_part(x, kind))
    return fn


def _date_part(x: np.ndarray, kind: str) -> np.ndarray:
    bad = ~np.isfinite(x)
    secs = np.where(bad, 0, np.floor(x)).astype(np.int64)
    days = secs // 86400
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    mo = d.astype("datetime64[M]")
    if kind == "minute":
        r = (secs // 60) % 60
    elif kind == "hour":
        r = (secs // 3600) % 24
    elif kind == "day_of_week":
        r = (days + 4) % 7
    elif kind == "day_of_month":
        r = (d - mo).astype(np.int64) + 1
    elif kind == "day_of_year":
        r = (d - y.astype("datetime64[D]")).astype(np.int64) + 1
    elif kind == "days_in_month":
        r = ((mo + 1).astype("datetime64[D]") - mo.astype("datetime64[D]")).astype(np.int64)
    elif kind == "month":
        r = mo.astype(np.int64) % 12 + 1
    else:
        r = y.astype(np.int64) + 1970
    return np.where(bad, np.nan, r.astype(np.float64))


for _name in ("minute", "hour", "day_of_week", "day_of_month", "day_of_year", "days_in_month", "month", "year"):
    FUNCS[_name] = _date_fn(_name)


def _range_fn(impl, keep_name=False, extra=0):
    def fn(ev, node):
        args = list(node.args)
        params = []
        if impl in (rangefns.quantile_over_time,):
            params.append(_scalar(ev, args.pop(0)))
        m = _mat(ev, args[0])
        m.step_t = ev.t
        for a in args[1:]:
            params.append(_scalar(ev, a))
        vals, mask = impl(m, *params)
        out = Vec(m.labels, vals, mask)
        return merge_rows(out) if keep_name else drop_names(out)
    return fn


FUNCS.update({
    "rate": _range_fn(lambda m: rangefns.extrapolated(m, True, True)),
    "increase": _range_fn(lambda m: rangefns.extrapolated(m, True, False)),
    "delta": _range_fn(lambda m: rangefns.extrapolated(m, False, False)),
    "irate": _range_fn(lambda m: rangefns.instant_delta(m, True)),
    "idelta": _range_fn(lambda m: rangefns.instant_delta(m, False)),
    "sum_over_time": _range_fn(rangefns.sum_over_time),
    "avg_over_time": _range_fn(rangefns.avg_over_time),
    "min_over_time": _range_fn(lambda m: rangefns.minmax_over_time(m, False)),
    "max_over_time": _range_fn(lambda m: rangefns.minmax_over_time(m, True)),
    "count_over_time": _range_fn(rangefns.count_over_time),
    "last_over_time": _range_fn(rangefns.last_over_time, keep_name=True),
    "first_over_time": _range_fn(rangefns.first_over_time, keep_name=True),
    "ts_of_last_over_time": _range_fn(rangefns.ts_of_last),
    "ts_of_first_over_time": _range_fn(rangefns.ts_of_first),
    "ts_of_max_over_time": _range_fn(lambda m: windowfns.ts_of_extreme(m, True)),
    "ts_of_min_over_time": _range_fn(lambda m: windowfns.ts_of_extreme(m, False)),
    "present_over_time": _range_fn(rangefns.present_over_time),
    "quantile_over_time": _range_fn(rangefns.quantile_over_time),
    "stddev_over_time": _range_fn(windowfns.stddev_over_time),
    "stdvar_over_time": _range_fn(windowfns.stdvar_over_time),
    "mad_over_time": _range_fn(windowfns.mad_over_time),
    "changes": _range_fn(lambda m: rangefns.changes(m, False)),
    "resets": _range_fn(lambda m: rangefns.changes(m, True)),
    "deriv": _range_fn(windowfns.deriv),
    "predict_linear": _range_fn(windowfns.predict_linear),
    "double_exponential_smoothing": _range_fn(windowfns.double_exponential_smoothing),
    "holt_winters": _range_fn(windowfns.double_exponential_smoothing),
})


def _absent_labels(node) -> dict[str, str]:
    sel = node
    if isinstance(node, MatrixSel):
        sel = node.sel
    if not isinstance(sel, Selector) or sel.or_matchers:
        return {}
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, op, value in sel.matchers:
        if name == "__name__":
            continue
        if op == "=" and name not in seen:
            out[name] = value
        elif name in out:
            del out[name]
        seen.add(name)
    return out


@register("absent")
def _absent(ev, node):
    v = _vec(ev, node.args[0])
    present = v.mask.any(axis=0) if v.n else np.zeros(ev.k, dtype=bool)
    return Vec([_absent_labels(node.args[0])], np.ones((1, ev.k)), ~present[None, :])


@register("absent_over_time")
def _absent_over_time(ev, node):
    m = _mat(ev, node.args[0])
    lo, hi = m.windows()
    present = (hi > lo).any(axis=0) if len(m.labels) else np.zeros(ev.k, dtype=bool)
    return Vec([_absent_labels(node.args[0])], np.ones((1, ev.k)), ~present[None, :])


@register("histogram_quantile")
def _histogram_quantile(ev, node):
    q = _scalar(ev, node.args[0])
    return histograms.quantile(q, _vec(ev, node.args[1]))


@register("histogram_quantiles")
def _histogram_quantiles(ev, node):
    v = _vec(ev, node.args[0])
    name = _string(ev, node.args[1])
    parts = []
    for a in node.args[2:]:
        q = _scalar(ev, a)
        out = histograms.quantile(q, v)
        qs = histograms.format_q(float(q[0]))
        out.labels = [{**lb, name: qs} for lb in out.labels]
        parts.append(out)
    if not parts:
        return Vec([], np.zeros((0, ev.k)), np.zeros((0, ev.k), dtype=bool))
    return merge_rows(Vec([lb for p in parts for lb in p.labels], np.concatenate([p.vals for p in parts]),
                          np.concatenate([p.mask for p in parts])))


@register("histogram_fraction")
def _histogram_fraction(ev, node):
    lo, hi = _scalar(ev, node.args[0]), _scalar(ev, node.args[1])
    return histograms.fraction(lo, hi, _vec(ev, node.args[2]))


def _native_only(ev, node):
    """Functions over native histograms: float series contribute nothing."""
    _vec(ev, node.args[-1])
    return Vec([], np.zeros((0, ev.k)), np.zeros((0, ev.k), dtype=bool))


for _name in ("histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev", "histogram_stdvar"):
    FUNCS[_name] = _native_only


__all__ = ["FUNCS", "call", "Subquery"]
