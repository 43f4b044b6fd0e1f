"""Prometheus' own promqltest files, run against the embedded engine: every in-scope eval must pass."""
from __future__ import annotations



import pytest

from perfadvisor.advisor.promql.promqltest import run_file
from tests.support.procs import IN_CI

FILES = ["literals", "selectors", "operators", "aggregators", "functions", "staleness", "range_queries",
         "subquery", "at_modifier", "collision", "trig_functions", "histograms"]


@pytest.mark.parametrize("name", FILES)
def test_conformance_file(shared_dir, name):
    path = shared_dir / "promql-conformance" / f"{name}.test"
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is missing")
        pytest.skip(f"{path} is missing (conformance data lives beside the repo)")
    report = run_file(path)
    print(report.summary())
    for o in report.outcomes:
        if o.status == "skip":
            print(f"  skip line {o.line}: {o.reason}")
    failures = [f"line {o.line}: {o.query}: {o.reason}" for o in report.outcomes if o.status == "fail"]
    assert not failures, f"{report.summary()}\n" + "\n".join(failures)
    assert report.count("pass") > 0
