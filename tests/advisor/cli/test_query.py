"""``advisor query``: the same data answered by the embedded engine and by a real Prometheus agrees."""
from __future__ import annotations

import json
import math
import subprocess
import time

import pytest

from tests.advisor.conftest import advisor
from tests.support.procs import need_binary
from tests.support.prometheus import start_prometheus

LOAD = """\
load 1m
  http_requests_total{job="api",instance="a"} 0+10x20
  http_requests_total{job="api",instance="b"} 0+20x20
  up{job="api",instance="a"} 1x20
"""


@pytest.fixture
def load_file(tmp_path):
    p = tmp_path / "data.test"
    p.write_text(LOAD)
    return p


def test_instant_query_prints_the_api_data_shape(load_file):
    r = advisor("query", "--load", str(load_file), "--time", "600", "sum by (job) (rate(http_requests_total[5m]))")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {"resultType": "vector",
                                    "result": [{"metric": {"job": "api"}, "value": [600, "0.5"]}]}


def test_range_query_prints_a_matrix(load_file):
    r = advisor("query", "--load", str(load_file), "--start", "1970-01-01T00:09:00Z", "--end", "600",
                "--step", "30s", "up")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["resultType"] == "matrix"
    assert data["result"][0]["values"] == [[540, "1"], [570, "1"], [600, "1"]]


def test_scalar_and_string_results(load_file):
    r = advisor("query", "--load", str(load_file), "--time", "60", "1e-7 * 2")
    assert json.loads(r.stdout) == {"resultType": "scalar", "result": [60, "2e-07"]}
    r = advisor("query", "--load", str(load_file), "--time", "60", '"hi"')
    assert json.loads(r.stdout) == {"resultType": "string", "result": [60, "hi"]}


def test_bad_expression_is_one_line_and_exit_2(load_file):
    r = advisor("query", "--load", str(load_file), "sum(")
    assert r.exit_code == 2
    assert r.stderr.startswith("advisor: error: parse error: ") and r.stderr.count("\n") == 1


def test_bad_data_file_names_the_line(tmp_path):
    p = tmp_path / "bad.prom"
    p.write_text('ok_metric 1 1000\nbroken{a="b" 1\n')
    r = advisor("query", "--load", str(p), "ok_metric")
    assert r.exit_code == 2
    assert f"{p}:2:" in r.stderr


def test_unreachable_server_is_exit_3():
    r = advisor("query", "--prometheus", "http://127.0.0.1:1", "up")
    assert r.exit_code == 3
    assert r.stderr.startswith("advisor: error: ")


def test_text_exposition_with_millisecond_timestamps(tmp_path):
    p = tmp_path / "samples.prom"
    p.write_text('# TYPE x gauge\nx{a="1"} 3 100000\nx{a="1"} 4 160000\n')
    r = advisor("query", "--load", str(p), "--time", "170", "x")
    assert json.loads(r.stdout)["result"] == [{"metric": {"__name__": "x", "a": "1"}, "value": [170, "4"]}]


# --- against a real Prometheus --------------------------------------------------------------------------

QUERIES = [
    "rate(app_requests_total[5m])",
    "sum by (job) (rate(app_requests_total[5m]))",
    "increase(app_requests_total[10m])",
    "avg_over_time(app_temperature[10m])",
    "quantile_over_time(0.9, app_temperature[10m])",
    "max_over_time(app_temperature[3m]) - min_over_time(app_temperature[3m])",
    "histogram_quantile(0.9, sum by (le) (rate(app_latency_seconds_bucket[5m])))",
    "app_requests_total * on (instance) group_left (team) app_info",
    "topk(2, app_temperature)",
    "count_values(\"v\", round(app_temperature))",
    "app_temperature > bool 20",
    "deriv(app_temperature[10m])",
    "changes(app_temperature[15m])",
    "absent(nonexistent{job=\"x\"})",
    "sum(app_requests_total) / count(app_requests_total)",
    "label_replace(app_info, \"t\", \"$1\", \"team\", \"(.*)\")",
    "max_over_time(rate(app_requests_total[2m])[10m:1m])",
    "irate(app_requests_total[5m])",
    "delta(app_temperature[5m]) + idelta(app_temperature[5m])",
    "resets(app_temperature[10m])",
    "predict_linear(app_temperature[10m], 600)",
    "stddev_over_time(app_temperature[10m]) + stdvar_over_time(app_temperature[10m])",
    "sum_over_time(app_temperature[10m]) / count_over_time(app_temperature[10m])",
    "last_over_time(app_temperature[10m])",
    "absent_over_time(nope{a=\"b\"}[10m])",
    "stddev(app_temperature) + stdvar by (instance) (app_temperature)",
    "quantile(0.3, app_temperature)",
    "bottomk(2, app_temperature)",
    "sum without (instance) (app_requests_total)",
    "app_temperature + on (instance) group_right (team) app_info",
    "app_temperature unless on (instance) app_info{team=\"t1\"}",
    "app_temperature or app_requests_total",
    "(app_temperature % 3) ^ 2 - (app_temperature atan2 3)",
    "ln(app_temperature) + log2(app_temperature) + log10(app_temperature) + sqrt(app_temperature) + exp(app_temperature / 10)",
    "sgn(app_temperature - 20) * abs(-app_temperature) + ceil(app_temperature) - floor(app_temperature)",
    "round(app_temperature, 0.5)",
    "clamp(app_temperature, 16, 20) + clamp_min(app_temperature, 18) + clamp_max(app_temperature, 18)",
    "timestamp(app_temperature)",
    "minute(app_temperature) + hour() + day_of_week() + day_of_month() + day_of_year() + days_in_month() + month() + year()",
    "scalar(app_info{team=\"t0\"}) * vector(2)",
    "label_join(app_info, \"x\", \"-\", \"instance\", \"team\")",
    "sin(app_temperature) + cos(app_temperature) + tan(app_temperature) + asinh(app_temperature) + deg(app_temperature) + rad(app_temperature)",
    "app_temperature @ end()",
    "topk(1, app_temperature) by (instance)",
    "sum(app_temperature) by (instance) / ignoring (instance) group_left sum(app_temperature)",
    "count(app_temperature > 18)",
]


def _openmetrics(start: float) -> str:
    lines = ["# TYPE app_requests counter"]
    for i, inst in enumerate(["a", "b", "c"]):
        v = 0.0
        for n in range(120):
            v += (n * 7 + i * 3) % 11
            lines.append(f'app_requests_total{{instance="{inst}",job="j{i % 2}"}} {v} {start + n * 15:.3f}')
    lines.append("# TYPE app_temperature gauge")
    for i, inst in enumerate(["a", "b", "c"]):
        lines += [f'app_temperature{{instance="{inst}"}} {15 + ((n * (i + 3)) % 13) * 0.7:.2f} {start + n * 15:.3f}'
                  for n in range(120)]
    lines.append("# TYPE app_info gauge")
    for i, inst in enumerate(["a", "b", "c"]):
        lines += [f'app_info{{instance="{inst}",team="t{i}"}} 1 {start + n * 15:.3f}' for n in range(120)]
    lines.append("# TYPE app_latency_seconds histogram")
    for le_i, le in enumerate(["0.1", "0.5", "1", "+Inf"]):
        lines += [f'app_latency_seconds_bucket{{le="{le}"}} {n * (le_i + 1) + n // 3} {start + n * 15:.3f}'
                  for n in range(120)]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _same(a: dict, b: dict) -> None:
    assert a["resultType"] == b["resultType"]

    def norm(data):
        out = {}
        for item in data["result"]:
            pts = [item["value"]] if "value" in item else item["values"]
            out[json.dumps(item["metric"], sort_keys=True)] = [(t, float(v)) for t, v in pts]
        return out
    na, nb = norm(a), norm(b)
    assert na.keys() == nb.keys()
    for k in na:
        assert [t for t, _ in na[k]] == [t for t, _ in nb[k]], k
        for (_, x), (_, y) in zip(na[k], nb[k]):
            assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-9), (k, x, y)


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    """A real Prometheus over a TSDB backfilled with promtool from the OpenMetrics file the engine loads."""
    promtool = need_binary("promtool")
    need_binary("prometheus")
    tmp = tmp_path_factory.mktemp("prom-backfill")
    now = int(time.time())
    # Samples sit at .25 s so none falls on a window edge: the Debian Prometheus is 2.x (windows closed on
    # the left), the engine follows Prometheus 3 (left-open); off the edges both agree.
    start = now - 3 * 3600 - now % 60 + 0.25
    om = tmp / "data.om"
    om.write_text(_openmetrics(start))
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "-q", str(om), str(tmp / "data")],
                   check=True, capture_output=True)
    server = start_prometheus(tmp)
    try:
        yield server, om, start
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("query", QUERIES)
def test_embedded_and_prometheus_agree(backfilled, query):
    server, om, start = backfilled
    # Windows stay clear of the series' first samples: there Prometheus 3 (the engine) and 2.x (the Debian
    # server) extrapolate rate/increase towards zero differently.
    t = int(start) + 110 * 15
    mine = advisor("query", "--load", str(om), "--time", str(t), query)
    theirs = advisor("query", "--prometheus", server.url, "--time", str(t), query)
    assert mine.exit_code == 0 and theirs.exit_code == 0, (mine.stderr, theirs.stderr)
    _same(json.loads(mine.stdout), json.loads(theirs.stdout))
    rng = ["--start", str(t - 600), "--end", str(t), "--step", "60s"]
    mine = advisor("query", "--load", str(om), *rng, query)
    theirs = advisor("query", "--prometheus", server.url, *rng, query)
    assert mine.exit_code == 0 and theirs.exit_code == 0, (mine.stderr, theirs.stderr)
    _same(json.loads(mine.stdout), json.loads(theirs.stdout))


@pytest.mark.slow
def test_json_text_matches_prometheus_byte_for_byte(backfilled):
    server, om, start = backfilled
    t = int(start) + 50 * 15
    q = "app_temperature / 7"
    mine = json.loads(advisor("query", "--load", str(om), "--time", str(t), q).stdout)
    theirs = server.query(q, time=str(t))
    key = lambda item: item["metric"]["instance"]  # noqa: E731
    assert sorted(mine["result"], key=key) == sorted(theirs["result"], key=key)
