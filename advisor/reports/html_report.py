"""The HTML report: one self-contained file (inline CSS, no scripts or external fetches), autoescaped."""
from __future__ import annotations

from datetime import datetime, timezone
from importlib import resources

import jinja2

from ..findings import Report
from ..render import fmt_bytes, fmt_duration, fmt_num, fmt_pct, fmt_unit
from . import register

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update(unit=fmt_unit, num=fmt_num, pct=fmt_pct, bytes=fmt_bytes, duration=fmt_duration)
_TEMPLATE = _ENV.from_string(resources.files(__package__).joinpath("report.html.j2").read_text())


def score_class(v: int | None) -> str:
    return "na" if v is None else "good" if v >= 90 else "avg" if v >= 50 else "bad"


@register("html")
def render_html(report: Report, **_) -> str:
    return _TEMPLATE.render(
        r=report, findings=report.findings, categories=("alert", "optimization", "scaling"),
        score_class=score_class, cost=report.monthly_cost_change(),
        generated=datetime.fromtimestamp(report.generated_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
