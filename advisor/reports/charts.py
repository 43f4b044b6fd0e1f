"""Pictures of a finding's evidence: a Unicode sparkline for the terminal and the geometry of an SVG chart.

The chart is computed here as numbers and plain strings; the HTML template writes the SVG elements, so every
text that reaches the page (labels, titles) goes through its autoescaping.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import stats
from ..findings import Finding
from ..render import fmt_duration, fmt_unit
from .wording import finite_series, iso

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float] | tuple[float, ...], width: int = 20) -> str:
    """The values as at most `width` block characters, each the mean of its slice; NaN slices are blank."""
    vals = list(values)
    if not vals:
        return ""
    if len(vals) > width:
        buckets = [vals[i * len(vals) // width:(i + 1) * len(vals) // width] for i in range(width)]
    else:
        buckets = [[v] for v in vals]
    means = []
    for b in buckets:
        good = [v for v in b if math.isfinite(v)]
        means.append(stats.mean(good) if good else math.nan)
    finite = [m for m in means if math.isfinite(m)]
    if not finite:
        return " " * len(means)
    lo, hi = min(finite), max(finite)
    if hi == lo:
        return "".join(BLOCKS[3] if math.isfinite(m) else " " for m in means)
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[round((m - lo) / (hi - lo) * top)] if math.isfinite(m) else " " for m in means)


def finding_sparkline(f: Finding, width: int = 20) -> str:
    return sparkline([v for _, v in f.series], width)


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    label: str = ""


@dataclass(frozen=True)
class Chart:
    """An SVG chart's geometry in viewBox units (0..width × 0..height) and its labels (plain text)."""

    width: int
    height: int
    left: float                         # the plot area
    right: float
    top: float
    bottom: float
    path: str                           # the series: "M x y L x y …" (a gap in the data starts a new M)
    points: int                         # how many samples the path draws
    threshold: Line | None              # horizontal
    limit: Line | None                  # horizontal: the limit a projection runs into
    window: tuple[float, float] | None  # x from, x to: the data the verdict rests on
    projection: Line | None             # dashed, from the last sample to the horizon or the limit
    projection_label_y: float           # the baseline of its label (right-aligned at the plot's edge)
    y_max: str
    y_min: str
    t_start: str
    t_end: str
    span: str
    title: str


def _finite(*xs: float | None) -> list[float]:
    return [x for x in xs if x is not None and math.isfinite(x)]


def chart(f: Finding, width: int = 640, height: int = 170) -> Chart | None:
    """The chart of a finding's series with its threshold, window and projection (None without a series)."""
    pts = finite_series(f)
    if not pts:
        return None
    unit = f.rule.unit
    cond = f.rule.condition
    t0, t1 = pts[0][0], pts[-1][0]
    if f.window is not None:
        t0, t1 = min(t0, f.window[0]), max(t1, f.window[1])
    data_span = max(t1 - t0, 1.0)
    values = [v for _, v in pts]

    # The projection: from the last sample to the horizon, or to the limit when that comes first. A long horizon
    # would squash the data into a sliver, so the time axis extends by at most twice the data's span and the
    # dashed line is cut where the axis ends (its label still names the end point).
    proj = None
    proj_label = ""
    p = f.projection
    if p is not None and math.isfinite(p.slope):
        t_last, v_last = pts[-1]
        goal = p.limit if p.limit is not None else (f.threshold if cond and cond.of == "value" else None)
        ttl = p.time_to_limit
        reaches = goal is not None and ttl is not None and math.isfinite(ttl) and ttl > 0
        if reaches and (not p.horizon or ttl <= p.horizon):
            dt, v_end, proj_label = ttl, goal, f"limit {fmt_unit(goal, unit)} in {fmt_duration(ttl)}"
        else:
            dt, v_end = p.horizon, p.projected
            proj_label = f"{fmt_unit(p.projected, unit)} in {fmt_duration(p.horizon)}"
        if dt and dt > 0 and math.isfinite(v_end):
            shown = min(dt, 2 * data_span)
            if shown < dt:
                proj_label += " (beyond the chart)"
            v_shown = v_last + (v_end - v_last) * shown / dt
            proj = (t_last, v_last, t_last + shown, v_shown)
            t1 = max(t1, t_last + shown)

    threshold = f.threshold if (f.threshold is not None and cond and cond.of != "slope") else None
    limit = p.limit if p is not None and p.limit is not None and proj is not None \
        and math.isclose(proj[3], p.limit, rel_tol=1e-9, abs_tol=1e-12) else None
    lo = min(_finite(*values, threshold, limit, proj[3] if proj else None))
    hi = max(_finite(*values, threshold, limit, proj[3] if proj else None))
    if hi == lo:   # a flat line sits mid-height
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad

    left, right, top, bottom = 78.0, width - 12.0, 10.0, height - 26.0

    def x(t: float) -> float:
        return round(left + (t - t0) / ((t1 - t0) or 1.0) * (right - left), 1)

    def y(v: float) -> float:   # the extremes sit a few units inside the plot, where their labels are
        return round(bottom - 5 - (v - lo) / (hi - lo) * (bottom - top - 10), 1)

    # A gap longer than three typical steps is drawn as a gap.
    steps = sorted(b[0] - a[0] for a, b in zip(pts, pts[1:]))
    gap = 3 * steps[len(steps) // 2] if steps else math.inf
    parts, prev_t = [], None
    for t, v in pts:
        cmd = "M" if prev_t is None or t - prev_t > gap else "L"
        parts.append(f"{cmd}{x(t)} {y(v)}")
        prev_t = t
    window = (x(f.window[0]), x(f.window[1])) if f.window is not None else None
    # The projection's label goes in the right-hand corner away from where the line ends: the line is elsewhere.
    label_y = 0.0
    if proj:
        label_y = bottom - 10 if y(proj[3]) < (top + bottom) / 2 else top + 14
    return Chart(
        width=width, height=height, left=left, right=right, top=top, bottom=bottom,
        path=" ".join(parts), points=len(pts),
        threshold=Line(left, y(threshold), right, y(threshold),
                       f"threshold {cond.op} {fmt_unit(threshold, unit)}") if threshold is not None else None,
        limit=Line(left, y(limit), right, y(limit), f"limit {fmt_unit(limit, unit)}") if limit is not None else None,
        window=window,
        projection=Line(x(proj[0]), y(proj[1]), x(proj[2]), y(proj[3]), f"projected → {proj_label}")
        if proj else None,
        projection_label_y=label_y,
        y_max=fmt_unit(hi, unit), y_min=fmt_unit(lo, unit),
        t_start=iso(t0).replace("T", " ")[:16], t_end=iso(t1).replace("T", " ")[:16] + " UTC",
        span=f"data {fmt_duration(pts[-1][0] - pts[0][0])}, {len(pts)} points"
             + (f"; window {fmt_duration(f.window[1] - f.window[0])}" if f.window else ""),
        title=f"{f.rule.id} — {f.target_text}",
    )
