"""Compare verdict formats, registered by name: table, json, markdown, html. Every metric shows both values,
the shift with its interval, the test's p-value, the sample counts and the time spans."""
from __future__ import annotations

import html
import json
import math
from datetime import datetime, timezone
from typing import Any, Callable

from ..errors import ConfigError
from ..render import fmt_bytes, fmt_num, fmt_pct
from .verdict import Comparison, overall

FORMATS: dict[str, Callable[[list[Comparison], dict[str, Any]], str]] = {}
SCHEMA_ID = "perfadvisor.compare/v1"


def register(name: str):
    def deco(fn):
        FORMATS[name] = fn
        return fn
    return deco


def render(comparisons: list[Comparison], fmt: str, settings: dict[str, Any]) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r} (known: {', '.join(sorted(FORMATS))})")
    return FORMATS[fmt](comparisons, settings)


def fmt_value(v: float | None, unit: str) -> str:
    if v is None or not math.isfinite(v):
        return "—"
    if unit == "seconds":
        a = abs(v)
        return f"{v * 1e6:.0f}µs" if a < 1e-3 else f"{v * 1e3:.3g}ms" if a < 1 else f"{v:.3g}s"
    if unit == "ratio":
        return fmt_pct(v, 2)
    if unit == "bytes":
        return ("-" if v < 0 else "") + fmt_bytes(abs(v))
    if unit == "per_second":
        return f"{fmt_num(v, 1)}/s"
    if unit == "cores":
        return f"{fmt_num(v, 3)} cores"
    return fmt_num(v, 4)


def _iso(t: float | None) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if t is not None else "?"


def span(s) -> str:
    if s.start is None:
        return f"{s.n} samples"
    every = f", every {s.interval:g}s" if s.interval else ""
    return f"{s.n} samples{every}, {_iso(s.start)}..{_iso(s.end)[11:]} UTC"


def shift_text(c: Comparison) -> str:
    """The change current − baseline with its interval: relative to the baseline's median ('+54.2% [+40.1%,
    +70.0%]'), or in the metric's unit when that median is 0."""
    if c.relative is None:
        return "—"
    if c.baseline.median:
        sign = 1.0 if c.metric.higher_is_worse else -1.0   # back from "positive is worse" to the plain change
        lo, hi = sorted((sign * c.relative_low, sign * c.relative_high))
        return f"{sign * c.relative * 100:+.1f}% [{lo * 100:+.1f}%, {hi * 100:+.1f}%]"
    s = c.shift
    return f"{fmt_value(s.estimate, c.metric.unit)} [{fmt_value(s.low, c.metric.unit)}, {fmt_value(s.high, c.metric.unit)}]"


def line(c: Comparison) -> str:
    """One sentence per metric: values, shift, test, counts, verdict and why."""
    u = c.metric.unit
    worse = "higher is worse" if c.metric.higher_is_worse else "lower is worse"
    test = f", p={c.p_value:.3g}" if c.p_value is not None else ""
    return (f"{c.metric.name} ({worse}): median {fmt_value(c.baseline.median, u)} → {fmt_value(c.current.median, u)}"
            f", shift {shift_text(c)}{test}; {c.baseline.n} vs {c.current.n} samples → {c.verdict}: {c.reason}")


def to_dict(comparisons: list[Comparison], settings: dict[str, Any]) -> dict[str, Any]:
    def sample(s):
        return {"n": s.n, "median": s.median, "start": s.start, "end": s.end, "interval": s.interval,
                "source": s.source}
    return {
        "schema": SCHEMA_ID, "verdict": overall(comparisons), **settings,
        "metrics": [{
            "name": c.metric.name, "unit": c.metric.unit, "higher_is_worse": c.metric.higher_is_worse,
            "verdict": c.verdict, "direction": c.direction, "reason": c.reason, "summary": line(c),
            "baseline": sample(c.baseline), "current": sample(c.current), "p_value": c.p_value, "u": c.u,
            "shift": None if c.shift is None else {"estimate": c.shift.estimate, "low": c.shift.low,
                                                   "high": c.shift.high, "confidence": c.shift.confidence},
            "relative": None if c.relative is None else {"estimate": c.relative, "low": c.relative_low,
                                                         "high": c.relative_high},
        } for c in comparisons]}


@register("json")
def render_json(comparisons, settings) -> str:
    return json.dumps(to_dict(comparisons, settings), indent=2, ensure_ascii=False) + "\n"


def _header(comparisons, settings) -> list[str]:
    c0 = comparisons[0] if comparisons else None
    out = [f"verdict: {overall(comparisons)}  (alpha {settings['alpha']:g}, tolerance {settings['tolerance']:.0%}, "
           f"at least {settings['min_samples']} samples per side)"]
    if c0:
        out.append(f"baseline: {c0.baseline.source or 'baseline'}: {span(c0.baseline)}")
        out.append(f"current:  {c0.current.source or 'current'}: {span(c0.current)}")
    return out


@register("table")
def render_table(comparisons, settings) -> str:
    rows = [("metric", "verdict", "baseline", "current", "shift [CI]", "p", "n")]
    for c in comparisons:
        rows.append((c.metric.name, c.verdict, fmt_value(c.baseline.median, c.metric.unit),
                     fmt_value(c.current.median, c.metric.unit), shift_text(c),
                     f"{c.p_value:.3g}" if c.p_value is not None else "—", f"{c.baseline.n}/{c.current.n}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = _header(comparisons, settings) + [""]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    out += [""] + [f"- {line(c)}" for c in comparisons]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


@register("markdown")
def render_markdown(comparisons, settings) -> str:
    out = ["# Compare", ""] + [f"{_md(h)}  " for h in _header(comparisons, settings)] + [
        "", "| metric | verdict | baseline | current | shift [CI] | p | n |", "|---|---|---|---|---|---|---|"]
    for c in comparisons:
        out.append(f"| {_md(c.metric.name)} | **{c.verdict}** | {fmt_value(c.baseline.median, c.metric.unit)} | "
                   f"{fmt_value(c.current.median, c.metric.unit)} | {_md(shift_text(c))} | "
                   f"{f'{c.p_value:.3g}' if c.p_value is not None else '—'} | {c.baseline.n}/{c.current.n} |")
    out += [""] + [f"- {_md(line(c))}" for c in comparisons]
    return "\n".join(out) + "\n"


@register("html")
def render_html(comparisons, settings) -> str:
    e = html.escape
    color = {"pass": "#12b76a", "marginal": "#f79009", "fail": "#f04438", "insufficient data": "#98a2b3"}
    v = overall(comparisons)
    rows = "".join(
        f"<tr><td>{e(c.metric.name)}</td><td style='color:{color[c.verdict]};font-weight:700'>{e(c.verdict)}</td>"
        f"<td>{e(fmt_value(c.baseline.median, c.metric.unit))}</td><td>{e(fmt_value(c.current.median, c.metric.unit))}</td>"
        f"<td>{e(shift_text(c))}</td><td>{e(f'{c.p_value:.3g}') if c.p_value is not None else '—'}</td>"
        f"<td>{c.baseline.n}/{c.current.n}</td><td>{e(c.reason)}</td></tr>" for c in comparisons)
    head = "".join(f"<div class='meta'>{e(h)}</div>" for h in _header(comparisons, settings)[1:])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>perfadvisor compare — {e(v)}</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;color:#1d2330;margin:0;background:#f7f8fa}}main{{max-width:1100px;margin:0 auto;padding:24px}}
table{{border-collapse:collapse;width:100%;background:#fff}}td,th{{border-bottom:1px solid #e4e7ec;padding:6px 8px;text-align:left;font-size:14px;vertical-align:top}}
.meta{{color:#667085}}</style></head>
<body><main><h1>Compare: <span style="color:{color[v]}">{e(v)}</span></h1>{head}
<div class="meta">alpha {settings['alpha']:g} · tolerance {settings['tolerance']:.0%} · at least {settings['min_samples']} samples per side</div>
<table><tr><th>metric</th><th>verdict</th><th>baseline</th><th>current</th><th>shift [CI]</th><th>p</th><th>n</th><th>why</th></tr>{rows}</table>
</main></body></html>
"""
