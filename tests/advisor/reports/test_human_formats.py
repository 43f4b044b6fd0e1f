"""What the table, Markdown and HTML reports show: pending findings, projections, charts, confidence, sizing."""
from __future__ import annotations

import dataclasses
import re
from html import escape as html_escape

import pytest

from perfadvisor.advisor.findings import Projection
from perfadvisor.advisor.reports import render
from perfadvisor.advisor.reports.charts import chart, sparkline
from perfadvisor.advisor.reports.markdown import md_escape
from perfadvisor.advisor.reports.wording import confidence_inputs, observed_lines
from tests.advisor.reports.sample import (HOUR, NOW, XSS, cpu_busy, fill_up, full_report, memory_leak, pending_fs,
                                          report, sizing_row)

HUMAN = ("table", "markdown", "html")


def test_sparkline_maps_the_range_onto_eight_blocks():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5]) == "▄▄▄"                       # flat: mid-height, not a floor
    assert sparkline([0, float("nan"), 2]) == "▁ █"              # a gap stays a gap
    assert sparkline(list(range(240))) == "▁▁▂▂▂▃▃▄▄▄▅▅▅▆▆▇▇▇██"  # 240 points, 20 characters
    assert sparkline([]) == ""


def test_table_shows_each_findings_sparkline_in_the_observed_column():
    out = render(report([fill_up()]), "table")
    assert "██▇▇▇▆▆▅▅▅▄▄▄▃▃▃▂▂▁▁" in out    # 20 GiB falling to 18 GiB, as 20 characters


def test_pending_findings_are_a_section_of_their_own_and_not_counted_as_findings():
    r = report([pending_fs()])
    assert r.findings == [] and len(r.pending) == 1
    table = render(r, "table")
    assert "findings 0   pending 1" in table.splitlines()[0]
    assert "No findings." in table
    assert "pending (1): the condition holds, not yet for its whole `for` window" in table
    assert "4m of 15m" in table and "host-filesystem-almost-full" in table
    md = render(r, "markdown")
    assert "· findings 0 · pending 1 ·" in md and "No findings." in md
    assert "## Pending (1)" in md
    assert "`host-filesystem-almost-full` · critical · **pending 4m of 15m** ·" in md
    html = render(r, "html")
    assert "0 finding(s) · 1 pending" in html and "No findings." in html
    pending_part = html.split('<h2 id="pending">Pending (1)</h2>', 1)[1]
    assert '<div class="card critical pending">' in pending_part
    assert '<span class="tag pending">pending 4m of 15m</span>' in pending_part


def test_firing_and_pending_are_counted_apart_in_every_header():
    r = full_report()
    assert "findings 4   pending 1" in render(r, "table").splitlines()[0]
    assert "· findings 4 · pending 1 ·" in render(r, "markdown")
    assert "4 finding(s) · 1 pending" in render(r, "html")


def test_a_projection_is_labelled_as_one_and_never_shown_as_observed():
    # A filesystem losing 2 GiB/h: the projection at the horizon (-29.9 GiB) was shown as "observed".
    f = fill_up()
    assert observed_lines(f) == ["now 18.0 GiB", "trend -2.0 GiB/h", "projected → limit 0 B in 9h"]
    for fmt in HUMAN:
        out = render(report([f]), fmt)
        assert "now 18.0 GiB" in out and "projected → limit 0 B in 9h" in out, fmt
        assert "-29.9 GiB" not in out and "observed **-" not in out, fmt


def test_a_growth_is_projected_to_its_limit_not_past_it():
    f = memory_leak()
    assert observed_lines(f) == ["now 2.8 GiB", "trend +300.0 MiB/h (> 1.0 MiB/h)",
                                 "projected → limit 24.0 GiB in 3d 0h"]
    for fmt in HUMAN:
        assert "projected → limit 24.0 GiB in 3d 0h" in render(report([f]), fmt), fmt


def test_a_limit_beyond_the_horizon_is_named_after_the_projection():
    f = memory_leak()
    p = f.projection
    slow = Projection(p.current, p.slope / 10, p.current + p.slope / 10 * 86400, 86400.0, p.r2, p.limit,
                      (p.limit - p.current) / (p.slope / 10))
    f = dataclasses.replace(f, projection=slow)
    assert observed_lines(f)[-1] == "projected → 3.5 GiB in 1d (limit 24.0 GiB in 30d 5h)"


def test_confidence_shows_its_inputs():
    f = cpu_busy()
    explain = f.confidence.explain()     # the inputs and how the score came out, worded by the data model
    assert f"Confidence: {md_escape(explain)}" in render(report([f]), "markdown")
    assert f"confidence {html_escape(explain, quote=False)}" in render(report([f]), "html")
    table = re.sub(r"[│ \n]+", " ", render(report([f]), "table", width=200))
    assert "conf. high (0.86)" in table and f"confidence: {confidence_inputs(f)}" in table
    assert not confidence_inputs(f).startswith("high")       # the level is not repeated


def test_the_cause_is_shown_with_the_finding():
    for fmt in HUMAN:
        out = render(report([memory_leak()]), fmt, **({"width": 200} if fmt == "table" else {}))
        assert "likely caused by thread growth (process-thread-leak)" in out, fmt


def test_markdown_shows_the_key_values_of_the_window():
    md = render(report([cpu_busy()]), "markdown")
    assert ("Data: now 93.0% · min 89.0% · p95 96.9% · max 97.0% · threshold \\> 90.0% · span 1h · samples 61"
            in md)


@pytest.mark.parametrize("fmt", HUMAN)
def test_header_shows_the_evaluation_time(fmt):
    assert "evaluated 2024-05-01T12:00:00Z" in render(report([cpu_busy()]), fmt)
    past = render(report([cpu_busy()], evaluated_at=NOW - 2 * 86400), fmt)
    assert "evaluated as of 2024-04-29T12:00:00Z (generated 2024-05-01T12:00:00Z)" in past
    near = render(report([cpu_busy()], evaluated_at=NOW - 30), fmt)
    assert "evaluated 2024-05-01T11:59:30Z" in near and "as of" not in near


def test_sizing_rows_are_a_table_after_the_findings_not_findings():
    r = report([cpu_busy()], sizing=(sizing_row(), sizing_row(4.0, 3.1, 3.9)))
    assert len(r.findings) == 1 and len(r.sizing_rows) == 2
    table = render(r, "table", width=160)
    assert table.index("Sizing (no change recommended)") > table.index("host-cpu-saturation")
    assert re.search(r"instance=web-1, groupname=nginx +scaling-process-cpu +4 cores +3.1 cores +3.9 cores "
                     r"+-0.1 cores \(-3%\)", table), table
    md = render(r, "markdown")
    assert "## Sizing (no change recommended)\n\n| target | rule | current | usage | recommended | change |" in md
    assert "| instance=web-1, groupname=nginx | `scaling-process-cpu` | 2 cores | 1.4 cores | 2 cores | none |" in md
    html = render(r, "html")
    sizing = html.split('<h2 id="sizing">Sizing (no change recommended)</h2>', 1)[1]
    assert '<td class="num">-0.1 cores (-3%)</td>' in sizing and "<td>instance=web-1, groupname=nginx</td>" in sizing
    assert "findings 1 " in table and "· findings 1 ·" in md


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg .*?</svg>", html, re.S)


def test_html_draws_series_threshold_window_and_projection():
    r = report([cpu_busy(), fill_up(), pending_fs()])
    svgs = _svgs(render(r, "html"))
    assert len(svgs) == 3
    busy, fill, pend = svgs
    assert len(re.findall(r"[ML]\d", re.search(r'class="series" d="([^"]+)"', busy)[1])) == 61
    assert 'class="threshold"' in busy and "threshold &gt; 90.0%" in busy
    assert 'class="window"' in busy and 'class="projection"' not in busy
    assert 'class="projection"' in fill and "projected → limit 0 B in 9h (beyond the chart)" in fill
    assert "2024-05-01 11:00" in fill and "2024-05-01 14:00 UTC" in fill   # 1 h of data, 2 h of projection
    assert "data 1h, 61 points; window 1h" in fill
    assert ">20.0 GiB<" in fill and ">0 B<" in fill                       # the axis' max and min
    assert "data 4m, 5 points" in pend


def test_chart_geometry_stays_inside_the_plot():
    c = chart(memory_leak())
    xs = [float(x) for x in re.findall(r"[ML]([\d.]+) ", c.path)]
    assert min(xs) == c.left and max(xs) < c.right                          # the projection takes the rest
    assert c.projection.x1 == max(xs) and c.projection.x2 == pytest.approx(c.right)
    assert c.top < c.projection.y2 < c.projection.y1 < c.bottom             # growing: up and to the right
    assert c.threshold is None    # the threshold is a slope (per second), not a level on this axis
    assert chart(cpu_busy(series=())) is None


def test_a_hostile_label_is_escaped_inside_the_svg():
    html = render(report([cpu_busy(XSS)]), "html")
    (svg,) = _svgs(html)
    assert "<title>host-cpu-saturation — instance=&lt;script&gt;alert(1)&lt;/script&gt;</title>" in svg
    assert 'aria-label="host-cpu-saturation — instance=&lt;script&gt;alert(1)&lt;/script&gt;"' in svg
    assert "<script" not in html and "src=" not in html


def test_a_gap_in_the_series_breaks_the_line():
    f = cpu_busy()
    s = tuple(p for p in f.series if not (NOW - 0.5 * HOUR < p[0] < NOW - 0.25 * HOUR))
    c = chart(dataclasses.replace(f, series=s))
    assert c.path.count("M") == 2 and c.points == len(s)
