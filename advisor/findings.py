"""What an advisor run produces: findings per target, results per rule, and the report that holds them."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .briefs import Briefs, FindingsView, RuleFindings, Values, _field, target_of, target_text  # noqa: F401

from .packs import Rule
from .scoring import Score
from .sizing import ReplicaResult, SizingResult


@dataclass(frozen=True, slots=True)
class Confidence:
    """How much to trust a finding, with the inputs the score came from (see ``confidence.py``)."""

    samples: int
    expected: int
    history_seconds: float | None
    min_history_met: bool
    preferred_history_met: bool
    score: float                       # 0..1
    gaps: int = 0                      # missing-sample runs longer than 2 steps
    fit_r2: float | None = None        # trend rules: goodness of the fit the verdict rests on
    margin: float | None = None        # distance from the threshold in units of the series' noise (robust sd)
    preferred_seconds: float | None = None  # the history the rule prefers (for the explanation)
    trend_p: float | None = None       # trend rules: Mann-Kendall p-value of the growth the verdict rests on

    @property
    def coverage(self) -> float:
        return min(1.0, self.samples / self.expected) if self.expected else 1.0

    @property
    def level(self) -> str:
        return "high" if self.score >= 0.75 else "medium" if self.score >= 0.4 else "low"

    def explain(self) -> str:
        """One line: the inputs and how the score came out."""
        from .durations import format_duration
        parts = []
        if self.history_seconds is None:
            parts.append("current value")
        else:
            hist = f"{format_duration(self.history_seconds)} of history"
            if self.preferred_seconds:
                hist += f" (preferred {format_duration(self.preferred_seconds)})"
            parts.append(hist)
            parts.append(f"{self.samples}/{self.expected} samples")
            parts.append(f"{self.gaps} gap{'s' if self.gaps != 1 else ''}")
        if self.fit_r2 is not None:
            parts.append(f"fit R² {self.fit_r2:.2f}")
        if self.trend_p is not None:
            parts.append(f"trend p {self.trend_p:.2g}")
        if self.margin is not None:
            m = self.margin
            parts.append(f"{'≥ ' if m >= 99 else ''}{min(abs(m), 99):.1f}σ {'beyond' if m >= 0 else 'short of'} threshold")
        return f"{self.level} ({self.score:.2f}): " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Projection:
    """Growth fitted over the window the verdict rests on (trend rules), projected to the horizon or the limit."""

    current: float
    slope: float                  # per second
    projected: float              # value at now + horizon, never beyond the limit
    horizon: float
    r2: float
    limit: float | None = None
    time_to_limit: float | None = None  # seconds until the fitted line reaches the limit/threshold
    capped: bool = False          # the limit is reached before the horizon: projected is the limit
    window: float | None = None   # seconds of data the slope rests on
    basis: str = "samples"        # "samples" (Theil-Sen/least squares over the window) or "daily baselines"
    p_value: float | None = None  # Mann-Kendall p-value of an upward trend over that window


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    title: str
    query: str
    series: tuple[tuple[dict[str, str], float], ...]


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    target: dict[str, str]
    labels: dict[str, str]
    value: float
    stats: dict[str, float]
    threshold: float | None
    summary: str
    description: str
    recommendation: str
    confidence: Confidence
    evidence: tuple[EvidenceItem, ...] = ()
    projection: Projection | None = None
    sizing: SizingResult | None = None
    replicas: ReplicaResult | None = None
    state: str = "firing"                            # "firing" | "pending"
    active_for: float | None = None                  # seconds the condition has held up to the evaluation time
    for_seconds: float | None = None                 # the rule's `for` (None if it has none)
    series: tuple[tuple[float, float], ...] = ()     # (unix ts, value) the verdict rests on, ≤ 240 points
    window: tuple[float, float] | None = None        # (start, end) unix seconds of that data
    cause: str | None = None                         # another finding on the same target that explains this one
    notes: tuple[str, ...] = ()                      # about the data: "2 non-finite samples left out"
    detailed: bool = True                            # texts, chart series and evidence (the rule's top N)
    context: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # what the texts were
                                                                                      # rendered from

    @property
    def severity(self) -> str:
        return self.rule.severity

    @property
    def target_text(self) -> str:
        return target_text(self.target)


Briefs.make = Finding


@dataclass(frozen=True, slots=True)
class SizingRow:
    """A right-sizing result that is not a material change: kept in the sizing table, out of the findings."""

    rule_id: str
    target: dict[str, str]
    value: float
    sizing: SizingResult


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule: evaluated (with 0..n findings) or not evaluated, with why."""

    rule: Rule
    query: str
    evaluated: bool
    reason: str = ""              # why not evaluated: "no data: metric X", "needs ≥ 1h of history", …
    targets: int = 0
    findings: Sequence[Finding] = ()   # a tuple, or RuleFindings (detailed objects, then brief columns)
    score: float | None = None    # 0..1, None when not scored
    values: Sequence[tuple[dict[str, str], float]] = ()   # (target, value) of every target
    warnings: tuple[str, ...] = ()
    sizing_rows: tuple[SizingRow, ...] = ()
    notes: tuple[str, ...] = ()   # about the data: series left out because no sample was finite

    @property
    def firing(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.state == "firing")

    @property
    def pending(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.state == "pending")

    def count(self, state: str) -> int:
        """len(self.firing) or len(self.pending), without making the findings."""
        return sum(1 for s in _field(self.findings, "state") if s == state)


@dataclass(frozen=True)
class Report:
    generated_at: float
    source: dict[str, Any]
    packs: tuple[dict[str, Any], ...]
    results: tuple[RuleResult, ...]
    dimensions: dict[str, Score]
    overall: Score
    warnings: tuple[str, ...] = ()
    filters: dict[str, Any] = field(default_factory=dict)
    evaluated_at: float | None = None   # the evaluation instant (--time T, or now); None → generated_at

    def __post_init__(self):
        if self.evaluated_at is None:
            object.__setattr__(self, "evaluated_at", self.generated_at)

    def _sorted(self, state: str) -> FindingsView:
        # Ordered once per report (most severe first, then category, rule, target) as positions in the rules'
        # findings: a fleet's report has 300,000 findings, formats ask more than once, and most are columns.
        cache = self.__dict__.get("_order")
        if cache is None:
            order = {"critical": 0, "warning": 1, "info": 2}
            groups: dict[tuple, list[RuleResult]] = {}
            for r in self.results:
                if len(r.findings):
                    groups.setdefault((order[r.rule.severity], r.rule.category, r.rule.id), []).append(r)
            cache = {"firing": [], "pending": []}
            for key in sorted(groups):
                entries = []
                for r in groups[key]:
                    texts = [target_text(t) for t in _field(r.findings, "target")]
                    states = _field(r.findings, "state")
                    entries += [(texts[i], r, i, states[i]) for i in range(len(texts))]
                entries.sort(key=lambda e: e[0])
                for st, parts in cache.items():
                    for e in entries:
                        if e[3] != st:
                            continue
                        if parts and parts[-1][0] is e[1]:
                            parts[-1][1].append(e[2])
                        else:
                            parts.append((e[1], [e[2]]))
            self.__dict__["_order"] = cache
        return FindingsView(cache.get(state, []))

    @property
    def findings(self) -> FindingsView:
        """Firing findings, most severe first (a sequence; brief findings are made as it is read)."""
        return self._sorted("firing")

    @property
    def pending(self) -> FindingsView:
        """Findings whose condition holds but not yet for the rule's whole `for` window (same order)."""
        return self._sorted("pending")

    @property
    def sizing_rows(self) -> list[SizingRow]:
        """Every rule's right-sizing rows that are not material changes."""
        return [row for r in self.results for row in r.sizing_rows]

    @property
    def not_evaluated(self) -> list[RuleResult]:
        return [r for r in self.results if not r.evaluated]

    @property
    def packs_without_data(self) -> dict[str, list[RuleResult]]:
        """Packs none of whose metrics exist at the source (e.g. the cache pack where no Redis is scraped).

        Human-readable reports show such a pack as one line instead of one "no data" line per rule.
        """
        by_pack: dict[str, list[RuleResult]] = {}
        for r in self.results:
            by_pack.setdefault(r.rule.pack, []).append(r)
        return {pack: rs for pack, rs in by_pack.items()
                if all(not r.evaluated and r.reason.startswith("no data") for r in rs)}

    @property
    def not_evaluated_in_packs_with_data(self) -> list[RuleResult]:
        """Not-evaluated rules, less those of packs_without_data."""
        empty = self.packs_without_data
        return [r for r in self.not_evaluated if r.rule.pack not in empty]

    def not_evaluated_by_reason(self) -> list[tuple[str, list[str]]]:
        """Rules of packs with data that were not evaluated, grouped by reason (history needs, missing metrics)."""
        groups: dict[str, list[str]] = {}
        for r in self.not_evaluated_in_packs_with_data:
            reason = r.reason.split(" (have ")[0] if r.reason.startswith("not enough history") else r.reason
            groups.setdefault(reason, []).append(r.rule.id)
        return list(groups.items())

    @property
    def evaluated_count(self) -> int:
        return sum(1 for r in self.results if r.evaluated)

    def monthly_cost_change(self) -> float | None:
        costs = []
        for r, idx in self.findings.parts:
            sizing = _field(r.findings, "sizing")
            costs += [sizing[i].monthly_cost_change for i in idx
                      if sizing[i] and sizing[i].monthly_cost_change is not None]
        return sum(costs) if costs else None
