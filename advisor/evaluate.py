"""Evaluating rules against a data source: queries, reductions, conditions, and findings with evidence.

Queries return values for every target (packs never filter by threshold in PromQL); the condition is
applied here, so non-firing targets still contribute observed values and scores. Rules run concurrently
(``concurrency`` bounds the queries in flight); a SourceError aborts the run, a QueryError only marks its rule not
evaluated.
"""
from __future__ import annotations

import math
import operator
import re
import threading
import time as _time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable

import numpy as np

from dataclasses import replace

from . import confidence as C
from . import sizing as S
from . import stats, trend
from .durations import format_duration
from .briefs import Briefs, RuleFindings, Values, target_of
from .findings import Confidence, EvidenceItem, Finding, Projection, RuleResult, SizingRow
from .packs import ResolvedRule
from .promql.parse import metric_names
from .render import render_text as render  # a template failure marks its finding, never ends the run
from .scoring import SEVERITY_SCORE, log_normal_score
from .sources.base import Points, QueryError, QueryResult, Series, Source
from .sources.cache import MemoSource

OPS: dict[str, Callable[[float, float], bool]] = {">": operator.gt, "<": operator.lt, ">=": operator.ge,
                                                  "<=": operator.le}
EVIDENCE_TOP = 5
CHART_POINTS = 240
MAX_POINTS = 10_000


def default_step(lookback: float) -> float:
    return max(1.0, lookback / 240)


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
                 progress: Callable[[RuleResult], None] | None = None, top: int = 10):
        self.concurrency = max(1, concurrency)
        self.source = MemoSource(source, in_flight=self.concurrency)
        self.top = max(0, top)
        self._histories: dict[tuple, float | None] = {}
        self._windows: dict[tuple, tuple] = {}
        self.now = _time.time() if now is None else now
        # One rule judged at a time while the others' requests are in flight: judging holds the GIL anyway,
        # and four fleets' worth of judging transients at once raised a 10,000-series run's peak by ~150 MB.
        self._judging = threading.Lock()
        self.progress = progress

    def run(self, rules: list[ResolvedRule]) -> list[RuleResult]:
        """Every rule's result, in the order given; the first SourceError is raised."""
        self.source.expect(k for rr in rules for k in self._planned(rr))
        # `concurrency` bounds the queries in flight (the memo holds the slots); twice as many rules run, so a
        # rule busy analysing its answer leaves its slot to another rule's query. The most expensive queries
        # go first: the run ends with many short ones instead of one long one.
        workers = 1 if self.concurrency == 1 else 2 * self.concurrency
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="advisor")
        try:
            futures = [None] * len(rules)
            for i in sorted(range(len(rules)), key=lambda i: -_cost(rules[i])):
                futures[i] = pool.submit(self.evaluate, rules[i])
            # Progress is reported from this thread, not from done-callbacks: a callback runs on a worker (or
            # on cancellation) after a failure and anything it raises is logged as a traceback.
            for f in as_completed(futures):
                if f.exception() is not None:
                    raise f.exception()
                if self.progress:
                    self.progress(f.result())
            return link_causes([f.result() for f in futures])
        finally:
            # On failure, queued rules are dropped; running ones stop at their next request.
            pool.shutdown(wait=False, cancel_futures=True)

    # --- one rule -------------------------------------------------------------------------------------

    def _planned(self, rr: ResolvedRule) -> list[tuple]:
        """The memo keys of the requests evaluating `rr` makes at most once each (its query, its side and
        evidence queries, its `for` window), so the memo can drop each answer after its last use."""
        src = self.source
        keys = [src.range_key(*self._range_args(rr)) if rr.rule.evaluate.mode != "instant"
                else src.instant_key(rr.query, self.now)]
        if rr.for_seconds and rr.rule.evaluate.mode == "instant":
            keys.append(src.range_key(rr.query, self.now - rr.for_seconds, self.now, _for_step(rr)))
        aux = [rr.limit_query]
        if rr.sizing:
            aux += [rr.sizing.capacity_query, rr.sizing.extra_cost_query]
        if rr.replicas:
            aux.append(rr.replicas.current_query)
        keys += [src.instant_key(q, self.now) for q in aux if q]
        keys += [src.instant_key(e.query, self.now) for e in rr.evidence]
        return keys

    def evaluate(self, rr: ResolvedRule) -> RuleResult:
        self.source.begin()
        try:
            return self._evaluate(rr)
        finally:
            self.source.settle(self._planned(rr))

    def _evaluate(self, rr: ResolvedRule) -> RuleResult:
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
        needed = _needed_history(rr)
        history = None
        if rule.evaluate.mode != "instant":
            history = max(s.points[-1][0] - s.points[0][0] for s in series)
            if needed and history + _slack(rr) < needed:
                # The points are quantized to the step: ask the source how long the metrics really go back.
                probed = self._history(rr)
                history = max(history, probed) if probed is not None else history
            if needed and history + _slack(rr) < needed:
                return RuleResult(rule, rr.query, False, warnings=result.warnings,
                                  reason=f"not enough history: needs ≥ {format_duration(needed)} "
                                         f"(have {format_duration(history)})")
        for_points: dict[tuple, list] = {}
        if rr.for_seconds and rule.evaluate.mode == "instant":
            try:
                fr = self.source.range(rr.query, self.now - rr.for_seconds, self.now, _for_step(rr))
            except QueryError as e:
                return RuleResult(rule, rr.query, False, reason=f"query failed: {e.message}")
            for s in fr.series:
                ts, vs = _arrays(s)
                keep = np.isfinite(vs)
                for_points[_key(s.labels)] = (ts[keep], vs[keep])
        aux = self._aux(rr)
        with self._judging:
            try:
                return self._judge(rr, series, for_points, result.warnings, aux)
            finally:
                del series, result, for_points, aux
                _trim()

    def _main(self, rr: ResolvedRule) -> QueryResult:
        mode = rr.rule.evaluate.mode
        if mode == "instant":
            return self.source.instant(rr.query, self.now)
        return self.source.range(*self._range_args(rr))

    def _range_args(self, rr: ResolvedRule) -> tuple:
        return rr.query, self.now - rr.lookback - _extra(rr), self.now, _step(rr)

    def _history(self, rr: ResolvedRule) -> float | None:
        """Seconds since the oldest sample of the rule's metrics within the window it needs, or None.

        One probe per metric name (escaped by the one quoting helper): the earliest sample timestamp seen by
        a subquery, exact to its resolution — a range query's points are a step apart and a short history
        can show as one point, "0s"."""
        key = (rr.query, rr.rule.metrics, rr.lookback, rr.for_seconds, rr.min_history, rr.preferred_history)
        if key in self._histories:   # asked once per finding; the answer is the rule's
            return self._histories[key]
        names = list(rr.rule.metrics) or metric_names(rr.query)
        window = max(rr.lookback or 0, rr.for_seconds or 0, rr.min_history or 0, rr.preferred_history or 0, 60.0)
        res = max(1.0, window / 600)
        found = []
        for name in names:
            q = (f"min(min_over_time(timestamp({{__name__={_quote(name)}}})"
                 f"[{format_duration(math.ceil(window + res))}:{format_duration(math.ceil(res))}]))")
            try:
                out = [s for s in self.source.instant(q, self.now).series if s.points]
            except QueryError:
                continue
            if out and math.isfinite(out[0].value):
                found.append(max(0.0, self.now - out[0].value))
        self._histories[key] = min(found) if found else None
        return self._histories[key]

    def _missing_metrics(self, rr: ResolvedRule) -> list[str]:
        names = list(rr.rule.metrics) or metric_names(rr.query)
        window = format_duration(max(rr.lookback or 0, 300))
        if not names:
            return ["(unknown)"]
        # One query for all of the rule's metrics (last_over_time keeps the metric name; metric names hold no
        # regex metacharacters but are escaped all the same).
        pattern = "|".join(re.escape(n) for n in names)
        res = self.source.instant(
            f"count by (__name__) (last_over_time({{__name__=~{_quote(pattern)}}}[{window}]))", self.now)
        present = {s.labels.get("__name__") for s in res.series if s.points}
        return [n for n in names if n not in present]

    def _judge(self, rr: ResolvedRule, series: list[Series], for_points: dict, warnings, aux) -> RuleResult:
        rule = rr.rule
        cond = rule.condition
        mode = rule.evaluate.mode
        held, values, scores, rows = [], [], [], []
        empty = 0
        since = self.now - rr.lookback - _tol(rr) if (mode == "range" and rr.lookback) else None
        prepared = []
        for s in series:
            ts, vs = _arrays(s)
            finite = np.isfinite(vs)
            dropped = 0 if finite.all() else len(vs) - int(finite.sum())
            if dropped:   # NaN (0/0) carries no information; ±Inf cannot be reduced: both are left out, and said so
                ts, vs = ts[finite], vs[finite]
            if not len(vs):
                empty += 1
                continue
            wts, wvs = ts, vs
            if since is not None:
                i = int(ts.searchsorted(since))
                wts, wvs = (ts[i:], vs[i:]) if i < len(ts) else (ts[-1:], vs[-1:])
            prepared.append((s, ts, vs, dropped, wts, wvs))
        # Every target's reductions and noise at once (the windows' values, stacked by length).
        rows_of = stats.Rows([p[5] for p in prepared])
        how = rule.evaluate.reduce
        verdicts = None
        if mode == "trend" and rr.windows:   # every target's growth tests at once
            verdicts = trend.judge_many([(p[1], p[2]) for p in prepared], self.now, rr.windows, rr.lookback,
                                        _step(rr))
        for k, (s, ts, vs, dropped, wts, wvs) in enumerate(prepared):
            st = None
            projection = verdict = None
            if mode == "trend":
                projection, verdict = self._project(rr, s.labels, (ts, vs), aux.get("limit"),
                                                    next(verdicts) if verdicts is not None else None)
                value = projection.slope if cond and cond.of == "slope" else projection.projected
            elif mode == "range":
                value = rows_of.value(k, how)
            else:
                value = float(wvs[-1])
            values.append(value)
            holds = cond is None or OPS[cond.op](value, rr.threshold)
            if holds and verdict is not None and rr.windows and not verdict.significant:
                holds = False   # no upward trend the data can tell from noise
            if holds and projection is not None and not rr.windows and projection.r2 < rr.min_fit:
                holds = False   # growth is not steady enough to call it a trend
            if rr.sizing:
                st = rows_of.summary(k)
            sizing_res = self._sizing(rr, s.labels, value, st, aux) if rr.sizing else None
            replica_res = self._replicas(rr, s.labels, value, aux) if rr.replicas else None
            if rr.replicas and (replica_res is None or replica_res.desired == replica_res.current):
                holds = False
            if rr.sizing and (sizing_res is None or not _sizing_changes(rr, sizing_res)):
                holds = False
            if holds and sizing_res is not None and not _material(rr, sizing_res):
                rows.append(SizingRow(rule.id, target_of(rule, s.labels), value, sizing_res))
                holds = False
            if rule.score:
                scores.append(log_normal_score(rule.score.good, rule.score.median, value))
            if not holds:
                continue
            st = st if st is not None else rows_of.summary(k)
            state, active_for, shown = "firing", None, (wts, wvs)
            noise = float(rows_of.noise[k])   # of the shown values, unless `for` shows other points
            if cond is not None and rr.for_seconds:
                if mode == "instant":
                    fp = for_points.get(_key(s.labels))
                    if fp is not None and len(fp[0]):
                        shown, noise = fp, None
                    active_for = self._active_instant(rr, shown, value)
                else:
                    active_for = self._active_range(rr, ts, vs)
                if active_for + _tol(rr) < rr.for_seconds:
                    state = "pending"
            notes = (f"{dropped} non-finite sample{'s' if dropped != 1 else ''} (NaN, ±Inf) left out",) \
                if dropped else ()
            conf = self._confidence(rr, shown, value, verdict, active_for, noise)
            held.append(dict(s=s, value=value, st=st, projection=projection, verdict=verdict,
                             sizing_res=sizing_res, replica_res=replica_res, state=state, active_for=active_for, conf=conf, notes=notes,
                             shown=shown))
        score = min(scores) if scores else None
        if score is None and rule.category != "scaling":
            score = SEVERITY_SCORE[rule.severity] if any(f["state"] == "firing" for f in held) else 1.0
        # The worst N targets of a rule get texts, a chart series and evidence; the others their numbers.
        held.sort(key=lambda f: _badness(rr, f))
        detailed = held if not self.top else held[:self.top]
        evidence = self._evidence(rr) if detailed else []
        built = tuple(self._finding(rr, f, evidence) for f in detailed)
        rest = held[len(detailed):]
        del held[len(detailed):]
        briefs = Briefs(rule, rr.threshold, rr.for_seconds, [self._brief(rr, f) for f in rest]) if rest else None
        del rest
        notes = (f"{empty} series without a finite sample (all NaN or ±Inf) left out",) if empty else ()
        return RuleResult(rule, rr.query, True, targets=len(values), findings=RuleFindings(built, briefs),
                          score=score, values=Values(rule, [p[0].labels for p in prepared], values),
                          warnings=tuple(warnings), sizing_rows=tuple(rows), notes=notes)

    def _active_range(self, rr: ResolvedRule, ts, vs) -> float:
        """How long a range rule's condition has held: its reduction re-evaluated at every step of the `for`
        window (each over the lookback ending there), walking back from now until it does not hold."""
        cond, how = rr.rule.condition, rr.rule.evaluate.reduce
        since = self.now
        tol = _tol(rr)
        first = int(ts.searchsorted(self.now - rr.for_seconds - tol))
        for at in range(len(ts) - 1, first - 1, -1):
            t = float(ts[at])
            lo = int(ts.searchsorted(t - rr.lookback - tol))
            hi = int(ts.searchsorted(t, side="right"))
            window = vs[lo:hi]
            if not len(window) or not OPS[cond.op](stats.reduce(window, how), rr.threshold):
                break
            since = t
        return self.now - since

    def _active_instant(self, rr: ResolvedRule, pts, value: float) -> float:
        """How long an instant rule's condition has held, from the `for` window's points (timestamp and value
        arrays); when it held at all of them and the data starts inside the window, from when the metrics'
        data starts."""
        cond = rr.rule.condition
        since = self.now
        broke = False
        for t, v in reversed(_pairs(*pts)):
            if not OPS[cond.op](v, rr.threshold):
                broke = True
                break
            since = t
        if not broke and since > self.now - rr.for_seconds + _for_step(rr) / 2:
            start = self._history(rr)
            if start is not None:
                since = min(since, self.now - min(start, rr.for_seconds))
        return max(0.0, self.now - since)

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

    def _project(self, rr: ResolvedRule, labels, arrays, limits,
                 verdict: trend.Verdict | None = None) -> tuple[Projection, trend.Verdict | None]:
        """The growth and where it leads: a multi-window robust verdict for rules with `windows` (`verdict`
        when judged already), else the least-squares line (as predict_linear/deriv, so the generated alerts
        agree). Never beyond the limit."""
        ts, vs = arrays
        current = float(vs[-1])
        if rr.windows:
            step = _step(rr)
            verdict = verdict or trend.judge(arrays, self.now, rr.windows, rr.lookback, step)
            slope, r2 = verdict.slope, verdict.r2
            fitted_now = verdict.intercept + slope * self.now
            if verdict.basis == "daily baselines":
                fitted_now = current   # the baselines are the days' low points; project from now's value
        else:
            slope, intercept, r2 = stats.linear_fit(_pairs(ts, vs))
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
            ttl = t if t > 0 else (0.0 if (goal - current) * slope <= 0 else None)
        projected = fitted_now + slope * horizon
        capped = False
        if limit is not None and slope > 0 and projected > limit:
            projected, capped = limit, True
        elif limit is not None and slope < 0 and projected < limit:
            projected, capped = limit, True
        return Projection(current=current, slope=slope, projected=projected, horizon=horizon, r2=r2,
                          limit=limit, time_to_limit=ttl, capped=capped,
                          window=verdict.window if verdict else float(ts[-1] - ts[0]),
                          basis=verdict.basis if verdict else "samples",
                          p_value=verdict.p if verdict else None), verdict

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
                out.append((e.title, e.query, _EvidenceIndex(found)))
            except QueryError as err:
                out.append((f"{e.title} (query failed: {err.message})", e.query, ()))
        return out

    def _finding(self, rr: ResolvedRule, f: dict, evidence) -> Finding:
        rule = rr.rule
        s, value, st, projection, verdict = f["s"], f["value"], f["st"], f["projection"], f["verdict"]
        target = target_of(rule, s.labels)
        pts = _pairs(*f["shown"])
        conf = f["conf"]
        items = []
        for title, query, series in evidence:
            # already sorted, largest first: this target's first EVIDENCE_TOP
            keep = [(x.labels, x.value) for x in _evidence_for(series, target)]
            items.append(EvidenceItem(title, query, tuple(keep)))
        if verdict is not None:
            pts = [p for p in pts if p[0] >= verdict.start - 1e-6] or pts
        shown = tuple(stats.downsample(pts, CHART_POINTS))
        window = (pts[0][0], pts[-1][0]) if (rule.evaluate.mode != "instant" or rr.for_seconds) else None
        ctx = {"labels": dict(s.labels), "value": value, "threshold": rr.threshold, "params": dict(rr.params),
               "target": ", ".join(f"{k}={v}" for k, v in target.items()), "stats": st, "unit": rule.unit,
               "projection": projection, "sizing": f["sizing_res"], "replicas": f["replica_res"],
               "rule": {"id": rule.id, "title": rule.title}, "trend": verdict, "cause": None,
               "state": f["state"], "active_for": f["active_for"], "for_seconds": rr.for_seconds,
               # texts follow their evidence: title -> this target's series, largest first
               "evidence": {i.title: [{"labels": lab, "value": v} for lab, v in i.series] for i in items}}
        finding = Finding(rule=rule, target=target, labels=dict(s.labels), value=value, stats=st,
                          threshold=rr.threshold, summary="", description="", recommendation="", confidence=conf,
                          evidence=tuple(items), projection=projection, sizing=f["sizing_res"],
                          replicas=f["replica_res"], state=f["state"], active_for=f["active_for"],
                          for_seconds=rr.for_seconds, series=shown, window=window, notes=f["notes"])
        return rerender(finding, ctx)

    def _brief(self, rr: ResolvedRule, f: dict) -> tuple:
        """A finding beyond the rule's top N, as a row of Briefs: its numbers and confidence, no rendered texts,
        chart series or evidence (they are what makes 10,000 findings cost gigabytes)."""
        ts = f["shown"][0]
        window = None
        if len(ts) and (rr.rule.evaluate.mode != "instant" or rr.for_seconds):
            window = (float(ts[0]), float(ts[-1]))
            window = self._windows.setdefault(window, window)   # a fleet's targets share their windows
        return (f["s"].labels, f["value"], f["st"], f["conf"], f["projection"], f["sizing_res"],
                f["replica_res"], f["state"], f["active_for"], window, f["notes"])

    def _confidence(self, rr: ResolvedRule, shown, value: float, verdict, active_for,
                    noise: float | None = None) -> Confidence:
        """Confidence from the history the source holds for the rule (vs its preferred history), the
        coverage and gaps of the data the verdict rests on, the fit (trends) and the margin (see confidence.py).
        `shown` is the (timestamps, values) arrays the verdict rests on; `noise` their robust sd when known."""
        ts, vs = shown
        cond = rr.rule.condition
        op, thr = (cond.op, rr.threshold) if cond else (None, None)
        mode = rr.rule.evaluate.mode
        preferred = rr.preferred_history or (rr.lookback if mode != "instant" else rr.for_seconds)
        n = len(ts)
        span = float(ts[-1] - ts[0]) if n else 0.0
        present = None
        if preferred:
            probed = self._history(rr)
            present = max(span, probed) if probed is not None else span
        if mode == "instant" and not rr.for_seconds:
            if n >= 3 and noise is None:
                noise = stats.robust_sd(vs.tolist())
            return C.score(samples=1, expected=1, history=present, preferred=preferred, min_met=True,
                           margin=C.margin(value, thr, op, noise) if n >= 3 else None)
        step = _for_step(rr) if mode == "instant" else _step(rr)
        if verdict is not None:
            sel = ts[ts >= self.now - verdict.window - 1e-6]
            if cond is not None and cond.of == "slope":
                m = C.margin(verdict.slope, thr, op, verdict.slope_sd)
            else:
                m = C.margin(value, thr, op, verdict.noise * (rr.horizon or 1.0) / max(verdict.window, step))
            expected = int(verdict.window // step) + 1
            return C.score(samples=min(len(sel), expected), expected=expected, history=present,
                           preferred=preferred, min_met=True, gaps=C.gaps_of(sel, step), margin=m,
                           fit_r2=round(verdict.r2, 3), trend_p=verdict.p, cap=verdict.cap)
        expected = int(span // step) + 1
        if noise is None:
            noise = stats.robust_sd(vs.tolist())
        noise = float(noise)
        r2 = None
        m = C.margin(value, thr, op, noise)
        if mode == "trend":
            pts = _pairs(ts, vs)
            slope, intercept, r2 = stats.linear_fit(pts)
            resid = stats.robust_sd([v - (intercept + slope * t) for t, v in pts])
            scale = (rr.horizon or 1.0) if cond and cond.of == "value" else 1.0
            m = C.margin(value, thr, op, resid * scale / max(span, step))
            r2 = round(r2, 3)
        return C.score(samples=min(n, expected), expected=expected, history=present, preferred=preferred,
                       min_met=(present or span) + _slack(rr) >= _needed_history(rr), gaps=C.gaps_of(ts, step),
                       margin=m, fit_r2=r2)


class _EvidenceIndex:
    """An evidence query's series (largest first) by their values of a target's keys: a detailed finding's
    evidence is a lookup, not a scan of the fleet's series."""

    def __init__(self, series):
        self.series = series
        self.by_keys: dict[tuple, dict] = {}

    def matching(self, target: dict[str, str]) -> list:
        keys = tuple(target)
        groups = self.by_keys.get(keys)
        if groups is None:   # per subset of the keys a series carries: its values -> its positions, in order
            groups = self.by_keys[keys] = {}
            for i, x in enumerate(self.series):
                carried = tuple(k for k in keys if k in x.labels)
                groups.setdefault(carried, {}).setdefault(tuple(x.labels[k] for k in carried), []).append(i)
        hits = []
        for carried, table in groups.items():
            hits += table.get(tuple(target[k] for k in carried), [])[:EVIDENCE_TOP]
        return [self.series[i] for i in sorted(hits)[:EVIDENCE_TOP]]


def _evidence_for(series, target: dict[str, str]) -> list:
    """The first EVIDENCE_TOP of `series` that agree with `target` on every target key they carry."""
    if isinstance(series, _EvidenceIndex):
        return series.matching(target)
    return [x for x in series if all(x.labels.get(k, v) == v for k, v in target.items())][:EVIDENCE_TOP]


def rerender(finding: Finding, ctx: dict) -> Finding:
    """The finding with its texts rendered from `ctx` (again, once `cause` is known)."""
    rule = finding.rule
    ctx = dict(ctx, cause=finding.cause)
    return replace(finding, summary=render(rule.id, rule.summary, ctx, "summary"),
                   description=render(rule.id, rule.description, ctx, "description"),
                   recommendation=render(rule.id, rule.recommendation, ctx), context=ctx)


def link_causes(results: list[RuleResult]) -> list[RuleResult]:
    """Findings whose rule is `explained_by` another rule that found something on the same target get `cause`
    ("thread growth (process-thread-leak)") and their texts re-rendered with it."""
    by_rule = {r.rule.id: r for r in results}
    targets: dict[str, dict] = {}   # rule id -> target items -> finding: a fleet's findings are matched by lookup
    out = []
    for r in results:
        if not r.rule.explained_by or not r.findings:
            out.append(r)
            continue
        def cause_of(target: dict[str, str]) -> str | None:
            for rid, text in r.rule.explained_by:
                other = by_rule.get(rid)
                hit = _find_target(targets, other, target) if other else None
                if hit is not None:
                    return f"{text or other.rule.title} ({rid})"
            return None
        fs = r.findings
        if isinstance(fs, RuleFindings):
            detailed, briefs = fs.detailed, fs.briefs
        else:
            detailed, briefs = tuple(fs), None
        new = []
        for f in detailed:
            cause = cause_of(f.target)
            if cause and f.detailed:
                new.append(rerender(replace(f, cause=cause), f.context))
            else:
                new.append(replace(f, cause=cause) if cause else f)
        if briefs is not None:
            causes = {}
            for i in range(len(briefs)):
                cause = cause_of(briefs.get("target", i))
                if cause:
                    causes[i] = cause
            briefs = briefs.with_causes(causes) if causes else briefs
        out.append(replace(r, findings=RuleFindings(tuple(new), briefs) if isinstance(fs, RuleFindings)
                           else tuple(new)))
    return out


def _find_target(cache: dict, other: RuleResult, target: dict[str, str]):
    """The first finding of `other` on the same target (same values of the keys both carry)."""
    got = cache.get(other.rule.id)
    if got is None:
        every = _targets(other.findings)   # made once per rule: brief findings' targets are made when read
        table: dict[tuple, int] = {}
        for i, t in enumerate(every):
            table.setdefault(tuple(sorted(t.items())), i)
        got = cache[other.rule.id] = (table, every)
    table, every = got
    hit = table.get(tuple(sorted(target.items())))
    if hit is not None:
        return other.findings[hit]
    if len(table) > 1000 and all(len(k) == len(target) for k in list(table)[:1]):
        return None   # same keys on both sides and no exact match: a scan cannot find one either
    return next((other.findings[i] for i, t in enumerate(every) if _same_target(target, t)), None)


def _targets(findings) -> list[dict[str, str]]:
    """The findings' targets, without making brief findings."""
    return findings.field("target") if isinstance(findings, RuleFindings) else [g.target for g in findings]


def _same_target(a: dict[str, str], b: dict[str, str]) -> bool:
    shared = [k for k in a if k in b]
    return bool(shared) and all(a[k] == b[k] for k in shared)


def _load_trim():
    try:
        import ctypes
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _load_trim()


def _trim() -> None:
    """Give what a rule's judging freed back to the system: glibc keeps freed pages in its heap otherwise, and a
    fleet's run peaked on what earlier rules left there. No effect outside glibc."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _arrays(s: Series):
    """A series' timestamps and values as float arrays (the HTTP source keeps them so; others as tuples)."""
    p = s.points
    if isinstance(p, Points):
        return p.ts, p.vs
    if not p:
        return np.zeros(0), np.zeros(0)
    ts, vs = zip(*p)
    return np.asarray(ts, dtype=float), np.asarray(vs, dtype=float)


def _pairs(ts, vs) -> list[tuple[float, float]]:
    return list(zip(ts.tolist(), vs.tolist()))


def _badness(rr: ResolvedRule, f: dict) -> tuple:
    """Sort key, worst first: firing before pending, then furthest past the threshold in its direction."""
    v = f["value"]
    cond = rr.rule.condition
    if v != v:
        return (f["state"] != "firing", 1, 0.0)
    if cond is not None and cond.of == "slope" and f["projection"] is not None:
        v = f["projection"].slope
    lower = cond is not None and cond.op in ("<", "<=")
    return (f["state"] != "firing", 0, v if lower else -v)


def _tol(rr: ResolvedRule) -> float:
    """Half a step: servers return timestamps at millisecond precision, and a step-spaced point on a window's
    edge must count as inside it."""
    step = _for_step(rr) if rr.rule.evaluate.mode == "instant" else _step(rr)
    return step / 2


def _extra(rr: ResolvedRule) -> float:
    """A range rule with `for` is evaluated at every step of the `for` window (as Prometheus evaluates the
    alert), so its data reaches one `for` further back than the lookback."""
    mode = rr.rule.evaluate.mode
    return rr.for_seconds if (mode == "range" and rr.for_seconds and rr.rule.condition) else 0.0


def _step(rr: ResolvedRule) -> float:
    """The range-query step: the rule's, coarsened for long windows (servers refuse > 11,000 points)."""
    return max(rr.step or default_step(rr.lookback), (rr.lookback + _extra(rr)) / MAX_POINTS)


def _cost(rr: ResolvedRule) -> float:
    """The expected cost of a rule's query, in evaluation steps: a range query's server time and answer size
    grow with its steps; an instant query is one (with `for`, its window's steps too)."""
    if rr.rule.evaluate.mode != "instant":
        return (rr.lookback + _extra(rr)) / _step(rr) + 1
    return 1 + (rr.for_seconds / _for_step(rr) if rr.for_seconds else 0)


def _for_step(rr: ResolvedRule) -> float:
    return max(1.0, min(rr.step or 60.0, (rr.for_seconds or 600.0) / 10))


def _material(rr: ResolvedRule, sz: S.SizingResult) -> bool:
    """A right-sizing result is a finding only when it changes the capacity materially: by at least
    `min_change` (cores/bytes) AND `min_change_ratio` of the current capacity. Without a known current
    capacity (a process group's usage) there is nothing to change from: it goes to the sizing table."""
    cfg = rr.sizing
    if cfg.decommission or (not cfg.min_change and not cfg.min_change_ratio):
        return True
    if sz.current is None or sz.current <= 0:
        return False
    change = abs(sz.recommended - sz.current)
    return change >= cfg.min_change and change / sz.current >= cfg.min_change_ratio


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
    """History a range or trend rule needs before its value means anything: its min_history, never more than
    the window it looks at (an explicitly short --set lookback means the operator accepts short history).
    Instant rules need none: their value is the current one, and `for` makes a young condition pending."""
    if rr.rule.evaluate.mode == "instant":
        return 0.0
    window = rr.lookback
    return min(rr.min_history, window) if (rr.min_history and window) else (rr.min_history or 0.0)


def _slack(rr: ResolvedRule) -> float:
    """One step of tolerance: a range query's first and last points are a step short of the full window."""
    return _step(rr) if rr.lookback else (rr.step or 1.0)


def _key(labels: dict[str, str]) -> tuple:
    return tuple(sorted(labels.items()))


def _quote(s: str) -> str:
    from .packs.params import promql_string
    return promql_string(s)
