"""Answers decoded straight from the bytes (split_points) give exactly what the JSON decoder gives, and anything
that is not the plain shape falls back to the decoder."""
import math

import numpy as np
import orjson
import pytest

from advisor.sources.prometheus import _emptied, parse_data, split_points
from tests.support.fleet import Fleet


def decoded(body: bytes):
    """(by the JSON decoder, by split_points or None when it fell back)."""
    ref = parse_data("q", orjson.loads(body)["data"])
    sp = split_points(body)
    if sp is None:
        return ref, None
    skeleton = orjson.loads(sp[0])
    if not _emptied(skeleton, sp[1]):
        return ref, None
    return ref, parse_data("q", skeleton["data"], points=sp[1:])


def points(s):
    return [(t, "nan" if v != v else v) for t, v in s.points]


@pytest.mark.parametrize("kind", ["matrix", "vector"])
def test_a_fleets_answer_decodes_to_the_same_series(kind):
    fleet = Fleet(50)
    body = fleet._matrix(fleet.start_ts - 600, fleet.end, 60.0) if kind == "matrix" else fleet._vector(fleet.end)
    ref, got = decoded(body)
    assert got is not None and got.result_type == kind
    assert [s.labels for s in got.series] == [s.labels for s in ref.series]
    assert [points(s) for s in got.series] == [points(s) for s in ref.series]
    assert sum(len(s.points) for s in got.series) == (50 * 120 if kind == "matrix" else 50)


def test_non_finite_values_empty_series_and_bracketed_label_values_decode_exactly():
    body = (b'{"status":"success","data":{"resultType":"matrix","result":['
            b'{"metric":{"a":"\\"values\\":[[1,\\"2\\"]]"},"values":[[1,"NaN"],[2.5,"+Inf"],[3,"-Inf"],[4,"1e-07"]]},'
            b'{"metric":{},"values":[]},'
            b'{"metric":{"b":"]]"},"values" : [[5 , "6" ]]}]}}')
    ref, got = decoded(body)
    assert got is not None
    assert [s.labels for s in got.series] == [{"a": '"values":[[1,"2"]]'}, {}, {"b": "]]"}]
    first = got.series[0].points
    assert math.isnan(first[0][1]) and first[1][1] == math.inf and first[2][1] == -math.inf and first[3] == (4.0, 1e-07)
    assert got.series[1].points == () and points(got.series[2]) == [(5.0, 6.0)]
    assert [points(s) for s in got.series] == [points(s) for s in ref.series]


@pytest.mark.parametrize("body", [
    # a native histogram beside float series: not the plain shape
    b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"]]},'
    b'{"metric":{"x":"y"},"histograms":[[1,{"count":"1"}]]}]}}',
    # pretty-printed points
    b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[ [1, "2"] ]}]}}',
    b'{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}',
])
def test_other_shapes_fall_back_to_the_json_decoder(body):
    ref, got = decoded(body)
    assert got is None or [points(s) for s in got.series] == [points(s) for s in ref.series]


def test_a_value_that_is_not_a_number_is_left_to_the_decoder_which_names_the_problem():
    body = b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}'
    assert split_points(body) is None
    from advisor.errors import QueryError
    with pytest.raises(QueryError, match="unexpected result shape"):
        parse_data("q", orjson.loads(body)["data"])


def test_an_answer_through_the_source_is_decoded_the_same_way():
    from advisor.sources.prometheus import PrometheusConfig, PrometheusSource
    with Fleet(20) as fleet:
        src = PrometheusSource(PrometheusConfig(fleet.url))
        got = src.range("up", fleet.end - 3600, fleet.end, 60)
        vec = src.instant("up", fleet.end)
    start, end = (float(f"{t:.3f}") for t in (fleet.end - 3600, fleet.end))   # as the source sends them
    ref = parse_data("q", orjson.loads(fleet._matrix(start, end, 60.0))["data"])
    assert [points(s) for s in got.series] == [points(s) for s in ref.series]
    assert len(vec.series) == 20 and all(len(s.points) == 1 for s in vec.series)
    assert np.isclose(vec.series[0].value, fleet._values(np.array([fleet.end]))[0, 0], rtol=1e-5)


def test_values_a_json_number_parser_reads_differently_decode_exactly():
    """-0 (an integer zero to JSON), integers beyond 64 bits and 17-digit values come out as the float parser
    reads them; a value that is no number at all is still refused."""
    body = (b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":'
            b'[[1,"-0"],[2,"123456789012345678901"],[3,"0.30000000000000004"],[4.5,"9200000000000000000"],'
            b'[5,"1e-07"],[6,"-0.5"]]}]}}')
    ref, got = decoded(body)
    assert got is not None
    assert [(t, v, math.copysign(1, v)) for t, v in got.series[0].points] == \
           [(t, v, math.copysign(1, v)) for t, v in ref.series[0].points]
    assert math.copysign(1, got.series[0].points[0][1]) == -1
    assert got.series[0].points[1][1] == 123456789012345678901.0
    assert split_points(body.replace(b'"-0"', b'"true"')) is None
    assert split_points(body.replace(b'"-0"', b'"null"')) is None
