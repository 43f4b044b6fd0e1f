"""The terminal report: score, findings grouped by category, pending findings, sizing, and what was not evaluated."""
from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..findings import Finding, Report
from ..render import fmt_num
from . import register
from .charts import finding_sparkline
from .wording import (SIZING_COLUMNS, SIZING_TITLE, cause_text, confidence_inputs, evaluated_text, notes_text,
                      observed_lines, pending_text, shown, shown_rows, sizing_cells)

SEV_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
CATEGORIES = ("alert", "optimization", "scaling")


def score_style(v: int | None) -> str:
    return "dim" if v is None else "green" if v >= 90 else "yellow" if v >= 50 else "red"


def _finding_table(title: str, fs: list[Finding], pending: bool = False) -> Table:
    t = Table(title=title, title_justify="left", show_lines=True, expand=True,
              border_style="dim" if pending else None, title_style="bold magenta" if pending else None)
    t.add_column("pending" if pending else "severity", no_wrap=True)
    t.add_column("rule / target", overflow="fold", min_width=max(len(f.rule.id) for f in fs))
    t.add_column("observed", no_wrap=True)
    t.add_column("recommendation", ratio=1)
    for f in fs:
        obs = Text("\n".join(observed_lines(f)))
        spark = finding_sparkline(f)
        if spark:
            obs.append("\n" + spark, style="blue")
        obs.append(f"\nconf. {f.confidence.level} ({f.confidence.score:.2f})")
        if f.notes:
            obs.append("\n" + notes_text(f), style="yellow")
        rec = Text()
        cause = cause_text(f)
        if cause:
            rec.append(cause + "\n", style="bold")
        rec.append(f.recommendation)
        if f.sizing and f.sizing.monthly_cost_change is not None:
            rec.append(f"\n[cost {fmt_num(f.sizing.monthly_cost_change, 2)}/month, risk {f.sizing.performance_risk}/4]")
        rec.append(f"\nconfidence: {confidence_inputs(f)}", style="dim")
        if pending:
            state = Text(pending_text(f).replace("pending ", "", 1), style="magenta")
            state.append(f"\n{f.severity}", style=SEV_STYLE[f.severity])
        else:
            state = Text(f.severity, style=SEV_STYLE[f.severity])
        t.add_row(state, Text(f"{f.rule.id}\n{f.target_text}"), obs, rec)
    return t


@register("table")
def render_table(report: Report, color: bool = False, width: int | None = None, **_) -> str:
    buf = io.StringIO()
    if width is None:
        import shutil
        width = max(100, shutil.get_terminal_size((120, 40)).columns) if color else 120
    con = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False)
    o = report.overall
    findings, pending = report.findings, report.pending
    head = Text("Score ")
    head.append(f"{o.value if o.value is not None else '—'}/100", style=score_style(o.value))
    head.append(f"   rules evaluated {report.evaluated_count}/{len(report.results)}   findings {len(findings)}")
    head.append(f"   pending {len(pending)}", style="magenta" if pending else None)
    head.append(f"   source {report.source.get('url', report.source['type'])}")
    con.print(head)
    con.print(Text(evaluated_text(report), style="dim"))
    dims = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for c in ("dimension", "score", "coverage"):
        dims.add_column(c)
    for d, s in report.dimensions.items():
        dims.add_row(d, Text(str(s.value) if s.value is not None else "—", style=score_style(s.value)),
                     f"{s.evaluated}/{s.total}")
    con.print(dims)
    for cat in CATEGORIES:
        fs = findings.of_category(cat)
        if fs:
            top, more = shown(fs)
            con.print(_finding_table(f"{cat} ({len(fs)})", top) if top else Text(f"{cat} ({len(fs)})", style="bold"))
            for line in more:
                con.print(Text("  " + line, style="dim"))
    if not findings:
        con.print("No findings.")
    if pending:
        top, more = shown(pending)
        title = f"pending ({len(pending)}): the condition holds, not yet for its whole `for` window"
        con.print(_finding_table(title, top, pending=True) if top else Text(title, style="bold magenta"))
        for line in more:
            con.print(Text("  " + line, style="dim"))
    for r in report.results:
        for note in r.notes:
            con.print(Text(f"{r.rule.id}: {note}", style="yellow"))
    rows, more_rows = shown_rows(report)
    if rows:
        t = Table(title=SIZING_TITLE, title_justify="left", header_style="bold", box=None, pad_edge=False)
        for c in SIZING_COLUMNS:
            t.add_column(c, justify="left" if c in ("target", "rule") else "right")
        for row in rows:
            cells = sizing_cells(row)
            t.add_row(*(cells[c] for c in SIZING_COLUMNS))
        con.print(t)
        for line in more_rows:
            con.print(Text("  " + line, style="dim"))
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
