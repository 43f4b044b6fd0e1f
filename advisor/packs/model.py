"""The rule-pack model: frozen dataclasses that loaders build and evaluators, alert and dashboard generators read.

Fields holding PromQL or thresholds keep their ``$param`` placeholders; ``Rule.resolve(values)`` returns a
``ResolvedRule`` with every placeholder substituted through ``params.substitute`` (the one escaping helper).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..durations import format_duration, parse_duration
from . import params as P

CATEGORIES = ("optimization", "scaling", "alert")
SEVERITIES = ("info", "warning", "critical")
MODES = ("instant", "range", "trend")
REDUCTIONS = ("p99", "p95", "p90", "p50", "max", "min", "mean", "last")
OPS = (">", "<", ">=", "<=")


@dataclass(frozen=True)
class Condition:
    op: str
    threshold: Any                     # number or "$param"
    for_: str | None = None            # duration or "$param": must hold over this window
    of: str = "value"                  # trend rules: "value" (projection at horizon) or "slope" (per second)


@dataclass(frozen=True)
class Evaluation:
    mode: str = "instant"
    lookback: str | None = None
    step: str | None = None
    reduce: str = "last"
    horizon: str | None = None          # trend: project this far ahead
    limit_query: str | None = None      # trend: per-target limit the growth runs into (time-to-limit)
    min_fit: Any = 0.0                  # trend: minimum R² of the linear fit for the growth to count
    windows: tuple[str, ...] = ()       # trend: shorter windows (durations) judged besides the lookback; the
                                        # verdict rests on the longest one the history covers (leak detection)


@dataclass(frozen=True)
class ScoreCurve:
    """Lighthouse-style control points: ``good`` scores 0.9 (p10), ``median`` scores 0.5."""

    good: float
    median: float


@dataclass(frozen=True)
class Evidence:
    title: str
    query: str


@dataclass(frozen=True)
class Sizing:
    """Right-sizing: value is a utilization ratio of ``capacity_query`` (usage: ratio) or absolute usage."""

    resource: str                       # cpu (cores) | memory (bytes)
    usage: str = "ratio"                # ratio | absolute
    capacity_query: str | None = None
    headroom: Any = 0.2
    floor: Any = 0.0
    round_to: Any = 0.0
    price: Any = 0.0                    # per core-hour (cpu) or per GB-hour (memory)
    decommission: bool = False          # idle targets: recommend removing the whole capacity
    extra_cost_query: str | None = None  # decommission: memory bytes of the target
    extra_price: Any = 0.0
    min_change: Any = 0.0               # a recommendation is a finding only when it changes the capacity by at
    min_change_ratio: Any = 0.0         # least this much (cores/bytes) AND this share of it; else a sizing row


@dataclass(frozen=True)
class Replicas:
    """HPA-style replica count: ceil(current × observed / target), unchanged within ±tolerance."""

    current_query: str
    target: Any
    tolerance: Any = 0.1
    min: Any = 1
    max: Any = 1000


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    category: str
    dimension: str
    severity: str
    query: str
    pack: str
    condition: Condition | None
    evaluate: Evaluation = field(default_factory=Evaluation)
    target: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    unit: str = ""
    summary: str = ""
    description: str = ""
    recommendation: str = ""
    evidence: tuple[Evidence, ...] = ()
    references: tuple[str, ...] = ()
    runbook: str = ""
    min_history: str | None = None
    preferred_history: str | None = None
    score: ScoreCurve | None = None
    weight: float | None = None
    sizing: Sizing | None = None
    replicas: Replicas | None = None
    source: str = ""                    # file:line, for messages
    enabled: bool = True
    explained_by: tuple[tuple[str, str], ...] = ()  # (rule id, cause text): a finding of that rule on the same
                                                    # target explains this one; its texts get `cause`

    def resolve(self, params: dict[str, P.Parameter], values: dict[str, Any]) -> "ResolvedRule":
        """This rule with every parameter placeholder substituted and every scalar resolved."""
        sub = lambda q: P.substitute(q, params, values) if q else q  # noqa: E731
        val = lambda x: P.resolve_scalar(x, params, values)         # noqa: E731
        dur = lambda x: parse_duration(str(val(x))) if x not in (None, "") else None  # noqa: E731
        ev = self.evaluate
        cond = self.condition
        return ResolvedRule(
            rule=self, query=sub(self.query).strip(),
            threshold=float(val(cond.threshold)) if cond else None,
            for_seconds=dur(cond.for_) if cond else None,
            lookback=dur(ev.lookback), step=dur(ev.step), horizon=dur(ev.horizon),
            limit_query=sub(ev.limit_query), min_fit=float(val(ev.min_fit)),
            windows=tuple(sorted(dur(w) for w in ev.windows)),
            evidence=tuple(Evidence(e.title, sub(e.query).strip()) for e in self.evidence),
            min_history=dur(self.min_history), preferred_history=dur(self.preferred_history),
            sizing=_resolve_sizing(self.sizing, sub, val),
            replicas=None if not self.replicas else Replicas(
                sub(self.replicas.current_query), float(val(self.replicas.target)),
                float(val(self.replicas.tolerance)), int(float(val(self.replicas.min))),
                int(float(val(self.replicas.max)))),
            params={k: P.coerce(p, values.get(k, p.default)) for k, p in params.items()},
        )

    @property
    def weight_value(self) -> float:
        """Score weight: explicit, else by severity (critical 3, warning 2, info 1); scaling rules 0."""
        if self.weight is not None:
            return float(self.weight)
        if self.category == "scaling":
            return 0.0
        return {"critical": 3.0, "warning": 2.0, "info": 1.0}[self.severity]


def _resolve_sizing(s: Sizing | None, sub, val) -> Sizing | None:
    if s is None:
        return None
    return Sizing(s.resource, s.usage, sub(s.capacity_query), float(val(s.headroom)), float(val(s.floor)),
                  float(val(s.round_to)), float(val(s.price)), s.decommission, sub(s.extra_cost_query),
                  float(val(s.extra_price)), float(val(s.min_change)), float(val(s.min_change_ratio)))


@dataclass(frozen=True)
class ResolvedRule:
    """A rule ready to evaluate: PromQL with parameters substituted, durations in seconds."""

    rule: Rule
    query: str
    threshold: float | None
    for_seconds: float | None
    lookback: float | None
    step: float | None
    horizon: float | None
    limit_query: str | None
    min_fit: float
    evidence: tuple[Evidence, ...]
    min_history: float | None
    preferred_history: float | None
    sizing: Sizing | None
    replicas: Replicas | None
    params: dict[str, Any]
    windows: tuple[float, ...] = ()

    @property
    def alert_expr(self) -> str:
        """A Prometheus alerting expression equivalent to this rule's condition (for alert generators)."""
        r, ev = self.rule, self.rule.evaluate
        expr = f"({self.query})"
        if ev.mode == "range" and self.lookback:
            lb, st = format_duration(self.lookback), format_duration(self.step or 60)
            fn = {"max": "max_over_time", "min": "min_over_time", "mean": "avg_over_time",
                  "last": "last_over_time"}.get(ev.reduce)
            expr = (f"{fn}({expr}[{lb}:{st}])" if fn else
                    f"quantile_over_time({int(ev.reduce[1:]) / 100}, {expr}[{lb}:{st}])")
        elif ev.mode == "trend" and self.lookback:
            lb, st = format_duration(self.alert_window), format_duration(self.step or 60)
            expr = (f"deriv({expr}[{lb}:{st}])" if r.condition and r.condition.of == "slope" else
                    f"predict_linear({expr}[{lb}:{st}], {int(self.horizon or 0)})")
        if r.condition is None or self.threshold is None:
            return expr
        return f"{expr} {r.condition.op} {P.promql_token(P.Parameter('threshold', 'number', 0), self.threshold)}"

    @property
    def alert_window(self) -> float | None:
        """The window an alert expression looks at: the lookback, or for a multi-window trend rule its longest
        window up to a day (one whole daily cycle, not days of data per evaluation)."""
        days = [w for w in self.windows if w <= 86400]
        return max(days) if (days and self.rule.evaluate.mode == "trend") else self.lookback

    @property
    def alert_for(self) -> str | None:
        return format_duration(self.for_seconds) if self.for_seconds else None


@dataclass(frozen=True)
class Pack:
    name: str
    description: str
    api_version: str
    path: str
    parameters: tuple[P.Parameter, ...]
    rules: tuple[Rule, ...]

    @property
    def params(self) -> dict[str, P.Parameter]:
        return {p.name: p for p in self.parameters}

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def resolved(self, values: dict[str, Any] | None = None) -> list[ResolvedRule]:
        """Every rule resolved with the defaults overridden by `values`."""
        return [r.resolve(self.params, values or {}) for r in self.rules]
