"""The threshold grammar: units and percentages as a user writes them, and what each compares against."""
from __future__ import annotations

import pytest

from perfadvisor.advisor.bench import thresholds as T
from perfadvisor.advisor.errors import ConfigError


@pytest.mark.parametrize("text, metric, op, limit", [
    ("p99<200ms", "p99", "<", 0.2), ("p99.9 <= 1.5s", "p99.9", "<=", 1.5), ("max<500us", "max", "<", 0.0005),
    ("mean<2", "mean", "<", 2.0), ("p99<200", "p99", "<", 200.0),   # bare latency numbers are seconds
    ("service_p99<10ms", "service_p99", "<", 0.01),
    ("error_rate<1%", "error_rate", "<", 0.01), ("error_rate<0.01", "error_rate", "<", 0.01),
    ("rps>=1000", "rps", ">=", 1000.0), ("dropped<=0", "dropped", "<=", 0.0), ("rate>1e3", "rate", ">", 1000.0),
])
def test_parse(text, metric, op, limit):
    t = T.parse(text)
    assert (t.metric, t.op) == (metric, op) and t.limit == pytest.approx(limit)


@pytest.mark.parametrize("text, message", [
    ("p99 == 1s", "expected METRIC OP VALUE"), ("p99<2h", "'h' is not a time unit"),
    ("rps>=1000ms", "rps takes a plain number"), ("error_rate<1ms", "a ratio takes no unit but %"),
    ("latency<1s", "unknown metric 'latency'"),
])
def test_refusals(text, message):
    with pytest.raises(ConfigError, match=message):
        T.parse(text)
