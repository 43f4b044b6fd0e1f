"""The embedded engine as a user of the library sees it: load data, query, read values."""
from __future__ import annotations

import math

import pytest

from perfadvisor.advisor.promql import engine
from perfadvisor.advisor.promql.loaders import LoadError, load_block, parse_values
from perfadvisor.advisor.promql.parse import ParseError, parse
from perfadvisor.advisor.promql.storage import STALE_NAN, Storage, is_stale
from perfadvisor.advisor.promql.values import EvalError


def storage_with(text: str, step_ms: int = 60_000) -> Storage:
    st = Storage()
    load_block(st, step_ms, text.strip().splitlines())
    return st


def values(result) -> dict:
    return {tuple(sorted(lb.items())): pts[-1][1] for lb, pts in result.series}


def test_series_notation_expands_like_promtool():
    vals = parse_values("1 2+3x2 _ stale _x2 5-1x2 0x3")
    assert vals[:4] == [1.0, 2.0, 5.0, 8.0]
    assert vals[4] is None and is_stale([vals[5]])[0] and vals[6:8] == [None, None]
    assert vals[8:11] == [5.0, 4.0, 3.0]
    assert vals[11:] == [0.0, 0.0, 0.0, 0.0]


def test_native_histogram_samples_are_rejected():
    with pytest.raises(LoadError):
        parse_values("{{schema:1 sum:3 count:22 buckets:[5 10 7]}}")


def test_rate_extrapolates_like_prometheus():
    st = storage_with('http_requests_total{job="api"} 0+10x10')
    res = engine.instant(st, "rate(http_requests_total[5m])", 10 * 60_000)
    assert values(res) == {(("job", "api"),): pytest.approx(10 / 60)}


def test_range_windows_are_left_open():
    st = storage_with("m 1 2 3")
    res = engine.instant(st, "count_over_time(m[1m])", 120_000)
    assert res.series[0][1][0][1] == 1  # the sample at 60s sits on the window's open left edge


def test_staleness_marker_ends_the_series():
    st = storage_with("m 1 stale")
    assert engine.instant(st, "m", 30_000).series
    assert engine.instant(st, "m", 60_000).series == []


def test_regex_matchers_are_anchored():
    st = storage_with('m{a="foo"} 1\nm{a="xfoo"} 1')
    res = engine.instant(st, 'm{a=~"foo"}', 0)
    assert [lb["a"] for lb, _ in res.series] == ["foo"]


def test_group_left_copies_labels_from_the_one_side():
    st = storage_with('req{instance="a"} 4\ninfo{instance="a",team="x"} 1')
    res = engine.instant(st, "req * on(instance) group_left(team) info", 0)
    assert values(res) == {(("instance", "a"), ("team", "x")): 4.0}


def test_many_to_many_match_is_an_error():
    st = storage_with('a{x="1",y="1"} 1\na{x="1",y="2"} 1\nb{x="1"} 1')
    with pytest.raises(EvalError, match="many-to-many|multiple matches"):
        engine.instant(st, "b + on(x) a", 0)


def test_range_query_returns_a_matrix_sorted_by_labels():
    st = storage_with('m{i="b"} 1+1x5\nm{i="a"} 5-1x5')
    res = engine.range_query(st, "m", 0, 120_000, 60_000)
    assert res.kind == "matrix"
    assert [lb["i"] for lb, _ in res.series] == ["a", "b"]
    assert res.series[1][1] == [(0, 1.0), (60_000, 2.0), (120_000, 3.0)]


def test_negative_at_modifier_is_evaluated_not_a_crash():
    st = storage_with("m 1")
    assert engine.instant(st, "m @ -10", 0).series == []


@pytest.mark.parametrize("query", ["sum(", "rate(m)", "m[5m", "foo{"])
def test_bad_queries_are_parse_errors(query):
    with pytest.raises(ParseError):
        parse(query)


def test_histogram_quantile_on_classic_buckets():
    st = storage_with('h_bucket{le="1"} 0+1x10\nh_bucket{le="2"} 0+3x10\nh_bucket{le="+Inf"} 0+4x10')
    res = engine.instant(st, "histogram_quantile(0.5, rate(h_bucket[5m]))", 600_000)
    assert res.series[0][1][0][1] == pytest.approx(1.5)


def test_kahan_sum_keeps_small_values():
    st = storage_with('d{p="a"} 1\nd{p="b"} 1e100\nd{p="c"} 9\nd{p="d"} -1e100')
    assert engine.instant(st, "sum(d)", 0).series[0][1][0][1] == 10


def test_stale_nan_bit_pattern():
    assert math.isnan(STALE_NAN) and is_stale([STALE_NAN])[0] and not is_stale([float("nan")])[0]


def test_embedded_source_speaks_the_source_protocol():
    from perfadvisor.advisor.sources.base import QueryError
    from perfadvisor.advisor.sources.embedded import EmbeddedSource
    src = EmbeddedSource(storage_with('up{job="a"} 1 1 1'))
    res = src.instant("up", 120.0)
    assert res.result_type == "vector" and res.series[0].labels == {"__name__": "up", "job": "a"}
    assert res.series[0].points == ((120.0, 1.0),)
    rng = src.range("up * 2", 0, 120, 60)
    assert rng.to_api()["result"][0]["values"] == [[0, "2"], [60, "2"], [120, "2"]]
    with pytest.raises(QueryError, match="parse error"):
        src.instant("sum(", 0)
    with pytest.raises(QueryError, match="many-to-one matching must be explicit"):
        EmbeddedSource(storage_with('a{x="1",y="1"} 1\na{x="1",y="2"} 1\nb{x="1"} 1')).instant("a + on(x) b", 0)


def test_api_values_are_formatted_like_prometheus():
    from perfadvisor.advisor.sources.base import QueryResult, Series
    res = QueryResult("vector", (Series({"b": "1", "a": "2"}, ((1.5, 1e-7),)), Series({}, ((2, 1e20),)),
                                 Series({}, ((3, float("nan")),)), Series({}, ((4, float("-inf")),))))
    out = res.to_api()["result"]
    assert list(out[0]["metric"]) == ["a", "b"]
    assert [r["value"] for r in out] == [[1.5, "1e-07"], [2, "100000000000000000000"], [3, "NaN"], [4, "-Inf"]]


def test_group_left_labels_follow_the_matched_series_over_time():
    st = storage_with('req{instance="a"} 1 2 3 4\ninfo{instance="a",team="x"} 1 1 stale\n'
                      'info{instance="a",team="y"} _ _ 1 1')
    res = engine.range_query(st, "req * on(instance) group_left(team) info", 0, 180_000, 60_000)
    assert [(lb["team"], list(pts)) for lb, pts in res.series] == [
        ("x", [(0, 1.0), (60_000, 2.0)]), ("y", [(120_000, 3.0), (180_000, 4.0)])]
