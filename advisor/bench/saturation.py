"""What saturated during a bench: the enabled packs evaluated at the end of the run over the run's window.

Packs are written for hours of history; a bench gives seconds to minutes. Their windows are fitted to the run
exactly as local mode fits them to the history it has (``advisor.local.adapt``): lookbacks shrink to the bench
window (its measured load plus the settle time), rate windows to a quarter of it (at least four scrape
intervals), steps to match. Rules that need more history than the run gave (``history.min`` longer than the
window, e.g. trend and leak rules) are not evaluated over older data: they are listed as "insufficient data"
with what they need. A condition that held at the end of the run but for less than its rule's ``for`` is
*pending* (as a Prometheus alert would be); it is listed beside the firing ones, marked so.
"""
from __future__ import annotations

import math
from typing import Any

from ..config import Config
from ..durations import format_duration
from ..findings import Finding
from ..local.adapt import History, adapt_rules
from ..run import execute, plan
from ..sources.base import Source
from .result import BenchResult


def _finding(f: Finding) -> dict[str, Any]:
    value = f.value if isinstance(f.value, (int, float)) and math.isfinite(f.value) else None
    return {"rule_id": f.rule.id, "pack": f.rule.pack, "title": f.rule.title, "severity": f.severity,
            "state": f.state, "target": dict(f.target), "value": value, "threshold": f.threshold,
            "summary": f.summary, "active_for": f.active_for, "for_seconds": f.for_seconds}


def _row(f: dict) -> str:
    target = ",".join(f"{k}={v}" for k, v in sorted(f["target"].items())) or "-"
    state = "" if f["state"] == "firing" else (
        f" [pending: held {format_duration(f['active_for'] or 0)} of its {format_duration(f['for_seconds'] or 0)}"
        " for]")
    return f"{f['rule_id']} ({f['severity']}) on {target}: {f['summary']}{state}"


def saturation(config: Config, source: Source, result: BenchResult, *, settle: float,
               scrape_interval: float) -> dict[str, Any]:
    """Evaluate the packs over the bench window; the findings, what could not be judged, and report rows."""
    window = result.duration + settle
    at = result.ended + settle
    hist = History(span=window, interval=scrape_interval, recent=window)
    packs, values, rules = plan(config)
    fitted, changes = adapt_rules(packs, values, rules, hist)
    judged, short = [], []
    for rr in fitted:
        need = rr.min_history or 0.0
        if rr.rule.evaluate.mode != "instant" and need > window:
            short.append({"rule_id": rr.rule.id, "title": rr.rule.title, "needs_seconds": need,
                          "reason": f"insufficient data: needs ≥ {format_duration(need)} of history, the run "
                                    f"gave {format_duration(math.floor(window))}"})
        else:
            judged.append(rr)
    report = execute(config, source=source, now=at, adapt=lambda *_: judged, planned=(packs, values, rules))
    found = [_finding(f) for f in report.findings] + [_finding(f) for f in report.pending]
    not_evaluated = [{"rule_id": r.rule.id, "reason": r.reason} for r in report.not_evaluated]
    rows = [("saturated during the run", _row(f)) for f in found] or [
        ("saturated during the run", f"nothing ({len(judged) - len(not_evaluated)} rules judged the run)")]
    if short:
        rows.append(("insufficient data", f"{len(short)} rules need more history than the run's "
                                          f"{format_duration(math.floor(window))}: "
                                          + ", ".join(s["rule_id"] for s in short[:8])
                                          + (f" and {len(short) - 8} more" if len(short) > 8 else "")))
    return {"at": at, "window_seconds": window, "scrape_interval_seconds": scrape_interval,
            "adapted_parameters": changes, "rules_judged": len(judged) - len(not_evaluated),
            "findings": found, "insufficient_data": short, "not_evaluated": not_evaluated, "rows": rows}
