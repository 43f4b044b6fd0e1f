"""A report built by hand for the report-format tests: firing, pending and trend findings, and sizing rows."""
from __future__ import annotations

import math

from perfadvisor.advisor.findings import Confidence, Finding, Projection, Report, RuleResult, SizingRow
from perfadvisor.advisor.packs.model import Condition, Evaluation, Rule
from perfadvisor.advisor.scoring import Score
from perfadvisor.advisor.sizing import SizingResult

XSS = "<script>alert(1)</script>"
NOW = 1_714_564_800.0          # 2024-05-01T12:00:00Z
HOUR = 3600.0


def rule(id: str, *, title: str = "", category: str = "alert", dimension: str = "cpu", severity: str = "warning",
         unit: str = "ratio", op: str = ">", threshold: float = 0.9, of: str = "value", for_: str | None = None,
         mode: str = "range", reduce: str = "p95", lookback: str = "1h", horizon: str | None = None) -> Rule:
    return Rule(id=id, title=title or id.replace("-", " ").capitalize(), category=category, dimension=dimension,
                severity=severity, query="up", pack="test", unit=unit,
                condition=Condition(op, threshold, for_, of),
                evaluate=Evaluation(mode=mode, lookback=lookback, step="1m", reduce=reduce, horizon=horizon))


def conf(score: float = 0.86, samples: int = 61, **kw) -> Confidence:
    return Confidence(samples=samples, expected=61, history_seconds=HOUR, min_history_met=True,
                      preferred_history_met=True, score=score, **kw)


def series(fn, start: float = NOW - HOUR, end: float = NOW, step: float = 60.0) -> tuple[tuple[float, float], ...]:
    n = int((end - start) // step) + 1
    return tuple((start + i * step, float(fn(start + i * step))) for i in range(n))


def cpu_busy(instance: str = "web-1", **kw) -> Finding:
    s = series(lambda t: 0.93 + 0.04 * math.sin((t - NOW) / 600))
    vals = sorted(v for _, v in s)
    defaults = dict(
        rule=rule("host-cpu-saturation", title="CPU saturated", severity="critical", for_="15m"),
        target={"instance": instance}, labels={"instance": instance}, value=vals[int(len(vals) * 0.95)],
        stats={"min": vals[0], "max": vals[-1], "p95": vals[int(len(vals) * 0.95)], "last": s[-1][1]},
        threshold=0.9, summary="CPU busy", description="", recommendation=f"{instance} is busy; add cores.",
        confidence=conf(gaps=0, margin=4.2), series=s, window=(NOW - HOUR, NOW))
    defaults.update(kw)
    return Finding(**defaults)


def fill_up() -> Finding:
    """A filesystem losing 2 GiB/h: trend rule judged on the projected value (< 0 B)."""
    s = series(lambda t: 20 * 2**30 - 2 * 2**30 * (t - (NOW - HOUR)) / HOUR)
    current = s[-1][1]
    slope = -2 * 2**30 / HOUR
    p = Projection(current=current, slope=slope, projected=current + slope * 86400, horizon=86400.0, r2=0.99,
                   limit=None, time_to_limit=current / -slope)
    return Finding(rule=rule("host-filesystem-fill-up", title="Filesystem predicted to fill up", dimension="disk",
                             unit="bytes", op="<", threshold=0.0, mode="trend", horizon="1d"),
                   target={"instance": "db-1", "mountpoint": "/var"}, labels={}, value=p.projected, stats={},
                   threshold=0.0, summary="", description="", recommendation="/var fills up; rotate logs.",
                   confidence=conf(0.91, fit_r2=0.99), projection=p, series=s, window=(NOW - HOUR, NOW))


def memory_leak() -> Finding:
    """A group growing 300 MiB/h toward a 24 GiB limit: trend rule judged on the slope."""
    s = series(lambda t: 2**30 + 300 * 2**20 * (t - (NOW - 6 * HOUR)) / HOUR, start=NOW - 6 * HOUR, step=300)
    current = s[-1][1]
    slope = 300 * 2**20 / HOUR
    limit = 24 * 2**30
    p = Projection(current=current, slope=slope, projected=current + slope * 7 * 86400, horizon=7 * 86400.0,
                   r2=0.97, limit=limit, time_to_limit=(limit - current) / slope)
    return Finding(rule=rule("process-memory-leak", title="Process memory grows steadily", category="alert",
                             dimension="memory", unit="bytes", op=">", threshold=1024 * 1024 / HOUR, of="slope",
                             mode="trend", horizon="7d", lookback="6h"),
                   target={"instance": "app-1", "groupname": "worker"}, labels={}, value=slope, stats={},
                   threshold=1024 * 1024 / HOUR, summary="", description="",
                   recommendation="Take a heap profile.", confidence=conf(0.78, samples=73, fit_r2=0.97),
                   projection=p, series=s, window=(NOW - 6 * HOUR, NOW), cause="thread growth (process-thread-leak)")


def pending_fs(instance: str = "db-2") -> Finding:
    s = series(lambda t: 0.001, start=NOW - 240)
    return Finding(rule=rule("host-filesystem-almost-full", title="Filesystem almost full", severity="critical",
                             dimension="disk", op="<", threshold=0.05, for_="15m", mode="instant"),
                   target={"instance": instance, "mountpoint": "/"}, labels={}, value=0.001, stats={},
                   threshold=0.05, summary="", description="", recommendation="Free space on /.",
                   confidence=conf(0.35, samples=5), state="pending", active_for=240.0, for_seconds=900.0,
                   series=s, window=(NOW - 240, NOW))


def sizing_row(cpu: float = 2.0, usage: float = 1.4, recommended: float = 2.0) -> SizingRow:
    return SizingRow("scaling-process-cpu", {"instance": "web-1", "groupname": "nginx"}, usage,
                     SizingResult("cpu", usage, usage * 1.1, cpu, recommended, 0.25, 1, 0.0))


def report(findings: list[Finding], *, sizing: tuple[SizingRow, ...] = (), evaluated_at: float | None = None,
           extra_results: tuple[RuleResult, ...] = ()) -> Report:
    by_rule: dict[str, list[Finding]] = {}
    rules = {}
    for f in findings:
        by_rule.setdefault(f.rule.id, []).append(f)
        rules[f.rule.id] = f.rule
    results = [RuleResult(rules[k], "up", True, targets=len(fs), findings=tuple(fs), score=0.5)
               for k, fs in by_rule.items()]
    if sizing:
        results.append(RuleResult(rule("scaling-process-cpu", category="scaling", severity="info", unit="cores",
                                       op=">", threshold=0.05), "up", True, targets=len(sizing),
                                  sizing_rows=tuple(sizing)))
    return Report(generated_at=NOW, source={"type": "prometheus", "url": "http://prom:9090"}, packs=(),
                  results=tuple(results) + extra_results, dimensions={"cpu": Score(70, 2, 2), "disk": Score(40, 2, 2)},
                  overall=Score(61, 4, 4), evaluated_at=evaluated_at)


def full_report() -> Report:
    return report([cpu_busy(), cpu_busy(XSS), fill_up(), memory_leak(), pending_fs()],
                  sizing=(sizing_row(), sizing_row(4.0, 3.1, 3.9)))
