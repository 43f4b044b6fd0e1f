"""``advisor explain``: a rule's query with its parameters substituted."""
from tests.advisor.conftest import advisor


def test_explain_shows_substituted_query_and_alert_expr():
    r = advisor("explain", "host-cpu-saturation", "--set", "host.lookback=6h", "--set", "job=node")
    assert r.exit_code == 0
    assert 'node_cpu_seconds_total{mode="idle", job=~"node"' in r.stdout
    assert "p95 over the last 6h" in r.stdout
    assert "quantile_over_time(0.95" in r.stdout and "> 0.9" in r.stdout
    r = advisor("explain", "host-cpu-saturatoin")
    assert r.exit_code == 2 and "unknown rule 'host-cpu-saturatoin' (did you mean: host-" in r.stderr
