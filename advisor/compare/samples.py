"""Where the samples come from: two bench results, or two time windows on a Prometheus.

A bench result gives one value per second of its window for each metric (p50 and p99 latency, service-time
p99 in the open model, answers per second, error ratio). A Prometheus window gives one value per query step for
each query of ``queries.yaml`` (the metrics the packs know) or each ``--query``; PromQL lives in that file or
on the command line, never here. Values are inserted into it only as PromQL strings (``promql_string``).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import resources

import yaml

from ..bench.result import BenchResult
from ..errors import ConfigError
from ..packs.params import promql_string
from ..sources.base import Source
from .verdict import Metric, Sample

MAX_RESULT_BYTES = 256 * 1024 * 1024
MAX_POINTS = 11_000              # Prometheus' own limit of points per series in a range query


def read_result(path: str) -> BenchResult:
    """A bench result file (``advisor bench -o``); ConfigError (exit 2) names the file and what is wrong."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_RESULT_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) > MAX_RESULT_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_RESULT_BYTES // 2**20} MiB, the limit for a bench result")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not JSON: {e}") from None
    try:
        return BenchResult.from_dict(doc, path)
    except ValueError as e:
        raise ConfigError(str(e)) from None


# Open-model sends run on the event loop's millisecond timers, so a latency change of 1 ms or less is within the
# generator's own resolution: it never counts as worse, however significant (a 0.67 → 0.77 ms p50 is not a regression).
LATENCY_FLOOR = 0.001

BENCH_METRICS = (
    Metric("latency_p50", "seconds", True, floor=LATENCY_FLOOR),
    Metric("latency_p99", "seconds", True, floor=LATENCY_FLOOR),
    Metric("service_time_p99", "seconds", True, floor=LATENCY_FLOOR),
    Metric("throughput", "per_second", False),
    Metric("error_ratio", "ratio", True, floor=0.001),
)


def from_bench(result: BenchResult, path: str = "") -> dict[str, tuple[Metric, Sample]]:
    """Per-second samples of each bench metric (seconds without answers give no latency value)."""
    ivs = result.intervals
    open_model = result.spec.get("model") == "open"

    def q(h, p):
        return h.get_value_at_percentile(p) / 1e6 if h.get_total_count() else math.nan

    values = {
        "latency_p50": [q(i.latency, 50) for i in ivs],
        "latency_p99": [q(i.latency, 99) for i in ivs],
        "service_time_p99": [q(i.service_time, 99) for i in ivs] if open_model else [],
        "throughput": [float(i.responses) for i in ivs],
        "error_ratio": [(i.error_count + i.dropped) / (i.sent + i.dropped) if i.sent + i.dropped else math.nan
                        for i in ivs],
    }
    out = {}
    for m in BENCH_METRICS:
        if m.name == "service_time_p99" and not open_model:
            continue
        out[m.name] = (m, Sample(tuple(values[m.name]), result.started, result.ended, 1.0, path))
    return out


@dataclass(frozen=True)
class Query:
    metric: Metric
    expr: str
    description: str = ""


def builtin_queries() -> list[Query]:
    doc = yaml.safe_load(resources.files(__package__).joinpath("queries.yaml").read_text())
    return [Query(Metric(name, q.get("unit", ""), q.get("higher_is_worse", True), float(q.get("floor", 0))),
                  q["query"], q.get("description", "")) for name, q in doc["metrics"].items()]


_NAMED = re.compile(r"^([a-zA-Z_][a-zA-Z0-9_]*)=(.+)$", re.S)


def parse_query(text: str, higher_is_worse: bool, index: int) -> Query:
    """``--query 'NAME=EXPR'`` or a bare ``EXPR`` (named query1, query2, …)."""
    m = _NAMED.match(text.strip())
    if m and not m.group(2).startswith("="):          # not a PromQL comparison like a==b
        name, expr = m.group(1), m.group(2)
    else:
        name, expr = f"query{index}", text
    if not expr.strip():
        raise ConfigError(f"--query {text!r}: empty expression")
    return Query(Metric(name, "", higher_is_worse), expr.strip())


def substitute(expr: str, values: dict[str, str]) -> str:
    """``$name`` → the value as a PromQL string literal (the only way values reach PromQL here)."""
    return re.sub(r"\$([a-z_]+)", lambda m: promql_string(values[m.group(1)]) if m.group(1) in values
                  else m.group(0), expr)


def from_prometheus(source: Source, queries: list[Query], start: float, end: float, step: float,
                    values: dict[str, str], label: str) -> dict[str, tuple[Metric, Sample]]:
    """One sample per query: its values at each step of [start, end]; a query must give at most one series."""
    if end <= start:
        raise ConfigError(f"{label} window: its end is not after its start")
    if (end - start) / step > MAX_POINTS:
        raise ConfigError(f"{label} window: {int((end - start) / step)} steps of {step:g}s; at most {MAX_POINTS} "
                          "(use a longer --step)")
    out = {}
    for q in queries:
        result = source.range(substitute(q.expr, values), start, end, step)
        series = [s for s in result.series if s.points]
        if len(series) > 1:
            raise ConfigError(f"query {q.metric.name} gives {len(series)} series in the {label} window; aggregate "
                              f"it to one (e.g. sum(…) or max(…)): {q.expr}")
        pts = series[0].points if series else ()
        out[q.metric.name] = (q.metric, Sample(tuple(v for _, v in pts), start, end, step, label))
    return out


def parse_window(text: str, flag: str) -> tuple[float, float]:
    """``START..END`` with RFC 3339 or Unix times, or ``-1h..-30m`` relative to now."""
    import time as _time

    from ..durations import parse_duration
    from ..query import parse_time
    a, sep, b = text.partition("..")
    if not sep:
        raise ConfigError(f"{flag} {text!r}: expected START..END (RFC 3339, Unix seconds, or -DURATION from now)")
    now = _time.time()

    def t(x: str) -> float:
        x = x.strip()
        if x in ("", "now"):
            return now
        if x.startswith("-"):
            try:
                return now - parse_duration(x[1:])
            except ValueError:
                pass
        try:
            return parse_time(x)
        except ValueError as e:
            raise ConfigError(f"{flag} {text!r}: {e}") from None
    return t(a), t(b)


__all__ = ["read_result", "from_bench", "from_prometheus", "builtin_queries", "parse_query", "parse_window",
           ]
