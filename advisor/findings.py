"""What an advisor run produces: findings per target, results per rule, and the report that holds them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .packs import Rule
from .scoring import Score
from .sizing import ReplicaResult, SizingResult


@dataclass(frozen=True)
class Confidence:
    """How much to trust a finding: sample coverage over the lookback and history length (KRR-style)."""

    samples: int
    expected: int
    history_seconds: float | None
    min_history_met: bool
    preferred_history_met: bool
    score: float                  # coverage × history factor, 0..1
    gaps: int = 0                        # missing-sample runs longer than 2 steps
    fit_r2: float | None = None          # trend rules: goodness of the fit the verdict rests on
    margin: float | None = None          # distance from the threshold in units of the series' noise

    @property
    def coverage(self) -> float:
        return min(1.0, self.samples / self.expected) if self.expected else 1.0

    @property
    def level(self) -> str:
        return "high" if self.score >= 0.75 else "medium" if self.score >= 0.4 else "low"

    def explain(self) -> str:
        """One line: the level, the score and the inputs it came from."""
        from .render import fmt_duration
        parts = [f"{fmt_duration(self.history_seconds)} of history" if self.history_seconds is not None
                 else "history unknown", f"{self.samples}/{self.expected} samples", f"{self.gaps} gaps"]
        if self.fit_r2 is not None:
            parts.append(f"fit R² {self.fit_r2:.2f}")
        if self.margin is not None:
            parts.append(f"{abs(self.margin):.1f}σ {'above' if self.margin >= 0 else 'below'} threshold")
        return f"{self.level} ({self.score:.2f}): " + ", ".join(parts)


@dataclass(frozen=True)
class Projection:
    """Linear growth fitted over the lookback (trend rules)."""

    current: float
    slope: float                  # per second
    projected: float              # value at now + horizon
    horizon: float
    r2: float
    limit: float | None = None
    time_to_limit: float | None = None  # seconds until the fitted line reaches the limit/threshold


@dataclass(frozen=True)
class EvidenceItem:
    title: str
    query: str
    series: tuple[tuple[dict[str, str], float], ...]


@dataclass(frozen=True)
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
    series: tuple[tuple[float, float], ...] = ()     # (unix ts, value) the verdict rests on, for charts
    window: tuple[float, float] | None = None        # (start, end) unix seconds of that data
    cause: str | None = None                         # another finding on the same target that explains this one

    @property
    def severity(self) -> str:
        return self.rule.severity

    @property
    def target_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.target.items()) or "(all)"


@dataclass(frozen=True)
class SizingRow:
    """A right-sizing result that is not a material change (kept out of findings)."""

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
    findings: tuple[Finding, ...] = ()
    score: float | None = None    # 0..1, None when not scored
    values: tuple[tuple[dict[str, str], float], ...] = ()
    warnings: tuple[str, ...] = ()
    sizing_rows: tuple[SizingRow, ...] = ()


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
    evaluated_at: float | None = None   # the evaluation instant; defaults to generated_at

    def __post_init__(self) -> None:
        if self.evaluated_at is None:
            object.__setattr__(self, "evaluated_at", self.generated_at)

    def _all_findings(self) -> list[Finding]:
        order = {"critical": 0, "warning": 1, "info": 2}
        return sorted((f for r in self.results for f in r.findings),
                      key=lambda f: (order[f.severity], f.rule.category, f.rule.id, f.target_text))

    @property
    def findings(self) -> list[Finding]:
        """Firing findings."""
        return [f for f in self._all_findings() if f.state == "firing"]

    @property
    def pending(self) -> list[Finding]:
        """Findings whose condition holds but not yet for the rule's whole `for` window."""
        return [f for f in self._all_findings() if f.state == "pending"]

    @property
    def sizing_rows(self) -> list[SizingRow]:
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
        costs = [f.sizing.monthly_cost_change for f in self.findings
                 if f.sizing and f.sizing.monthly_cost_change is not None]
        return sum(costs) if costs else None
