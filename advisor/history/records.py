"""What the history keeps of one run: plain rows built from a Report, with each finding's stable fingerprint.

A finding's fingerprint is its rule id and target labels (not its value, texts or severity), so the same
problem on the same target is the same finding from run to run, across restarts and versions of the texts.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding, Report


def fingerprint(rule_id: str, target: dict[str, str]) -> str:
    """16 hex digits naming (rule id, target labels)."""
    key = json.dumps([rule_id, sorted(target.items())], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


@dataclass(frozen=True)
class Recommendation:
    """A scaling finding's recommendation at one run: what to size to and what it costs."""

    cores: float | None = None
    memory_bytes: float | None = None
    replicas: float | None = None
    monthly_cost_change: float | None = None

    @property
    def empty(self) -> bool:
        return all(v is None for v in (self.cores, self.memory_bytes, self.replicas, self.monthly_cost_change))


def recommendation_of(f: Finding) -> Recommendation:
    cores = memory = replicas = cost = None
    if f.sizing is not None:
        rec = _num(f.sizing.recommended)
        if f.sizing.resource == "cpu":
            cores = rec
        elif f.sizing.resource == "memory":
            memory = rec
        cost = _num(f.sizing.monthly_cost_change)
    if f.replicas is not None:
        replicas = float(f.replicas.desired)
    return Recommendation(cores, memory, replicas, cost)


@dataclass(frozen=True)
class FindingRow:
    fingerprint: str
    rule_id: str
    pack: str
    title: str
    category: str
    dimension: str
    severity: str
    target: dict[str, str]
    value: float | None
    summary: str
    recommendation: str
    rec: Recommendation = field(default_factory=Recommendation)


@dataclass(frozen=True)
class RunRow:
    started_at: float
    finished_at: float
    source: str                       # "prometheus http://…" or "embedded"
    trigger: str                      # "schedule" or "api:<area>"
    overall: float | None
    dimensions: dict[str, float | None]
    rules_evaluated: int
    rules_total: int
    not_evaluated: dict[str, str]     # rule id → why
    findings: tuple[FindingRow, ...]
    error: str | None = None          # the source error when the run could not evaluate
    scope: str = "all"                # the packs the run covered ("all", or the area)

    @property
    def duration(self) -> float:
        return self.finished_at - self.started_at


def finding_row(f: Finding) -> FindingRow:
    r = f.rule
    return FindingRow(fingerprint(r.id, f.target), r.id, r.pack, r.title, r.category, r.dimension, f.severity,
                      dict(f.target), _num(f.value), f.summary, f.recommendation, recommendation_of(f))


def run_row(report: Report, started_at: float, finished_at: float, trigger: str = "schedule",
            scope: str = "all", findings: list[Finding] | None = None) -> RunRow:
    """The history's view of `report` (`findings`: a filtered subset of report.findings, default all)."""
    src = report.source.get("type", "?") + (f" {report.source['url']}" if report.source.get("url") else "")
    return RunRow(started_at, finished_at, src, trigger, report.overall.value,
                  {d: s.value for d, s in report.dimensions.items()}, report.evaluated_count, len(report.results),
                  {r.rule.id: r.reason for r in report.not_evaluated},
                  tuple(finding_row(f) for f in (report.findings if findings is None else findings)),
                  scope=scope)
