"""Evaluating rules against a data source: queries, reductions, conditions, and findings with evidence.

Queries return values for every target (packs never filter by threshold in PromQL); the condition is
applied here, so non-firing targets still contribute observed values and scores. Rules run concurrently
(bounded by ``concurrency``); a SourceError aborts the run, a QueryError only marks its rule not evaluated.
"""
from __future__ import annotations

import math
import operator
import time as _time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable

from . import sizing as S
from . import stats
from .durations import format_duration
from .findings import Confidence, EvidenceItem, Finding, Projection, RuleResult
from .packs import ResolvedRule
from .promql.parse import metric_names
from .render import render_text as render  # a template failure marks its finding, never ends the run
from .scoring import SEVERITY_SCORE, log_normal_score
from .sources.base import QueryError, QueryResult, Series, Source
from .sources.cache import MemoSource

OPS: dict[str, Callable[[float, float], bool]] = {">": operator.gt, "<": operator.lt, ">=": operator.ge,
                                                  "<=": operator.le}
EVIDENCE_TOP = 5


def default_step(lookback: float) -> float:
    return max(1.0, lookback / 240)


def target_of(rule, labels: dict[str, str]) -> dict[str, str]:
    if rule.target:
        return {k: labels[k] for k in rule.target if k in labels}
    return {k: v for k, v in labels.items() if k != "__name__"}


def match(labels: dict[str, str], candidates, keys: tuple[str, ...]) -> Series | None:
    """The candidate agreeing with `labels` on every key (of `keys`, else shared) that both carry."""
    if isinstance(candidates, Index):
        return candidates.find(labels)
    for c in candidates:
        shared = [k for k in (keys or labels.keys()) if k in c.labels and k in labels and k != "__name__"]
        if all(c.labels[k] == labels[k] for k in shared):
            return c
    return None


class Index:
    """Side series (limits, capacities, replica counts) indexed by their values of the rule's target keys."""

    def __init__(self, series: tuple[Series, ...], keys: tuple[str, ...]):
        self.series, self.keys = series, keys
        self.by: dict[tuple, dict[tuple, Series]] = {}
        for s in series:
            carried = tuple(k for k in keys if k in s.labels)
            self.by.setdefault(carried, {}).setdefault(tuple(s.labels[k] for k in carried), s)

    def find(self, labels: dict[str, str]) -> Series | None:
        if not self.keys:
            return match(labels, self.series, ())
        for carried, table in self.by.items():
            if all(k in labels for k in carried):
                hit = table.get(tuple(labels[k] for k in carried))
                if hit is not None:
                    return hit
            else:
                hit = match(labels, tuple(table.values()), self.keys)
                if hit is not None:
                    return hit
        return None


class Evaluator:
    """Runs resolved rules against one source at one evaluation time."""

    def __init__(self, source: Source, now: float | None = None, concurrency: int = 4,
                 progress: Callable[[RuleResult], None] | None = None):
        self.source = MemoSource(source)
        self.now = _time.time() if now is None else now
        self.concurrency = max(1, concurrency)
        self.progress = progress

    def run(self, rules: list[ResolvedRule]) -> list[RuleResult]:
        """Every rule's result, in the order given; the first SourceError is raised."""
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="advisor")
        try:
            futures = [pool.submit(self.evaluate, r) for r in rules]
            # Progress is reported from this thread, not from done-callbacks: a callback runs on a worker (or
            # on cancellation) after a failure and anything it raises is logged as a traceback.
            for f in as_completed(futures):
                if f.exception() is not None:
                    raise f.exception()
                if self.progress:
                    self.progress(f.result())
            return [f.result() for f in futures]
        finally:
            # On failure, queued rules are dropped; running ones stop at their next request.
            pool.shutdown(wait=False, cancel_futures=True)

    # --- one rule -------------------------------------------------------------------------------------

    def evaluate(self, rr: ResolvedRule) -> RuleResult:
        rule = rr.rule
        try:
            result = self._main(rr)
        except QueryError as e:
            return RuleResult(rule, rr.query, False, reason=f"query failed: {e.message}")
        series = [s for s in result.series if s.points]
        if not series:
            missing = self._missing_metrics(rr)
            if missing:
                return RuleResult(rule, rr.query, False, reason="no data: metric " + ", ".join(missing),
                                  warnings=result.warnings)
            return RuleResult(rule, rr.query, True, reason="no matching series", warnings=result.warnings)
        span = max((s.points[-1][0] - s.points[0][0]) for s in series) if rule.evaluate.mode != "instant" else None
        for_points: dict[tuple, list] = {}
        if rr.for_seconds and rule.evaluate.mode == "instant":
            step = max(1.0, min(rr.step or 60.0, rr.for_seconds / 10))
            try:
                fr = self.source.range(rr.query, self.now - rr.for_seconds, self.now, step)
            except QueryError as e:
                return RuleResult(rule, rr.query, False, reason=f"query failed: {e.message}")
            for s in fr.series:
                for_points[_key(s.labels)] = list(s.points)
            span = max((s.points[-1][0] - s.points[0][0]) for s in fr.series if s.points) if fr.series else 0.0
        needed = _needed_history(rr)
        if needed and span is not None and span + _slack(rr) < needed:
            return RuleResult(rule, rr.query, False, warnings=result.warnings,
                              reason=f"not enough history: needs ≥ {format_duration(needed)} "
                                     f"(have {format_duration(span)})")
        return self._judge(rr, series, for_points, result.warnings)

    def _main(self, rr: ResolvedRule) -> QueryResult:
        mode = rr.rule.evaluate.mode
        if mode == "instant":
            return self.source.instant(rr.query, self.now)
        step = rr.step or default_step(rr.lookback)
        return self.source.range(rr.query, self.now - rr.lookback, self.now, step)

    def _missing_metrics(self, rr: ResolvedRule) -> list[str]:
        names = list(rr.rule.metrics) or metric_names(rr.query)
        window = format_duration(max(rr.lookback or 0, 300))
        missing = []
        for name in names:
            res = self.source.instant(f"count(last_over_time({{__name__={_quote(name)}}}[{window}]))", self.now)
            if not any(s.points for s in res.series):
                missing.append(name)
        return missing or ([] if names else ["(unknown)"])

    def _judge(self, rr: ResolvedRule, series: list[Series], for_points: dict, warnings) -> RuleResult:
        rule = rr.rule
        cond = rule.condition
        aux = self._aux(rr)
        findings, values, scores = [], [], []
        for s in series:
            pts = s.points
            vals = [p[1] for p in pts]
            if any(v != v for v in vals):  # NaN samples (e.g. 0/0) carry no information
                pts = [p for p in pts if p[1] == p[1]]
                vals = [p[1] for p in pts]
            if not pts:
                continue
            st = stats.summary(vals)
            projection = None
            if rule.evaluate.mode == "trend":
                projection = self._project(rr, s.labels, pts, aux.get("limit"))
                value = projection.slope if cond and cond.of == "slope" else projection.projected
            elif rule.evaluate.mode == "range":
                value = stats.reduce(vals, rule.evaluate.reduce)
            else:
                value = vals[-1]
            values.append((target_of(rule, s.labels), value))
            fires = cond is None or OPS[cond.op](value, rr.threshold)
            if fires and cond is not None and rr.for_seconds:
                window = for_points.get(_key(s.labels)) if rule.evaluate.mode == "instant" else \
                    [p for p in pts if p[0] >= self.now - rr.for_seconds]
                fires = bool(window) and all(OPS[cond.op](v, rr.threshold) for _, v in window
                                             if not math.isnan(v))
            if fires and projection is not None and projection.r2 < rr.min_fit:
                fires = False   # growth is not steady enough to call it a trend
            sizing_res = self._sizing(rr, s.labels, value, st, aux) if rr.sizing else None
            replica_res = self._replicas(rr, s.labels, value, aux) if rr.replicas else None
            if rr.replicas and (replica_res is None or replica_res.desired == replica_res.current):
                fires = False
            if rr.sizing and (sizing_res is None or not _sizing_changes(rr, sizing_res)):
                fires = False
            if rule.score:
                scores.append(log_normal_score(rule.score.good, rule.score.median, value))
            if fires:
                findings.append((s, value, st, projection, sizing_res, replica_res, pts))
        score = min(scores) if scores else None
        if score is None and rule.category != "scaling":
            score = SEVERITY_SCORE[rule.severity] if findings else 1.0
        evidence = self._evidence(rr) if findings else []
        built = tuple(self._finding(rr, *f, evidence) for f in findings)
        return RuleResult(rule, rr.query, True, targets=len(values), findings=built, score=score,
                          values=tuple(values), warnings=tuple(warnings))

    def _aux(self, rr: ResolvedRule) -> dict[str, tuple[Series, ...]]:
        """Per-target side data: limits, capacities, replica counts (instant queries at `now`)."""
        queries = {"limit": rr.limit_query}
        if rr.sizing:
            queries.update(capacity=rr.sizing.capacity_query, extra=rr.sizing.extra_cost_query)
        if rr.replicas:
            queries["current"] = rr.replicas.current_query
        out = {}
        for key, q in queries.items():
            if q:
                try:
                    out[key] = Index(self.source.instant(q, self.now).series, rr.rule.target)
                except QueryError:
                    out[key] = ()
        return out

    def _project(self, rr: ResolvedRule, labels, pts, limits) -> Projection:
        slope, intercept, r2 = stats.linear_fit(pts)
        fitted_now = intercept + slope * self.now
        horizon = rr.horizon or 0.0
        limit = None
        if limits:
            m = match(labels, limits, rr.rule.target)
            limit = m.value if m is not None and m.points and math.isfinite(m.value) else None
        goal = limit if limit is not None else (rr.threshold if rr.rule.condition and
                                                rr.rule.condition.of == "value" else None)
        ttl = None
        if goal is not None and slope != 0:
            t = (goal - fitted_now) / slope
            ttl = t if t > 0 else (0.0 if (goal - pts[-1][1]) * slope <= 0 else None)
        return Projection(current=pts[-1][1], slope=slope, projected=fitted_now + slope * horizon, horizon=horizon,
                          r2=r2, limit=limit, time_to_limit=ttl)

    def _sizing(self, rr: ResolvedRule, labels, value, st, aux) -> S.SizingResult | None:
        sz = rr.sizing
        capacity = None
        if sz.capacity_query:
            m = match(labels, aux.get("capacity", ()), rr.rule.target)
            if m is None or not m.points:
                return None
            capacity = m.value
        peak_raw = st.get("max", value)
        usage, peak = (value * capacity, peak_raw * capacity) if sz.usage == "ratio" else (value, peak_raw)
        if sz.decommission:
            extra = match(labels, aux.get("extra", ()), rr.rule.target)
            return S.decommission(sz.resource, usage, peak, capacity or usage, sz.price,
                                  extra.value if extra is not None and extra.points else None, sz.extra_price)
        return S.right_size(sz.resource, usage, peak, capacity, headroom=sz.headroom, floor=sz.floor,
                            round_to=sz.round_to, price=sz.price)

    def _replicas(self, rr: ResolvedRule, labels, value, aux) -> S.ReplicaResult | None:
        m = match(labels, aux.get("current", ()), rr.rule.target)
        if m is None or not m.points or not math.isfinite(m.value):
            return None
        rp = rr.replicas
        return S.replicas(int(m.value), value, rp.target, tolerance=rp.tolerance, minimum=rp.min, maximum=rp.max)

    def _evidence(self, rr: ResolvedRule) -> list[tuple[str, str, tuple[Series, ...]]]:
        out = []
        for e in rr.evidence:
            try:
                found = [x for x in self.source.instant(e.query, self.now).series if x.points]
                found.sort(key=lambda x: -x.value if math.isfinite(x.value) else 0)
                out.append((e.title, e.query, found))
            except QueryError as err:
                out.append((f"{e.title} (query failed: {err.message})", e.query, ()))
        return out

    def _finding(self, rr, s: Series, value, st, projection, sizing_res, replica_res, pts, evidence) -> Finding:
        rule = rr.rule
        target = target_of(rule, s.labels)
        conf = self._confidence(rr, pts)
        items = []
        for title, query, series in evidence:
            keep = []
            for x in series:  # already sorted, largest first
                if all(x.labels.get(k, v) == v for k, v in target.items()):
                    keep.append((x.labels, x.value))
                    if len(keep) == EVIDENCE_TOP:
                        break
            items.append(EvidenceItem(title, query, tuple(keep)))
        ctx = {"labels": dict(s.labels), "value": value, "threshold": rr.threshold, "params": dict(rr.params),
               "target": ", ".join(f"{k}={v}" for k, v in target.items()), "stats": st, "unit": rule.unit,
               "projection": projection, "sizing": sizing_res, "replicas": replica_res,
               "rule": {"id": rule.id, "title": rule.title}}
        return Finding(rule=rule, target=target, labels=dict(s.labels), value=value, stats=st,
                       threshold=rr.threshold, summary=render(rule.id, rule.summary, ctx, "summary"),
                       description=render(rule.id, rule.description, ctx, "description"),
                       recommendation=render(rule.id, rule.recommendation, ctx), confidence=conf,
                       evidence=tuple(items), projection=projection, sizing=sizing_res, replicas=replica_res)

    def _confidence(self, rr: ResolvedRule, pts) -> Confidence:
        if rr.rule.evaluate.mode == "instant":
            return Confidence(1, 1, None, True, True, 1.0)
        step = rr.step or default_step(rr.lookback)
        expected = int(rr.lookback // step) + 1
        span = pts[-1][0] - pts[0][0] if pts else 0.0
        coverage = min(1.0, len(pts) / expected)
        preferred = rr.preferred_history or rr.lookback
        history_factor = min(1.0, (span + step) / preferred) if preferred else 1.0
        return Confidence(len(pts), expected, span, span + _slack(rr) >= _needed_history(rr),
                          span + step >= preferred, round(coverage * history_factor, 3))


def _sizing_changes(rr: ResolvedRule, sz: S.SizingResult) -> bool:
    """A right-sizing finding must change something, in the direction its rule is about: a rule that fires on
    low usage (op < / <=) recommends less than the current capacity, one on high usage more."""
    if sz.current is None or rr.sizing.decommission:
        return True   # absolute usage (no capacity known) or removing an idle target
    cond = rr.rule.condition
    if cond is None:
        return sz.recommended != sz.current
    return sz.recommended < sz.current if cond.op in ("<", "<=") else sz.recommended > sz.current


def _needed_history(rr: ResolvedRule) -> float:
    """History a rule needs: its min_history, never more than the window it looks at (an explicitly short
    --set lookback means the operator accepts short history); an instant rule with `for` needs that window."""
    window = rr.lookback if rr.rule.evaluate.mode != "instant" else rr.for_seconds
    need = min(rr.min_history, window) if (rr.min_history and window) else (rr.min_history or 0.0)
    if rr.rule.evaluate.mode == "instant" and rr.for_seconds:
        need = max(need, rr.for_seconds)
    return need


def _slack(rr: ResolvedRule) -> float:
    """One step of tolerance: a range query's first and last points are a step short of the full window."""
    return rr.step or (default_step(rr.lookback) if rr.lookback else 1.0)


def _key(labels: dict[str, str]) -> tuple:
    return tuple(sorted(labels.items()))


def _quote(s: str) -> str:
    from .packs.params import promql_string
    return promql_string(s)
