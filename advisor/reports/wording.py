"""What the human report formats (table, Markdown, HTML) say about a report and its findings, worded once.

Each format lays these phrases out its own way; the words, units and rounding are the same in all of them.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

from ..briefs import FindingsView
from ..findings import Finding, Report, SizingRow
from ..render import fmt_bytes, fmt_duration, fmt_num, fmt_unit

# Beyond this the evaluation instant is not "now": the header says "evaluated as of …".
AS_OF_TOLERANCE = 60.0


def iso(ts: float) -> str:
    """A unix time as ISO 8601 UTC, to the second: 2024-05-01T12:00:00Z."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def evaluated_at(report: Report) -> float:
    return report.evaluated_at if report.evaluated_at is not None else report.generated_at


def evaluated_text(report: Report) -> str:
    """'evaluated 2024-…Z', or 'evaluated as of 2024-…Z (generated …)' for a past instant (--time)."""
    at = evaluated_at(report)
    if abs(at - report.generated_at) > AS_OF_TOLERANCE:
        return f"evaluated as of {iso(at)} (generated {iso(report.generated_at)})"
    return f"evaluated {iso(at)}"


def pending_text(f: Finding) -> str:
    """How long a pending finding's condition has held against its rule's `for`: 'pending 4m of 15m'."""
    held = fmt_duration(f.active_for) if f.active_for is not None else None
    need = fmt_duration(f.for_seconds) if f.for_seconds is not None else None
    if held and need:
        return f"pending {held} of {need}"
    if need:
        return f"pending (needs {need})"
    return f"pending {held}" if held else "pending"


def _rate(v: float, unit: str) -> str:
    """A per-second slope as a signed per-hour rate in the rule's unit: '+20.0 MiB/h'."""
    per_hour = v * 3600
    text = fmt_bytes(per_hour) if unit in ("bytes", "bytes_per_second") else fmt_unit(per_hour, unit)
    return ("+" if per_hour > 0 else "") + text + "/h"


def is_trend(f: Finding) -> bool:
    return f.projection is not None


def _of_slope(f: Finding) -> bool:
    return bool(f.rule.condition and f.rule.condition.of == "slope")


def observed_lines(f: Finding) -> list[str]:
    """The observation and what it is compared with, one phrase per line.

    Trend rules say what is now and, labelled as such, what is projected: a projection is never shown as if
    it had been observed.
    """
    cond = f.rule.condition
    unit = f.rule.unit
    if f.projection is None:
        reduce = f.rule.evaluate.reduce if f.rule.evaluate.mode == "range" else ""
        value = (f"{reduce} " if reduce and reduce != "last" else "") + fmt_unit(f.value, unit)
        lines = [value]
        if f.threshold is not None and cond:
            lines.append(f"{cond.op} {fmt_unit(f.threshold, unit)}")
        return lines
    p = f.projection
    lines = [f"now {fmt_unit(p.current, unit)}"]
    growth = f"trend {_rate(p.slope, unit)}"
    if _of_slope(f) and f.threshold is not None and cond:
        growth += f" ({cond.op} {_rate(f.threshold, unit).lstrip('+')})"
    lines.append(growth)
    lines.append(projection_text(f))
    return lines


def projection_text(f: Finding) -> str:
    """'projected → 1.2 GiB in 1d', or 'projected → limit 24.0 GiB in 7h 8m' when the limit comes first."""
    p = f.projection
    assert p is not None
    unit = f.rule.unit
    cond = f.rule.condition
    limit = p.limit if p.limit is not None else (f.threshold if cond and not _of_slope(f) else None)
    ttl = p.time_to_limit
    if limit is not None and ttl is not None and math.isfinite(ttl):
        if ttl <= 0:
            return f"projected: limit {fmt_unit(limit, unit)} reached"
        if not p.horizon or ttl <= p.horizon:
            return f"projected → limit {fmt_unit(limit, unit)} in {fmt_duration(ttl)}"
        return (f"projected → {fmt_unit(p.projected, unit)} in {fmt_duration(p.horizon)}"
                f" (limit {fmt_unit(limit, unit)} in {fmt_duration(ttl)})")
    return f"projected → {fmt_unit(p.projected, unit)} in {fmt_duration(p.horizon)}"


def cause_text(f: Finding) -> str | None:
    return f"likely caused by {f.cause}" if f.cause else None


def confidence_inputs(f: Finding) -> str:
    """Confidence.explain() less its leading 'level (score): ', for layouts that show the level already."""
    text = f.confidence.explain()
    head = f"{f.confidence.level} ("
    if text.startswith(head) and "): " in text:
        return text.split("): ", 1)[1]
    return text


def finite_series(f: Finding) -> list[tuple[float, float]]:
    return [(t, v) for t, v in f.series if math.isfinite(t) and math.isfinite(v)]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * 0.95
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def window_span(f: Finding) -> float | None:
    if f.window is not None:
        return f.window[1] - f.window[0]
    pts = finite_series(f)
    if len(pts) >= 2:
        return pts[-1][0] - pts[0][0]
    return f.confidence.history_seconds


def key_values(f: Finding) -> list[tuple[str, str]]:
    """The numbers a verdict rests on, as (name, text): now, min/p95/max of the window, threshold, span, samples."""
    unit = f.rule.unit
    vals = [v for _, v in finite_series(f)]
    st = f.stats or {}
    out: list[tuple[str, str]] = []
    now = f.projection.current if f.projection else (vals[-1] if vals else st.get("last"))
    if now is not None:
        out.append(("now", fmt_unit(now, unit)))
    lo, p95, hi = (min(vals), _p95(vals), max(vals)) if vals else (st.get("min"), st.get("p95"), st.get("max"))
    for name, v in (("min", lo), ("p95", p95), ("max", hi)):
        if v is not None and math.isfinite(v):
            out.append((name, fmt_unit(v, unit)))
    if f.threshold is not None and f.rule.condition:
        op = f.rule.condition.op
        out.append(("threshold", f"{op} {_rate(f.threshold, unit).lstrip('+')}" if _of_slope(f)
                    else f"{op} {fmt_unit(f.threshold, unit)}"))
    span = window_span(f)
    if span:
        out.append(("span", fmt_duration(span)))
    if f.rule.evaluate.mode != "instant" or f.confidence.samples > 1:
        out.append(("samples", str(f.confidence.samples)))
    if f.notes:
        out.append(("note", notes_text(f)))
    return out


def notes_text(f: Finding) -> str:
    """What was left out of the data the finding rests on ('' when nothing was)."""
    return "; ".join(f.notes)


def shown(fs: list[Finding]) -> tuple[list[Finding], list[str]]:
    """The findings a human format lays out (each rule's worst N, those with texts), and one line per rule
    for the rest: 'host-cpu-saturation: and 9,990 more targets (see --format json)'."""
    if isinstance(fs, FindingsView):   # a report's findings: brief ones are counted, never made
        out, more = fs.detailed(), fs.brief_counts()
        return out, [f"{rid}: and {n:,} more target{'s' if n != 1 else ''} (see --format json)"
                     for rid, n in more.items()]
    out, more = [], {}
    for f in fs:
        if f.detailed:
            out.append(f)
        else:
            more[f.rule.id] = more.get(f.rule.id, 0) + 1
    return out, [f"{rid}: and {n:,} more target{'s' if n != 1 else ''} (see --format json)"
                 for rid, n in more.items()]


def shown_rows(report: Report) -> tuple[list[SizingRow], list[str]]:
    """The sizing rows a human format lays out: per rule the --top N largest changes, and a line for the rest."""
    top = report.filters.get("top", 10)
    by_rule: dict[str, list[SizingRow]] = {}
    for row in report.sizing_rows:
        by_rule.setdefault(row.rule_id, []).append(row)
    out, more = [], []
    for rid, rows in by_rule.items():
        if top and len(rows) > top:
            rows = sorted(rows, key=lambda r: -abs(r.sizing.change or 0.0))
            more.append(f"{rid}: and {len(rows) - top:,} more sizing rows (see --format json)")
            rows = rows[:top]
        out += rows
    return out, more


def key_values_text(f: Finding) -> str:
    return " · ".join(f"{k} {v}" for k, v in key_values(f))


def resource_value(v: float | None, resource: str) -> str:
    if v is None:
        return "?"
    return fmt_bytes(v) if resource == "memory" else f"{fmt_num(v, 2)} cores" if resource == "cpu" else fmt_num(v, 2)


def sizing_cells(row: SizingRow) -> dict[str, str]:
    """One row of the 'Sizing (no change recommended)' table."""
    s = row.sizing
    target = ", ".join(f"{k}={v}" for k, v in row.target.items()) or "(all)"
    change = s.change
    if change is None:
        change_text = "—"
    elif change == 0:
        change_text = "none"
    else:
        change_text = ("+" if change > 0 else "-") + resource_value(abs(change), s.resource)
        if s.current:
            change_text += f" ({change / s.current:+.0%})"
    return {"rule": row.rule_id, "target": target, "resource": s.resource,
            "current": resource_value(s.current, s.resource), "usage": resource_value(s.usage, s.resource),
            "recommended": resource_value(s.recommended, s.resource), "change": change_text}


SIZING_TITLE = "Sizing (no change recommended)"
SIZING_COLUMNS = ("target", "rule", "current", "usage", "recommended", "change")
