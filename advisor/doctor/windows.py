"""Rule windows against the scrape interval: the checks a Prometheus rule linter makes (pint's promql/rate).

- A rate-like function (rate, increase, deriv, …) needs two samples in its window: a window shorter than
  2× the scrape interval is an error (the result has gaps or is empty); shorter than 4× is a warning
  (one missed scrape leaves a single sample, and extrapolation dominates).
- Any other range (``max_over_time(x[w])``) shorter than the interval may hold no sample at all.
- A ``for`` shorter than the interval holds one sample at best, so it does not mean "for a while".
- A range rule whose lookback is shorter than 2× the interval judges a single sample.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..durations import format_duration
from ..packs import ResolvedRule
from ..promql.parse import RangeWindow, metric_names, range_windows

# Functions that need at least two samples in their window (pint's promql/rate checks rate, irate, deriv).
TWO_SAMPLES = frozenset({"rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear", "resets",
                         "changes"})
# Of those, the ones whose extrapolation a short window makes noisy (pint recommends 4× for rate()).
FOUR_SAMPLES = frozenset({"rate", "increase", "delta", "deriv", "predict_linear"})


@dataclass(frozen=True)
class WindowProblem:
    rule: str
    pack: str
    level: str                # "error" | "warning"
    what: str                 # "rate(node_cpu_seconds_total[10s])", "for 10s", "lookback 20s"
    seconds: float
    interval: float
    jobs: tuple[str, ...]
    message: str

    def to_dict(self) -> dict:
        return {"rule": self.rule, "pack": self.pack, "level": self.level, "what": self.what,
                "window_seconds": self.seconds, "scrape_interval_seconds": self.interval, "jobs": list(self.jobs),
                "message": self.message}


def rule_queries(rr: ResolvedRule) -> list[str]:
    """Every PromQL text a resolved rule evaluates (its query and the side queries)."""
    out = [rr.query, rr.limit_query or "", *(e.query for e in rr.evidence)]
    if rr.sizing:
        out += [rr.sizing.capacity_query or "", rr.sizing.extra_cost_query or ""]
    if rr.replicas:
        out.append(rr.replicas.current_query)
    return [q for q in out if q]


def check_rule(rr: ResolvedRule, interval_of) -> list[WindowProblem]:
    """Problems of one rule; `interval_of(metrics)` is (longest scrape interval of the jobs exposing them, jobs),
    or (None, ()) when unknown."""
    rule = rr.rule
    out: list[WindowProblem] = []
    seen: set[tuple] = set()
    for query in rule_queries(rr):
        for w in range_windows(query):
            if w.subquery_step is not None or w.metric is None and w.function is None:
                continue   # a subquery's samples come from its own step, not from scrapes
            interval, jobs = interval_of([w.metric] if w.metric else metric_names(query))
            problem = _window(w, interval)
            if problem and (w.function, w.metric, w.seconds) not in seen:
                seen.add((w.function, w.metric, w.seconds))
                level, text = problem
                out.append(WindowProblem(rule.id, rule.pack, level, _show(w), w.seconds, interval, jobs, text))
    main_interval, main_jobs = interval_of(list(rule.metrics) or metric_names(rr.query))
    if main_interval:
        every = f"the scrape interval {format_duration(main_interval)}"
        if rr.for_seconds and rr.for_seconds < main_interval:
            out.append(WindowProblem(rule.id, rule.pack, "error", f"for {format_duration(rr.for_seconds)}",
                                     rr.for_seconds, main_interval, main_jobs,
                                     f"`for` is shorter than {every}: it holds one sample at best, so the "
                                     f"condition is not judged over time; use ≥ {format_duration(2 * main_interval)}"))
        if rule.evaluate.mode != "instant" and rr.lookback and rr.lookback < 2 * main_interval:
            out.append(WindowProblem(rule.id, rule.pack, "error", f"lookback {format_duration(rr.lookback)}",
                                     rr.lookback, main_interval, main_jobs,
                                     f"the lookback is shorter than 2× {every}: the rule judges a single sample; "
                                     f"use ≥ {format_duration(4 * main_interval)}"))
    return out


def _window(w: RangeWindow, interval: float | None) -> tuple[str, str] | None:
    if not interval:
        return None
    every = f"the scrape interval {format_duration(interval)}"
    fn = w.function or "a range"
    if w.function in TWO_SAMPLES:
        if w.seconds < 2 * interval:
            return "error", (f"{fn}() needs two samples in its window; {format_duration(w.seconds)} is shorter than "
                             f"2× {every}, so it returns nothing (or gaps); use ≥ {format_duration(4 * interval)}")
        if w.function in FOUR_SAMPLES and w.seconds < 4 * interval:
            return "warning", (f"{format_duration(w.seconds)} is shorter than 4× {every}: one missed scrape leaves "
                               f"a single sample; use ≥ {format_duration(4 * interval)}")
        return None
    if w.seconds < interval:
        return "error", (f"{format_duration(w.seconds)} is shorter than {every}: the window may hold no sample; "
                         f"use ≥ {format_duration(2 * interval)}")
    return None


def _show(w: RangeWindow) -> str:
    inner = f"{w.metric or '…'}[{format_duration(w.seconds)}]"
    return f"{w.function}({inner})" if w.function else inner
