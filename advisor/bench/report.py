"""Bench result formats, registered by name: table (terminal), json, markdown, html (self-contained, SVG charts).

Charts use the report package's chart geometry (``reports.charts.Chart``) so every bench and advisor chart
draws alike; the HTML template autoescapes every text (target names and URLs come from the user).
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from importlib import resources
from typing import Callable

import jinja2

from ..errors import ConfigError
from ..render import fmt_num, fmt_pct
from ..reports.charts import Chart, Line, sparkline
from . import histogram as H
from .result import BenchResult

FORMATS: dict[str, Callable[[BenchResult], str]] = {}


def register(name: str):
    def deco(fn):
        FORMATS[name] = fn
        return fn
    return deco


def render(result: BenchResult, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r} (known: {', '.join(sorted(FORMATS))})")
    return FORMATS[fmt](result)


def fmt_latency(s: float | None) -> str:
    """Seconds for people: 840µs, 12.3ms, 1.25s."""
    if s is None or not math.isfinite(s):
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.0f}µs"
    if s < 1:
        return f"{s * 1e3:.3g}ms"
    return f"{s:.3g}s"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def load_text(r: BenchResult) -> str:
    s = r.spec
    if s["model"] == "closed":
        return f"closed model, {s['connections']} connections"
    if s["stages"]:
        return f"open model, stages up to {max(st['target'] for st in s['stages']):g} req/s"
    return f"open model, {s['rate']:g} req/s"


def threshold_value(t) -> str:
    if t.value is None:
        return "no data"
    base = t.metric.removeprefix("service_")
    if base.startswith("p") or base in ("max", "mean"):
        return fmt_latency(t.value)
    if t.metric.endswith("_rate") and t.metric != "rate":
        return fmt_pct(t.value, 2)
    return fmt_num(t.value, 1)


def rows(r: BenchResult) -> list[tuple[str, str]]:
    """The summary as (name, value) rows, shared by table and markdown."""
    lat, svc = H.summary(r.histogram("latency")), H.summary(r.histogram("service_time"))
    out = [("target", ", ".join(t["label"] for t in r.targets)), ("load", load_text(r)),
           ("window", f"{iso(r.started)} + {r.duration:g}s ({len(r.intervals)} intervals)"),
           ("requests", f"{r.sent:,} started, {r.rate:,.1f}/s"),
           ("answers", f"{r.responses:,}, {r.throughput:,.1f}/s"),
           ("errors", f"{r.errors:,} ({fmt_pct(r.error_rate, 2)})"
            + (": " + ", ".join(f"{k} {v:,}" for k, v in sorted(r.errors_by_kind.items())) if r.errors else "")),
           ("dropped", f"{r.dropped:,} (could not be started on time)" if r.dropped else "0")]
    label = "latency (from intended start)" if r.spec["model"] == "open" else "latency"
    out.append((label, "  ".join(f"{k} {fmt_latency(lat[k])}" for k in ("p50", "p90", "p99", "p99.9", "max"))))
    if r.spec["model"] == "open":
        out.append(("service time (from actual send)",
                    "  ".join(f"{k} {fmt_latency(svc[k])}" for k in ("p50", "p90", "p99", "p99.9", "max"))))
    p99s = [iv.latency.get_value_at_percentile(99) / 1e6 if iv.responses else math.nan for iv in r.intervals]
    out.append(("p99 per second", sparkline(p99s, 40)))
    out.append(("answers per second", sparkline([float(iv.responses) for iv in r.intervals], 40)))
    if r.observed:
        for k, v in r.observed.get("rows", []):
            out.append((k, v))
    return out


@register("table")
def render_table(r: BenchResult) -> str:
    rs = rows(r)
    width = max(len(k) for k, _ in rs)
    lines = [f"{k:<{width}}  {v}" for k, v in rs]
    if r.thresholds:
        lines.append("")
        lines.append("thresholds:")
        for t in r.thresholds:
            lines.append(f"  {'ok  ' if t.ok else 'FAIL'}  {t.expr:<24} measured {threshold_value(t)}")
    return "\n".join(lines) + "\n"


@register("json")
def render_json(r: BenchResult) -> str:
    return json.dumps(r.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


@register("markdown")
def render_markdown(r: BenchResult) -> str:
    lines = ["# Bench result", "", "| | |", "|---|---|"]
    lines += [f"| {_md(k)} | {_md(v)} |" for k, v in rows(r)]
    if r.thresholds:
        lines += ["", "| threshold | measured | result |", "|---|---|---|"]
        lines += [f"| `{_md(t.expr)}` | {threshold_value(t)} | {'ok' if t.ok else '**FAIL**'} |" for t in r.thresholds]
    return "\n".join(lines) + "\n"


# -- HTML ------------------------------------------------------------------------------------------------
def _chart(series: list[tuple[list[tuple[float, float]], str]], title: str, x_label: tuple[str, str, str],
           y_fmt: Callable[[float], str], width: int = 640, height: int = 190) -> Chart | None:
    """A chart of one or more (points, name) series; the first series is the Chart's path, the others go in
    ``extra`` paths rendered by the template."""
    pts_all = [p for pts, _ in series for p in pts if math.isfinite(p[1])]
    if not pts_all:
        return None
    x0, x1 = min(p[0] for p in pts_all), max(p[0] for p in pts_all)
    lo, hi = 0.0, max(p[1] for p in pts_all)
    if hi <= lo:
        hi = lo + 1.0
    left, right, top, bottom = 78.0, width - 12.0, 10.0, height - 26.0

    def x(v: float) -> float:
        return round(left + (v - x0) / ((x1 - x0) or 1.0) * (right - left), 1)

    def y(v: float) -> float:
        return round(bottom - 5 - (v - lo) / (hi - lo) * (bottom - top - 10), 1)

    paths = []
    for pts, _ in series:
        parts, gap = [], True
        for px, py in pts:
            if not math.isfinite(py):
                gap = True
                continue
            parts.append(f"{'M' if gap else 'L'}{x(px)} {y(py)}")
            gap = False
        paths.append(" ".join(parts))
    c = Chart(width=width, height=height, left=left, right=right, top=top, bottom=bottom, path=paths[0],
              points=len(series[0][0]), threshold=None, limit=None, window=None, projection=None,
              projection_label_y=0.0, y_max=y_fmt(hi), y_min=y_fmt(lo), t_start=x_label[0], t_end=x_label[2],
              span=x_label[1], title=title)
    return c, [(p, name) for p, (_, name) in zip(paths, series)]


def percentile_chart(r: BenchResult):
    """Latency by percentile, x spaced by 'nines' (log10 of 1/(1-q)) like HdrHistogram's plots."""
    def nines(q: float) -> float:
        return math.log10(1 / max(1 - q / 100, 1e-5))
    series = [([(nines(q), v) for q, v in H.percentile_curve(r.histogram("latency"))], "latency")]
    if r.spec["model"] == "open":
        series.append(([(nines(q), v) for q, v in H.percentile_curve(r.histogram("service_time"))], "service time"))
    return _chart(series, "latency by percentile", ("p0", "p90 · p99 · p99.9 · p99.99", "p100"), fmt_latency)


def time_charts(r: BenchResult):
    lat = [([(iv.t, iv.latency.get_value_at_percentile(q) / 1e6 if iv.responses else math.nan)
             for iv in r.intervals], name) for q, name in ((99, "p99"), (50, "p50"))]
    span = (iso(r.started)[11:19], f"{r.duration:g}s, {len(r.intervals)} intervals", iso(r.ended)[11:])
    thr = [([(iv.t, float(iv.responses)) for iv in r.intervals], "answers/s")]
    return (_chart(lat, "latency per second", span, fmt_latency),
            _chart(thr, "answers per second", span, lambda v: f"{fmt_num(v, 0)}/s"))


_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update(latency=fmt_latency, num=fmt_num, pct=fmt_pct)
_TEMPLATE: list = []     # compiled on first use: most runs never render HTML


@register("html")
def render_html(r: BenchResult) -> str:
    if not _TEMPLATE:
        _TEMPLATE.append(_ENV.from_string(resources.files(__package__).joinpath("bench.html.j2").read_text()))
    return _TEMPLATE[0].render(r=r, rows=rows(r), threshold_value=threshold_value, iso=iso,
                            charts=[c for c in (percentile_chart(r), *time_charts(r)) if c])


__all__ = ["FORMATS", "render", "fmt_latency", "Line"]
