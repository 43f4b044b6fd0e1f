"""The process pack against the reference implementation: Debian's prometheus-process-exporter.

Checks that the pack's metric names and labels are process-exporter's own, and that a leaking process is
found through it exactly as through our exporter.
"""
import json
import subprocess
import sys
import time

import pytest

from tests.support.procs import free_port, need_binary, stop, wait_http
from tests.support.prometheus import start_prometheus

from .conftest import LEAK_GROUP, LEAKER, SHORT, advisor

pytestmark = pytest.mark.slow
GROUP = (LEAK_GROUP + "p")[:15]   # not the other fixture's name: both leakers may run at once


@pytest.fixture(scope="module")
def process_exporter_prometheus(tmp_path_factory):
    binary = need_binary("prometheus-process-exporter")
    port = free_port()
    leak = subprocess.Popen([sys.executable, "-c", LEAKER, GROUP])
    exp = subprocess.Popen([binary, f"-web.listen-address=127.0.0.1:{port}", "-procnames", GROUP,
                            "-gather-smaps=false", "-threads=false"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prom = None
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics", proc=exp)
        prom = start_prometheus(tmp_path_factory.mktemp("prom-pe"), {"process": [f"127.0.0.1:{port}"]},
                                metrics_path="/metrics")
        prom.wait_for_series(f'namedprocess_namegroup_memory_bytes{{groupname="{GROUP}"}}', timeout=60)
        time.sleep(22)
        yield prom
    finally:
        if prom:
            prom.stop()
        stop(exp)
        stop(leak)


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
