"""``advisor doctor``: what a setup gives the packs, and what each pack still needs.

It evaluates the packs like ``advisor run`` (so a rule's "not evaluated" reason is the evaluator's own), then
asks the data source which metrics exist, from which jobs, since when, and at which scrape interval, and
checks every rule's range windows and ``for`` against that interval (``windows``). Who provides a missing
metric comes from the exporter's collector declarations (``providers``).

A problem is something that keeps a pack with data from being judged: a rule it cannot evaluate, or a window
error. Packs without any data are listed with what would provide it, but are not problems: a host without
Redis has no use for the cache pack.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from ..config import Config
from ..packs import ResolvedRule
from ..promql.parse import metric_names
from ..run import execute, plan
from ..sources.base import Source
from .probes import Presence, oldest_sample, presence, scrape_intervals
from .providers import providers
from .windows import WindowProblem, check_rule

DEFAULT_MAX_HISTORY = 7 * 86400.0


@dataclass(frozen=True)
class MetricStatus:
    name: str
    series: int
    jobs: tuple[str, ...]
    oldest: float | None = None        # unix time of the oldest sample within the history lookback

    @property
    def present(self) -> bool:
        return self.series > 0

    def to_dict(self, now: float) -> dict:
        return {"name": self.name, "present": self.present, "series": self.series, "jobs": list(self.jobs),
                "history_seconds": round(now - self.oldest, 3) if self.oldest is not None else None,
                "providers": [p.to_dict() for p in providers(self.name)] if not self.present else []}


@dataclass(frozen=True)
class PackStatus:
    name: str
    metrics: tuple[MetricStatus, ...]
    history_seconds: float | None      # how long the pack has had data (its metric with the oldest sample)
    history_capped: bool = False       # data is older than the lookback searched

    @property
    def has_data(self) -> bool:
        return any(m.present for m in self.metrics)

    @property
    def missing(self) -> tuple[MetricStatus, ...]:
        return tuple(m for m in self.metrics if not m.present)

    @property
    def status(self) -> str:
        return "no data" if not self.has_data else "partial" if self.missing else "ok"


@dataclass(frozen=True)
class RuleStatus:
    """A rule that could not be evaluated: the evaluator's reason and what it needs."""

    id: str
    pack: str
    reason: str
    missing: tuple[str, ...] = ()
    min_history: float | None = None
    history: float | None = None       # seconds since the oldest sample of the rule's metrics
    pack_has_data: bool = True

    def to_dict(self) -> dict:
        return {"id": self.id, "pack": self.pack, "reason": self.reason, "missing_metrics": list(self.missing),
                "min_history_seconds": self.min_history,
                "history_seconds": round(self.history, 3) if self.history is not None else None,
                "counted": self.pack_has_data}


@dataclass(frozen=True)
class Diagnosis:
    source: dict
    evaluated_at: float
    max_history: float
    intervals: dict[str, float]
    packs: tuple[PackStatus, ...]
    windows: tuple[WindowProblem, ...]
    rules: tuple[RuleStatus, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def problems(self) -> int:
        """Window errors, and rules of packs with data that cannot be evaluated (packs without data are no problem)."""
        return (sum(1 for w in self.windows if w.level == "error")
                + sum(1 for r in self.rules if r.pack_has_data))

    def to_dict(self) -> dict:
        t = self.evaluated_at
        return {
            "source": self.source, "evaluated_at": t, "history_lookback_seconds": self.max_history,
            "scrape_intervals": self.intervals,
            "packs": [{"name": p.name, "status": p.status, "history_seconds": p.history_seconds,
                       "history_at_least": p.history_capped,
                       "metrics": [m.to_dict(t) for m in p.metrics]} for p in self.packs],
            "windows": [w.to_dict() for w in self.windows],
            "rules_not_evaluated": [r.to_dict() for r in self.rules],
            "notes": list(self.notes), "problems": self.problems,
        }


def rule_metrics(rr: ResolvedRule) -> list[str]:
    """Metrics a rule needs to be evaluated: its declared ones and those of its query and side queries
    (evidence is left out: a rule is judged without it)."""
    names = list(rr.rule.metrics)
    queries = [rr.query, rr.limit_query or ""]
    if rr.sizing:
        queries += [rr.sizing.capacity_query or "", rr.sizing.extra_cost_query or ""]
    if rr.replicas:
        queries.append(rr.replicas.current_query)
    for q in queries:
        for n in metric_names(q) if q else ():
            if n not in names:
                names.append(n)
    return names


def diagnose(config: Config, source: Source, *, now: float | None = None, planned=None,
             adapt: Callable | None = None, interval: float | None = None, max_history: float = DEFAULT_MAX_HISTORY,
             source_info: dict | None = None, notes: tuple[str, ...] = ()) -> Diagnosis:
    """The diagnosis of `source` for the packs `config` selects. `interval` replaces the scrape intervals
    (local mode: the sampling interval); `adapt` re-resolves the rules first, as local mode's run does."""
    now = time.time() if now is None else now
    planned = planned or plan(config)
    used: list[ResolvedRule] = []

    def keep(packs, values, rules):
        rules = adapt(packs, values, rules) if adapt else rules
        used.extend(rules)
        return rules
    report = execute(config, source=source, now=now, adapt=keep, planned=planned)
    results = {r.rule.id: r for r in report.results}

    by_pack: dict[str, list[str]] = {}
    for rr in used:
        names = by_pack.setdefault(rr.rule.pack, [])
        names.extend(n for n in rule_metrics(rr) if n not in names)
    every = sorted({n for names in by_pack.values() for n in names})
    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="doctor") as pool:
        found: dict[str, Presence] = dict(zip(every, pool.map(lambda n: presence(source, n, now), every)))
        present = [n for n in every if found[n].present]
        oldest = dict(zip(present, pool.map(lambda n: oldest_sample(source, n, now, max_history), present)))

    if interval is not None:
        intervals = {j: interval for p in found.values() for j in p.jobs}
        note = None
    else:
        intervals, note = scrape_intervals(source)

    def interval_of(metrics):
        jobs = tuple(sorted({j for m in metrics if m in found for j in found[m].jobs}))
        if interval is not None:
            return interval, jobs
        known = [intervals[j] for j in jobs if j in intervals]
        return (max(known), jobs) if known else (None, jobs)

    packs = []
    for p in planned[0]:
        names = by_pack.get(p.name, [])
        ms = tuple(MetricStatus(n, found[n].series, found[n].jobs, oldest.get(n)) for n in names)
        starts = [m.oldest for m in ms if m.oldest is not None]
        hist = now - min(starts) if starts else None
        packs.append(PackStatus(p.name, ms, hist, hist is not None and hist >= max_history))
    with_data = {p.name for p in packs if p.has_data}
    windows = tuple(w for rr in used for w in check_rule(rr, interval_of))

    def history_of(rr: ResolvedRule) -> float | None:
        starts = [oldest[n] for n in rule_metrics(rr) if oldest.get(n) is not None]
        return now - min(starts) if starts else None
    rules = tuple(RuleStatus(rr.rule.id, rr.rule.pack, results[rr.rule.id].reason,
                             tuple(n for n in rule_metrics(rr) if not found[n].present), rr.min_history,
                             history_of(rr), rr.rule.pack in with_data)
                  for rr in used if not results[rr.rule.id].evaluated)
    return Diagnosis(source_info or report.source, now, max_history, intervals, tuple(packs), windows, rules,
                     tuple(notes) + ((note,) if note else ()))
