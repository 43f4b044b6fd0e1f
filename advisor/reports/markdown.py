"""The Markdown report, for pull requests and wikis."""
from __future__ import annotations

from ..findings import Finding, Report
from ..render import fmt_num
from . import register
from .wording import (SIZING_COLUMNS, SIZING_TITLE, cause_text, evaluated_text, key_values_text, observed_lines,
                      pending_text, shown, shown_rows, sizing_cells)

CATEGORIES = ("alert", "optimization", "scaling")
ICON = {"critical": "🔴", "warning": "🟠", "info": "🔵"}


def md_escape(text: str) -> str:
    """Make label values inert in Markdown (and the HTML Markdown renderers allow)."""
    out = str(text).replace("\\", "\\\\")
    # Enough to stop emphasis, code, links, raw HTML and table breaks; "(" "#" "+" stay readable.
    for ch in "`*_[]<>|~":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


def _finding(f: Finding, pending: bool = False) -> list[str]:
    icon = "⏳" if pending else ICON[f.severity]
    lines = [f"### {icon} {md_escape(f.rule.title)} — {md_escape(f.target_text)}", ""]
    state = f" · **{pending_text(f)}**" if pending else ""
    obs = observed_lines(f)
    if f.projection is None:
        observed = f"observed **{md_escape(obs[0])}**" + (f" ({md_escape(obs[1])})" if len(obs) > 1 else "")
    else:   # trend: what is now, then what is projected, labelled as such
        observed = f"**{md_escape(obs[0])}** · " + " · ".join(md_escape(x) for x in obs[1:])
    lines.append(f"`{f.rule.id}` · {f.severity}{state} · {f.rule.dimension} · {observed}")
    lines += ["", f"Data: {md_escape(key_values_text(f))}  ", f"Confidence: {md_escape(f.confidence.explain())}"]
    cause = cause_text(f)
    if cause:
        lines += ["", f"*{md_escape(cause)}*"]
    lines += ["", md_escape(f.recommendation).replace("\\\n", "\n")]
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
    return lines


@register("markdown")
def render_markdown(report: Report, **_) -> str:
    o = report.overall
    findings, pending = report.findings, report.pending
    lines = ["# perfadvisor report", "",
             f"**Score: {o.value if o.value is not None else '—'}/100** · rules evaluated "
             f"{report.evaluated_count}/{len(report.results)} · findings {len(findings)} · pending {len(pending)}"
             f" · source `{report.source.get('url', report.source['type'])}` · {evaluated_text(report)}", "",
             "| dimension | score | coverage |", "|---|---:|---:|"]
    for d, s in report.dimensions.items():
        lines.append(f"| {d} | {s.value if s.value is not None else '—'} | {s.evaluated}/{s.total} |")
    lines.append("")
    for cat in CATEGORIES:
        fs = findings.of_category(cat)
        if not fs:
            continue
        lines += [f"## {cat.capitalize()} ({len(fs)})", ""]
        top, more = shown(fs)
        for f in top:
            lines += _finding(f)
        lines += [f"- {md_escape(line)}" for line in more] + ([""] if more else [])
    if not findings:
        lines += ["No findings.", ""]
    if pending:
        lines += [f"## Pending ({len(pending)})", "",
                  "The condition holds but not yet for its rule's whole `for` window; not counted as findings.", ""]
        top, more = shown(pending)
        for f in top:
            lines += _finding(f, pending=True)
        lines += [f"- {md_escape(line)}" for line in more] + ([""] if more else [])
    notes = [f"`{r.rule.id}`: {md_escape(n)}" for r in report.results for n in r.notes]
    if notes:
        lines += ["## Data notes", ""] + [f"- {n}" for n in notes] + [""]
    rows, more_rows = shown_rows(report)
    if rows:
        lines += [f"## {SIZING_TITLE}", "", "| " + " | ".join(SIZING_COLUMNS) + " |",
                  "|---|---|" + "---:|" * (len(SIZING_COLUMNS) - 2)]
        for row in rows:
            cells = sizing_cells(row)
            lines.append("| " + " | ".join(f"`{cells[c]}`" if c == "rule" else md_escape(cells[c])
                                           for c in SIZING_COLUMNS) + " |")
        lines.append("")
        lines += [f"- {md_escape(line)}" for line in more_rows] + ([""] if more_rows else [])
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
