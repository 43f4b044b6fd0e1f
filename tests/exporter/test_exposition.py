"""The fast writers must say exactly what prometheus_client's writers say, as a parser reads it."""
from __future__ import annotations

import math

import pytest
from prometheus_client.core import (
    CounterMetricFamily, GaugeHistogramMetricFamily, GaugeMetricFamily, HistogramMetricFamily,
    InfoMetricFamily, Metric, StateSetMetricFamily, SummaryMetricFamily, UnknownMetricFamily,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as parse
from prometheus_client.samples import Exemplar

from perfadvisor.exporter.exposition import (
    _One, generate_openmetrics, generate_text, merge_families, wants_openmetrics,
)

AWKWARD = ['say "hi"', "back\\slash", "new\nline", "ünïcødé ✓ 日本", "", "trailing\\", '\\"mixed\n\\n"', "a,b=c}{"]


def families() -> list[Metric]:
    out: list[Metric] = []
    g = GaugeMetricFamily("t_gauge", 'Help with "quotes", back\\slash and\nnewline.', labels=["v", "i"])
    for i, v in enumerate(AWKWARD):
        g.add_metric([v, str(i)], float(i) - 3.5)
    out.append(g)
    specials = GaugeMetricFamily("t_special", "Special values.", labels=["kind"])
    for kind, v in [("inf", math.inf), ("ninf", -math.inf), ("nan", math.nan), ("zero", 0.0), ("neg", -0.0),
                    ("big", 1.8e19), ("tiny", 1e-12), ("int", 12345678901), ("bool", True),
                    ("frac", 0.1 + 0.2), ("million", 1234567.0)]:
        specials.add_metric([kind], v)
    out.append(specials)
    c = CounterMetricFamily("t_requests", "Requests.", labels=["code"], created=1700000000.5)
    c.add_metric(["200"], 10, created=1700000000.25)
    c.add_metric(["500"], 2.5)
    out.append(c)
    out.append(CounterMetricFamily("t_plain", "A counter with no labels.", value=7))
    ts = GaugeMetricFamily("t_stamped", "With a timestamp.", labels=["a"])
    ts.add_metric(["x"], 1.0, timestamp=1700000000.123)
    out.append(ts)
    h = HistogramMetricFamily("t_latency_seconds", "A histogram.", labels=["path"])
    h.add_metric(['/a"b'], [("0.1", 1.0), ("1.0", 5.0), ("+Inf", 6.0)], 3.25)
    h.add_metric(["/"], [("0.1", 0.0), ("1.0", 0.0), ("+Inf", 0.0)], 0.0)
    out.append(h)
    s = SummaryMetricFamily("t_summary_seconds", "A summary.", labels=["q"])
    s.add_metric(["x"], count_value=4, sum_value=1.5)
    out.append(s)
    gh = GaugeHistogramMetricFamily("t_gh", "A gauge histogram.", labels=["l"])
    gh.add_metric(["a"], [("1.0", 2.0), ("+Inf", 3.0)], gsum_value=4.0)
    out.append(gh)
    info = InfoMetricFamily("t_build", "Build facts.", labels=["host"])
    info.add_metric(["h1"], {"version": "1.2.3", "branch": 'we"ird\\'})
    out.append(info)
    ss = StateSetMetricFamily("t_state", "A state set.", labels=["unit"])
    ss.add_metric(["u"], {"on": True, "off": False})
    out.append(ss)
    u = UnknownMetricFamily("t_unknown", "Untyped.", labels=["x"])
    u.add_metric(["y"], 1.0)
    out.append(u)
    out.append(GaugeMetricFamily("t_unit_bytes", "With a unit.", value=1024, unit="bytes"))
    return out


def normalized(fams) -> list[tuple]:
    """Families as comparable tuples (NaN made equal to itself)."""
    out = []
    for f in fams:
        samples = sorted(
            (s.name, tuple(sorted(s.labels.items())), "nan" if s.value != s.value else s.value,
             None if s.timestamp is None else float(s.timestamp))
            for s in f.samples
        )
        out.append((f.name, f.type, f.documentation, tuple(samples)))
    return sorted(out)


def test_text_matches_generate_latest():
    fams = families()
    ours = generate_text(fams).decode("utf-8")
    theirs = generate_latest(_One(fams)).decode("utf-8")
    assert normalized(parse(ours)) == normalized(parse(theirs))
    # one HELP and one TYPE per family name
    helps = [line.split()[2] for line in ours.splitlines() if line.startswith("# HELP")]
    assert len(helps) == len(set(helps))


def test_openmetrics_matches_prometheus_client():
    fams = families()
    ours = generate_openmetrics(fams).decode("utf-8")
    theirs = om_generate_latest(_One(fams)).decode("utf-8")
    assert ours.endswith("# EOF\n")
    assert normalized(om_parse(ours)) == normalized(om_parse(theirs))


def test_exemplars_go_through_prometheus_client():
    h = HistogramMetricFamily("t_ex", "Exemplars.")
    h.add_metric([], [("1.0", 1.0, Exemplar({"trace_id": "abc"}, 0.5)), ("+Inf", 2.0)], 1.5)
    assert generate_openmetrics([h]) == om_generate_latest(_One([h]))
    assert normalized(parse(generate_text([h]).decode())) == normalized(parse(generate_latest(_One([h])).decode()))


def test_special_values_are_canonical():
    text = generate_text(families()).decode()
    assert 't_special{kind="inf"} +Inf' in text
    assert 't_special{kind="ninf"} -Inf' in text
    assert 't_special{kind="nan"} NaN' in text
    assert 't_gauge{v="say \\"hi\\"",i="0"}' in text
    assert 't_gauge{v="new\\nline",i="2"}' in text
    assert "# HELP t_gauge Help with \"quotes\", back\\\\slash and\\nnewline." in text
    assert "# TYPE t_requests_total counter" in text


def test_merge_families_same_name_from_two_collectors():
    a = GaugeMetricFamily("t_m", "Merged.", labels=["src"])
    a.add_metric(["a"], 1)
    b = GaugeMetricFamily("t_m", "Merged (second help ignored).", labels=["src"])
    b.add_metric(["b"], 2)
    conflicting = CounterMetricFamily("t_m", "Wrong type.", value=3)
    merged = merge_families([a, GaugeMetricFamily("t_other", "x", value=0), b, conflicting])
    text = generate_text(merged).decode()
    assert text.count("# HELP t_m ") == 1 and text.count("# TYPE t_m ") == 1
    parsed = {f.name: f for f in parse(text)}
    assert {s.labels["src"]: s.value for s in parsed["t_m"].samples} == {"a": 1.0, "b": 2.0}
    assert len(a.samples) == 1  # the input family is not modified


@pytest.mark.parametrize("accept,expected", [
    (None, False),
    ("text/plain;version=0.0.4", False),
    ("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3", True),
    ("application/openmetrics-text; q=0", False),
    ("*/*", False),
])
def test_wants_openmetrics(accept, expected):
    assert wants_openmetrics(accept) is expected


def test_counter_without_total_suffix_keeps_its_name():
    m = Metric("t_errors", "A process-exporter style counter.", "counter")
    m.add_sample("t_errors", {}, 2.0)
    text = generate_text([m]).decode()
    assert text == "# HELP t_errors A process-exporter style counter.\n# TYPE t_errors counter\nt_errors 2.0\n"
    (fam,) = parse(text)
    assert fam.type == "counter"
    om = generate_openmetrics([m]).decode()
    assert "# TYPE t_errors unknown\nt_errors 2.0\n" in om
    assert [f.type for f in om_parse(om)] == ["unknown"]


@pytest.mark.parametrize("writer", [generate_text, generate_openmetrics])
def test_a_family_written_again_shows_exactly_its_current_samples(writer):
    """Text is reused only for samples equal to last time's: a changed value, help, a sample added to the same
    list (a collector reusing its list) or a label set with the same values all give what a fresh render gives."""
    from perfadvisor.exporter.families import Sample, family

    samples = [Sample("memo_x", {"device": "a"}, 1.0), Sample("memo_x", {"device": "b"}, 2.0)]
    fam = family("memo_x", "x", "gauge", samples)
    first = writer([fam])
    assert writer([family("memo_x", "x", "gauge", list(samples))]) == first
    samples.append(Sample("memo_x", {"device": "c"}, 3.0))  # the same list object, one sample more
    assert b'device="c"' in writer([fam])
    changed = writer([family("memo_x", "x", "gauge", [Sample("memo_x", {"device": "a"}, 1.5), samples[1]])])
    assert b'memo_x{device="a"} 1.5' in changed and b'device="c"' not in changed
    assert b"# HELP memo_x other" in writer([family("memo_x", "other", "gauge", list(samples))])
    assert b"# TYPE memo_x gauge" not in writer([family("memo_x", "x", "counter", list(samples))])
    for fams in ([fam], [family("memo_x", "x", "gauge", [Sample("memo_x", {"device": "a"}, 7.0)])]):
        fresh = writer(fams)
        assert writer(fams) == fresh


@pytest.mark.parametrize("writer", [generate_text, generate_openmetrics])
def test_a_family_that_changed_in_part_is_written_as_a_fresh_render_would(writer):
    """After a render, a family that changed in part (a value in the middle, a sample dropped, added or going to
    None, an OpenMetrics-only sample) comes out exactly as it would the first time."""
    from perfadvisor.exporter import exposition
    from perfadvisor.exporter.families import Labels, Sample, family

    lv = [Labels(device=d) for d in "abcd"]

    def fams(values, created=1.0):
        return [family("part_x", "x", "counter", [Sample("part_x_total", lv[i], v) for i, v in enumerate(values)]
                       + [Sample("part_x_created", lv[0], created)]),
                family("part_y", "y", "gauge", [Sample("part_y", lv[i], v) for i, v in enumerate(values)])]

    def fresh(families):
        memo = exposition._TEXT_MEMO if writer is generate_text else exposition._OM_MEMO
        saved = dict(memo)
        memo.clear()
        try:
            return writer(families)
        finally:
            memo.clear()
            memo.update(saved)

    for values in ([1.0, 2.0, 3.0], [1.0, 2.5, 3.0], [1.0, 2.5], [1.0, 2.5, 3.0, 4.0], [1.0, None, 3.0, 4.0],
                   [0.0, None, 3.0, 4.0]):
        for created in (1.0, 2.0):
            assert writer(fams(values, created)) == fresh(fams(values, created)), (values, created)
