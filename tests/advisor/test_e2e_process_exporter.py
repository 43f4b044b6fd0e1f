"""The process pack against the reference implementation: Debian's prometheus-process-exporter.

Checks that the pack's metric names and labels are process-exporter's own, and that a leaking process is
found through it exactly as through our exporter.
"""
import json

import pytest

from tests.support.leak import leak_group, scraped_leak
from tests.support.procs import need_binary

from .conftest import HISTORY, SHORT, advisor

pytestmark = pytest.mark.slow
GROUP = leak_group("p")   # not the other fixture's name: both leakers may run at once


@pytest.fixture(scope="module")
def process_exporter_prometheus(tmp_path_factory):
    with scraped_leak(tmp_path_factory.mktemp("prom-pe"), GROUP, need_binary("prometheus-process-exporter"),
                      "-procnames", GROUP, "-gather-smaps=false", "-threads=false",
                      job="process", listen_flag="-web.listen-address", history=HISTORY) as scraped:
        yield scraped.prometheus


def test_process_pack_on_process_exporter(process_exporter_prometheus):
    r = advisor("run", "--prometheus", process_exporter_prometheus.url, "--format", "json", *SHORT,
                "--rule", "process-*", "--set", "process.lookback=20s", "--set", "process.step=1s")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    rules = {x["id"]: x for x in report["rules"]}
    # Every process rule finds its metrics in process-exporter's own output.
    assert not [x for x in report["not_evaluated"] if x["reason"].startswith("no data")], report["not_evaluated"]
    assert all(rules[i]["evaluated"] for i in ("process-memory-leak", "process-fd-leak", "process-thread-leak",
                                               "process-fd-limit", "process-group-gone", "process-cpu-hog"))
    leak = [f for f in report["findings"] if f["rule_id"] == "process-memory-leak"]
    assert [f["target"]["groupname"] for f in leak] == [GROUP]
    assert 1.0e6 < leak[0]["projection"]["slope"] < 3.5e6
    # No node_exporter here: the time to exhaust host memory is unknown, and the text says nothing about it.
    assert leak[0]["projection"]["limit"] is None
    assert "uses up the host's available memory" not in leak[0]["recommendation"]
    assert not [f for f in report["findings"] if f["rule_id"] == "process-group-gone"]
