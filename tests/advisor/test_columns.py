"""Brief findings kept as columns read back equal to the values they were made from, and the JSON report's rows
built from the columns equal those built from the findings."""
import math

from perfadvisor.advisor.columns import column
from perfadvisor.advisor.findings import Confidence, Projection
from perfadvisor.advisor.sizing import SizingResult



def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


def test_every_kind_of_column_gives_back_each_value_with_its_type():
    conf = [Confidence(120, 121, 7200.0 + k, True, k % 2 == 0, 0.5, gaps=k % 3,
                       margin=None if k % 4 == 0 else -1.5 * k, trend_p=None) for k in range(50)]
    cases = [
        [0.1 * k for k in range(50)] + [float("nan"), float("inf"), -0.0, 1.7976931348623157e308],
        [None, 1.5, None, float("-inf")],
        [1, 2, 3, 2**62],
        [2**70, 1],                       # beyond 64 bits: kept as objects
        [True, False, True],
        ["firing", "pending", "firing"],
        [(), (), ()],
        [{"min": 1.0, "mean": 2.0}, {"min": float("nan"), "mean": 3.5}],
        [{"min": 1.0}, {"max": 2.0}],     # different keys
        conf,
        [None, Projection(1.0, 0.5, 2.0, 3600.0, 0.9), None, Projection(2.0, -0.5, 1.0, 3600.0, 0.1, limit=4.0)],
        [SizingResult("cpu", 1.0, 2.0, None, 2.0, 0.2, 1, None), None],
        [1, 1.0, "x", None],              # mixed: objects
    ]
    for values in cases:
        col = column(values)
        got = [col[i] for i in range(len(values))]
        taken = col.take(list(range(len(values))))
        for a, b, c in zip(values, got, taken):
            if isinstance(a, dict):
                assert a.keys() == b.keys() == c.keys() and all(_same(a[k], b[k]) and _same(a[k], c[k]) for k in a)
            else:
                assert _same(a, b) and _same(a, c), (values, a, b, c)
        assert [_same(x, y) for x, y in zip(col.take([len(values) - 1, 0]), [got[-1], got[0]])] == [True, True] \
            or isinstance(values[0], dict)


def test_brief_findings_in_json_equal_the_findings_they_stand_for():
    from tests.support.fleet import Fleet
    from perfadvisor.advisor.config import Config
    from perfadvisor.advisor.run import execute
    from perfadvisor.advisor.reports.json_report import _dicts, finding_dict
    from perfadvisor.advisor.sources.prometheus import PrometheusConfig
    with Fleet(60) as fleet:
        cfg = Config(prometheus=PrometheusConfig(url=fleet.url), top=2)
        report = execute(cfg, now=fleet.end)
    for view in (report.findings, report.pending):
        rows = list(_dicts(view))
        assert rows == [finding_dict(f) for f in view]
    briefs = [f for f in report.findings if not f.detailed]
    assert len(briefs) > 100 and {f.rule.id for f in briefs} and all(f.summary and not f.series for f in briefs)
    assert len(report.findings) == len(list(report.findings)) == sum(r.count("firing") for r in report.results)
