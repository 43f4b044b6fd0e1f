"""The Markdown report, for pull requests and wikis."""
from __future__ import annotations

from ..findings import Report
from ..render import fmt_num, fmt_unit
from . import register

CATEGORIES = ("alert", "optimization", "scaling")
ICON = {"critical": "🔴", "warning": "🟠", "info": "🔵"}


def md_escape(text: str) -> str:
    """Make label values inert in Markdown (and the HTML Markdown renderers allow)."""
    out = str(text).replace("\\", "\\\\")
    # Enough to stop emphasis, code, links, raw HTML and table breaks; "(" "#" "+" stay readable.
    for ch in "`*_[]<>|~":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


@register("markdown")
def render_markdown(report: Report, **_) -> str:
    o = report.overall
    lines = ["# perfadvisor report", "",
             f"**Score: {o.value if o.value is not None else '—'}/100** · rules evaluated "
             f"{report.evaluated_count}/{len(report.results)} · findings {len(report.findings)} · source "
             f"`{report.source.get('url', report.source['type'])}`", "",
             "| dimension | score | coverage |", "|---|---:|---:|"]
    for d, s in report.dimensions.items():
        lines.append(f"| {d} | {s.value if s.value is not None else '—'} | {s.evaluated}/{s.total} |")
    lines.append("")
    for cat in CATEGORIES:
        fs = [f for f in report.findings if f.rule.category == cat]
        if not fs:
            continue
        lines += [f"## {cat.capitalize()} ({len(fs)})", ""]
        for f in fs:
            lines.append(f"### {ICON[f.severity]} {md_escape(f.rule.title)} — {md_escape(f.target_text)}")
            lines.append("")
            obs = f"observed **{md_escape(fmt_unit(f.value, f.rule.unit))}**"
            if f.threshold is not None and f.rule.condition:
                obs += f" ({f.rule.condition.op} {md_escape(fmt_unit(f.threshold, f.rule.unit))})"
            lines.append(f"`{f.rule.id}` · {f.severity} · {f.rule.dimension} · {obs} · confidence "
                         f"{f.confidence.level} ({f.confidence.score:.2f})")
            lines.append("")
            lines.append(md_escape(f.recommendation).replace("\\\n", "\n"))
            if f.sizing:
                s = f.sizing
                cost = "" if s.monthly_cost_change is None else f", cost {fmt_num(s.monthly_cost_change, 2)}/month"
                lines += ["", f"Sizing: {s.resource} {fmt_num(s.current or 0, 2) if s.current is not None else '?'}"
                              f" → {fmt_num(s.recommended, 2)}, performance risk {s.performance_risk}/4{cost}"]
            if f.replicas:
                lines += ["", f"Replicas: {f.replicas.current} → {f.replicas.desired}"]
            for e in f.evidence:
                if e.series:
                    lines += ["", f"<details><summary>{md_escape(e.title)}</summary>", ""]
                    lines += [f"- {md_escape(', '.join(f'{k}={v}' for k, v in lb.items() if k != '__name__'))}: "
                              f"{fmt_num(v, 3)}" for lb, v in e.series]
                    lines += ["", "</details>"]
            lines.append("")
    if not report.findings:
        lines += ["No findings.", ""]
    empty = report.packs_without_data
    ne = report.not_evaluated_in_packs_with_data
    if empty or ne:
        lines += ["## Not evaluated", ""]
    if empty:
        lines += ["No data for packs: " + ", ".join(f"`{p}` ({len(rs)} rules)" for p, rs in empty.items())
                  + " — none of their metrics exist at the source.", ""]
    if ne:
        lines += ["| rule | reason |", "|---|---|"]
        lines += [f"| `{r.rule.id}` | {md_escape(r.reason)} |" for r in ne]
        lines.append("")
    cost = report.monthly_cost_change()
    if cost is not None:
        lines += [f"Monthly cost change if applied: **{fmt_num(cost, 2)}** (negative = savings)", ""]
    for w in report.warnings:
        lines.append(f"> ⚠ data source warning: {md_escape(w)}")
    return "\n".join(lines).rstrip() + "\n"
