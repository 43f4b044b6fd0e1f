"""Evaluation semantics on a deterministic in-memory source: for-windows, trends, history, errors, no data."""
import re
import threading
import time

import pytest

from perfadvisor.advisor.errors import TemplateError
from perfadvisor.advisor.evaluate import Evaluator, metric_names
from perfadvisor.advisor.packs import load_text
from perfadvisor.advisor.sources.base import QueryError, QueryResult, Series, SourceError

NOW = 1_700_000_000.0


class StaticSource:
    """Answers exact query strings from a table of series; the presence check from a set of metric names."""

    name = "static"

    def __init__(self, table: dict[str, list[Series]], metrics=(), errors=()):
        self.table, self.metrics, self.errors = table, set(metrics), set(errors)

    def _lookup(self, query):
        if query in self.errors:
            raise QueryError(query, "bad_data: unknown function")
        m = re.match(r'count by \(__name__\) \(last_over_time\(\{__name__=~"([\w|]+)"\}', query)
        if m:
            return [Series({"__name__": n}, ((NOW, 1.0),)) for n in m.group(1).split("|") if n in self.metrics]
        return self.table.get(query, [])

    def instant(self, query, time):
        out = []
        for s in self._lookup(query):
            pts = [p for p in s.points if p[0] <= time]
            if pts:
                out.append(Series(s.labels, (pts[-1],)))
        return QueryResult("vector", tuple(out))

    def range(self, query, start, end, step):
        out = [Series(s.labels, tuple(p for p in s.points if start <= p[0] <= end)) for s in self._lookup(query)]
        return QueryResult("matrix", tuple(s for s in out if s.points))


PACK = """\
apiVersion: perfadvisor.dev/v1
metadata: {name: t}
parameters:
  limit: {type: number, default: 0.5}
rules:
  - id: t-held
    title: Held
    category: alert
    dimension: cpu
    severity: warning
    target: [instance]
    query: busy
    condition: {op: ">", threshold: $limit, for: 60s}
    score: {good: 0.3, median: 0.5}
    recommendation: "{{ labels.instance }} busy {{ value | pct }} {{ labels.nosuchlabel }}"
  - id: t-growth
    title: Growth
    category: alert
    dimension: memory
    severity: warning
    target: [instance]
    query: rss
    evaluate: {mode: trend, lookback: 10m, step: 10s, horizon: 1h, limit_query: limit, min_fit: 0.9}
    condition: {op: ">", threshold: 100, of: slope}
    recommendation: "grows {{ projection.slope }}/s, limit in {{ projection.time_to_limit | duration }}"
  - id: t-history
    title: History
    category: optimization
    dimension: cpu
    severity: info
    query: busy
    evaluate: {mode: range, lookback: 1h, step: 10s, reduce: p95}
    condition: {op: ">", threshold: 0}
    history: {min: 10m}
    recommendation: x
  - id: t-broken
    title: Broken
    category: alert
    dimension: cpu
    severity: critical
    query: holt_winters(busy[5m], 0.5, 0.5)
    condition: {op: ">", threshold: 0}
    recommendation: x
  - id: t-nodata
    title: No data
    category: alert
    dimension: disk
    severity: critical
    query: node_disk_missing_total
    condition: {op: ">", threshold: 0}
    recommendation: x
  - id: t-filtered
    title: Filtered to nothing
    category: alert
    dimension: disk
    severity: critical
    query: present_but_filtered
    metrics: [present_metric]
    condition: {op: ">", threshold: 0}
    recommendation: x
"""


def series(instance, fn, start=NOW - 120, end=NOW, step=10):
    t, pts = start, []
    while t <= end:
        pts.append((t, fn(t)))
        t += step
    return Series({"instance": instance}, tuple(pts))


@pytest.fixture
def results():
    pack = load_text(PACK, "t.yaml")
    src = StaticSource({
        "busy": [series("steady", lambda t: 0.9), series("blip", lambda t: 0.9 if t > NOW - 30 else 0.1)],
        "rss": [series("leaky", lambda t: 1e6 + 500 * (t - NOW), start=NOW - 600),
                series("sawtooth", lambda t: 1e6 + 5e4 * ((t // 10) % 2), start=NOW - 600)],
        "limit": [series("leaky", lambda t: 1e6 + 500 * 3600)],
    }, metrics={"present_metric"}, errors={"holt_winters(busy[5m], 0.5, 0.5)"})
    out = Evaluator(src, now=NOW, concurrency=2).run(pack.resolved())
    return {r.rule.id: r for r in out}


def test_for_requires_the_condition_over_the_whole_window(results):
    r = results["t-held"]
    assert r.evaluated and r.targets == 2
    firing = [f for f in r.findings if f.state == "firing"]
    assert [f.target for f in firing] == [{"instance": "steady"}]
    (blip,) = [f for f in r.findings if f.state == "pending"]           # "blip" only crossed 30 s ago
    assert blip.target == {"instance": "blip"} and blip.active_for == pytest.approx(30, abs=10)
    assert blip.for_seconds == 60
    assert firing[0].recommendation == "steady busy 90%"               # a missing label renders empty
    assert r.score < 0.5                                                # 0.9 is past the median 0.5


def test_trend_projection_and_time_to_limit(results):
    r = results["t-growth"]
    assert [f.target for f in r.findings] == [{"instance": "leaky"}]   # the sawtooth does not fit a line
    p = r.findings[0].projection
    assert p.slope == pytest.approx(500) and p.r2 == pytest.approx(1.0)
    assert p.projected == pytest.approx(1e6 + 500 * 3600)
    assert p.limit == 1e6 + 500 * 3600 and p.time_to_limit == pytest.approx(3600)
    assert r.findings[0].recommendation == "grows 500.0/s, limit in 1h"


def test_not_enough_history(results):
    r = results["t-history"]
    assert not r.evaluated and r.reason == "not enough history: needs ≥ 10m (have 2m)"


def test_rejected_query_only_marks_its_rule(results):
    r = results["t-broken"]
    assert not r.evaluated and r.reason == "query failed: bad_data: unknown function"


def test_absent_metric_is_not_healthy_but_filtered_is(results):
    assert results["t-nodata"].reason == "no data: metric node_disk_missing_total"
    assert not results["t-nodata"].evaluated and results["t-nodata"].score is None
    f = results["t-filtered"]
    assert f.evaluated and f.targets == 0 and f.reason == "no matching series"


def test_sandbox_refusal_at_render_names_the_rule():
    from perfadvisor.advisor.render import render
    with pytest.raises(TemplateError, match=r"rule r1: recommendation template: not allowed in the sandbox"):
        render("r1", "{{ labels.items.__self__.__class__ }}", {"labels": {}})


def test_metric_names_from_promql():
    q = 'sum(rate(a_total{x="1"}[5m])) / on(i) group_left b + count({__name__="c"}) - scalar(d offset 5m)'
    assert metric_names(q) == ["a_total", "b", "c", "d"]


SIZING = """\
apiVersion: perfadvisor.dev/v1
metadata: {name: s}
rules:
  - id: s-down
    title: Down
    category: scaling
    dimension: cpu
    severity: info
    target: [instance]
    query: busy
    evaluate: {mode: range, lookback: 2m, step: 10s, reduce: p95}
    condition: {op: "<", threshold: 0.95}
    sizing: {resource: cpu, capacity_query: cores, headroom: 0.25, floor: 1, round_to: 1, price: 0.05}
    recommendation: "{{ sizing.current }} -> {{ sizing.recommended }}"
"""


def test_downsize_only_when_the_recommendation_is_smaller():
    pack = load_text(SIZING, "s.yaml")
    src = StaticSource({
        "busy": [series("idle", lambda t: 0.1), series("busy", lambda t: 0.9)],
        "cores": [series("idle", lambda t: 8), series("busy", lambda t: 8)],
    })
    (r,) = Evaluator(src, now=NOW).run(pack.resolved())
    assert [f.target["instance"] for f in r.findings] == ["idle"]   # busy: ceil(7.2 × 1.25) = 9 > 8 cores
    s = r.findings[0].sizing
    assert (s.current, s.recommended) == (8, 1)                     # ceil(0.8 × 1.25) = 1
    assert s.monthly_cost_change == pytest.approx(-7 * 0.05 * 730)
    assert r.findings[0].recommendation == "8 -> 1.0"


def test_failed_source_drops_queued_rules_without_callback_noise(caplog):
    """The first rule's source fails while the next one is in flight: the run raises that SourceError, the
    still-queued rules are dropped, and nothing is logged (no 'exception calling callback … CancelledError')."""
    release = threading.Event()

    class Failing(StaticSource):
        def instant(self, query, time):
            if query == "busy":
                raise SourceError("Prometheus at http://127.0.0.1:1/api/v1/query failed: HTTP 500")
            release.wait(5)   # in flight while the run fails
            return super().instant(query, time)

    pack = load_text(PACK, "t.yaml")
    seen = []
    ev = Evaluator(Failing({}), now=NOW, concurrency=1, progress=seen.append)
    with pytest.raises(SourceError, match="HTTP 500"):
        ev.run(pack.resolved())
    release.set()
    time.sleep(0.2)   # let the worker finish the rule it had started
    assert not [r for r in caplog.records if r.name == "concurrent.futures"], caplog.text


MATERIAL = SIZING.replace("price: 0.05}", "price: 0.05, min_change: 0.1, min_change_ratio: 0.2}")


def test_only_material_sizing_changes_are_findings_the_rest_are_sizing_rows():
    """8 → 7 cores (−12.5 %) is not worth a finding; 8 → 1 is. Without a current capacity (a process group)
    there is nothing to change from: a sizing row, not one finding per group."""
    pack = load_text(MATERIAL, "s.yaml")
    src = StaticSource({
        "busy": [series("idle", lambda t: 0.1), series("right", lambda t: 0.7)],
        "cores": [series("idle", lambda t: 8), series("right", lambda t: 8)],
    })
    (r,) = Evaluator(src, now=NOW).run(pack.resolved())
    assert [f.target["instance"] for f in r.findings] == ["idle"]
    (row,) = r.sizing_rows
    assert row.target == {"instance": "right"} and (row.sizing.current, row.sizing.recommended) == (8, 7)


def test_process_group_sizing_goes_to_the_sizing_table():
    from perfadvisor.advisor.packs import load_builtin
    scaling = next(p for p in load_builtin() if p.name == "scaling")
    rules = [rr for rr in scaling.resolved({"lookback": "2m", "step": "10s"}) if rr.rule.id == "scaling-process-cpu"]
    q = rules[0].query
    src = StaticSource({q: [Series({"instance": "a", "groupname": g}, tuple((NOW - 120 + 10 * i, c) for i in range(13)))
                            for g, c in (("app", 0.5), ("db", 0.3), ("web", 0.2))]})
    (r,) = Evaluator(src, now=NOW).run(rules)
    assert r.evaluated and not r.findings
    assert sorted(row.target["groupname"] for row in r.sizing_rows) == ["app", "db", "web"]
