"""The terminal report: score, findings grouped by category, and what was not evaluated (rich tables)."""
from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..findings import Report
from ..render import fmt_num, fmt_unit
from . import register

SEV_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
CATEGORIES = ("alert", "optimization", "scaling")


def score_style(v: int | None) -> str:
    return "dim" if v is None else "green" if v >= 90 else "yellow" if v >= 50 else "red"


@register("table")
def render_table(report: Report, color: bool = False, width: int | None = None, **_) -> str:
    buf = io.StringIO()
    if width is None:
        import shutil
        width = max(100, shutil.get_terminal_size((120, 40)).columns) if color else 120
    con = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False)
    o = report.overall
    head = Text("Score ")
    head.append(f"{o.value if o.value is not None else '—'}/100", style=score_style(o.value))
    head.append(f"   rules evaluated {report.evaluated_count}/{len(report.results)}"
                f"   findings {len(report.findings)}   source {report.source.get('url', report.source['type'])}")
    con.print(head)
    dims = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for c in ("dimension", "score", "coverage"):
        dims.add_column(c)
    for d, s in report.dimensions.items():
        dims.add_row(d, Text(str(s.value) if s.value is not None else "—", style=score_style(s.value)),
                     f"{s.evaluated}/{s.total}")
    con.print(dims)
    for cat in CATEGORIES:
        fs = [f for f in report.findings if f.rule.category == cat]
        if not fs:
            continue
        t = Table(title=f"{cat} ({len(fs)})", title_justify="left", show_lines=True, expand=True)
        t.add_column("severity", no_wrap=True)
        t.add_column("rule / target", overflow="fold", min_width=max(len(f.rule.id) for f in fs))
        t.add_column("observed", no_wrap=True)
        t.add_column("recommendation", ratio=1)
        for f in fs:
            obs = fmt_unit(f.value, f.rule.unit)
            if f.threshold is not None and f.rule.condition:
                obs += f"\n{f.rule.condition.op} {fmt_unit(f.threshold, f.rule.unit)}"
            obs += f"\nconf. {f.confidence.level}"
            rec = f.recommendation
            if f.sizing and f.sizing.monthly_cost_change is not None:
                rec += f"\n[cost {fmt_num(f.sizing.monthly_cost_change, 2)}/month, risk {f.sizing.performance_risk}/4]"
            t.add_row(Text(f.severity, style=SEV_STYLE[f.severity]), Text(f"{f.rule.id}\n{f.target_text}"),
                      Text(obs), Text(rec))
        con.print(t)
    if not report.findings:
        con.print("No findings.")
    empty = report.packs_without_data
    if empty:
        con.print(Text("no data for packs: " + ", ".join(f"{p} ({len(rs)} rules)" for p, rs in empty.items())
                       + " — none of their metrics exist at the source", style="dim"))
    ne = report.not_evaluated_in_packs_with_data
    if ne:
        con.print(Text(f"not evaluated ({len(ne)})", style="bold"))
        for reason, ids in report.not_evaluated_by_reason():
            con.print(Text.assemble(("  " + reason, "dim"), " — ", ", ".join(ids)))
    cost = report.monthly_cost_change()
    if cost is not None:
        con.print(f"Monthly cost change if applied: {fmt_num(cost, 2)} (negative = savings)")
    for w in report.warnings:
        con.print(Text(f"warning from the data source: {w}", style="yellow"))
    return buf.getvalue()
