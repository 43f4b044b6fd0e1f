"""The HTML report: one self-contained file (inline CSS and SVG, no scripts or external fetches), autoescaped."""
from __future__ import annotations

from datetime import datetime, timezone
from importlib import resources

import jinja2

from ..findings import Report
from ..render import fmt_bytes, fmt_duration, fmt_num, fmt_pct, fmt_unit
from . import register
from .charts import chart
from .wording import (SIZING_COLUMNS, SIZING_TITLE, cause_text, evaluated_text, key_values, observed_lines,
                      pending_text, shown, shown_rows, sizing_cells)

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update(unit=fmt_unit, num=fmt_num, pct=fmt_pct, bytes=fmt_bytes, duration=fmt_duration)
_ENV.globals.update(chart=chart, observed_lines=observed_lines, key_values=key_values, pending_text=pending_text,
                    cause_text=cause_text, shown=shown, shown_rows=shown_rows, sizing_cells=sizing_cells, sizing_columns=SIZING_COLUMNS,
                    sizing_title=SIZING_TITLE)
_TEMPLATE = _ENV.from_string(resources.files(__package__).joinpath("report.html.j2").read_text())


def score_class(v: int | None) -> str:
    return "na" if v is None else "good" if v >= 90 else "avg" if v >= 50 else "bad"


@register("html")
def render_html(report: Report, **_) -> str:
    return _TEMPLATE.render(
        r=report, findings=report.findings, pending=report.pending, categories=("alert", "optimization", "scaling"),
        score_class=score_class, cost=report.monthly_cost_change(), evaluated=evaluated_text(report),
        generated=datetime.fromtimestamp(report.generated_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
