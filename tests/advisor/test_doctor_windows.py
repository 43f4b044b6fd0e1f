"""Range windows and `for` against the scrape interval (the checks of pint's promql/rate)."""
from __future__ import annotations

from perfadvisor.advisor.doctor.windows import check_rule
from perfadvisor.advisor.packs import load_text
from perfadvisor.advisor.promql.parse import RangeWindow, range_windows

PACK = """
apiVersion: perfadvisor.dev/v1
kind: RulePack
metadata: {name: w, description: windows}
parameters:
  window: {type: duration, default: 10s, description: rate window}
rules:
  - id: w-rule
    title: W
    category: optimization
    dimension: cpu
    severity: warning
    query: sum(rate(node_cpu_seconds_total[$window])) + max_over_time(node_load1[$window])
    condition: {op: ">", threshold: 1, for: 10s}
    evaluate: {mode: range, lookback: 1m, reduce: max}
    summary: s
    recommendation: r
"""


def _rule(**values):
    (rr,) = load_text(PACK, "w.yaml").resolved(values)
    return rr


def _problems(rr, interval):
    return [(p.level, p.what) for p in check_rule(rr, lambda metrics: (interval, ("job",)))]


def test_range_windows_of_an_expression():
    assert range_windows('sum(rate(x{a="b"}[5m])) / max_over_time(rate(y[1m])[1h:30s]) + z') == [
        RangeWindow("rate", "x", 300.0), RangeWindow("max_over_time", None, 3600.0, 30.0),
        RangeWindow("rate", "y", 60.0)]
    assert range_windows("rate(x[5m]") == []


def test_a_rate_window_under_twice_the_scrape_interval_is_an_error():
    assert _problems(_rule(), 6.0) == [("error", "rate(node_cpu_seconds_total[10s])")]


def test_a_rate_window_under_four_times_is_a_warning():
    assert _problems(_rule(), 3.0) == [("warning", "rate(node_cpu_seconds_total[10s])")]


def test_windows_of_four_intervals_pass():
    assert _problems(_rule(), 2.5) == []


def test_an_over_time_window_shorter_than_the_interval_and_a_short_for_and_lookback_are_errors():
    found = _problems(_rule(window="30s"), 40.0)
    assert found == [("error", "rate(node_cpu_seconds_total[30s])"), ("error", "max_over_time(node_load1[30s])"),
                     ("error", "for 10s"), ("error", "lookback 1m")]


def test_the_message_says_what_to_use():
    (p,) = check_rule(_rule(), lambda metrics: (6.0, ("node",)))
    assert p.message.startswith("rate() needs two samples in its window; 10s is shorter than 2× the scrape "
                                "interval 6s") and p.message.endswith("use ≥ 24s")
    assert p.jobs == ("node",)


def test_an_unknown_interval_checks_nothing():
    assert _problems(_rule(window="1s"), None) == []
