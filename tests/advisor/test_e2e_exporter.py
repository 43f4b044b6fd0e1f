"""End to end with our own exporter: a process that leaks memory is found, with a projection."""
import json

import pytest

from .conftest import LEAK_GROUP, SHORT, advisor

pytestmark = pytest.mark.slow


def test_memory_leak_fires_for_the_leaking_group(exporter_prometheus):
    r = advisor("run", "--prometheus", exporter_prometheus.url, "--format", "json", *SHORT,
                "--set", "process.lookback=20s", "--set", "process.step=1s", "--category", "alert")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    leaks = [f for f in report["findings"] if f["rule_id"] == "process-memory-leak"]
    mine = [f for f in leaks if f["target"]["groupname"] == LEAK_GROUP]
    if not mine:
        rss = exporter_prometheus.query(
            f'namedprocess_namegroup_memory_bytes{{groupname="{LEAK_GROUP}",memtype="resident"}}[25s]')
        pytest.fail(f"no leak finding for {LEAK_GROUP}; leaks: {[f['target'] for f in leaks]}; samples: {rss}")
    f = mine[0]
    p = f["projection"]
    assert 1.0e6 < p["slope"] < 3.5e6                 # ~2 MB/s written by the child
    assert p["r2"] >= 0.8 and p["projected"] > p["current"]
    assert p["limit"] is not None and p["time_to_limit"] > 0
    assert f'Resident memory of process group "{LEAK_GROUP}"' in f["recommendation"]
    assert "uses up the host's available memory in" in f["recommendation"]
    assert "heap profile" in f["recommendation"]
    # The host rules evaluate on our exporter's node_* metrics too.
    evaluated = {x["id"] for x in report["rules"] if x["evaluated"]}
    assert {"host-memory-pressure", "host-fd-exhaustion", "process-fd-limit", "process-fd-leak",
            "process-thread-leak"} <= evaluated


def test_process_sizing_on_exporter(exporter_prometheus):
    r = advisor("run", "--prometheus", exporter_prometheus.url, "--format", "json", *SHORT,
                "--set", f"scaling.groupname={LEAK_GROUP}", "--set", "scaling.process_min_memory=0",
                "--category", "scaling")
    report = json.loads(r.stdout)
    # A process group has no current request to change: its sizing is a row of the sizing table.
    assert not [f for f in report["findings"] if f["rule_id"] == "scaling-process-memory"]
    mem = [x for x in report["sizing_rows"] if x["rule_id"] == "scaling-process-memory"]
    assert len(mem) == 1 and mem[0]["target"]["groupname"] == LEAK_GROUP
    s = mem[0]["sizing"]
    assert s["recommended"] >= s["usage"] * 1.2 and s["recommended"] % 16777216 == 0
