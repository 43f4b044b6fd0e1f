"""Pass/fail thresholds on a bench result: ``p99<200ms``, ``error_rate<0.01``, ``rps>=1000``.

Grammar: ``METRIC OP VALUE[UNIT]`` with OP one of ``< <= > >=``. Latency metrics (``p50 p90 p95 p99 p99.9 max
mean``, and the same with ``service_`` in front for service time) take a duration unit (``us ms s``, seconds
when bare); ``error_rate`` and ``dropped_rate`` a ratio or a percentage (``1%``); ``rps`` (answers per second),
``rate`` (requests started per second), ``errors`` and ``dropped`` plain numbers.
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass

from ..errors import ConfigError
from . import histogram as H
from .result import BenchResult, ThresholdResult

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_LATENCY = ("p50", "p90", "p95", "p99", "p99.9", "max", "mean")
_RATIOS = ("error_rate", "dropped_rate")
_COUNTS = ("rps", "rate", "errors", "dropped")
METRICS = _LATENCY + tuple(f"service_{m}" for m in _LATENCY) + _RATIOS + _COUNTS
_GRAMMAR = re.compile(r"^\s*([a-z_]+(?:\d+(?:\.\d+)?)?)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*([a-z%]*)\s*$")
_TIME_UNITS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}


@dataclass(frozen=True)
class Threshold:
    expr: str
    metric: str
    op: str
    limit: float


def parse(expr: str) -> Threshold:
    """One threshold; ConfigError says what is wrong and what is allowed."""
    m = _GRAMMAR.match(expr.replace("µs", "us"))
    if not m:
        raise ConfigError(f"threshold {expr!r}: expected METRIC OP VALUE, e.g. 'p99<200ms', 'error_rate<0.01', "
                          "'rps>=1000'")
    metric, op, number, unit = m.groups()
    if metric not in METRICS:
        raise ConfigError(f"threshold {expr!r}: unknown metric {metric!r} (known: {', '.join(METRICS)})")
    value = float(number)
    base = metric.removeprefix("service_")
    if base in _LATENCY:
        if unit not in _TIME_UNITS:
            raise ConfigError(f"threshold {expr!r}: {unit!r} is not a time unit (us, ms, s)")
        value *= _TIME_UNITS[unit]
    elif metric in _RATIOS:
        if unit not in ("", "%"):
            raise ConfigError(f"threshold {expr!r}: a ratio takes no unit but %")
        value = value / 100 if unit == "%" else value
    elif unit:
        raise ConfigError(f"threshold {expr!r}: {metric} takes a plain number, not {unit!r}")
    return Threshold(expr.strip(), metric, op, value)


def measure(result: BenchResult, metric: str) -> float | None:
    """The result's value for a threshold metric (None when there is nothing to measure, e.g. no answers)."""
    if metric in ("rps", "rate", "errors", "dropped", "error_rate"):
        return {"rps": result.throughput, "rate": result.rate, "errors": float(result.errors),
                "dropped": float(result.dropped), "error_rate": result.error_rate}[metric]
    if metric == "dropped_rate":
        attempts = result.sent + result.dropped
        return result.dropped / attempts if attempts else 0.0
    which = "service_time" if metric.startswith("service_") else "latency"
    base = metric.removeprefix("service_")
    h = result.histogram(which)
    if not h.get_total_count():
        return None
    if base == "p95":
        return h.get_value_at_percentile(95.0) / 1e6
    return H.summary(h)[base]


def evaluate(result: BenchResult, thresholds: list[Threshold]) -> list[ThresholdResult]:
    """Every threshold with its measured value; one that cannot be measured fails (never passes by default)."""
    out = []
    for t in thresholds:
        v = measure(result, t.metric)
        out.append(ThresholdResult(t.expr, t.metric, t.op, t.limit, v, v is not None and _OPS[t.op](v, t.limit)))
    return out
